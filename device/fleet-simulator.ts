import { randomUUID } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { MqttClient } from 'mqtt';
import { connectMqtt, waitForConnect } from '../config/mqtt-connect';
import { CommandMessage, PROTOCOL_VERSION, type AckMessage, type DeviceAttributes, type ResultMessage, type StatusMessage } from '../protocol/messages';
import { DEFAULT_TOPIC_PREFIX, deviceTopic, parseDeviceTopic, type TopicKind } from '../protocol/topics';
import { CommandFailure, DeviceAgent, type CommandHandler } from './device-agent';
import { hash32, seededPermutation, uniformFor } from './seeded-random';
import { simulatedAttributes, simulatedFirmware } from './simulated-attributes';
import { simulatedDeviceIds } from './simulator';
import { decideNewCommand, decideRepeat, resultIsQuick } from './command-decisions';

/**
 * A large simulated fleet that follows docs/protocol.md per device. In the default `shared`
 * mode many devices share a few MQTT connections (like devices behind a gateway), which is how
 * one process on two cores emulates 10,000+ devices; `per-device` runs one reference
 * DeviceAgent (one connection, Last Will, journal on disk) per device, for small fleets.
 *
 * Misbehaviour is assigned per device, exactly: with 10,000 devices and failureRate 0.1,
 * exactly 1,000 devices fail every command they run (a change that breaks one hardware model,
 * say). Everything is derived from `seed`, so a run can be repeated.
 */
export interface FleetSimulatorOptions {
  /** A number of devices (IDs `${idPrefix}0001` …, as `dco sim`) or the IDs themselves. */
  devices: number | readonly string[];
  idPrefix?: string;
  mqttUrl: string;
  username?: string;
  password?: string;
  topicPrefix?: string;
  mode?: 'shared' | 'per-device';
  /** Shared mode: MQTT connections; device i belongs to connection i mod K. Default ceil(N / 2000). */
  connections?: number;
  /** Shared mode: connection k has the fixed client ID `${clientIdPrefix}-${k}` (its persistent session). */
  clientIdPrefix?: string;
  /** Dedupe journals on disk. Shared: one JSON-lines file per connection (optional); per-device: required by DeviceAgent (default: a temp dir). */
  journalDir?: string;
  seed?: number;
  /** Mean execution time, ms (each execution: uniform in [0.5, 1.5] × mean). */
  latencyMs?: number;
  /** Mean execution time of slow devices. Default 10 × latencyMs. */
  slowLatencyMs?: number;
  /** Shares of devices, exact (rounded to whole devices). offline + reject + failure ≤ 1. */
  offlineRate?: number;
  rejectRate?: number;
  failureRate?: number;
  slowRate?: number;
  /** Share of commands (not devices) whose first ack is lost; the result still comes. */
  dropAckRate?: number;
  /**
   * Shared mode: a command that finishes within this many ms of arrival is answered with its
   * result alone, no ack (protocol rule 5: a result counts as both). 0 (default): always ack.
   */
  quickResultMs?: number;
  /** Offline devices: a retained `offline` status (known to presence, commands are held and expire) or none at all (commands time out). */
  offlineStatus?: 'offline' | 'none';
  /** The firmware every device reports in its `online` status attributes (simulated-attributes.ts); default 1.0.0. */
  firmware?: string;
  /** Commands the devices know; others are rejected `unknown-command: …`. Default: any name. */
  knownCommands?: readonly string[];
  /** Shared mode: unacknowledged QoS 1 publishes per connection, so a status burst does not flood the broker. */
  publishWindow?: number;
  sessionExpirySeconds?: number;
  /** Journal entries are kept this long after the command's expiresAt (protocol: well after). */
  journalRetentionMs?: number;
  /** How long start() waits for each connection's first CONNACK before it fails, naming the last refusal. */
  startTimeoutMs?: number;
  onLog?: (message: string, details?: Record<string, unknown>) => void;
}

export interface DeviceProfile {
  offline: boolean;
  rejecting: boolean;
  failing: boolean;
  slow: boolean;
}

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

const DEVICES_PER_CONNECTION = 2_000;

