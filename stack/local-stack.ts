import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_TOPIC_PREFIX } from '../protocol/topics';
import type { ServiceAccount } from './broker-auth';
import { logSince, logSize, logTail } from './log-file';
import { ManagedProcess } from './managed-process';
import { MosquittoBroker } from './mosquitto-broker';
import { canConnect, freePort, waitFor } from './net';
import { startTemporalCluster } from './temporal-cluster';
import { TemporalServer } from './temporal-server';
import { ensureTlsCertificates, type TlsFiles } from './tls-certs';

export interface LocalStackOptions {
  dataDir: string;
  host?: string;
  temporalPort?: number;
  uiPort?: number;
  mqttPort?: number;
  /** With auth: the listener of our services (worker, bridge, gateway simulators); default a free port. */
  mqttServicePort?: number;
  ui?: boolean;
  /** Broker authentication and per-device ACLs (on by default, as in production). */
  auth?: boolean;
  /** Topic prefix of the worker and bridge (the ACL is written for it). */
  topicPrefix?: string;
  /**
   * Also an MQTT-over-TLS listener on this port, with a development CA and certificate made
   * under `<dataDir>/tls/` if not there yet (stack/tls-certs.ts). Worker and bridge stay on the
   * plain local listener.
   */
  tls?: { port: number };
  /**
   * Temporal: the CLI's dev server (SQLite, default), or production's temporal-server on a
   * private PostgreSQL with its Web UI (stack/temporal-cluster.ts, as docker-compose.yml).
   */
  backend?: 'dev' | 'postgres';
  /** On `postgres`: Temporal's four services as processes of their own (TemporalClusterOptions.separateServices). */
  separateServices?: boolean;
  /** Workers and bridges (the bridges in one MQTT shared-subscription group when more than one); default 1. */
  instances?: number;
  say?: (line: string) => void;
}

/** What the stack needs of Temporal, whichever runs it. */
export interface TemporalEngine {
  readonly address: string;
  readonly uiUrl: string | undefined;
  stop(): Promise<void>;
}

/** `worker` and `bridge` for the first instance, `worker-2`, `bridge-2`, ... for the others. */
export type ServiceName = `${'worker' | 'bridge'}${'' | `-${number}`}`;
const serviceName = (kind: 'worker' | 'bridge', instance: number): ServiceName => (instance === 1 ? kind : `${kind}-${instance}`);
/** The MQTT shared-subscription group of several bridges. */
const BRIDGE_SHARE_GROUP = 'dco-bridges';
/** At most this many workers and bridges: each is a process of its own on a machine of a few cores. */
export const MAX_INSTANCES = 8;

const DCO_BIN = path.join(__dirname, '..', 'bin', 'dco');
/**
 * How often a worker or bridge may exit before it logs that it started, before the stack's start
 * fails: once is chance (a metrics port picked free and taken before the service bound it),
 * three times is a cause to show.
 */
const START_ATTEMPTS = 3;

/**
 * The whole system on one machine: Temporal (dev server, or temporal-server on PostgreSQL),
 * Mosquitto, workers and bridges (one of each by default), each its own process (as in
 * production), workers and bridges restarted if they die.
 */
export class LocalStack {
  private stopping = false;
  private readonly services = new Map<ServiceName, ManagedProcess>();
  /** Until start() returns: exits of each service before it logged that it started (START_ATTEMPTS). */
  private readonly exitsBeforeReady = new Map<ServiceName, number>();
  private up = false;

  private constructor(
    readonly temporal: TemporalEngine,
    readonly mosquitto: MosquittoBroker,
    readonly logDir: string,
    private readonly say: (line: string) => void,
    readonly topicPrefix: string,
    readonly dataDir: string,
    /** Prometheus endpoints of the workers and the bridges. */
    readonly metricsPorts: Record<ServiceName, number>,
    /** Certificates of the TLS listener, when there is one. */
    readonly tls?: TlsFiles,
  ) {}

  get metricsUrls(): Record<ServiceName, string> {
    return Object.fromEntries(Object.entries(this.metricsPorts).map(([name, port]) => [name, `http://127.0.0.1:${port}/metrics`])) as Record<
      ServiceName,
      string
    >;
  }

  /** Workers and bridges, in start order. */
  get serviceNames(): ServiceName[] {
    return Object.keys(this.metricsPorts) as ServiceName[];
  }

  /** Where a bridge writes the messages it refused: one directory per bridge (each keeps its own totals). */
  deadLetterDir(name: ServiceName): string {
    const instance = /-(\d+)$/.exec(name)?.[1];
    return path.join(this.dataDir, instance ? `deadletters-${instance}` : 'deadletters');
  }

  /** MQTT credentials of one of our services; undefined when authentication is off. */
  credentials(account: ServiceAccount): { username: string; password: string } | undefined {
    return this.mosquitto.auth?.credentialsOf(account);
  }

