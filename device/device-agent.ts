import { randomUUID } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import { z } from 'zod';
import { connectMqtt, waitForConnect } from '../config/mqtt-connect';
import {
  CancelMessage,
  CommandMessage,
  DeviceAttributes,
  PROTOCOL_VERSION,
  type AckMessage,
  type ResultMessage,
  type PendingRequestMessage,
  type StatusMessage,
} from '../protocol/messages';
import { deviceTopic, parseDeviceTopic, type TopicKind } from '../protocol/topics';
import { CommandJournal } from './command-journal';
import { decideCancel, decideNewCommand, decideRepeat } from './command-decisions';

/** Thrown by a handler to report a failed execution with a code the service can act on. */
export class CommandFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'CommandFailure';
  }
}

export interface CommandContext {
  deviceId: string;
  commandId: string;
  attempt: number;
  expiresAt: string;
  /**
   * Aborted when the service cancels this command while it runs. A handler that can stop
   * without leaving an effect does so and throws (anything): the device then reports the
   * command `cancelled`. One that cannot simply finishes: its real result is the answer.
   */
  signal: AbortSignal;
}

/** Runs one command; returns its output, or throws (CommandFailure for a coded error). */
export type CommandHandler = (params: Record<string, unknown>, ctx: CommandContext) => Promise<Record<string, unknown> | void>;

/** Fault injection for simulations and tests; a real device leaves these unset. */
export interface DeviceFaults {
  /** Return true to act as if the command never arrived (a lost message). */
  ignore?: (command: CommandMessage) => boolean;
  /** Return a reason to reject the command (ack rejected). */
  reject?: (command: CommandMessage) => string | undefined;
  /** Return true to execute without sending the ack (the ack is "lost"). */
  dropAck?: (command: CommandMessage) => boolean;
  /** Return true to journal the result without publishing it (lost at a crash). */
  dropResult?: (command: CommandMessage) => boolean;
  /** Awaited before each ack is published (a slow link): lets a test order events exactly. */
  delayAck?: (ack: AckMessage) => Promise<void>;
}

export interface DeviceAgentOptions {
  deviceId: string;
  mqttUrl: string;
  username?: string;
  password?: string;
  /** CA certificate (PEM file) that signed the broker's certificate, for mqtts:// URLs. */
  caFile?: string;
  topicPrefix?: string;
  /** Directory of the dedupe journal; it must survive restarts of the device. */
  journalDir: string;
  handlers: Record<string, CommandHandler>;
  faults?: DeviceFaults;
  /**
   * Rule 5's shortcut: a command whose handler returns within this many ms is answered with its
   * result alone, no ack (a result counts as both; SUGGESTED_QUICK_RESULT_MS is 100). The ack of
   * a longer command goes out when this time has passed. 0 (default): ack first, always.
   */
  quickResultMs?: number;
  /** How long the broker keeps the device's session and queued commands while it is offline. */
  sessionExpirySeconds?: number;
  /** Re-publish the online status this often (its `ts` tells operators when it was last seen). */
  heartbeatMs?: number;
  /**
   * How long start() waits for the first connection before it fails (naming the broker's last
   * refusal). Until then, and after any later loss, it retries with backoff.
   */
  startTimeoutMs?: number;
  /**
   * What the device reports about itself (model, firmware, site, …), the full set, in every
   * `online` status; never in `offline` or the Last Will. Unset: the status has none, and the
   * service keeps what it was last told. Checked with the protocol's schema (RangeError).
   */
  attributes?: DeviceAttributes;
  onLog?: (message: string, details?: Record<string, unknown>) => void;
}

/**
 * The reference device agent, for device makers to copy. It follows docs/protocol.md:
 * - status `online` (retained) with a fresh bootId at every start; Last Will `offline`;
 * - a persistent session, so commands published while it is offline wait for it;
 * - a dedupe journal on disk: a repeated commandId re-sends the stored ack (and result),
 *   and never runs the handler twice, across restarts too;
 * - commands past `expiresAt` are rejected with reason `expired`.
 */
