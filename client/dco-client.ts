import {
  Client,
  WorkflowExecutionAlreadyStartedError,
  type ClientOptions,
  type ConnectionLike,
  type WorkflowHandle,
} from '@temporalio/client';
import { z } from 'zod';
import {
  COMMAND_TASK_QUEUE,
  COMMAND_WORKFLOW_TYPE,
  commandWorkflowId,
  snapshotQuery,
  type CommandRequest,
  type CommandSnapshot,
} from '../protocol/command-contract';
import { CommandId } from '../protocol/ids';
import { CommandNameAttribute, CommandStateAttribute, DeviceIdAttribute } from '../protocol/search-attributes';
import type { commandWorkflow } from '../workflows/command-workflow';
import { generateCommandId, resolveExpiresAt, SendRequest, type SendRequestInput } from './send-request';

export class InvalidRequestError extends Error {
  constructor(readonly issues: z.core.$ZodIssue[]) {
    super(`invalid request: ${z.prettifyError(new z.ZodError(issues))}`);
    this.name = 'InvalidRequestError';
  }
}

/** A started (or found) command. */
export class CommandHandle {
  constructor(
    readonly commandId: string,
    private readonly handle: WorkflowHandle<typeof commandWorkflow>,
  ) {}

  get workflowId(): string {
    return this.handle.workflowId;
  }

  /** Waits for the terminal state. */
  result(): Promise<CommandSnapshot> {
    return this.handle.result();
  }

  /** The current state; for a finished command, its final snapshot. */
  async state(): Promise<CommandSnapshot> {
    const { status } = await this.handle.describe();
    if (status.name === 'RUNNING') return this.handle.query(snapshotQuery);
    return this.handle.result();
  }

  /** Cancels the command: it ends `Cancelled` unless it already ended; nothing more is published. */
  async cancel(): Promise<void> {
    await this.handle.cancel();
  }
}

export interface DcoClientOptions {
  connection: ConnectionLike;
  /** Client plugins, e.g. tracing (config/tracing.ts). */
  plugins?: ClientOptions['plugins'];
  namespace?: string;
  taskQueue?: string;
}

/** The typed entry point for services: send commands, find them, follow them. */
export class DcoClient {
  readonly temporal: Client;
  private readonly taskQueue: string;

  constructor(options: DcoClientOptions) {
    this.temporal = new Client({ connection: options.connection, namespace: options.namespace ?? 'default', plugins: options.plugins });
    this.taskQueue = options.taskQueue ?? COMMAND_TASK_QUEUE;
  }

  /**
   * Starts a command. Idempotent per commandId: sending the same commandId again, while it runs
   * or after it ended, returns the existing command and starts nothing.
   */
  async send(input: SendRequestInput): Promise<CommandHandle> {
    const parsed = SendRequest.safeParse(input);
    if (!parsed.success) throw new InvalidRequestError(parsed.error.issues);
    const req = parsed.data;
    const commandId = req.commandId ?? generateCommandId(req.deviceId, req.name);
    const request: CommandRequest = {
      commandId,
      deviceId: req.deviceId,
      name: req.name,
      params: req.params,
      expiresAt: resolveExpiresAt(req),
      options: {
        ackTimeoutMs: req.ackTimeoutMs,
        resultTimeoutMs: req.resultTimeoutMs,
        maxAttempts: req.maxAttempts,
        backoff: req.backoff,
      },
      ...(req.rolloutId ? { rolloutId: req.rolloutId } : {}),
    };
    const workflowId = commandWorkflowId(commandId);
    try {
      const handle = await this.temporal.workflow.start<typeof commandWorkflow>(COMMAND_WORKFLOW_TYPE, {
        workflowId,
        taskQueue: this.taskQueue,
        args: [request],
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        // What the Web UI shows at the top of the workflow, without decoding payloads.
        staticSummary: `\`${req.name}\` → device \`${req.deviceId}\``,
        staticDetails: `params: \`${JSON.stringify(req.params).slice(0, 500)}\` · expires ${request.expiresAt}`,
        typedSearchAttributes: [
          { key: DeviceIdAttribute, value: req.deviceId },
          { key: CommandNameAttribute, value: req.name },
          { key: CommandStateAttribute, value: 'Created' },
        ],
      });
      return new CommandHandle(commandId, handle);
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return this.get(commandId);
      throw err;
    }
  }

  /** A handle to an existing command; `state()` fails with WorkflowNotFoundError if there is none. */
  get(commandId: string): CommandHandle {
    const parsed = CommandId.safeParse(commandId);
    if (!parsed.success) throw new InvalidRequestError(parsed.error.issues);
    return new CommandHandle(commandId, this.temporal.workflow.getHandle<typeof commandWorkflow>(commandWorkflowId(commandId)));
  }
}
