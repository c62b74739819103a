import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_TOPIC_PREFIX } from '../../protocol/topics';
import type { ManagedProcess } from '../../stack/managed-process';
import { MosquittoBroker } from '../../stack/mosquitto-broker';
import type { PostgresCluster } from '../../stack/postgres-cluster';
import { startTemporalCluster, type TemporalCluster } from '../../stack/temporal-cluster';
import type { ServerProcessName } from '../../stack/temporal-server-processes';
import { TemporalServer } from '../../stack/temporal-server';
import { FLEET_CONFIG_ENV, FLEET_READY, type FleetProcessConfig } from './fleet-main';
import { NodeProcess } from './node-process';
import { trackChild, untrackChild } from './reaper';

/** The processes of a run on the dev server (`temporal` is the dev server). */
export const PROCESS_KINDS = ['temporal', 'mosquitto', 'worker', 'bridge', 'devices'] as const;
/** On the PostgreSQL cluster (issue 15): `temporal` is temporal-server, and PostgreSQL is killed too. */
export const CLUSTER_PROCESS_KINDS = [...PROCESS_KINDS, 'postgres'] as const;
/** The cluster with each Temporal service in a process of its own: each is killed alone. */
export const SEPARATE_SERVICES_PROCESS_KINDS = [
  'temporal-frontend',
  'temporal-history',
  'temporal-matching',
  'temporal-worker',
  ...PROCESS_KINDS.filter((k) => k !== 'temporal'),
  'postgres',
] as const;
export type ProcessKind = (typeof CLUSTER_PROCESS_KINDS)[number] | (typeof SEPARATE_SERVICES_PROCESS_KINDS)[number];
type TemporalKind = Extract<ProcessKind, 'temporal' | `temporal-${string}`>;
const isTemporalKind = (kind: ProcessKind): kind is TemporalKind => kind === 'temporal' || kind.startsWith('temporal-');
/** The cluster's process behind a kind: `temporal` is the one-process temporal-server. */
const serverProcessOf = (kind: TemporalKind): ServerProcessName => (kind === 'temporal' ? 'temporal-server' : kind);
const kindOf = (name: ServerProcessName): TemporalKind => (name === 'temporal-server' ? 'temporal' : name);
/** Where Temporal runs: the CLI's dev server (SQLite), or temporal-server on PostgreSQL (stack/temporal-cluster.ts). */
export type ChaosBackend = 'dev' | 'postgres';

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
  /** Default `dev`. */
  backend?: ChaosBackend;
  /** On `postgres`: each Temporal service in a process of its own, killed one at a time. */
  separateServices?: boolean;
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
  private cluster?: TemporalCluster;
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
    return this.cluster ? this.cluster.address : this.temporalServer!.address;
  }

  get backend(): ChaosBackend {
    return this.o.backend ?? 'dev';
  }

  /** The kinds of process this run has (and kills). */
  get kinds(): readonly ProcessKind[] {
    if (this.backend !== 'postgres') return PROCESS_KINDS;
    return this.o.separateServices ? SEPARATE_SERVICES_PROCESS_KINDS : CLUSTER_PROCESS_KINDS;
  }

  /** The kinds that are Temporal's server: one, or one per service. */
  private get temporalKinds(): TemporalKind[] {
    return this.kinds.filter(isTemporalKind);
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
    // The first Temporal kind starts the whole cluster (and registers the others).
    for (const group of [
      [this.temporalKinds[0], 'mosquitto'],
      ['worker', 'bridge', 'devices'],
    ] as const) {
      const started = await Promise.allSettled(group.map((kind) => this.start(kind)));
      const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) {
        // What did start must not outlive the failure (a broker left running keeps the caller alive).
        await this.stopAll();
        throw failed.reason;
      }
    }
  }

  /** Starts one kind (first start or restart after a kill); resolves when it is ready. */
  async start(kind: ProcessKind): Promise<void> {
    if (this.instances.has(kind)) throw new Error(`${kind} is already running`);
    const instance = await this.launch(kind);
    this.register(kind, instance);
  }

  private register(kind: ProcessKind, instance: Instance): void {
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
    await Promise.all([...this.temporalKinds, 'mosquitto' as const].map((k) => this.stop(k).catch(() => {})));
    await this.stop('postgres').catch(() => {});
    // The cluster's Web UI is no kind (never killed): it goes with the cluster. Each of the
    // cluster's other parts is stopped already, which makes the rest of its stop() a no-op.
    await this.cluster?.stop().catch(() => {});
    untrackChild(this.cluster?.uiProcess.pid);
  }

  private async launch(kind: ProcessKind): Promise<Instance> {
    const timeout = this.o.startTimeoutMs ?? 120_000;
    if (isTemporalKind(kind) && this.backend === 'postgres') return this.launchCluster(kind, timeout);
    switch (kind) {
      case 'temporal-frontend':
      case 'temporal-history':
      case 'temporal-matching':
      case 'temporal-worker':
        throw new Error(`${kind} runs only on the postgres backend with separate services`);
      case 'temporal': {
        this.temporalServer = this.temporalServer
          ? await this.temporalServer.restart(timeout)
          : await TemporalServer.start({ dataDir: path.join(this.o.dataDir, 'temporal'), ui: false, startTimeoutMs: timeout });
        return this.managed('temporal', this.temporalServer.process);
      }
      case 'postgres': {
        if (!this.cluster) throw new Error('PostgreSQL starts with the cluster: start temporal first');
        const pg = await this.cluster.restartPostgres(timeout);
        return postgresInstance(pg);
      }
      case 'mosquitto': {
        this.broker = this.broker
          ? await this.broker.restart(timeout)
          : await MosquittoBroker.start({
              dataDir: path.join(this.o.dataDir, 'mosquitto'),
              auth: { topicPrefixes: [DEFAULT_TOPIC_PREFIX] },
              startTimeoutMs: timeout,
            });
        return this.managed('mosquitto', this.broker.process);
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

  /**
   * temporal-server on PostgreSQL: the first start brings up the whole cluster (PostgreSQL
   * registered as `postgres`, each server process as its kind), with schemas, namespace and Web
   * UI; later starts only the process of `kind`, on the same ports.
   */
  private async launchCluster(kind: TemporalKind, timeout: number): Promise<Instance> {
    if (this.cluster) return this.managed(kind, await this.cluster.restartServerProcess(serverProcessOf(kind), timeout));
    this.cluster = await startTemporalCluster({
      dir: path.join(this.o.dataDir, 'cluster'),
      startTimeoutMs: timeout,
      separateServices: this.o.separateServices === true,
    });
    this.register('postgres', postgresInstance(this.cluster.postgres));
    trackChild(this.cluster.uiProcess.pid, 'temporal-ui', false);
    for (const [name, p] of this.cluster.serverProcesses) if (kindOf(name) !== kind) this.register(kindOf(name), this.managed(name, p));
    return this.managed(kind, this.cluster.serverProcesses.get(serverProcessOf(kind))!);
  }

  /** Temporal and Mosquitto are single processes started by stack/ (ManagedProcess). */
  private managed(name: string, p: ManagedProcess): Instance {
    trackChild(p.pid, name, false);
    const exited = p.exited.then((how) => {
      untrackChild(p.pid);
      return how;
    });
    return { pid: p.pid, exited, kill: () => p.kill(), stop: () => p.stop() };
  }
}

/**
 * PostgreSQL is not our child (pg_ctl daemonizes it): its postmaster is watched by PID. A kill
 * is a crash of the database machine: the postmaster and every backend at once, SIGKILL.
 */
function postgresInstance(pg: PostgresCluster): Instance {
  const pid = pg.pid();
  const alive = (p: number) => {
    try {
      process.kill(p, 0);
      return true;
    } catch {
      return false;
    }
  };
  const exited = (async () => {
    while (pid !== undefined && alive(pid)) await new Promise((r) => setTimeout(r, 200));
    return { pid, exited: true };
  })();
  return {
    pid,
    exited,
    kill: async () => {
      if (pid === undefined) return;
      // Its children first listed: once the postmaster is gone they belong to init.
      let children: number[] = [];
      try {
        children = execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' })
          .split('\n')
          .filter(Boolean)
          .map(Number);
      } catch {
        // none
      }
      for (const p of [pid, ...children]) {
        try {
          process.kill(p, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    },
    stop: () => pg.stop(),
  };
}
