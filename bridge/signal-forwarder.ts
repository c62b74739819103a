import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { commandWorkflowId, deviceMessageSignal, type DeviceMessage } from '../protocol/command-contract';
import { LATE_ANSWERS_WORKFLOW_TYPE, lateAnswersWorkflowId, type LateAnswersInput } from '../protocol/late-answers-contract';
import { DeviceIdAttribute, RolloutIdAttribute } from '../protocol/search-attributes';
import { classifyTemporalError, describeTemporalError } from './temporal-errors';

export type ForwardOutcome =
  /** Temporal persisted the signal: the MQTT message may be acknowledged. */
  | { outcome: 'signalled' }
  /** No running command has that ID (never existed, or closed meanwhile). */
  | { outcome: 'not-running' }
  /** Temporal refused this signal for good (e.g. the execution's signal limit): retrying cannot help. */
  | { outcome: 'refused'; detail: string }
  /** Temporal kept failing for longer than the retry budget. */
  | { outcome: 'gave-up'; detail: string };

export interface SignalForwarderOptions {
  /** Longest wait between two tries. */
  maxBackoffMs?: number;
  /**
   * How long one message is retried while Temporal is unavailable before it is dead-lettered.
   * While Temporal is down every message waits, so this bounds the wait of one message, not
   * of the whole stream; the command workflow's re-publish (the device answers again from its
   * journal) recovers what is given up.
   */
  retryBudgetMs?: number;
  /** Deadline of one signal call, so a call that hangs is retried instead of blocking. */
  callTimeoutMs?: number;
  onRetry?: (err: unknown, attempt: number) => void;
}

export const DEFAULT_SIGNAL_RETRY_BUDGET_MS = 10 * 60_000;

/**
 * Delivers a device message to its command workflow. Only transient failures (Temporal
 * unavailable, deadline exceeded, resource exhausted) are retried, with capped exponential
 * backoff and for a bounded time; a permanent refusal or an exhausted budget is returned, so
 * no message is retried forever and one command can never stop the others' messages.
 */
export class SignalForwarder {
  private readonly maxBackoffMs: number;
  private readonly retryBudgetMs: number;
  private readonly callTimeoutMs: number;

  constructor(
    private readonly client: Pick<Client, 'workflow' | 'connection'>,
    private readonly o: SignalForwarderOptions = {},
  ) {
    this.maxBackoffMs = o.maxBackoffMs ?? 5_000;
    this.retryBudgetMs = o.retryBudgetMs ?? DEFAULT_SIGNAL_RETRY_BUDGET_MS;
    this.callTimeoutMs = o.callTimeoutMs ?? 15_000;
  }

  async forward(message: DeviceMessage): Promise<ForwardOutcome> {
    const handle = this.client.workflow.getHandle(commandWorkflowId(message.message.commandId));
    return this.withRetries(() => handle.signal(deviceMessageSignal, message));
  }

  /**
   * Attaches an answer for a command that already ended to the command's late answers record
   * (`late-<commandId>`), starting that workflow if it is not running.
   */
  async recordLate(message: DeviceMessage, input: LateAnswersInput, taskQueue: string): Promise<ForwardOutcome> {
    return this.withRetries(() =>
      this.client.workflow.signalWithStart(LATE_ANSWERS_WORKFLOW_TYPE, {
        workflowId: lateAnswersWorkflowId(input.commandId),
        taskQueue,
        args: [input],
        signal: deviceMessageSignal,
        signalArgs: [message],
        typedSearchAttributes: [
          { key: DeviceIdAttribute, value: input.deviceId },
          ...(input.rolloutId ? [{ key: RolloutIdAttribute, value: input.rolloutId }] : []),
        ],
      }),
    );
  }

  private async withRetries(call: () => Promise<unknown>): Promise<ForwardOutcome> {
    const started = Date.now();
    for (let attempt = 1; ; attempt++) {
      try {
        const withDeadline = this.client.connection?.withDeadline?.bind(this.client.connection);
        await (withDeadline ? withDeadline(Date.now() + this.callTimeoutMs, call) : call());
        return { outcome: 'signalled' };
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return { outcome: 'not-running' };
        const detail = describeTemporalError(err);
        if (classifyTemporalError(err) === 'permanent') return { outcome: 'refused', detail };
        const backoff = Math.min(this.maxBackoffMs, 100 * 2 ** Math.min(attempt, 10));
        if (Date.now() - started + backoff > this.retryBudgetMs) {
          return { outcome: 'gave-up', detail: `${detail} (retried ${attempt} times over ${Math.round((Date.now() - started) / 1000)} s)` };
        }
        this.o.onRetry?.(err, attempt);
        await sleep(backoff);
      }
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
