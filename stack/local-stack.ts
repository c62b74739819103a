import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_TOPIC_PREFIX } from '../protocol/topics';
import type { ServiceAccount } from './broker-auth';
import { ManagedProcess } from './managed-process';
import { MosquittoBroker } from './mosquitto-broker';
import { canConnect, freePort, waitFor } from './net';
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
  say?: (line: string) => void;
}

const DCO_BIN = path.join(__dirname, '..', 'bin', 'dco');

/**
 * The whole system on one machine: Temporal dev server, Mosquitto, one worker and one bridge,
 * each its own process (as in production), the last two restarted if they die.
 */
export class LocalStack {
  private stopping = false;
  private readonly services = new Map<string, ManagedProcess>();

  private constructor(
    readonly temporal: TemporalServer,
    readonly mosquitto: MosquittoBroker,
    readonly logDir: string,
    private readonly say: (line: string) => void,
    readonly topicPrefix: string,
    readonly dataDir: string,
    /** Prometheus endpoints of the worker and the bridge. */
    readonly metricsPorts: Record<'worker' | 'bridge', number>,
    /** Certificates of the TLS listener, when there is one. */
    readonly tls?: TlsFiles,
  ) {}

  get metricsUrls(): Record<'worker' | 'bridge', string> {
    return { worker: `http://127.0.0.1:${this.metricsPorts.worker}/metrics`, bridge: `http://127.0.0.1:${this.metricsPorts.bridge}/metrics` };
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
    say(`Starting Temporal (data ${path.join(dataDir, 'temporal')}) and Mosquitto (data ${path.join(dataDir, 'mosquitto')}) ...`);
    const [temporal, mosquitto] = await Promise.all([
      // Every process in a group of its own: a Ctrl-C reaches only us, and stop() takes them down in order.
      TemporalServer.start({ dataDir: path.join(dataDir, 'temporal'), ip: host, port: temporalPort, uiPort, ui: o.ui, ownProcessGroup: true }),
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
    const metricsPorts = { worker: await freePort(), bridge: await freePort() };
    const stack = new LocalStack(temporal, mosquitto, logDir, say, o.topicPrefix ?? DEFAULT_TOPIC_PREFIX, dataDir, metricsPorts, tls);
    try {
      await Promise.all([stack.startService('worker', 'worker started'), stack.startService('bridge', 'bridge started')]);
    } catch (err) {
      await stack.stop(); // leave nothing running behind a failed start
      throw err;
    }
    return stack;
  }

  /** Runs `dco <name>` against this stack; restarts it if it dies while the stack is up. */
  private async startService(name: 'worker' | 'bridge', readyMessage: string): Promise<void> {
    const logFile = path.join(this.logDir, `${name}.log`);
    const offset = existsSync(logFile) ? statSync(logFile).size : 0;
    const proc = new ManagedProcess({
      ownProcessGroup: true,
      name,
      command: process.execPath,
      args: [DCO_BIN, name],
      logFile,
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: this.temporalAddress,
        MQTT_URL: this.mqttServiceUrl,
        DCO_TOPIC_PREFIX: this.topicPrefix,
        DCO_METRICS_ADDRESS: `127.0.0.1:${this.metricsPorts[name]}`,
        DCO_DEADLETTER_DIR: path.join(this.dataDir, 'deadletters'),
        ...this.credentialsEnv(name),
      },
    });
    this.services.set(name, proc);
    void proc.exited.then(({ code, signal }) => {
      if (this.stopping) return;
      // Exit code 0 is a stop it was asked for: Ctrl-C at a terminal reaches the whole process
      // group, so the services stop by themselves just before the stack does. Restarting them
      // then would outlive the stack (and wait 120 s for a Temporal that is gone).
      if (code === 0) return this.say(`${name} stopped (code 0); not restarting it. Log: ${logFile}`);
      this.say(`${name} exited (code ${code}, signal ${signal}); restarting it. Log: ${logFile}`);
      setTimeout(() => {
        if (!this.stopping) void this.startService(name, readyMessage).catch((err) => this.say(String(err)));
      }, 1_000);
    });
    await waitFor(
      async () => {
        if (!proc.running) throw new Error(`${name} exited during start; see ${logFile}`);
        return existsSync(logFile) && readFileSync(logFile).subarray(offset).toString('utf8').includes(readyMessage);
      },
      120_000,
      () => `${name} did not start within 120 s; see ${logFile}`,
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
  service(name: 'worker' | 'bridge'): ManagedProcess | undefined {
    return this.services.get(name);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all([...this.services.values()].map((p) => p.stop()));
    await Promise.all([this.mosquitto.stop(), this.temporal.stop()]);
  }
}
