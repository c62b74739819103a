import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { MqttClient } from 'mqtt';
import { connectMqtt, waitForConnect } from '../config/mqtt-connect';
import { CancelMessage, CommandMessage, PROTOCOL_VERSION, type AckMessage, type DeviceAttributes, type ResultMessage, type StatusMessage } from '../protocol/messages';
import { deviceTopic, parseDeviceTopic, type TopicKind } from '../protocol/topics';
import { MAX_TTL_MS } from '../protocol/command-limits';
import { decideCancel, decideNewCommand, decideRepeat, resultIsQuick } from './command-decisions';
import type { DeviceProfile } from './fleet-profiles';
import { uniformFor } from './seeded-random';

export interface FleetStats {
  devices: number;
  /** Online devices whose connection is up. */
  online: number;
  offline: number;
  connections: number;
  /** Valid commands delivered to online devices, repeats included. */
  commandsReceived: number;
  /** Repeats answered from the journal (same ack, same result) without executing again. */
  duplicatesAnswered: number;
  executions: number;
  acksSent: number;
  acksDropped: number;
  resultsSent: number;
  /** Must stay at most 1: the protocol's first rule. */
  maxExecutionsPerCommand: number;
  /** Commands for devices that are offline here (or not ours), and payloads that are not valid commands. */
  ignored: number;
}

/** Window of outstanding publishes: a slot is handed straight to the next waiter, so the limit holds. */
export class PublishWindow {
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}

/** One simulated device: its place in the fleet, what it does, and what it reports. */
export interface SimDevice {
  id: string;
  index: number;
  profile: DeviceProfile;
  bootId: string;
  attributes: DeviceAttributes;
}

/** One command in a device's journal (shared mode keeps all of a connection's devices in one map). */
interface Entry {
  name: string;
  expiresAtMs: number;
  ack: AckMessage;
  result?: ResultMessage;
  executions: number;
  delivered: boolean;
  running: boolean;
  /** The running execution's timer: a cancel request stops it. */
  timer?: NodeJS.Timeout;
}

type JournalRecord =
  | { t: 'ack'; d: string; c: string; n: string; x: number; ack: AckMessage }
  | { t: 'exec'; d: string; c: string }
  | { t: 'result'; d: string; c: string; result: ResultMessage }
  | { t: 'delivered'; d: string; c: string };

/** The fleet's options every connection needs, resolved once by FleetSimulator. */
export interface FleetSettings {
  prefix: string;
  seed: number;
  latencyMs: number;
  slowLatencyMs: number;
  dropAckRate: number;
  quickResultMs: number;
  knownCommands?: Set<string>;
  retentionMs: number;
  publishWindow: number;
  startTimeoutMs: number;
  log: (message: string, details?: Record<string, unknown>) => void;
}

export function emptyStats(): Omit<FleetStats, 'devices' | 'online' | 'offline' | 'connections'> {
  return { commandsReceived: 0, duplicatesAnswered: 0, executions: 0, acksSent: 0, acksDropped: 0, resultsSent: 0, maxExecutionsPerCommand: 0, ignored: 0 };
}

export function latencyOf(s: FleetSettings, device: SimDevice, commandId: string): number {
  const mean = device.profile.slow ? s.slowLatencyMs : s.latencyMs;
  return Math.round(mean * (0.5 + uniformFor(s.seed, `latency ${device.id} ${commandId}`)));
}

export function dropsAck(s: FleetSettings, deviceId: string, commandId: string): boolean {
  return s.dropAckRate > 0 && uniformFor(s.seed, `drop-ack ${deviceId} ${commandId}`) < s.dropAckRate;
}

/**
 * One shared MQTT connection speaking for its devices: it subscribes to each device's own
 * `commands` topic (a `+` wildcard would deliver every fleet command to every connection and
 * queue all of them in every session), keeps one dedupe journal for all its devices, and
 * answers on each device's own topics.
 */
export class FleetConnection {
  readonly stats = emptyStats();
  connected = false;
  private client?: MqttClient;
  private readonly byId = new Map<string, SimDevice>();
  private readonly entries = new Map<string, Entry>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly window: PublishWindow;
  private journalFd?: number;
  private sweeper?: NodeJS.Timeout;

  constructor(
    readonly clientId: string,
    readonly devices: SimDevice[],
    private readonly s: FleetSettings,
    private readonly mqttOptions: { url: string; username?: string; password?: string; sessionExpirySeconds: number; offlineStatus: boolean },
    private readonly journalFile?: string,
  ) {
    for (const d of devices) this.byId.set(d.id, d);
    this.window = new PublishWindow(s.publishWindow);
  }

