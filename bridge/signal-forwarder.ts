import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { commandWorkflowId, deviceMessageSignal, type DeviceMessage } from '../protocol/command-contract';

export type ForwardOutcome = 'signalled' | 'unknown-command';

/**
 * Delivers a device message to its command workflow. Resolves once Temporal has persisted the
 * signal (so the MQTT message may be acknowledged), or with `unknown-command` when no running
 * command has that ID (never existed, or already closed). Any other failure (Temporal down,
 * overloaded) is retried here with backoff, because acknowledging the MQTT message before the
 * signal is stored would lose it.
 */
export class SignalForwarder {
  constructor(
    private readonly client: Client,
    private readonly onRetry: (err: unknown, attempt: number) => void = () => {},
    private readonly maxBackoffMs = 5_000,
  ) {}

  async forward(message: DeviceMessage): Promise<ForwardOutcome> {
    const handle = this.client.workflow.getHandle(commandWorkflowId(message.message.commandId));
    for (let attempt = 1; ; attempt++) {
      try {
        await handle.signal(deviceMessageSignal, message);
        return 'signalled';
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return 'unknown-command';
        this.onRetry(err, attempt);
        await sleep(Math.min(this.maxBackoffMs, 100 * 2 ** Math.min(attempt, 10)));
      }
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
