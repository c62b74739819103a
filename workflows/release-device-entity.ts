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
  /** A signal to the entity that must happen even after a cancellation; a failure is logged, not thrown. */
  const tell = async (send: () => Promise<void>, warning: string) => {
    try {
      await CancellationScope.nonCancellable(send);
    } catch (err) {
      log.warn(warning, { commandId: request.commandId, deviceId: request.deviceId, error: (err as Error).message });
    }
  };
  // The entity need not wake this command any more. If this is lost, it forgets the command at
  // its hold time, or at the first wake-up that fails.
  if (held.watching) {
    await tell(
      () => entity().signal(deviceWatchSignal, { kind: 'unwatch', commandId: request.commandId }),
      'could not tell the device entity that the command ended',
    );
  }
  // The next serial command's turn (or this one's place in the queue), also after a
  // cancellation. If the entity is gone (terminated by hand) there is no queue left to free; the
  // command's outcome stands.
  if (held.serialTurn) {
    await tell(
      () => entity().signal(deviceQueueSignal, { kind: 'release', commandId: request.commandId }),
      'could not give the serial turn back to the device entity',
    );
  }
}
