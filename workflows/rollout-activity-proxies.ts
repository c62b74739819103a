import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { RolloutActivities } from '../protocol/rollout-contract';

/** The activities the rollout workflow calls itself, with their timeouts and retries. */

/** Maintenance windows: a pure computation, so a local activity, retried briefly. */
export const { maintenanceWindow } = proxyLocalActivities<RolloutActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '1 second', maximumAttempts: 5 },
});

/**
 * A continuous rollout's looks: a few tries, then the look is skipped and the next one (whose
 * window starts at the last successful look) covers it. A query Temporal refuses is not retried.
 */
export const { devicesChangedSince } = proxyActivities<RolloutActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '10 seconds', maximumAttempts: 4, nonRetryableErrorTypes: ['InvalidDeviceQuery'] },
});
