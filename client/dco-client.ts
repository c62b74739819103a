import {
  Client,
  WorkflowExecutionAlreadyStartedError,
  type ClientOptions,
  type ConnectionLike,
  type WorkflowHandle,
  WorkflowNotFoundError,
} from '@temporalio/client';
import {
  COMMAND_TASK_QUEUE,
  COMMAND_WORKFLOW_TYPE,
  commandWorkflowId,
  snapshotQuery,
  type CommandRequest,
  type CommandSnapshot,
} from '../protocol/command-contract';
import { CommandId } from '../protocol/ids';
import { lateAnswersQuery, lateAnswersWorkflowId, type LateAnswers } from '../protocol/late-answers-contract';
import { CommandNameAttribute, CommandStateAttribute, DeviceIdAttribute } from '../protocol/search-attributes';
import type { commandWorkflow } from '../workflows/command-workflow';
import { generateCommandId, resolveExpiresAt, SendRequest, type SendRequestInput } from './send-request';
import { REQUEST_DIGEST_MEMO, requestDigest } from './request-digest';
import { RolloutClient } from './rollout-client';
import { TemplateClient } from './template-client';
import { GroupClient } from './group-client';

import { CommandConflictError, InvalidRequestError } from './errors';

// Where callers inside this repository have always imported them from.
export { CommandConflictError, InvalidRequestError };

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
    // A long command continues as new now and then: a query may reach the run that just
    // handed over. Ask again (the next describe finds the new run); a few tries are plenty.
    for (let tries = 1; ; tries++) {
      const { status } = await this.handle.describe();
      if (status.name === 'RUNNING') {
        try {
          return await this.handle.query(snapshotQuery);
        } catch (err) {
          if (tries >= 3) throw err;
          continue;
        }
      }
      if (status.name === 'CONTINUED_AS_NEW' && tries < 3) continue;
      return this.handle.result();
    }
  }

  /**
   * What the device reported after the command had ended (protocol/late-answers-contract.ts),
   * or undefined when it reported nothing late. It never changes the command's state.
   */
  async lateAnswers(): Promise<LateAnswers | undefined> {
    const late = this.handle.client.getHandle<(input: unknown) => Promise<LateAnswers>>(lateAnswersWorkflowId(this.commandId));
    try {
      const { status } = await late.describe();
      return status.name === 'RUNNING' ? await late.query(lateAnswersQuery) : await late.result();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw err;
    }
  }

  /**
   * Asks the command to stop; nothing more of it is published. If the device may have received
   * it, the device is asked to stop it too (docs/protocol.md, "cancel"), and the command ends
   * with the truth: `Cancelled` when it never reached the device or the device confirmed, the
   * device's real outcome when it was too late, `TimedOut` when the device did not answer in
   * time. `result()` gives the final state.
   */
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
  /** Fleet-wide rollouts on the same connection, namespace and task queue. */
  readonly rollouts: RolloutClient;
  /** Named, versioned rollout definitions (`rollouts.start(await templates.rolloutSpec(...))`). */
  readonly templates: TemplateClient;
  /** Named device groups, assigned or by query (`rollouts.start({targets: await groups.members(name), ...})`). */
  readonly groups: GroupClient;

  constructor(options: DcoClientOptions) {
    this.temporal = new Client({ connection: options.connection, namespace: options.namespace ?? 'default', plugins: options.plugins });
    this.taskQueue = options.taskQueue ?? COMMAND_TASK_QUEUE;
    this.rollouts = new RolloutClient(this.temporal, this.taskQueue);
    this.templates = new TemplateClient(this.temporal, this.taskQueue);
    this.groups = new GroupClient(this.temporal, this.taskQueue);
  }

  /**
   * Starts a command. Idempotent per commandId: sending the same commandId again, while it runs
   * or after it ended, returns the existing command and starts nothing. The same commandId
   * with another device, name or params is refused with CommandConflictError.
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
      ...(req.ordering ? { ordering: req.ordering } : {}),
    };
    const workflowId = commandWorkflowId(commandId);
    const digest = requestDigest(request);
    let handle: CommandHandle;
    try {
      const started = await this.temporal.workflow.start<typeof commandWorkflow>(COMMAND_WORKFLOW_TYPE, {
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
        memo: { [REQUEST_DIGEST_MEMO]: digest },
      });
      handle = new CommandHandle(commandId, started);
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      handle = this.get(commandId);
    }
    // A generated commandId is new; a given one may name an existing command: is it this one?
    if (req.commandId !== undefined) await this.refuseConflict(commandId, request, digest);
    return handle;
  }

  private async refuseConflict(commandId: string, request: CommandRequest, digest: string): Promise<void> {
    const d = await this.temporal.workflow.getHandle(commandWorkflowId(commandId)).describe();
    const found = { deviceId: d.typedSearchAttributes.get(DeviceIdAttribute), name: d.typedSearchAttributes.get(CommandNameAttribute) };
    const existing = d.memo?.[REQUEST_DIGEST_MEMO];
    // Started by another client without our memo: compare what the search attributes show.
    const conflict =
      existing !== undefined
        ? existing !== digest
        : (found.deviceId !== undefined && found.deviceId !== request.deviceId) || (found.name !== undefined && found.name !== request.name);
    if (conflict) throw new CommandConflictError(commandId, found);
  }

  /** A handle to an existing command; `state()` fails with WorkflowNotFoundError if there is none. */
  get(commandId: string): CommandHandle {
    const parsed = CommandId.safeParse(commandId);
    if (!parsed.success) throw new InvalidRequestError(parsed.error.issues);
    return new CommandHandle(commandId, this.temporal.workflow.getHandle<typeof commandWorkflow>(commandWorkflowId(commandId)));
  }
}
