import type { Client } from '@temporalio/client';
import type { Logger } from '../config/logger';
import { COMMAND_TASK_QUEUE, type DeviceMessage } from '../protocol/command-contract';
import { deviceTaskQueue } from '../protocol/device-contract';
import { MAX_JSON_DEPTH } from '../protocol/json-depth';
import { BridgeCounters } from './bridge-counters';
import { classifyDeviceMessage } from './classify-device-message';
import { CommandOwners } from './command-owners';
import { deadLetterOf, type BridgeDeadLetterReason } from './dead-letter-record';
import { DeadLetterStore } from './dead-letter-store';
import { DEFAULT_DEVICE_RATE, DeviceRateLimiter, type DeviceRate } from './device-rate-limiter';
import { entityStatusCheck } from './entity-status-check';
import { DeviceStatusForwarder, type DeviceStatusForwarderOptions } from './device-status-forwarder';
import { DEFAULT_MAX_REPEATS, DuplicateGuard } from './duplicate-guard';
import { isRedundantLateAnswer } from './late-answer-filter';
import { PerKeyOrder } from './per-key-order';
import { SignalForwarder, type SignalForwarderOptions } from './signal-forwarder';
import { PendingRequestPacer } from './pending-requests';
import { publishedCommand } from './published-command';

export interface MessageRouterOptions {
  topicPrefix: string;
  temporal: Pick<Client, 'workflow' | 'connection'>;
  logger: Logger;
  maxPayloadBytes?: number;
  /** JSON nesting allowed in a payload (default MAX_JSON_DEPTH, 32). */
  maxDepth?: number;
  /** Where rejected messages are counted and kept (default: in memory only). */
  deadLetters?: DeadLetterStore;
  /** Per-device message budget (default DEFAULT_DEVICE_RATE); `false` turns the limit off. */
  deviceRate?: DeviceRate | false;
  /**
   * Bridges in this bridge's shared-subscription group (default 1), all with the same lanes.
   * The broker deals a device's acks and results out to them in turn, so each sees 1/n of
   * them and charges each one n tokens of the device's budget: the group as a whole lets a
   * flooding device through `deviceRate`, not n times it. Statuses and pending requests reach
   * every bridge and cost 1.
   */
  shareGroupSize?: number;
  /** Copies of one answer forwarded before the rest are dropped (default 3). */
  maxRepeats?: number;
  signals?: SignalForwarderOptions;
  /** How status changes reach the device entities (rate, concurrency). */
  deviceStatus?: Omit<DeviceStatusForwarderOptions, 'taskQueue'>;
  counters?: BridgeCounters;
  /** Task queue of the worker that runs the late answers workflows (default COMMAND_TASK_QUEUE). */
  taskQueue?: string;
  /** How long a command's late answers record stays open without a new answer (tests shorten it). */
  lateAnswersIdleMs?: number;
}

/**
 * What the bridge does with one device message, apart from how it came (the MQTT connection
 * lives in mqtt-bridge.ts). Cheap checks come first, so a misbehaving device costs the bridge
 * microseconds and Temporal nothing:
 *
 *   classify (topic, size, JSON, schema)          → dead letter by reason
 *   status, pending → DeviceStatusForwarder → device-<id>
 *                                                 (off this path, coalesced, rate-limited; the
 *                                                 entity wakes the commands that wait for it)
 *   ack/result → device budget                    → `rate-limited`
 *              → owner and state, from Temporal   → `unknown-command`, `spoofed`
 *              → repeats of the same answer       → dropped and counted (`duplicate-dropped`)
 *              → command ended                    → attached to `late-<commandId>` (`late-recorded`),
 *                                                   unless it repeats the outcome (`late-redundant`)
 *              → signal (transient errors retried for a bounded time)
 *                                                 → `signal-refused`, `signal-failed`
 *
 * `route` never throws and always settles, so the MQTT message is then acknowledged.
 * Messages of one command are handled in the order they arrived; different commands in
 * parallel (as many as the connection's lanes deliver at once).
 */
export class MessageRouter {
  readonly counters: BridgeCounters;
  readonly deadLetters: DeadLetterStore;
  readonly deviceStatuses: DeviceStatusForwarder;
  private readonly owners: CommandOwners;
  private readonly forwarder: SignalForwarder;
  private readonly rate?: DeviceRateLimiter;
  /** What an ack or result costs of its device's budget here: the bridges sharing them (shareGroupSize). */
  private readonly answerCost: number;
  private readonly repeats: DuplicateGuard;
  private readonly order = new PerKeyOrder();
  private readonly pendingPacer = new PendingRequestPacer();

