import { condition, isCancellation, log, workflowInfo } from '@temporalio/workflow';
import type { CommandRequest } from '../protocol/command-contract';
import { deviceTaskQueue } from '../protocol/device-contract';
import { watchStep, type Since } from './command-plan';
import { watchDevice } from './command-activity-proxies';
import type { CommandRun } from './command-run';
import { failureMessage } from './publish-failure';

/** What waiting for the device needs of the running command (command-workflow.ts). */
export interface WaitingCommand {
  request: Pick<CommandRequest, 'commandId' | 'deviceId'>;
  run: Pick<CommandRun, 'watching' | 'heldSince' | 'firstPublishedAt' | 'lastSentAt' | 'presence'>;
  since: Since;
  /** How long the device entity keeps the wake-ups if the command never gives them back. */
  entityHoldUntilMs: number;
}

/** Waits until `done` or for `waitMs` (like `condition`); `heldOffline`: nothing is published until the device is back. */
export type WaitForDevice = (done: () => boolean, waitMs: number, heldOffline?: boolean) => Promise<boolean>;

/**
 * Returns `waitForDevice`: a wait for the device (`done` or `waitMs`, like `condition`) during
 * which a command that waits long asks the device entity to wake it (watchStep), once. The
 * entity tells it at once if it heard from the device after what the command knows. If the
 * entity cannot be reached, the command still re-checks by itself (PRESENCE_RECHECK, the ack
 * timeout), and asks again during its next wait.
 */
export function deviceWaiter(c: WaitingCommand): WaitForDevice {
  const { request, run, since } = c;
  const waitForDevice = async (done: () => boolean, waitMs: number, heldOffline = false): Promise<boolean> => {
    if (heldOffline) run.heldSince ??= Date.now();
    const endMs = Date.now() + waitMs;
    const step = watchStep({ watching: run.watching, heldOffline, waitingSinceMs: run.firstPublishedAt ?? run.heldSince, nowMs: Date.now(), waitMs }, since);
    if (step.kind === 'wait') return condition(done, waitMs);
    if (step.afterMs > 0 && (await condition(done, step.afterMs))) return true;
    if (done()) return true;
    // What the command knows of the device: its latest copy that was sent, and the presence it
    // holds. Nothing known: since the epoch, so whatever the entity has heard is news (a
    // command's own clock would hide a status the entity applies just after the command asked
    // the activity, but observed before: the device's reboot would wait for the re-check).
    const knownAt = Math.max(run.lastSentAt ?? 0, run.presence ? Date.parse(run.presence.observedAt) : 0);
    try {
      await watchDevice({
        deviceId: request.deviceId,
        entityTaskQueue: deviceTaskQueue(workflowInfo().taskQueue),
        request: {
          kind: 'watch',
          commandId: request.commandId,
          since: new Date(knownAt).toISOString(),
          untilMs: c.entityHoldUntilMs,
        },
      });
      run.watching = true;
    } catch (err) {
      if (isCancellation(err)) throw err;
      log.warn('could not ask the device entity for wake-ups; the command re-checks by itself', {
        commandId: request.commandId,
        deviceId: request.deviceId,
        error: failureMessage(err as Error),
      });
    }
    const restMs = endMs - Date.now();
    return restMs > 0 ? condition(done, restMs) : done();
  };
  return waitForDevice;
}