/** Exact shares: a seeded permutation ranks the devices, the first ranks get each trait. */
export function fleetProfiles(n: number, o: Pick<FleetSimulatorOptions, 'seed' | 'offlineRate' | 'rejectRate' | 'failureRate' | 'slowRate'>): DeviceProfile[] {
  const seed = o.seed ?? 1;
  const offline = Math.round((o.offlineRate ?? 0) * n);
  const rejecting = offline + Math.round((o.rejectRate ?? 0) * n);
  const failing = Math.min(n, rejecting + Math.round((o.failureRate ?? 0) * n));
  const slow = Math.round((o.slowRate ?? 0) * n);
  const rank = seededPermutation(n, seed);
  const slowRank = seededPermutation(n, seed ^ 0x5eed);
  return rank.map((r, i) => ({ offline: r < offline, rejecting: r >= offline && r < rejecting, failing: r >= rejecting && r < failing, slow: slowRank[i] < slow }));
}

/** Window of outstanding publishes: a slot is handed straight to the next waiter, so the limit holds. */
class PublishWindow {
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

interface SimDevice {
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
}

type JournalRecord =
  | { t: 'ack'; d: string; c: string; n: string; x: number; ack: AckMessage }
  | { t: 'exec'; d: string; c: string }
  | { t: 'result'; d: string; c: string; result: ResultMessage }
  | { t: 'delivered'; d: string; c: string };

interface Settings {
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

function emptyStats(): Omit<FleetStats, 'devices' | 'online' | 'offline' | 'connections'> {
  return { commandsReceived: 0, duplicatesAnswered: 0, executions: 0, acksSent: 0, acksDropped: 0, resultsSent: 0, maxExecutionsPerCommand: 0, ignored: 0 };
}

function latencyOf(s: Settings, device: SimDevice, commandId: string): number {
  const mean = device.profile.slow ? s.slowLatencyMs : s.latencyMs;
  return Math.round(mean * (0.5 + uniformFor(s.seed, `latency ${device.id} ${commandId}`)));
}

function dropsAck(s: Settings, deviceId: string, commandId: string): boolean {
  return s.dropAckRate > 0 && uniformFor(s.seed, `drop-ack ${deviceId} ${commandId}`) < s.dropAckRate;
}

/**
 * One shared MQTT connection speaking for its devices: it subscribes to each device's own
 * `commands` topic (a `+` wildcard would deliver every fleet command to every connection and
 * queue all of them in every session), keeps one dedupe journal for all its devices, and
 * answers on each device's own topics.
 */
class FleetConnection {
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
    private readonly s: Settings,
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
      await client.subscribeAsync(online.slice(i, i + 500).map((d) => deviceTopic(this.s.prefix, d.id, 'commands')), { qos: 1 });
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
    const device = parsed?.kind === 'commands' ? this.byId.get(parsed.deviceId) : undefined;
    if (!device || device.profile.offline) {
      this.stats.ignored++; // e.g. a subscription left in the session by an earlier run with other knobs
      return;
    }
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
      this.finish(
        device.id,
        commandId,
        entry,
        device.profile.failing
          ? { v: PROTOCOL_VERSION, commandId, status: 'failed', error: { code: 'simulated-failure', message: 'this simulated device fails every command' } }
          : { v: PROTOCOL_VERSION, commandId, status: 'succeeded', output: { name: entry.name, latencyMs } },
      );
    }, latencyMs);
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

// ---- the fleet -----------------------------------------------------------------------------

interface PerDeviceCounters {
  received: number;
  acksDropped: number;
}

export class FleetSimulator {
  readonly deviceIds: readonly string[];
  private readonly profiles: DeviceProfile[];
  private readonly index = new Map<string, number>();
  private readonly settings: Settings;
  private readonly firmware: string;
  private readonly mode: 'shared' | 'per-device';
  private connections: FleetConnection[] = [];
  private agents: DeviceAgent[] = [];
  private readonly perDevice: PerDeviceCounters = { received: 0, acksDropped: 0 };