  get temporalAddress(): string {
    return this.temporal.address;
  }
  /** The devices' listener: a login's client ID is its username (no session takeover). */
  get mqttUrl(): string {
    return this.mosquitto.url;
  }
  /** Where our services connect (service accounts only, any client ID); `mqttUrl` without auth. */
  get mqttServiceUrl(): string {
    return this.mosquitto.serviceUrl;
  }
  /** `mqtts://…` of the TLS listener, when there is one. */
  get mqttsUrl(): string | undefined {
    return this.mosquitto.tlsUrl;
  }
  get uiUrl(): string | undefined {
    return this.temporal.uiUrl;
  }

  static async start(o: LocalStackOptions): Promise<LocalStack> {
    const say = o.say ?? ((l: string) => process.stderr.write(l + '\n'));
    const host = o.host ?? '127.0.0.1';
    const temporalPort = o.temporalPort ?? 7233;
    const mqttPort = o.mqttPort ?? 1883;
    const uiPort = o.uiPort ?? temporalPort + 1000;
    const backend = o.backend ?? 'dev';
    const instances = o.instances ?? 1;
    if (!Number.isInteger(instances) || instances < 1 || instances > MAX_INSTANCES)
      throw new Error(`instances must be a whole number from 1 to ${MAX_INSTANCES}, not ${instances}`);
    if (backend === 'postgres' && o.ui === false)
      throw new Error('the Web UI is part of the PostgreSQL cluster (as in docker-compose.yml): --no-ui is for the dev server');
    if (o.separateServices && backend !== 'postgres') throw new Error('--separate-services is for --backend postgres (the dev server is one process)');
    if (backend === 'postgres' && host !== '127.0.0.1') throw new Error('the PostgreSQL cluster listens on 127.0.0.1 only: --host is for the dev server');
    const ports: Array<[number, string, string]> = [
      [temporalPort, 'Temporal', '--temporal-port'],
      [mqttPort, 'MQTT', '--mqtt-port'],
    ];
    if (o.ui !== false) ports.push([uiPort, 'Web UI', '--ui-port']);
    if (o.tls) ports.push([o.tls.port, 'MQTT over TLS', '--mqtts-port']);
    if (o.mqttServicePort !== undefined && o.auth !== false) ports.push([o.mqttServicePort, 'MQTT for services', '--mqtt-service-port']);
    for (const [port, what, flag] of ports) {
      if (await canConnect(host, port)) {
        throw new Error(`port ${port} (${what}) is already in use on ${host}: stop what uses it (another \`dco up\`?) or pass ${flag}`);
      }
    }
    const dataDir = path.resolve(o.dataDir);
    const logDir = path.join(dataDir, 'logs');
    mkdirSync(logDir, { recursive: true });
    const tls = o.tls ? ensureTlsCertificates(path.join(dataDir, 'tls'), { hosts: [host] }) : undefined;
    const temporalDir = path.join(dataDir, backend === 'postgres' ? 'cluster' : 'temporal');
    say(
      `Starting Temporal (${backend === 'postgres' ? 'temporal-server on PostgreSQL' : 'dev server'}, data ${temporalDir}) and Mosquitto (data ${path.join(dataDir, 'mosquitto')}) ...`,
    );
    const startTemporal = async (): Promise<TemporalEngine> => {
      if (backend === 'dev')
        // Every process in a group of its own: a Ctrl-C reaches only us, and stop() takes them down in order.
        return TemporalServer.start({ dataDir: temporalDir, ip: host, port: temporalPort, uiPort, ui: o.ui, ownProcessGroup: true });
      const cluster = await startTemporalCluster({
        dir: temporalDir,
        ports: { frontend: temporalPort, ui: uiPort },
        separateServices: o.separateServices === true,
        say: (l) => say(`  ${l}`),
      });
      return { address: cluster.address, uiUrl: cluster.uiUrl, stop: () => cluster.stop() };
    };
    const started = await Promise.allSettled([
      startTemporal(),
      MosquittoBroker.start({
        ownProcessGroup: true,
        dataDir: path.join(dataDir, 'mosquitto'),
        host,
        port: mqttPort,
        ...(o.mqttServicePort !== undefined ? { servicePort: o.mqttServicePort } : {}),
        ...(o.auth === false ? {} : { auth: { topicPrefixes: [o.topicPrefix ?? DEFAULT_TOPIC_PREFIX] } }),
        ...(tls && o.tls ? { tls: { ...tls, port: o.tls.port } } : {}),
      }),
    ]);
    if (started.some((r) => r.status === 'rejected')) {
      // What did start must not outlive the failure.
      await Promise.all(started.map((r) => (r.status === 'fulfilled' ? r.value.stop().catch(() => {}) : undefined)));
      throw (started.find((r): r is PromiseRejectedResult => r.status === 'rejected') as PromiseRejectedResult).reason;
    }
    const [temporal, mosquitto] = [(started[0] as PromiseFulfilledResult<TemporalEngine>).value, (started[1] as PromiseFulfilledResult<MosquittoBroker>).value];
    const metricsPorts = {} as Record<ServiceName, number>;
    for (let i = 1; i <= instances; i++) {
      metricsPorts[serviceName('worker', i)] = await freePort();
      metricsPorts[serviceName('bridge', i)] = await freePort();
    }
    const stack = new LocalStack(temporal, mosquitto, logDir, say, o.topicPrefix ?? DEFAULT_TOPIC_PREFIX, dataDir, metricsPorts, tls);
    try {
      await Promise.all(stack.serviceNames.map((name) => stack.startService(name, instances)));
      stack.up = true;
    } catch (err) {
      await stack.stop(); // leave nothing running behind a failed start
      throw err;
    }
    return stack;
  }

