import { Context } from '@temporalio/activity';
import { Worker, type NativeConnection } from '@temporalio/worker';
import type { CommandActivities, PublishCancelInput, PublishCommandInput, PublishCommandResult } from '../../protocol/command-contract';
import type { DeviceQueueActivities, DeviceQueueEntry } from '../../protocol/device-queue-contract';
import type { DeviceWatchActivities } from '../../protocol/device-watch-contract';

/** One call of the stubbed publishCommand, as the stub saw it. */
export interface PublishCall {
  /** When the call started: the worker's wall clock (the server runs on the same machine). */
  at: number;
  /** The command's attempt number (CommandMessage.attempt). */
  attempt: number;
  /** The workflow's clock when it decided to publish. */
  issuedAt: string;
  /** The presence the workflow knew; absent when it knew none (or forgot it to look again). */
  knownPresenceAt?: string;
  /** Temporal's retry of this (local) activity, 1 for the first try: not the command's attempt. */
  retry: number;
  /** What the stub answered; unset while a scripted answer is pending. */
  outcome?: 'published' | 'held' | 'threw';
}

/** A scripted publishCommand: the answer of the broker and of the device entity, per call. */
export type PublishScript = (
  input: PublishCommandInput,
  call: PublishCall,
  calls: readonly PublishCall[],
) => PublishCommandResult | Promise<PublishCommandResult>;

/** What one command asked of the stubbed activities, and how the stub answers it. */
export class CommandStub {
  readonly publishes: PublishCall[] = [];
  readonly cancels: { at: number; input: PublishCancelInput }[] = [];
  /** Wake-up requests to the device entity (the entity itself is not run). */
  readonly watches: { at: number; since: string }[] = [];
  readonly enqueues: { at: number; entry: DeviceQueueEntry }[] = [];
  /** By default every publish gets its PUBACK at once (an online device, a healthy broker). */
  publish: PublishScript = () => ({ published: true });
}

/**
 * A worker for the command workflow (the tests' prebuilt bundle) whose activities are stubs:
 * no broker, no device entity. Every activity the command workflow proxies is here
 * (publishCommand as a local or, for old histories, a regular activity; publishCancel,
 * enqueueOnDevice, watchDevice); each call is recorded per commandId and answered as the
 * test scripted it.
 */
export class StubbedCommandWorker {
  private readonly running: Promise<void>;

  private constructor(
    private readonly worker: Worker,
    private readonly stubs: Map<string, CommandStub>,
  ) {
    this.running = worker.run();
  }

  static async start(o: { connection: NativeConnection; namespace: string; taskQueue: string; bundlePath: string }): Promise<StubbedCommandWorker> {
    const stubs = new Map<string, CommandStub>();
    const worker = await Worker.create({
      connection: o.connection,
      namespace: o.namespace,
      taskQueue: o.taskQueue,
      workflowBundle: { codePath: o.bundlePath },
      activities: stubActivities((commandId) => stubOf(stubs, commandId)),
    });
    return new StubbedCommandWorker(worker, stubs);
  }

  /** The stub of one command (created on first use: script it before starting the command). */
  command(commandId: string): CommandStub {
    return stubOf(this.stubs, commandId);
  }

  async stop(): Promise<void> {
    this.worker.shutdown();
    await this.running;
  }
}

function stubOf(stubs: Map<string, CommandStub>, commandId: string): CommandStub {
  let stub = stubs.get(commandId);
  if (!stub) stubs.set(commandId, (stub = new CommandStub()));
  return stub;
}

function stubActivities(stub: (commandId: string) => CommandStub): CommandActivities & DeviceQueueActivities & DeviceWatchActivities {
  return {
    async publishCommand(input) {
      const s = stub(input.command.commandId);
      const call: PublishCall = {
        at: Date.now(),
        attempt: input.command.attempt,
        issuedAt: input.command.issuedAt,
        ...(input.knownPresenceAt !== undefined ? { knownPresenceAt: input.knownPresenceAt } : {}),
        retry: Context.current().info.attempt,
      };
      s.publishes.push(call);
      try {
        const result = await s.publish(input, call, s.publishes);
        call.outcome = result.published ? 'published' : 'held';
        return result;
      } catch (err) {
        call.outcome = 'threw';
        throw err;
      }
    },
    async publishCancel(input) {
      stub(input.cancel.commandId).cancels.push({ at: Date.now(), input });
    },
    async enqueueOnDevice({ entry }) {
      // Nothing grants the turn: a serial command would wait for a serialTurn signal from the test.
      stub(entry.commandId).enqueues.push({ at: Date.now(), entry });
    },
    async watchDevice({ request }) {
      // Accepted, as a running entity would; the test plays the entity by signalling presence.
      stub(request.commandId).watches.push({ at: Date.now(), since: request.since });
    },
  };
}

/** A promise the test opens: a scripted answer that waits for it. */
export function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}
