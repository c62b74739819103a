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
import type { CommandBook } from './command-book';
import { CommandFailure, type DeviceAgentOptions } from './device-agent-options';

export { CommandFailure, type CommandContext, type CommandHandler, type DeviceAgentOptions, type DeviceFaults } from './device-agent-options';

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

  /** What the device knows and decides about its commands (command-book.ts); this class does the MQTT and runs the handlers. */
  private get book(): CommandBook {
    return this.journal.book;
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
    for (const { commandId, result } of this.book.undelivered()) await this.publishResult(commandId, result);
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
    // Journaled by the book before anything is sent: if we die after this line, the repeat of
    // this command is answered, not run.
    const arrival = this.book.receive(command, Date.now(), () =>
      !Object.hasOwn(this.o.handlers, command.name) ? `unknown-command: ${command.name}` : this.o.faults?.reject?.(command),
    );
    if (arrival.kind === 'repeat') {
      await this.publishAck(arrival.ack);
      // Decided after the ack went out: the first execution may have finished meanwhile, and
      // its real result must be what the repeat gets, never a new one.
      const then = this.book.repeat(command.commandId, Date.now());
      if (then?.kind === 'send-result') return this.publishResult(command.commandId, then.result);
      if (then?.kind === 'execute') return this.execute(command);
      return;
    }
    const { ack } = arrival;
    if (!arrival.execute) return this.publishAck(ack);
    // The book counts it as running from now on, before the ack is even on its way: a repeat
    // that arrives while we wait for the ack's PUBACK is then not run a second time.
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
    const { decision, action } = this.book.cancel(commandId, Date.now());
    this.log('cancel request', { commandId, decision });
    switch (action.kind) {
      case 'send-result':
        return this.publishResult(commandId, action.result);
      case 'send-ack':
        return this.publishAck(action.ack);
      case 'stop':
        // A handler stops only if it can: the service learns at once that the device has the
        // command, and the handler's result follows.
        this.aborts.get(commandId)?.abort();
        return this.publishAck(action.ack);
    }
  }

  /** Runs the handler once; the book counts the command as running already. `onHandled`: the handler returned or threw. */
  private async execute(command: CommandMessage, onHandled?: () => void): Promise<void> {
    const handler = this.o.handlers[command.name]!;
    this.book.started(command.commandId, Date.now());
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
      this.aborts.delete(command.commandId);
      onHandled?.();
    }
    // The first result recorded stands (the book never replaces it).
    result = this.book.finished(command.commandId, result, Date.now());
    if (this.o.faults?.dropResult?.(command)) return;
    await this.publishResult(command.commandId, result);
  }

  private async publishAck(ack: AckMessage): Promise<void> {
    await this.o.faults?.delayAck?.(ack);
    if (!this.client) return; // stopped meanwhile: the repeat of the command gets this answer
    await this.client
      .publishAsync(this.topic('ack'), JSON.stringify(ack), { qos: 1 })
      .catch((err) => this.log('ack publish failed; the service will re-send the command', { error: String(err) }));
  }

  private async publishResult(commandId: string, result: ResultMessage): Promise<void> {
    try {
      if (!this.client) return; // stopped meanwhile: the journal re-sends it at the next start
      await this.client.publishAsync(this.topic('result'), JSON.stringify(result), { qos: 1 });
      this.book.delivered(commandId, Date.now());
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
