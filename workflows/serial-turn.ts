import { condition, setHandler, workflowInfo } from '@temporalio/workflow';
import type { CommandRequest } from '../protocol/command-contract';
import { deviceTaskQueue } from '../protocol/device-contract';
import { serialTurnSignal } from '../protocol/device-queue-contract';
import { enqueueOnDevice } from './command-activity-proxies';
import { note } from './command-record';
import type { CommandRun } from './command-run';
import type { UpdateRecord } from './command-observability';
import { now } from './workflow-clock';

/** What waiting for a serial turn needs of the running command (command-workflow.ts). */
export interface QueuedCommand {
  request: Pick<CommandRequest, 'commandId' | 'deviceId' | 'name' | 'ordering'>;
  run: Pick<CommandRun, 'record' | 'serialTurn'>;
  update: UpdateRecord;
  /** Time left until expiresAt (ms, negative past it). */
  untilExpiry(): number;
  /** How long the device entity keeps the turn if the command never gives it back. */
  entityHoldUntilMs: number;
}

/**
 * Serial: registers the handler of the device entity's "your turn" signal, and returns
 * `waitForTurn`, which asks the device entity for a turn and waits for it until expiry. True
 * once granted; false when the command expired first (nothing was published).
 */
export function serialTurnWaiter(c: QueuedCommand): () => Promise<boolean> {
  const { request, run, update } = c;
  let turnGiven = false;
  setHandler(serialTurnSignal, () => {
    turnGiven = true;
  });
  const waitForTurn = async (): Promise<boolean> => {
    const priority = request.ordering?.priority ?? 0;
    update(note(run.record, now(), 'queued', `serial: waits for the device's serial commands ahead of it (priority ${priority})`));
    run.serialTurn = 'asked';
    await enqueueOnDevice({
      deviceId: request.deviceId,
      entityTaskQueue: deviceTaskQueue(workflowInfo().taskQueue),
      entry: {
        commandId: request.commandId,
        name: request.name,
        priority,
        enqueuedAt: now(),
        holdUntilMs: c.entityHoldUntilMs,
      },
    });
    if (!turnGiven && !(await condition(() => turnGiven, Math.max(c.untilExpiry(), 1)))) return false;
    run.serialTurn = 'granted';
    update(note(run.record, now(), 'turn', 'its turn on the device: the serial commands ahead of it ended'));
    return true;
  };
  return waitForTurn;
}
