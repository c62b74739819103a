import { proxyActivities } from '@temporalio/workflow';
import { DEVICE_ZONES_PER_CALL, type RolloutActivities } from '../protocol/rollout-contract';

/**
 * Reading zones from visibility: retried for about ten minutes (a visibility outage), then the
 * caller decides (a rollout at its start aborts and says why; a continuous look is skipped).
 */
const { deviceTimeZones } = proxyActivities<RolloutActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 25 },
});

/**
 * The time zone of each device (per-device maintenance windows), in the order given, one
 * activity per DEVICE_ZONES_PER_CALL devices; `fallback` (the window's own zone) for a device
 * that reports none.
 */
export async function timeZonesOf(deviceIds: readonly string[], fallback: string): Promise<string[]> {
  const zones: string[] = [];
  for (let i = 0; i < deviceIds.length; i += DEVICE_ZONES_PER_CALL) {
    const { timeZones } = await deviceTimeZones({ deviceIds: deviceIds.slice(i, i + DEVICE_ZONES_PER_CALL) });
    zones.push(...timeZones.map((z) => z ?? fallback));
  }
  return zones;
}