  constructor(private readonly o: FleetSimulatorOptions) {
    this.deviceIds = typeof o.devices === 'number' ? simulatedDeviceIds(o.devices, o.idPrefix ?? 'sim-') : [...o.devices];
    const n = this.deviceIds.length;
    if (n < 1) throw new RangeError('a fleet needs at least one device');
    for (const [name, v] of Object.entries({ offlineRate: o.offlineRate, rejectRate: o.rejectRate, failureRate: o.failureRate, slowRate: o.slowRate, dropAckRate: o.dropAckRate })) {
      if (v !== undefined && !(v >= 0 && v <= 1)) throw new RangeError(`${name} must be between 0 and 1, got ${v}`);
    }
    if ((o.offlineRate ?? 0) + (o.rejectRate ?? 0) + (o.failureRate ?? 0) > 1 + 1e-9) {
      throw new RangeError('offlineRate + rejectRate + failureRate must not exceed 1: each device has at most one of these traits');
    }
    this.deviceIds.forEach((id, i) => this.index.set(id, i));
    if (this.index.size !== n) throw new RangeError('device IDs must be unique');
    this.profiles = fleetProfiles(n, o);
    this.firmware = simulatedFirmware(o.firmware);
    this.mode = o.mode ?? 'shared';
    if (this.mode === 'per-device' && (o.quickResultMs ?? 0) > 0) throw new RangeError('quickResultMs is for the shared mode (per-device agents take DeviceAgentOptions.quickResultMs)');
    const latencyMs = o.latencyMs ?? 200;
    this.settings = {
      prefix: o.topicPrefix ?? DEFAULT_TOPIC_PREFIX,
      seed: o.seed ?? 1,
      latencyMs,
      slowLatencyMs: o.slowLatencyMs ?? 10 * latencyMs,
      dropAckRate: o.dropAckRate ?? 0,
      quickResultMs: o.quickResultMs ?? 0,
      knownCommands: o.knownCommands ? new Set(o.knownCommands) : undefined,
      retentionMs: o.journalRetentionMs ?? 24 * 3600_000,
      publishWindow: o.publishWindow ?? 100,
      startTimeoutMs: o.startTimeoutMs ?? 60_000,
      log: o.onLog ?? (() => {}),
    };
  }

  profile(deviceId: string): DeviceProfile | undefined {
    const i = this.index.get(deviceId);
    return i === undefined ? undefined : this.profiles[i];
  }

  /** Whether the first ack of this command is lost (so the result alone must count as both). */
  dropsAck(deviceId: string, commandId: string): boolean {
    return dropsAck(this.settings, deviceId, commandId);
  }

  async start(): Promise<void> {
    const boot = randomUUID(); // a new bootId per device at every start of the simulator
    const devices: SimDevice[] = this.deviceIds.map((id, index) => ({
      id,
      index,
      profile: this.profiles[index],
      bootId: `${boot}-${index}`,
      attributes: simulatedAttributes(index, this.firmware),
    }));
    if (this.mode === 'per-device') return this.startAgents(devices);
    const k = Math.min(devices.length, this.o.connections ?? Math.ceil(devices.length / DEVICES_PER_CONNECTION));
    if (!(k >= 1)) throw new RangeError(`connections must be at least 1, got ${this.o.connections}`);
    const prefix = this.o.clientIdPrefix ?? `fleet-${hash32(`${this.settings.prefix}|${this.deviceIds[0]}|${devices.length}|${k}`).toString(36)}`;
    this.connections = Array.from({ length: k }, (_, c) => {
      const clientId = `${prefix}-${c}`;
      return new FleetConnection(
        clientId,
        devices.filter((d) => d.index % k === c),
        this.settings,
        {
          url: this.o.mqttUrl,
          username: this.o.username,
          password: this.o.password,
          sessionExpirySeconds: this.o.sessionExpirySeconds ?? 24 * 3600,
          offlineStatus: (this.o.offlineStatus ?? 'offline') === 'offline',
        },
        this.o.journalDir ? path.join(this.o.journalDir, `${clientId}.journal.jsonl`) : undefined,
      );
    });
    await Promise.all(this.connections.map((c) => c.start()));
  }