export class DeviceAgent {
  readonly bootId = randomUUID();
  readonly journal: CommandJournal;
  private client?: MqttClient;
  private heartbeat?: NodeJS.Timeout;
  private readonly running = new Set<string>();
  /** One per running command: a cancel request aborts it. */
  private readonly aborts = new Map<string, AbortController>();
  private readonly prefix: string;
  private attributes?: DeviceAttributes;

  constructor(private readonly o: DeviceAgentOptions) {
    this.prefix = o.topicPrefix ?? 'devices';
    this.attributes = o.attributes && checkedAttributes(o.attributes);
    this.journal = new CommandJournal(o.journalDir, o.deviceId);
  }

  get deviceId(): string {
    return this.o.deviceId;
  }

  private topic(kind: TopicKind): string {
    return deviceTopic(this.prefix, this.o.deviceId, kind);
  }

  private status(state: StatusMessage['state']): string {
    const s: StatusMessage = { v: PROTOCOL_VERSION, state, bootId: this.bootId, ts: new Date().toISOString() };
    if (state === 'online' && this.attributes) s.attributes = this.attributes;
    return JSON.stringify(s);
  }

  /**
   * New attributes (e.g. the firmware after an update), the full set: re-publishes the retained
   * `online` status at once when connected, else the next connect sends them.
   */
  async setAttributes(attributes: DeviceAttributes): Promise<void> {
    this.attributes = checkedAttributes(attributes);
    if (this.client?.connected) await this.client.publishAsync(this.topic('status'), this.status('online'), { qos: 1, retain: true });
  }

  /**
   * Asks for the pending commands (the `pending` topic), e.g. right after waking up: every open
   * command waiting for this device is published again at once, instead of at its next timer.
   * The service acts on at most one request every few seconds per device.
   */
  async requestPending(): Promise<void> {
    if (!this.client?.connected) throw new Error(`device ${this.o.deviceId} is not connected: it cannot ask for its pending commands`);
    const request: PendingRequestMessage = { v: PROTOCOL_VERSION, bootId: this.bootId, ts: new Date().toISOString() };
    await this.client.publishAsync(this.topic('pending'), JSON.stringify(request), { qos: 1 });
  }

  async start(): Promise<void> {
    const name = `device ${this.o.deviceId}`;
    const client = connectMqtt({
      url: this.o.mqttUrl,
      name,
      clientId: `device-${this.o.deviceId}`,
      clean: false,
      sessionExpirySeconds: this.o.sessionExpirySeconds ?? 24 * 3600,
      username: this.o.username,
      password: this.o.password,
      caFile: this.o.caFile,
      will: { topic: this.topic('status'), payload: Buffer.from(this.status('offline')), qos: 1, retain: true },
      log: (message, details) => this.log(message, details),
    });
    this.client = client;
    client.on('error', (err) => this.log('mqtt error', { error: err.message }));
    client.on('message', (topic, payload) => void (parseDeviceTopic(this.prefix, topic)?.kind === 'cancel' ? this.onCancel(payload) : this.onCommand(payload)));
    client.on('connect', (connack) => {
      void client.publishAsync(this.topic('status'), this.status('online'), { qos: 1, retain: true }).catch(() => {});
      if (!connack.sessionPresent) void client.subscribeAsync([this.topic('commands'), this.topic('cancel')], { qos: 1 }).catch(() => {});
    });
    try {
      await waitForConnect(client, { name, url: this.o.mqttUrl }, this.o.startTimeoutMs ?? 30_000);
    } catch (err) {
      await client.endAsync(true);
      this.client = undefined;
      throw err;
    }
    await client.subscribeAsync([this.topic('commands'), this.topic('cancel')], { qos: 1 });
    await this.redeliverResults();
    this.heartbeat = setInterval(() => {
      if (client.connected) void client.publishAsync(this.topic('status'), this.status('online'), { qos: 1, retain: true }).catch(() => {});
    }, this.o.heartbeatMs ?? 60_000);
    this.heartbeat.unref();
  }