  constructor(private readonly o: MessageRouterOptions) {
    this.counters = o.counters ?? new BridgeCounters();
    this.deadLetters = o.deadLetters ?? new DeadLetterStore({ logger: o.logger });
    this.owners = new CommandOwners(o.temporal, { onDescribe: () => this.counters.add('owner:described') });
    // Retained statuses are checked against the entities first (a bridge start costs a query per 500 devices, not a task per device).
    this.deviceStatuses = new DeviceStatusForwarder(o.temporal, this.counters, o.logger, {
      check: entityStatusCheck(o.temporal),
      ...o.deviceStatus,
      taskQueue: deviceTaskQueue(o.taskQueue ?? COMMAND_TASK_QUEUE),
    });
    this.rate = o.deviceRate === false ? undefined : new DeviceRateLimiter(o.deviceRate ?? DEFAULT_DEVICE_RATE);
    this.answerCost = o.shareGroupSize ?? 1;
    if (!Number.isInteger(this.answerCost) || this.answerCost < 1) throw new Error(`shareGroupSize must be a whole number >= 1, not ${o.shareGroupSize}`);
    if (this.rate && this.answerCost > this.rate.burst) {
      throw new Error(
        `the device burst (${this.rate.burst}) must be at least the bridges in the group (${this.answerCost}): each answer costs that many tokens`,
      );
    }
    this.repeats = new DuplicateGuard(o.maxRepeats ?? DEFAULT_MAX_REPEATS);
    this.forwarder = new SignalForwarder(o.temporal, {
      ...o.signals,
      onRetry: (err, attempt) => {
        this.counters.add('signal-retry');
        if (attempt === 1 || attempt % 10 === 0) {
          o.logger.warn({ err: String(err), attempt }, 'Temporal did not accept a signal; retrying before acknowledging the MQTT message');
        }
        o.signals?.onRetry?.(err, attempt);
      },
    });
  }

  /**
   * A command the worker published (the bridge reads the commands topics too): its owner is
   * then known, and the device's answer needs no DescribeWorkflowExecution. A hint only: a
   * missed or malformed copy means the owner is asked of Temporal, as before.
   */
  commandPublished(topic: string, payload: Buffer): void {
    const command = publishedCommand(this.o.topicPrefix, topic, payload);
    if (!command) return this.counters.add('commands:ignored');
    this.owners.published(command.commandId, command.deviceId);
    this.counters.add('commands:seen');
  }

  /** Never throws: every outcome is counted, and the message may then be acknowledged. */
  async route(topic: string, payload: Buffer, retained: boolean): Promise<void> {
    try {
      await this.routeUnsafe(topic, payload, retained);
    } catch (err) {
      // Unreachable by design; counted so that a bug shows, and acknowledged to avoid a loop.
      this.counters.add('router-error');
      this.o.logger.error({ err: String(err), topic }, 'bridge router failed on a message');
    }
  }

