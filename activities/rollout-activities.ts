import type { Client } from '@temporalio/client';
import type { RolloutActivities } from '../protocol/rollout-contract';
import { createAwaitCommandOutcome } from './await-command-outcome';
import { createDevicesChangedSince } from './devices-changed-since';
import { createDeviceTimeZones } from './device-time-zones';
import { maintenanceWindowActivities } from './maintenance-window';

/** Every activity a rollout workflow calls (protocol/rollout-contract.ts), for the command worker. */
export function createRolloutActivities(client: Client): RolloutActivities {
  return {
    ...maintenanceWindowActivities,
    ...createDevicesChangedSince(client),
    ...createDeviceTimeZones(client),
    ...createAwaitCommandOutcome(client),
  };
}