  /** Results stored before a crash but never confirmed by the broker are sent again. */
  private async redeliverResults(): Promise<void> {
    for (const entry of this.journal.all()) {
      if (entry.result && !entry.resultDelivered) await this.publishResult(entry.commandId, entry.result);
    }
  }

  private async onCommand(payload: Buffer): Promise<void> {
    let json: unknown;
    try {
      json = JSON.parse(payload.toString('utf8'));
    } catch {
      this.log('ignored a command that is not JSON');
      return;
    }
    const parsed = CommandMessage.safeParse(json);
    if (!parsed.success) {
      this.log('ignored an invalid command', { issues: parsed.error.issues.length });
      return;
    }
    const command = parsed.data;
    if (this.o.faults?.ignore?.(command)) return;
    const known = this.journal.get(command.commandId);
    if (known) return this.answerRepeat(command);

    const { ack, execute } = decideNewCommand(command, Date.now(), () =>
      !Object.hasOwn(this.o.handlers, command.name) ? `unknown-command: ${command.name}` : this.o.faults?.reject?.(command),
    );
    // Journal first: if we die after this line, the repeat of this command is answered, not run.
    this.journal.recordAck(command.commandId, command.name, ack);
    if (!execute) return this.publishAck(ack);
    // Running from now on, before the ack is even on its way: a repeat that arrives while we
    // wait for the ack's PUBACK must see it as running, or it would run it a second time.
    this.running.add(command.commandId);
    if (this.o.faults?.dropAck?.(command)) return this.execute(command);
    const quickMs = this.o.quickResultMs ?? 0;
    if (quickMs <= 0) {
      await this.publishAck(ack);
      return this.execute(command);
    }
    let handled = false;
    let timer: NodeJS.Timeout | undefined;
    const window = new Promise<void>((resolve) => (timer = setTimeout(resolve, quickMs)));
    const execution = this.execute(command, () => {
      handled = true;
      clearTimeout(timer);
    });
    await Promise.race([window, execution]);
    clearTimeout(timer);
    if (!handled) await this.publishAck(ack); // still running: say it was received
    await execution;
  }

  /**
   * A command we already have: answer from the journal, never run it twice. The journal is
   * read again after every wait, since the first execution may finish meanwhile: its real
   * result must be sent, never replaced.
   */
  private async answerRepeat(command: CommandMessage): Promise<void> {
    const { commandId } = command;
    await this.publishAck(this.journal.get(commandId)!.ack);
    const decision = decideRepeat(commandId, this.journal.get(commandId)!, this.running.has(commandId));
    switch (decision.kind) {
      case 'resend-result':
        return this.publishResult(commandId, decision.result);
      case 'ack-only':
        return;
      case 'run-now':
        this.running.add(commandId);
        return this.execute(command);
      case 'report-interrupted':
        this.journal.recordResult(commandId, decision.result);
        return this.publishResult(commandId, decision.result);
    }
  }

  /**
   * A cancel request (docs/protocol.md, "cancel"): answered from the journal with the truth,
   * `cancelled` only for a command that did not run and now never will.
   */
  private async onCancel(payload: Buffer): Promise<void> {
    let cancel: CancelMessage;
    try {
      cancel = CancelMessage.parse(JSON.parse(payload.toString('utf8')));
    } catch {
      this.log('ignored an invalid cancel request');
      return;
    }
    const { commandId } = cancel;
    const decision = decideCancel(commandId, this.journal.get(commandId), this.running.has(commandId));
    this.log('cancel request', { commandId, decision: decision.kind });
    switch (decision.kind) {
      case 'cancel-unseen':
        // Journalled first: a copy of the command still on its way is answered, never run.
        this.journal.recordAck(commandId, '', decision.ack);
        this.journal.recordResult(commandId, decision.result);
        return this.publishResult(commandId, decision.result);
      case 'cancel-unstarted':
      case 'report-interrupted':
        this.journal.recordResult(commandId, decision.result);
        return this.publishResult(commandId, decision.result);
      case 'resend-result':
        return this.publishResult(commandId, decision.result);
      case 'resend-ack':
        return this.publishAck(decision.ack);
      case 'stop-running':
        // The service learns that the device has it; the handler's result follows.
        this.aborts.get(commandId)?.abort();
        return this.publishAck(decision.ack);
    }
  }

