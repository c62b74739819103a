import type { MqttClient } from 'mqtt';
import { connectMqtt, waitForConnect } from '../config/mqtt-connect';
import { CancelMessage, CommandMessage, PROTOCOL_VERSION, type AckMessage, type ResultMessage, type StatusMessage } from '../protocol/messages';
import { deviceTopic, parseDeviceTopic, type TopicKind } from '../protocol/topics';
import { resultIsQuick } from './command-decisions';
import type { RepeatAction, CancelAction } from './command-book';
import { FleetCommandBooks } from './fleet-command-books';
import { dropsAck, latencyOf, type FleetSettings, type SimDevice } from './fleet-settings';
import { emptyStats } from './fleet-stats';
import { PublishWindow } from './publish-window';

/**
 * One shared MQTT connection speaking for its devices: it subscribes to each device's own
 * `commands` topic (a `+` wildcard would deliver every fleet command to every connection and
 * queue all of them in every session), and answers on each device's own topics. Each device
 * has its own command book, all kept in one journal file (fleet-command-books.ts).
 */
export class FleetConnection {
  readonly stats = emptyStats();
  connected = false;
  private client?: MqttClient;
  private readonly byId = new Map<string, SimDevice>();
  private readonly books: FleetCommandBooks;
  /** Running executions by `${deviceId} ${commandId}`: a cancel request or a stop ends them. */
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly window: PublishWindow;
  private sweeper?: NodeJS.Timeout;

  constructor(
    readonly clientId: string,
    readonly devices: SimDevice[],
    private readonly s: FleetSettings,
    private readonly mqttOptions: { url: string; username?: string; password?: string; sessionExpirySeconds: number; offlineStatus: boolean },
    journalFile?: string,
  ) {
    for (const d of devices) this.byId.set(d.id, d);
    this.books = new FleetCommandBooks(devices, s.retentionMs, journalFile);
    this.window = new PublishWindow(s.publishWindow);
  }

  get onlineDevices(): SimDevice[] {
    return this.devices.filter((d) => !d.profile.offline);
  }

  async start(): Promise<void> {
    this.books.open();
    const name = `simulator connection ${this.clientId}`;
    const client = connectMqtt({
      url: this.mqttOptions.url,
      name,
      clientId: this.clientId,
      clean: false,
      sessionExpirySeconds: this.mqttOptions.sessionExpirySeconds,
      username: this.mqttOptions.username,
      password: this.mqttOptions.password,
      connectTimeoutMs: 30_000,
      extra: { resubscribe: false }, // we subscribe at every connect ourselves
      log: (message, details) => this.s.log(message, details),
    });
    this.client = client;
    // Attached before CONNACK: a persistent session delivers queued commands right after it.
    client.on('message', (topic, payload) => this.onMessage(topic, payload));
    client.on('error', (err) => this.s.log('mqtt error', { clientId: this.clientId, error: err.message }));
    client.on('close', () => (this.connected = false));
    let first: Promise<void> | undefined;
    const ready = new Promise<void>((resolve, reject) => {
      client.on('connect', () => {
        const announced = this.announce();
        if (!first) {
          first = announced;
          announced.then(resolve, reject);
        } else {
          announced.catch((err) => this.s.log('announce after reconnect failed', { clientId: this.clientId, error: String(err) }));
        }
      });
    });
    try {
      await waitForConnect(client, { name, url: this.mqttOptions.url }, this.s.startTimeoutMs);
    } catch (err) {
      await client.endAsync(true);
      throw err;
    }
    await ready;
    this.sweeper = setInterval(() => this.books.sweep(), 60_000);
    this.sweeper.unref();
  }

  /** At every connect: subscribe first (the service may publish as soon as it sees `online`), then statuses, then unsent results. */
  private async announce(): Promise<void> {
    const client = this.client!;
    const online = this.onlineDevices;
    for (let i = 0; i < online.length; i += 500) {
      await client.subscribeAsync(
        online.slice(i, i + 500).flatMap((d) => [deviceTopic(this.s.prefix, d.id, 'commands'), deviceTopic(this.s.prefix, d.id, 'cancel')]),
        { qos: 1 },
      );
    }
    this.connected = true;
    const statuses = online.map((d) => this.publish(d.id, 'status', this.status(d, 'online'), true));
    if (this.mqttOptions.offlineStatus) {
      for (const d of this.devices) if (d.profile.offline) statuses.push(this.publish(d.id, 'status', this.status(d, 'offline'), true));
    }
    await Promise.all(statuses);
    for (const [deviceId, book] of this.books.entries()) {
      for (const { commandId, result } of book.undelivered()) void this.sendResult(deviceId, commandId, result);
    }
  }

  private status(d: SimDevice, state: StatusMessage['state']): StatusMessage {
    return { v: PROTOCOL_VERSION, state, bootId: d.bootId, ts: new Date().toISOString(), ...(state === 'online' ? { attributes: d.attributes } : {}) };
  }

  private async publish(deviceId: string, kind: TopicKind, body: object, retain = false): Promise<boolean> {
    try {
      await this.window.run(() => this.client!.publishAsync(deviceTopic(this.s.prefix, deviceId, kind), JSON.stringify(body), { qos: 1, retain }));
      return true;
    } catch (err) {
      this.s.log(`${kind} publish failed`, { deviceId, error: String(err) });
      return false;
    }
  }

