import type { Client } from '@temporalio/client';
import type { ManagedProcess } from '../stack/managed-process';
import { say } from './say';

/** Seeding gives up when no entity was added for this long (a dead worker or bridge). */
const SEEDING_STALL_MS = 120_000;

/**
 * Creates the fleet's device entities before the measured part, as a bridge that ran before
 * would have (not timed): a bridge at 500 statuses/s until every entity shows the device
 * online, then stopped. The measured bridge starts after it, as a restarted one.
 * `statusRate` is that bridge's --device-status-rate (the bench's --query-status-rate, 500 by default).
 */
export async function seedEntities(
  client: Client,
  startBridge: (role: string, rate?: number) => ManagedProcess,
  firmware: string,
  fleetSize: number,
  worker: ManagedProcess,
  workerLog: string,
  statusRate: number,
): Promise<void> {
  const t0 = performance.now();
  const seeder = startBridge('-seed', statusRate);
  let last = { count: -1, atMs: Date.now() };
  try {
    for (;;) {
      const { count } = await client.workflow.count(`WorkflowType = 'deviceWorkflow' AND DeviceFirmware = '${firmware}' AND DevicePresence = 'online'`);
      if (count >= fleetSize) break;
      // The entities are the worker's: without it, or without progress for long, waiting is pointless.
      if (!worker.running) throw new Error(`the rollout worker exited while the device entities were being created; see ${workerLog}`);
      if (count > last.count) last = { count, atMs: Date.now() };
      else if (Date.now() - last.atMs > SEEDING_STALL_MS)
        throw new Error(
          `no device entity was created for ${SEEDING_STALL_MS / 1000} s (${count}/${fleetSize}); see ${workerLog} and the bridge's log beside it`,
        );
      say(`   device entities ${count}/${fleetSize} (created before the rollout, as by an earlier bridge)`);
      await new Promise((r) => setTimeout(r, 5_000));
    }
  } finally {
    await seeder.stop();
  }
  say(`   ${fleetSize} device entities ready after ${Math.round((performance.now() - t0) / 1000)} s`);
}