  /** Runs the handler once; the caller has marked the command running. `onHandled`: the handler returned or threw. */
  private async execute(command: CommandMessage, onHandled?: () => void): Promise<void> {
    const handler = this.o.handlers[command.name]!;
    this.journal.recordExecuting(command.commandId);
    const abort = new AbortController();
    this.aborts.set(command.commandId, abort);
    let result: ResultMessage;
    try {
      const output = await handler(command.params, {
        deviceId: this.o.deviceId,
        commandId: command.commandId,
        attempt: command.attempt,
        expiresAt: command.expiresAt,
        signal: abort.signal,
      });
      result = { v: PROTOCOL_VERSION, commandId: command.commandId, status: 'succeeded', ...(output ? { output } : {}) };
    } catch (err) {
      const code = err instanceof CommandFailure ? err.code : 'handler-error';
      result = abort.signal.aborted
        ? { v: PROTOCOL_VERSION, commandId: command.commandId, status: 'cancelled' }
        : { v: PROTOCOL_VERSION, commandId: command.commandId, status: 'failed', error: { code, message: String((err as Error)?.message ?? err) } };
    } finally {
      this.running.delete(command.commandId);
      this.aborts.delete(command.commandId);
      onHandled?.();
    }
    // The first result recorded stands (the journal never replaces it).
    if (!this.journal.recordResult(command.commandId, result)) result = this.journal.get(command.commandId)!.result!;
    if (this.o.faults?.dropResult?.(command)) return;
    await this.publishResult(command.commandId, result);
  }

  private async publishAck(ack: AckMessage): Promise<void> {
    await this.o.faults?.delayAck?.(ack);
    if (!this.client) return; // stopped meanwhile: the repeat of the command gets this answer
    await this.client.publishAsync(this.topic('ack'), JSON.stringify(ack), { qos: 1 }).catch((err) =>
      this.log('ack publish failed; the service will re-send the command', { error: String(err) }),
    );
  }

  private async publishResult(commandId: string, result: ResultMessage): Promise<void> {
    try {
      if (!this.client) return; // stopped meanwhile: the journal re-sends it at the next start
      await this.client.publishAsync(this.topic('result'), JSON.stringify(result), { qos: 1 });
      this.journal.recordDelivered(commandId);
    } catch (err) {
      this.log('result publish failed; it is re-sent at the next start or repeat', { error: String(err) });
    }
  }

  private log(message: string, details?: Record<string, unknown>): void {
    this.o.onLog?.(message, { deviceId: this.o.deviceId, ...details });
  }

  /** A clean shutdown: status offline (retained), then disconnect. The session stays. */
  async stop(): Promise<void> {
    clearInterval(this.heartbeat);
    const client = this.client;
    // Taken first: a second stop() (or crash()) finds nothing to do instead of waiting on an
    // ended client's publish forever.
    this.client = undefined;
    if (!client) return;
    // Only when connected: a QoS 1 publish on a client without a connection waits for the next
    // one, and this client is about to end.
    if (client.connected) await client.publishAsync(this.topic('status'), this.status('offline'), { qos: 1, retain: true }).catch(() => {});
    await client.endAsync(!client.connected);
    this.journal.close();
  }

  /** An abrupt loss (power cut, network gone): no goodbye, the broker publishes the Last Will. */
  async crash(): Promise<void> {
    clearInterval(this.heartbeat);
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    // Destroy the socket without DISCONNECT so the broker sends the will.
    client.stream.destroy();
    await client.endAsync(true);
    this.journal.close();
  }
}

function checkedAttributes(attributes: DeviceAttributes): DeviceAttributes {
  const parsed = DeviceAttributes.safeParse(attributes);
  if (!parsed.success) throw new RangeError(`invalid device attributes: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}
