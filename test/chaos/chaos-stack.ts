import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_TOPIC_PREFIX } from '../../protocol/topics';
import { MosquittoBroker } from '../../stack/mosquitto-broker';
import { TemporalServer } from '../../stack/temporal-server';
import { FLEET_CONFIG_ENV, FLEET_READY, type FleetProcessConfig } from './fleet-main';
import { NodeProcess } from './node-process';
import { trackChild, untrackChild } from './reaper';

export const PROCESS_KINDS = ['temporal', 'mosquitto', 'worker', 'bridge', 'devices'] as const;
export type ProcessKind = (typeof PROCESS_KINDS)[number];

/** One running instance of a kind: what the stack needs to kill it, stop it and see it die. */
interface Instance {
  pid?: number;
  exited: Promise<unknown>;
  kill(): Promise<void>;
  stop(): Promise<void>;
}

export interface ChaosStackOptions {
  dataDir: string;
  /** The devices process, except the broker's URL and credentials (filled in here). */
  fleet: Omit<FleetProcessConfig, 'mqttUrl' | 'username' | 'password' | 'journalDir'>;
  /** How long a restart may take before it counts as failed. */
  startTimeoutMs?: number;
}

const ROOT = path.resolve(__dirname, '..', '..');
const DCO_BIN = path.join(ROOT, 'bin', 'dco');
const FLEET_MAIN = path.join(__dirname, 'fleet-main.ts');

/**
 * The whole system as five separate processes: the Temporal dev server (one SQLite file for
 * every restart), Mosquitto (persistence on, authentication on), `dco worker`, `dco bridge`
 * and the simulated devices. Any of them can be killed with SIGKILL and started again with
 * the same data, ports, client IDs and journals. A process that dies by itself is reported
 * through `onUnexpectedExit` (the caller decides to restart it).
 */
export class ChaosStack {
  private readonly instances = new Map<ProcessKind, Instance>();
  /** Kinds we are killing or stopping on purpose: their exit is expected. */
  private readonly expecting = new Set<ProcessKind>();
  private temporalServer?: TemporalServer;
  private broker?: MosquittoBroker;
  private stopping = false;
  onUnexpectedExit: (kind: ProcessKind, how: string) => void = () => {};

  readonly logDir: string;
  readonly journalDir: string;

  constructor(private readonly o: ChaosStackOptions) {
    this.logDir = path.join(o.dataDir, 'logs');
    this.journalDir = path.join(o.dataDir, 'journals');
    mkdirSync(this.logDir, { recursive: true });
  }

  get temporalAddress(): string {
    return this.temporalServer!.address;
  }

  get mqttUrl(): string {
    return this.broker!.url;
  }

  /** Worker, bridge and the gateway fleet (several connections per account): the services' listener. */
  get mqttServiceUrl(): string {
    return this.broker!.serviceUrl;
  }

  isUp(kind: ProcessKind): boolean {
    return this.instances.has(kind);
  }

  /** Temporal and Mosquitto first, then the three clients of both. */
  async startAll(): Promise<void> {
    await Promise.all([this.start('temporal'), this.start('mosquitto')]);
    await Promise.all([this.start('worker'), this.start('bridge'), this.start('devices')]);
  }

  /** Starts one kind (first start or restart after a kill); resolves when it is ready. */
  async start(kind: ProcessKind): Promise<void> {
    if (this.instances.has(kind)) throw new Error(`${kind} is already running`);
    const instance = await this.launch(kind);
    this.instances.set(kind, instance);
    this.expecting.delete(kind);
    void instance.exited.then((how) => {
      if (this.instances.get(kind) !== instance) return;
      this.instances.delete(kind);
      if (!this.expecting.has(kind) && !this.stopping) this.onUnexpectedExit(kind, JSON.stringify(how));
    });
  }

  /** `kill -9`; resolves once the process is gone. */
  async kill(kind: ProcessKind): Promise<void> {
    const instance = this.instances.get(kind);
    if (!instance) return;
    this.expecting.add(kind);
    await instance.kill();
    await instance.exited;
    this.instances.delete(kind);
  }

  async stop(kind: ProcessKind): Promise<void> {
    const instance = this.instances.get(kind);
    if (!instance) return;
    this.expecting.add(kind);
    await instance.stop();
    this.instances.delete(kind);
  }

  /** Clients first, servers last. */
  async stopAll(): Promise<void> {
    this.stopping = true;
    await Promise.all((['worker', 'bridge', 'devices'] as const).map((k) => this.stop(k).catch(() => {})));
    await Promise.all((['temporal', 'mosquitto'] as const).map((k) => this.stop(k).catch(() => {})));
  }

  private async launch(kind: ProcessKind): Promise<Instance> {
    const timeout = this.o.startTimeoutMs ?? 120_000;
    switch (kind) {
      case 'temporal': {
        this.temporalServer = this.temporalServer
          ? await this.temporalServer.restart(timeout)
          : await TemporalServer.start({ dataDir: path.join(this.o.dataDir, 'temporal'), ui: false, startTimeoutMs: timeout });
        return this.managed('temporal', this.temporalServer);
      }
      case 'mosquitto': {
        this.broker = this.broker
          ? await this.broker.restart(timeout)
          : await MosquittoBroker.start({
              dataDir: path.join(this.o.dataDir, 'mosquitto'),
              auth: { topicPrefixes: [DEFAULT_TOPIC_PREFIX] },
              startTimeoutMs: timeout,
            });
        return this.managed('mosquitto', this.broker);
      }
      case 'worker':
      case 'bridge': {
        const account = this.broker!.auth!.credentialsOf(kind);
        return NodeProcess.start({
          name: kind,
          script: DCO_BIN,
          args: [kind],
          env: {
            ...process.env,
            TEMPORAL_ADDRESS: this.temporalAddress,
            MQTT_URL: this.mqttServiceUrl,
            MQTT_USERNAME: account.username,
            MQTT_PASSWORD: account.password,
            DCO_TOPIC_PREFIX: DEFAULT_TOPIC_PREFIX,
            DCO_DEADLETTER_DIR: path.join(this.o.dataDir, 'deadletters'),
            LOG_LEVEL: 'info',
          },
          cwd: this.o.dataDir,
          logFile: path.join(this.logDir, `${kind}.log`),
          readyText: `${kind} started`,
          startTimeoutMs: timeout,
        });
      }
      case 'devices': {
        const gateway = this.broker!.auth!.credentialsOf('gateway');
        const config: FleetProcessConfig = { ...this.o.fleet, mqttUrl: this.mqttServiceUrl, ...gateway, journalDir: this.journalDir };
        return NodeProcess.start({
          name: 'devices',
          script: FLEET_MAIN,
          args: [],
          env: { ...process.env, [FLEET_CONFIG_ENV]: JSON.stringify(config) },
          cwd: this.o.dataDir,
          logFile: path.join(this.logDir, 'devices.log'),
          readyText: FLEET_READY,
          startTimeoutMs: timeout,
        });
      }
    }
  }

  /** Temporal and Mosquitto are single processes started by stack/ (ManagedProcess). */
  private managed(name: string, server: TemporalServer | MosquittoBroker): Instance {
    const p = server.process;
    trackChild(p.pid, name, false);
    const exited = p.exited.then((how) => {
      untrackChild(p.pid);
      return how;
    });
    return { pid: p.pid, exited, kill: () => p.kill(), stop: () => p.stop() };
  }
}
