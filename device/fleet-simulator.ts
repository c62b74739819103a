import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connectMqtt, waitForConnect } from '../config/mqtt-connect';
import { PROTOCOL_VERSION, type StatusMessage } from '../protocol/messages';
import { DEFAULT_TOPIC_PREFIX, deviceTopic } from '../protocol/topics';
import { CommandFailure, DeviceAgent, type CommandHandler } from './device-agent';
import { hash32 } from './seeded-random';
import { simulatedAttributes, simulatedFirmware } from './simulated-attributes';
import { simulatedDeviceIds } from './simulator';
import { cancellableWait } from './simulated-handlers';
import { FleetConnection } from './fleet-connection';
import { emptyStats, type FleetStats } from './fleet-stats';
import { dropsAck, latencyOf, type FleetSettings, type SimDevice } from './fleet-settings';
import { PublishWindow } from './publish-window';
import { checkShares, fleetProfiles, type DeviceProfile } from './fleet-profiles';

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
  /**
   * Per-device mode: called when a device starts executing a command while it still executes
   * others (in this process: a killed process executes nothing). Serial commands must never
   * cause it.
   */
  onConcurrentExecution?: (deviceId: string, started: string, running: readonly string[]) => void;
}

export type { FleetStats };

const DEVICES_PER_CONNECTION = 2_000;

// ---- the fleet -----------------------------------------------------------------------------

interface PerDeviceCounters {
  received: number;
  acksDropped: number;
}

export class FleetSimulator {
  readonly deviceIds: readonly string[];
  private readonly profiles: DeviceProfile[];
  private readonly index = new Map<string, number>();
  private readonly settings: FleetSettings;
  private readonly firmware: string;
  private readonly mode: 'shared' | 'per-device';
  private connections: FleetConnection[] = [];
  private agents: DeviceAgent[] = [];
  private readonly perDevice: PerDeviceCounters = { received: 0, acksDropped: 0 };

  constructor(private readonly o: FleetSimulatorOptions) {
    this.deviceIds = typeof o.devices === 'number' ? simulatedDeviceIds(o.devices, o.idPrefix ?? 'sim-') : [...o.devices];
    const n = this.deviceIds.length;
    if (n < 1) throw new RangeError('a fleet needs at least one device');
    checkShares(o);
    if (o.dropAckRate !== undefined && !(o.dropAckRate >= 0 && o.dropAckRate <= 1))
      throw new RangeError(`dropAckRate must be between 0 and 1, got ${o.dropAckRate}`);
    this.deviceIds.forEach((id, i) => this.index.set(id, i));
    if (this.index.size !== n) throw new RangeError('device IDs must be unique');
    this.profiles = fleetProfiles(n, o);
    this.firmware = simulatedFirmware(o.firmware);
    this.mode = o.mode ?? 'shared';
    if (this.mode === 'per-device' && (o.quickResultMs ?? 0) > 0)
      throw new RangeError('quickResultMs is for the shared mode (per-device agents take DeviceAgentOptions.quickResultMs)');
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
      const executing = new Set<string>();
      const run: CommandHandler = async (_params, ctx) => {
        if (executing.size > 0) this.o.onConcurrentExecution?.(d.id, ctx.commandId, [...executing]);
        executing.add(ctx.commandId);
        try {
          const latencyMs = latencyOf(s, d, ctx.commandId);
          await cancellableWait(latencyMs, ctx.signal);
          if (d.profile.failing) throw new CommandFailure('simulated-failure', 'this simulated device fails every command');
          return { latencyMs };
        } finally {
          executing.delete(ctx.commandId);
        }
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