  private async startAgents(devices: SimDevice[]): Promise<void> {
    const s = this.settings;
    const journalDir = this.o.journalDir ?? mkdtempSync(path.join(os.tmpdir(), 'dco-fleet-'));
    for (const d of devices.filter((x) => !x.profile.offline)) {
      const run: CommandHandler = async (_params, ctx) => {
        const latencyMs = latencyOf(s, d, ctx.commandId);
        await new Promise((r) => setTimeout(r, latencyMs));
        if (d.profile.failing) throw new CommandFailure('simulated-failure', 'this simulated device fails every command');
        return { latencyMs };
      };
      // DeviceAgent looks handlers up by name; this answers every name unless knownCommands limits them.
      const known = (name: string | symbol) => typeof name === 'string' && (!s.knownCommands || s.knownCommands.has(name));
      const handlers = new Proxy({} as Record<string, CommandHandler>, {
        get: (_t, name) => (known(name) ? run : undefined),
        // DeviceAgent asks Object.hasOwn(handlers, name) so that inherited names never count.
        getOwnPropertyDescriptor: (_t, name) => (known(name) ? { value: run, enumerable: true, configurable: true, writable: false } : undefined),
      });
      this.agents.push(
        new DeviceAgent({
          deviceId: d.id,
          mqttUrl: this.o.mqttUrl,
          username: this.o.username,
          password: this.o.password,
          topicPrefix: s.prefix,
          journalDir,
          handlers,
          sessionExpirySeconds: this.o.sessionExpirySeconds,
          startTimeoutMs: s.startTimeoutMs,
          attributes: d.attributes,
          onLog: this.o.onLog,
          faults: {
            // Called for every valid command, repeats included: the place to count receipts.
            ignore: () => {
              this.perDevice.received++;
              return false;
            },
            reject: () => (d.profile.rejecting ? 'simulated-rejection' : undefined),
            dropAck: (c) => {
              const drop = dropsAck(s, d.id, c.commandId);
              if (drop) this.perDevice.acksDropped++;
              return drop;
            },
          },
        }),
      );
    }
    // In small batches: thousands of simultaneous CONNECTs only queue up at the broker.
    for (let i = 0; i < this.agents.length; i += 50) await Promise.all(this.agents.slice(i, i + 50).map((a) => a.start()));
    const offline = devices.filter((x) => x.profile.offline);
    if (offline.length && (this.o.offlineStatus ?? 'offline') === 'offline') {
      const name = 'simulator (offline statuses)';
      const client = connectMqtt({ url: this.o.mqttUrl, name, username: this.o.username, password: this.o.password, log: s.log });
      try {
        await waitForConnect(client, { name, url: this.o.mqttUrl }, s.startTimeoutMs);
      } catch (err) {
        await client.endAsync(true);
        throw err;
      }
      const window = new PublishWindow(s.publishWindow);
      await Promise.all(
        offline.map((d) => {
          const status: StatusMessage = { v: PROTOCOL_VERSION, state: 'offline', bootId: d.bootId, ts: new Date().toISOString() };
          return window.run(() => client.publishAsync(deviceTopic(s.prefix, d.id, 'status'), JSON.stringify(status), { qos: 1, retain: true }));
        }),
      );
      await client.endAsync();
    }
  }

  stats(): FleetStats {
    const offline = this.profiles.filter((p) => p.offline).length;
    const base = { devices: this.deviceIds.length, offline };
    if (this.mode === 'per-device') {
      const entries = this.agents.flatMap((a) => a.journal.all());
      const duplicates = Math.max(0, this.perDevice.received - entries.length);
      return {
        ...base,
        online: this.agents.length,
        connections: this.agents.length,
        commandsReceived: this.perDevice.received,
        duplicatesAnswered: duplicates,
        executions: entries.reduce((n, e) => n + e.executions, 0),
        // Derived from the agents' journals: DeviceAgent does not count its publishes.
        acksSent: entries.length - this.perDevice.acksDropped + duplicates,
        acksDropped: this.perDevice.acksDropped,
        resultsSent: entries.filter((e) => e.resultDelivered).length,
        maxExecutionsPerCommand: entries.reduce((m, e) => Math.max(m, e.executions), 0),
        ignored: 0,
      };
    }
    const sum = emptyStats();
    for (const c of this.connections) {
      for (const k of Object.keys(sum) as Array<keyof typeof sum>) {
        sum[k] = k === 'maxExecutionsPerCommand' ? Math.max(sum[k], c.stats[k]) : sum[k] + c.stats[k];
      }
    }
    const online = this.connections.reduce((n, c) => n + (c.connected ? c.onlineDevices.length : 0), 0);
    return { ...base, ...sum, online, connections: this.connections.length };
  }

  async stop(): Promise<void> {
    await Promise.all([...this.connections.map((c) => c.stop()), ...this.agents.map((a) => a.stop())]);
  }

  /** Connections drop without goodbye (per-device agents: their Last Will fires). */
  async crash(): Promise<void> {
    await Promise.all([...this.connections.map((c) => c.crash()), ...this.agents.map((a) => a.crash())]);
  }
}