  get onlineDevices(): SimDevice[] {
    return this.devices.filter((d) => !d.profile.offline);
  }

  async start(): Promise<void> {
    if (this.journalFile) this.loadJournal(this.journalFile);
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
    this.sweeper = setInterval(() => this.sweep(), 60_000);
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
    for (const [key, entry] of this.entries) {
      if (entry.result && !entry.delivered) void this.sendResult(key.slice(0, key.indexOf(' ')), key.slice(key.indexOf(' ') + 1), entry);
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
    const key = `${device.id} ${command.commandId}`;
    const known = this.entries.get(key);
    if (known) {
      this.stats.duplicatesAnswered++;
      return this.answerRepeat(device, command, known);
    }
    const { ack, execute } = decideNewCommand(command, Date.now(), () =>
      this.s.knownCommands && !this.s.knownCommands.has(command.name)
        ? `unknown-command: ${command.name}`
        : device.profile.rejecting
          ? 'simulated-rejection'
          : undefined,
    );
    const entry: Entry = { name: command.name, expiresAtMs: Date.parse(command.expiresAt), ack, executions: 0, delivered: false, running: false };
    this.entries.set(key, entry);
    // Journal before the ack: a repeat after a crash is then answered, not run.
    this.journal({ t: 'ack', d: device.id, c: command.commandId, n: command.name, x: entry.expiresAtMs, ack });
    if (execute && dropsAck(this.s, device.id, command.commandId)) this.stats.acksDropped++;
    else if (!(execute && resultIsQuick(latencyOf(this.s, device, command.commandId), this.s.quickResultMs))) void this.sendAck(device.id, ack);
    if (execute) this.execute(device, command.commandId, entry);
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
    const key = `${device.id} ${commandId}`;
    const known = this.entries.get(key);
    const decision = decideCancel(commandId, known, known?.running ?? false);
    switch (decision.kind) {
      case 'cancel-unseen': {
        // Kept as long as a copy of the command could still arrive (its expiresAt is not known here).
        const entry: Entry = { name: '', expiresAtMs: Date.now() + MAX_TTL_MS, ack: decision.ack, executions: 0, delivered: false, running: false };
        this.entries.set(key, entry);
        this.journal({ t: 'ack', d: device.id, c: commandId, n: '', x: entry.expiresAtMs, ack: decision.ack });
        return this.finish(device.id, commandId, entry, decision.result);
      }
      case 'stop-running':
        clearTimeout(known!.timer);
        this.timers.delete(known!.timer!);
        known!.running = false;
        return this.finish(device.id, commandId, known!, { v: PROTOCOL_VERSION, commandId, status: 'cancelled' });
      case 'cancel-unstarted':
      case 'report-interrupted':
        return this.finish(device.id, commandId, known!, decision.result);
      case 'resend-result':
        return void this.sendResult(device.id, commandId, known!);
      case 'resend-ack':
        return void this.sendAck(device.id, decision.ack);
    }
  }

  private answerRepeat(device: SimDevice, command: CommandMessage, entry: Entry): void {
    void this.sendAck(device.id, entry.ack);
    // The simulator acts synchronously: the journal cannot change between the ack and this.
    const decision = decideRepeat(command.commandId, entry, entry.running);
    switch (decision.kind) {
      case 'resend-result':
        return void this.sendResult(device.id, command.commandId, entry);
      case 'ack-only':
        return;
      case 'run-now':
        return this.execute(device, command.commandId, entry);
      case 'report-interrupted':
        return this.finish(device.id, command.commandId, entry, decision.result);
    }
  }

  private execute(device: SimDevice, commandId: string, entry: Entry): void {
    entry.running = true;
    entry.executions++;
    this.stats.executions++;
    this.stats.maxExecutionsPerCommand = Math.max(this.stats.maxExecutionsPerCommand, entry.executions);
    this.journal({ t: 'exec', d: device.id, c: commandId });
    const latencyMs = latencyOf(this.s, device, commandId);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      entry.running = false;
      entry.timer = undefined;
      this.finish(
        device.id,
        commandId,
        entry,
        device.profile.failing
          ? { v: PROTOCOL_VERSION, commandId, status: 'failed', error: { code: 'simulated-failure', message: 'this simulated device fails every command' } }
          : { v: PROTOCOL_VERSION, commandId, status: 'succeeded', output: { name: entry.name, latencyMs } },
      );
    }, latencyMs);
    entry.timer = timer;
    this.timers.add(timer);
  }

  private finish(deviceId: string, commandId: string, entry: Entry, result: ResultMessage): void {
    entry.result = result;
    this.journal({ t: 'result', d: deviceId, c: commandId, result });
    void this.sendResult(deviceId, commandId, entry);
  }

  private async sendAck(deviceId: string, ack: AckMessage): Promise<void> {
    if (await this.publish(deviceId, 'ack', ack)) this.stats.acksSent++;
  }

  private async sendResult(deviceId: string, commandId: string, entry: Entry): Promise<void> {
    if (!(await this.publish(deviceId, 'result', entry.result!))) return;
    this.stats.resultsSent++;
    if (!entry.delivered) {
      entry.delivered = true;
      this.journal({ t: 'delivered', d: deviceId, c: commandId });
    }
  }

  // ---- journal: append-only JSON lines, synchronous, compacted at load -----------------------

  private journal(r: JournalRecord): void {
    if (this.journalFd !== undefined) writeSync(this.journalFd, JSON.stringify(r) + '\n');
  }

  private loadJournal(file: string): void {
    mkdirSync(path.dirname(file), { recursive: true });
    if (existsSync(file)) {
      for (const line of readFileSync(file, 'utf8').split('\n')) {
        if (!line.trim()) continue;
        try {
          this.apply(JSON.parse(line) as JournalRecord);
        } catch {
          // a torn last line from a crash mid-write
        }
      }
    }
    this.sweep();
    // Rewrite with what is still kept, so the file does not grow across runs.
    const lines: string[] = [];
    for (const [key, e] of this.entries) {
      const [d, c] = [key.slice(0, key.indexOf(' ')), key.slice(key.indexOf(' ') + 1)];
      lines.push(JSON.stringify({ t: 'ack', d, c, n: e.name, x: e.expiresAtMs, ack: e.ack }));
      for (let i = 0; i < e.executions; i++) lines.push(JSON.stringify({ t: 'exec', d, c }));
      if (e.result) lines.push(JSON.stringify({ t: 'result', d, c, result: e.result }));
      if (e.delivered) lines.push(JSON.stringify({ t: 'delivered', d, c }));
    }
    writeFileSync(`${file}.tmp`, lines.length ? lines.join('\n') + '\n' : '');
    renameSync(`${file}.tmp`, file);
    this.journalFd = openSync(file, 'a');
  }

  private apply(r: JournalRecord): void {
    const key = `${r.d} ${r.c}`;
    if (r.t === 'ack') {
      this.entries.set(key, { name: r.n, expiresAtMs: r.x, ack: r.ack, executions: 0, delivered: false, running: false });
      return;
    }
    const e = this.entries.get(key);
    if (!e) return;
    if (r.t === 'exec') e.executions++;
    else if (r.t === 'result') e.result = r.result;
    else e.delivered = true;
  }

  /** Forgets commands long past their expiry: the service never publishes them again. */
  private sweep(): void {
    const cutoff = Date.now() - this.s.retentionMs;
    for (const [key, e] of this.entries) if (e.expiresAtMs < cutoff && !e.running) this.entries.delete(key);
  }

  // ---- stop ----------------------------------------------------------------------------------

  private halt(): void {
    // Running executions are abandoned, as at a power cut: a repeat later reports `interrupted`.
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    clearInterval(this.sweeper);
    for (const e of this.entries.values()) e.running = false;
  }

  private closeJournal(): void {
    if (this.journalFd !== undefined) closeSync(this.journalFd);
    this.journalFd = undefined;
  }

  /** Clean shutdown: every online device says `offline` (retained), then DISCONNECT. Sessions stay. */
  async stop(): Promise<void> {
    this.halt();
    if (this.client?.connected) await Promise.all(this.onlineDevices.map((d) => this.publish(d.id, 'status', this.status(d, 'offline'), true)));
    await this.client?.endAsync();
    this.connected = false;
    this.closeJournal();
  }

  /** Abrupt loss: no statuses, no DISCONNECT (a shared connection has no per-device Last Will). */
  async crash(): Promise<void> {
    this.halt();
    this.client?.stream.destroy();
    await this.client?.endAsync(true);
    this.connected = false;
    this.closeJournal();
  }
}