  private async routeUnsafe(topic: string, payload: Buffer, retained: boolean): Promise<void> {
    const { topicPrefix, maxPayloadBytes, maxDepth = MAX_JSON_DEPTH, logger } = this.o;
    const receivedAt = new Date().toISOString();
    const classified = classifyDeviceMessage(topicPrefix, topic, payload, { maxPayloadBytes, maxDepth, receivedAt });
    if (classified.outcome === 'dead-letter') {
      this.counters.add(`rejected:${classified.letter.reason}`);
      this.deadLetters.add(classified.letter); // logs it too (rate-limited log)
      return;
    }
    const parsed = classified.parsed;
    const deadLetter = (reason: BridgeDeadLetterReason, detail: string, commandId?: string) =>
      this.deadLetters.add(deadLetterOf(topic, payload, reason, detail, { prefix: topicPrefix, receivedAt, commandId }));

    // A retained status is a snapshot sent at subscribe time: not the device speaking now,
    // so it costs no budget.
    const cost = parsed.kind === 'ack' || parsed.kind === 'result' ? this.answerCost : 1;
    if (this.rate && !retained && !this.rate.take(parsed.deviceId, cost)) {
      this.counters.add(`${parsed.kind}:rate-limited`);
      deadLetter(
        'rate-limited',
        `device ${parsed.deviceId} sent more than its budget of messages; this one was dropped`,
        parsed.kind === 'status' || parsed.kind === 'pending' ? undefined : parsed.message.commandId,
      );
      return;
    }

    if (parsed.kind === 'status') {
      this.counters.add('status');
      const { state, bootId, ts, attributes } = parsed.message;
      logger.debug({ deviceId: parsed.deviceId, state, bootId, retained }, 'device status');
      // Retained ones too: a device that came online while the bridge was away is still news
      // for its entity (and the first status of a device creates it). The entity wakes the
      // commands waiting for the device: nothing here searches for them.
      this.deviceStatuses.report(
        { deviceId: parsed.deviceId, state, bootId, receivedAt, ...(ts ? { deviceTs: ts } : {}), ...(attributes ? { attributes } : {}) },
        retained,
      );
      return;
    }

    if (parsed.kind === 'pending') {
      // The device asks for its pending commands: its entity wakes the commands waiting for it.
      if (retained || !this.pendingPacer.admit(parsed.deviceId)) {
        this.counters.add('pending:too-soon');
        return;
      }
      this.counters.add('pending');
      logger.debug({ deviceId: parsed.deviceId, bootId: parsed.message.bootId }, 'device asked for its pending commands');
      // Asking says it is awake, online in this boot.
      this.deviceStatuses.report({ deviceId: parsed.deviceId, state: 'online', bootId: parsed.message.bootId, receivedAt, asked: true });
      return;
    }

    const { commandId } = parsed.message;
    const message = { kind: parsed.kind, deviceId: parsed.deviceId, receivedAt, message: parsed.message } as DeviceMessage;
    await this.order.run(commandId, async () => {
      const command = await this.owners.lookup(commandId);
      if (command.kind === 'unknown') {
        this.counters.add(`${parsed.kind}:unknown-command`);
        return void deadLetter('unknown-command', `no command ${commandId} exists`, commandId);
      }
      if ((command.kind === 'open' || command.kind === 'closed') && command.owner !== parsed.deviceId) {
        this.counters.add(`${parsed.kind}:spoofed`);
        return void deadLetter('spoofed', `command ${commandId} belongs to device ${command.owner}, not ${parsed.deviceId}; not forwarded`, commandId);
      }
      // Counted only once the owner is known: a spoofer's copies must not use up the budget of
      // repeats of the real device's answer.
      if (!this.repeats.admit(commandId, `${parsed.deviceId}/${parsed.kind}`, parsed.message.status)) {
        this.counters.add(`${parsed.kind}:duplicate-dropped`);
        return;
      }
      if (command.kind === 'closed') return this.recordLate(message, command, deadLetter);
      if (command.kind === 'unavailable') this.counters.add('spoof-check:skipped'); // the workflow still checks the device
      const forwarded = await this.forwarder.forward(message);
      switch (forwarded.outcome) {
        case 'signalled':
          this.counters.add(`${parsed.kind}:signalled`);
          logger.debug({ deviceId: parsed.deviceId, commandId, kind: parsed.kind }, 'forwarded to workflow');
          return;
        case 'not-running':
          // It ended between the lookup and the signal: a late answer after all.
          const closed = await this.owners.lookupClosed(commandId, command.kind === 'open' ? command.owner : parsed.deviceId);
          if (closed.owner !== parsed.deviceId) {
            this.counters.add(`${parsed.kind}:spoofed`);
            return void deadLetter('spoofed', `command ${commandId} belongs to device ${closed.owner}, not ${parsed.deviceId}; not attached`, commandId);
          }
          return this.recordLate(message, closed, deadLetter);
        case 'refused':
          this.counters.add(`${parsed.kind}:signal-refused`);
          return void deadLetter('signal-refused', `Temporal refused the signal for command ${commandId}: ${forwarded.detail}`, commandId);
        case 'gave-up':
          this.counters.add(`${parsed.kind}:signal-failed`);
          return void deadLetter('signal-failed', `Temporal did not take the signal for command ${commandId}: ${forwarded.detail}`, commandId);
      }
    });
  }

  /**
   * An answer for a command that already ended is evidence of what the device did: it is
   * attached to the command's late answers record (`late-<commandId>`), never only dead-lettered.
   */
  private async recordLate(
    message: DeviceMessage,
    command: { owner: string; state?: string; rolloutId?: string },
    deadLetter: (reason: BridgeDeadLetterReason, detail: string, commandId?: string) => void,
  ): Promise<void> {
    const { kind, message: m } = message;
    const endedAs = command.state;
    if (isRedundantLateAnswer(endedAs, kind, m.status)) {
      this.counters.add(`${kind}:late-redundant`);
      return;
    }
    const input = {
      commandId: m.commandId,
      deviceId: command.owner,
      ...(endedAs ? { endedAs } : {}),
      ...(command.rolloutId ? { rolloutId: command.rolloutId } : {}),
      ...(this.o.lateAnswersIdleMs ? { idleMs: this.o.lateAnswersIdleMs } : {}),
    };
    const recorded = await this.forwarder.recordLate(message, input, this.o.taskQueue ?? COMMAND_TASK_QUEUE);
    switch (recorded.outcome) {
      case 'signalled':
        this.counters.add(`${kind}:late-recorded`);
        this.o.logger.info(
          { deviceId: message.deviceId, commandId: m.commandId, kind, status: m.status, endedAs },
          'answer for a command that had ended: attached as a late answer',
        );
        return;
      case 'not-running': // signal-with-start starts what is not running: only a bug gets here
      case 'refused':
        this.counters.add(`${kind}:signal-refused`);
        return void deadLetter(
          'signal-refused',
          `Temporal refused the late answer of command ${m.commandId}: ${'detail' in recorded ? recorded.detail : 'not running'}`,
          m.commandId,
        );
      case 'gave-up':
        this.counters.add(`${kind}:signal-failed`);
        return void deadLetter('signal-failed', `Temporal did not take the late answer of command ${m.commandId}: ${recorded.detail}`, m.commandId);
    }
  }

  async stop(): Promise<void> {
    await this.deviceStatuses.stop();
  }
}