  private onMessage(topic: string, payload: Buffer): void {
    const parsed = parseDeviceTopic(this.s.prefix, topic);
    const device = parsed?.kind === 'commands' || parsed?.kind === 'cancel' ? this.byId.get(parsed.deviceId) : undefined;
    if (!device || device.profile.offline) {
      this.stats.ignored++; // e.g. a subscription left in the session by an earlier run with other knobs
      return;
    }
    if (parsed?.kind === 'cancel') return this.onCancel(device, payload);
    let command: CommandMessage;
    try {
      command = CommandMessage.parse(JSON.parse(payload.toString('utf8')));
    } catch {
      this.stats.ignored++; // protocol rule 7: never executed, cannot be answered reliably
      return;
    }
    this.stats.commandsReceived++;
    this.handle(device, command);
  }

  private handle(device: SimDevice, command: CommandMessage): void {
    const book = this.books.get(device.id)!;
    const arrival = book.receive(command, Date.now(), () =>
      this.s.knownCommands && !this.s.knownCommands.has(command.name)
        ? `unknown-command: ${command.name}`
        : device.profile.rejecting
          ? 'simulated-rejection'
          : undefined,
    );
    if (arrival.kind === 'repeat') {
      this.stats.duplicatesAnswered++;
      void this.sendAck(device.id, arrival.ack);
      // The simulator acts synchronously: the book cannot change between the ack and this.
      return this.carryOut(device, command.commandId, book.repeat(command.commandId, Date.now()));
    }
    const { ack, execute } = arrival;
    // The latency is known in advance here, so rule 5's shortcut is decided at once.
    if (execute && dropsAck(this.s, device.id, command.commandId)) this.stats.acksDropped++;
    else if (!(execute && resultIsQuick(latencyOf(this.s, device, command.commandId), this.s.quickResultMs))) void this.sendAck(device.id, ack);
    if (execute) this.execute(device, command.commandId);
  }

  /** A cancel request: simulated work has no effect until it completes, so a running command always stops. */
  private onCancel(device: SimDevice, payload: Buffer): void {
    let cancel: CancelMessage;
    try {
      cancel = CancelMessage.parse(JSON.parse(payload.toString('utf8')));
    } catch {
      this.stats.ignored++;
      return;
    }
    const { commandId } = cancel;
    this.carryOut(device, commandId, this.books.get(device.id)!.cancel(commandId, Date.now()).action);
  }

  private carryOut(device: SimDevice, commandId: string, action: RepeatAction | CancelAction): void {
    switch (action?.kind) {
      case 'send-result':
        return void this.sendResult(device.id, commandId, action.result);
      case 'send-ack':
        return void this.sendAck(device.id, action.ack);
      case 'execute':
        return this.execute(device, commandId);
      case 'stop': {
        // Stopped at once, so the result goes out now and the ack that would say "a result follows" is not needed.
        const key = `${device.id} ${commandId}`;
        clearTimeout(this.timers.get(key));
        this.timers.delete(key);
        return this.finish(device.id, commandId, { v: PROTOCOL_VERSION, commandId, status: 'cancelled' });
      }
    }
  }

  private execute(device: SimDevice, commandId: string): void {
    const book = this.books.get(device.id)!;
    const executions = book.started(commandId, Date.now());
    this.stats.executions++;
    this.stats.maxExecutionsPerCommand = Math.max(this.stats.maxExecutionsPerCommand, executions);
    const name = book.get(commandId)!.name;
    const latencyMs = latencyOf(this.s, device, commandId);
    const key = `${device.id} ${commandId}`;
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.finish(
        device.id,
        commandId,
        device.profile.failing
          ? { v: PROTOCOL_VERSION, commandId, status: 'failed', error: { code: 'simulated-failure', message: 'this simulated device fails every command' } }
          : { v: PROTOCOL_VERSION, commandId, status: 'succeeded', output: { name, latencyMs } },
      );
    }, latencyMs);
    this.timers.set(key, timer);
  }

  private finish(deviceId: string, commandId: string, result: ResultMessage): void {
    void this.sendResult(deviceId, commandId, this.books.get(deviceId)!.finished(commandId, result, Date.now()));
  }

  private async sendAck(deviceId: string, ack: AckMessage): Promise<void> {
    if (await this.publish(deviceId, 'ack', ack)) this.stats.acksSent++;
  }

  private async sendResult(deviceId: string, commandId: string, result: ResultMessage): Promise<void> {
    if (!(await this.publish(deviceId, 'result', result))) return;
    this.stats.resultsSent++;
    this.books.get(deviceId)?.delivered(commandId, Date.now());
  }

  // ---- stop ----------------------------------------------------------------------------------

  private halt(): void {
    // Running executions are abandoned, as at a power cut: a repeat later reports `interrupted`.
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    clearInterval(this.sweeper);
    this.books.halt();
  }

  /** Clean shutdown: every online device says `offline` (retained), then DISCONNECT. Sessions stay. */
  async stop(): Promise<void> {
    this.halt();
    if (this.client?.connected) await Promise.all(this.onlineDevices.map((d) => this.publish(d.id, 'status', this.status(d, 'offline'), true)));
    await this.client?.endAsync();
    this.connected = false;
    this.books.close();
  }

  /** Abrupt loss: no statuses, no DISCONNECT (a shared connection has no per-device Last Will). */
  async crash(): Promise<void> {
    this.halt();
    this.client?.stream.destroy();
    await this.client?.endAsync(true);
    this.connected = false;
    this.books.close();
  }
}
