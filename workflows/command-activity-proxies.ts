import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { CommandActivities } from '../protocol/command-contract';
import type { DeviceQueueActivities } from '../protocol/device-queue-contract';
import type { DeviceWatchActivities } from '../protocol/device-watch-contract';

/**
 * The activities a device command calls, with their timeouts and retries: most run as local
 * activities, inside the workflow task (a PUBACK or a signal takes milliseconds).
 */

/** The broker is local infrastructure: a publish either gets its PUBACK in seconds or is retried. */
const PUBLISH_RETRY = { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 seconds' } as const;

export const { publishCommand: publishAsLocalActivity } = proxyLocalActivities<CommandActivities>({
  startToCloseTimeout: '10 seconds',
  retry: PUBLISH_RETRY,
  // Short backoffs wait inside the worker; longer ones (a broker down for a while) become durable
  // timers, so the workflow task is not held open and heartbeated for the whole outage.
  localRetryThreshold: '5 seconds',
});
export const { publishCommand: publishAsActivity } = proxyActivities<CommandActivities>({
  startToCloseTimeout: '10 seconds',
  retry: PUBLISH_RETRY,
});
/**
 * Telling the device to stop a cancelled command: retried like a publish, but only while an
 * answer could still matter (a broker down for a minute makes the cancel moot: the command's
 * own deadline decides then).
 */
export const { publishCancel } = proxyLocalActivities<CommandActivities>({
  startToCloseTimeout: '10 seconds',
  scheduleToCloseTimeout: '1 minute',
  retry: PUBLISH_RETRY,
  localRetryThreshold: '5 seconds',
});
/** Asking the device entity for a turn: one signal-with-start, retried like a publish. */
export const { enqueueOnDevice } = proxyLocalActivities<DeviceQueueActivities>({
  startToCloseTimeout: '10 seconds',
  retry: PUBLISH_RETRY,
  localRetryThreshold: '5 seconds',
});

/**
 * Asking the device entity for wake-ups (device-watch-contract.ts): one signal-with-start. Tried
 * for a minute at most: without it the command still re-checks by itself.
 */
export const { watchDevice } = proxyLocalActivities<DeviceWatchActivities>({
  startToCloseTimeout: '10 seconds',
  scheduleToCloseTimeout: '1 minute',
  retry: PUBLISH_RETRY,
  localRetryThreshold: '5 seconds',
});
