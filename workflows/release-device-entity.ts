import { CancellationScope, getExternalWorkflowHandle, log } from '@temporalio/workflow';
import type { CommandRequest } from '../protocol/command-contract';
import { deviceWorkflowId } from '../protocol/device-contract';
import { deviceQueueSignal } from '../protocol/device-queue-contract';
import { deviceWatchSignal } from '../protocol/device-watch-contract';

/**
 * What an ended command gives back to its device's entity: the wake-ups it asked for
 * (`watching`), and its serial turn or its place in the serial queue (`serialTurn`). Neither
 * may be cancelled (the command may end by a cancellation), and neither changes the command's
 * outcome when the entity cannot be told: it forgets both at their hold time.
 */
export async function releaseDeviceEntity(
  request: Pick<CommandRequest, 'commandId' | 'deviceId'>,
  held: { watching: boolean; serialTurn: boolean },
): Promise<void> {
  const entity = () => getExternalWorkflowHandle(deviceWorkflowId(request.deviceId));
  if (held.watching) {
    // The entity need not wake this command any more. If this is lost, it forgets the command
    // at its hold time, or at the first wake-up that fails.
    try {
      await CancellationScope.nonCancellable(() => entity().signal(deviceWatchSignal, { kind: 'unwatch', commandId: request.commandId }));
    } catch (err) {
      log.warn('could not tell the device entity that the command ended', {
        commandId: request.commandId,
        deviceId: request.deviceId,
        error: (err as Error).message,
      });
    }
  }
  if (held.serialTurn) {
    // The next serial command's turn (or this one's place in the queue). Also after a
    // cancellation: nothing may cancel giving the device back.
    try {
      await CancellationScope.nonCancellable(() => entity().signal(deviceQueueSignal, { kind: 'release', commandId: request.commandId }));
    } catch (err) {
      // The entity is gone (terminated by hand): there is no queue left to free. The command's
      // outcome stands.
      log.warn('could not give the serial turn back to the device entity', {
        commandId: request.commandId,
        deviceId: request.deviceId,
        error: (err as Error).message,
      });
    }
  }
}