  /** Runs `dco worker` or `dco bridge` against this stack; restarts it if it dies while the stack is up. */
  private async startService(name: ServiceName, instances: number): Promise<void> {
    const kind = name.startsWith('worker') ? 'worker' : 'bridge';
    const readyMessage = `${kind} started`;
    const logFile = path.join(this.logDir, `${name}.log`);
    const offset = logSize(logFile);
    const proc = new ManagedProcess({
      ownProcessGroup: true,
      name,
      command: process.execPath,
      args: [DCO_BIN, kind],
      logFile,
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: this.temporalAddress,
        MQTT_URL: this.mqttServiceUrl,
        DCO_TOPIC_PREFIX: this.topicPrefix,
        DCO_METRICS_ADDRESS: `127.0.0.1:${this.metricsPorts[name]}`,
        DCO_DEADLETTER_DIR: this.deadLetterDir(name),
        // Several bridges: each its own persistent session, all in one shared-subscription group.
        // Each charges a device's answer `instances` times its budget: together they allow one budget.
        ...(kind === 'bridge' && instances > 1
          ? { DCO_BRIDGE_CLIENT_ID: `dco-${name}`, DCO_BRIDGE_SHARE_GROUP: BRIDGE_SHARE_GROUP, DCO_BRIDGE_SHARE_GROUP_SIZE: String(instances) }
          : {}),
        ...this.credentialsEnv(kind),
      },
    });
    this.services.set(name, proc);
    let cleanExit = false;
    void proc.exited.then(({ code, signal }) => {
      if (this.stopping) return;
      // Exit code 0 is a stop it was asked for: Ctrl-C at a terminal reaches the whole process
      // group, so the services stop by themselves just before the stack does. Restarting them
      // then would outlive the stack (and wait 120 s for a Temporal that is gone).
      if (code === 0) {
        cleanExit = true;
        return this.say(`${name} stopped (code 0); not restarting it. Log: ${logFile}`);
      }
      // Once the stack is up, a service is restarted however often it dies, as before.
      if (!this.up && !logSince(logFile, offset).includes(readyMessage)) {
        const exits = (this.exitsBeforeReady.get(name) ?? 0) + 1;
        this.exitsBeforeReady.set(name, exits);
        if (exits >= START_ATTEMPTS) return; // the waiting start reports it, with the log
      }
      this.say(`${name} exited (code ${code}, signal ${signal}); restarting it. Log: ${logFile}`);
      setTimeout(() => {
        if (this.stopping) return;
        void (async () => {
          // Its metrics port, free when picked, taken meanwhile (an outgoing connection can get
          // any ephemeral port): another one.
          if (/EADDRINUSE/.test(logSince(logFile, offset))) this.metricsPorts[name] = await freePort();
          await this.startService(name, instances);
        })().catch((err) => this.say(String(err)));
      }, 1_000);
    });
    // A restart after an exit during the start is awaited here too: its log goes to the same file.
    await waitFor(
      async () => {
        if (logSince(logFile, offset).includes(readyMessage)) {
          this.exitsBeforeReady.delete(name);
          return true;
        }
        if (cleanExit || (this.exitsBeforeReady.get(name) ?? 0) >= START_ATTEMPTS)
          throw new Error(`${name} exited during start; see ${logFile}:\n${logTail(logFile, offset)}`);
        return false;
      },
      120_000,
      () => `${name} did not start within 120 s; see ${logFile}:\n${logTail(logFile, offset)}`,
    );
  }

  /**
   * A service's MQTT login for its environment: the password goes in a file of its own (mode
   * 600, `MQTT_PASSWORD_FILE`), so it is on no command line and in no process environment.
   */
  private credentialsEnv(name: 'worker' | 'bridge'): NodeJS.ProcessEnv {
    const c = this.credentials(name);
    if (!c) return {};
    const dir = path.join(this.dataDir, 'secrets');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const file = path.join(dir, `${name}-mqtt-password`);
    writeFileSync(file, c.password, { mode: 0o600 });
    chmodSync(file, 0o600);
    // An MQTT_PASSWORD of our own environment must not reach it too (undefined: not passed on).
    return { MQTT_USERNAME: c.username, MQTT_PASSWORD: undefined, MQTT_PASSWORD_FILE: file };
  }

  /** The current process of a service (it changes when the service is restarted). */
  service(name: ServiceName): ManagedProcess | undefined {
    return this.services.get(name);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all([...this.services.values()].map((p) => p.stop()));
    await Promise.all([this.mosquitto.stop(), this.temporal.stop()]);
  }
}
