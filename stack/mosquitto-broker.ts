import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BrokerAuth } from './broker-auth';
import { ManagedProcess } from './managed-process';
import { canConnect, freePort, waitFor } from './net';

export interface MosquittoOptions {
  /** Config, persistence file and log live here; state survives a restart with the same dir. */
  dataDir: string;
  port?: number;
  host?: string;
  /** Seconds between saves of the in-memory state (sessions, queues, retained) to disk. */
  autosaveIntervalSeconds?: number;
  /**
   * Authentication and per-device ACLs for these topic prefixes (`devices`, or `+/devices` to
   * cover any first level). Off: anonymous access, for tests that are not about security.
   */
  auth?: { topicPrefixes: string[] };
  /**
   * A second listener with TLS (mqtts://) on `port` (default: a free port), same host, same
   * authentication. Clients verify the broker with `caFile`; they need no certificate of their
   * own (`require_certificate false`): devices still log in with username and password.
   * stack/tls-certs.ts makes a development CA and certificate.
   */
  tls?: TlsListenerOptions;
  /**
   * With `auth`: the port of the services' listener (worker, bridges, gateway simulators),
   * default a free port. See mosquittoConfig.
   */
  servicePort?: number;
  startTimeoutMs?: number;
  /** In a process group of its own (ManagedProcessOptions.ownProcessGroup): `dco demo` and `dco up` stop it last. */
  ownProcessGroup?: boolean;
}

export interface TlsListenerOptions {
  port?: number;
  certFile: string;
  keyFile: string;
  caFile: string;
}

export const MOSQUITTO_INSTALL_HINT = 'sudo apt-get install -y mosquitto mosquitto-clients';

/** `mosquitto` from PATH or Debian's /usr/sbin; a clear error with the fix otherwise. */
export function findMosquitto(): string {
  for (const candidate of [process.env.MOSQUITTO_BIN, 'mosquitto', '/usr/sbin/mosquitto']) {
    if (!candidate) continue;
    const r = spawnSync('sh', ['-c', `command -v ${candidate}`], { encoding: 'utf8' });
    if (r.status === 0 && r.stdout.trim()) return r.stdout.trim();
  }
  throw new Error(`Mosquitto 2 is not installed. Install it with: ${MOSQUITTO_INSTALL_HINT}`);
}

/**
 * Mosquitto settings chosen for this system (docs/operations.md explains each):
 * - persistence on: sessions of the bridge and devices, queued QoS 1 messages and retained
 *   status survive a clean broker restart. After `kill -9`, whatever changed since the last
 *   autosave is lost; the command workflow's re-publish covers that (the broker is not the
 *   guarantee).
 * - max_queued_messages raised from 1000: past the limit Mosquitto drops QoS 1 messages for
 *   a slow or offline subscriber silently.
 * - message_size_limit: payloads above 64 KiB are refused by the broker itself.
 */
export function mosquittoConfig(o: {
  host: string;
  port: number;
  dataDir: string;
  autosaveIntervalSeconds: number;
  auth?: BrokerAuth;
  tls?: Required<TlsListenerOptions>;
  /** With auth: the services' listener. */
  servicePort?: number;
}): string {
  const tlsLines = o.tls ? [`cafile ${o.tls.caFile}`, `certfile ${o.tls.certFile}`, `keyfile ${o.tls.keyFile}`, 'require_certificate false'] : [];
  // Without authentication: one listener (and the TLS one), anyone may use any client ID.
  // With it, per_listener_settings true: each listener has its own logins.
  // - Device listeners (plain and TLS): every account, and use_username_as_clientid, so a
  //   login's client ID is its username: device A cannot connect as `device-B` and take over
  //   B's session and queued commands. One connection per username there.
  // - The services' listener: only our service accounts (a password file without devices),
  //   any client ID, as many connections per account as they need (several bridges as
  //   dco-bridge, the gateway simulator's connections as dco-gateway).
  // use_username_as_clientid is always a listener setting in Mosquitto 2.0 (conf.c stores it
  // on the current listener even with per_listener_settings false); the password file is what
  // needs per_listener_settings true, or devices could log in on the services' listener.
  const deviceAccess = o.auth
    ? ['allow_anonymous false', `password_file ${o.auth.passwordFile}`, `acl_file ${o.auth.aclFile}`, 'use_username_as_clientid true']
    : [];
  const listeners = o.auth
    ? [
        `listener ${o.port} ${o.host}`,
        ...deviceAccess,
        ...(o.tls ? [`listener ${o.tls.port} ${o.host}`, ...deviceAccess, ...tlsLines] : []),
        ...(o.servicePort !== undefined
          ? [`listener ${o.servicePort} ${o.host}`, 'allow_anonymous false', `password_file ${o.auth.servicePasswordFile}`, `acl_file ${o.auth.aclFile}`]
          : []),
      ]
    : [`listener ${o.port} ${o.host}`, ...(o.tls ? [`listener ${o.tls.port} ${o.host}`, ...tlsLines] : [])];
  return [
    ...(o.auth ? ['per_listener_settings true'] : ['allow_anonymous true']),
    `pid_file ${path.join(o.dataDir, 'mosquitto.pid')}`,
    // Started as root, Mosquitto would switch to the `mosquitto` user, which cannot reach data
    // under a private directory (mkdtemp, /root/...). Our local broker runs as whoever starts it.
    ...(process.getuid?.() === 0 ? ['user root'] : []),
    'persistence true',
    `persistence_location ${o.dataDir}/`,
    `autosave_interval ${o.autosaveIntervalSeconds}`,
    'max_queued_messages 100000',
    'max_inflight_messages 100',
    'message_size_limit 65536',
    'max_connections -1',
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    'log_type notice',
    'log_timestamp_format %Y-%m-%dT%H:%M:%S',
    // Listener settings follow their `listener` line (the first one is the devices' listener:
    // BrokerAuth.listenerUrl reads it).
    ...listeners,
    '',
  ].join('\n');
}

/** A Mosquitto broker process with a generated config. */
export class MosquittoBroker {
  private constructor(
    readonly process: ManagedProcess,
    readonly url: string,
    private readonly spawnArgs: {
      binary: string;
      configFile: string;
      logFile: string;
      host: string;
      port: number;
      tlsPort?: number;
      servicePort?: number;
      ownProcessGroup?: boolean;
    },
    /** Present when authentication is on: accounts, ACL, reload. */
    readonly auth?: BrokerAuth,
    /** `mqtts://host:port` of the TLS listener, when there is one. */
    readonly tlsUrl?: string,
    /**
     * Where our services connect: with authentication its own listener (service accounts
     * only, any client ID); without, the same as `url`.
     */
    readonly serviceUrl: string = url,
  ) {}

  static async start(o: MosquittoOptions): Promise<MosquittoBroker> {
    const binary = findMosquitto();
    const dataDir = path.resolve(o.dataDir);
    mkdirSync(dataDir, { recursive: true });
    const host = o.host ?? '127.0.0.1';
    const port = o.port ?? (await freePort());
    const configFile = path.join(dataDir, 'mosquitto.conf');
    let auth: BrokerAuth | undefined;
    if (o.auth) {
      auth = new BrokerAuth(dataDir);
      auth.ensure(o.auth.topicPrefixes);
    }
    const tls = o.tls
      ? {
          ...o.tls,
          port: o.tls.port ?? (await freePort()),
          certFile: path.resolve(o.tls.certFile),
          keyFile: path.resolve(o.tls.keyFile),
          caFile: path.resolve(o.tls.caFile),
        }
      : undefined;
    const servicePort = auth ? (o.servicePort ?? (await freePort())) : undefined;
    writeFileSync(configFile, mosquittoConfig({ host, port, dataDir, autosaveIntervalSeconds: o.autosaveIntervalSeconds ?? 2, auth, tls, servicePort }));
    const spawnArgs = {
      binary,
      configFile,
      logFile: path.join(dataDir, 'mosquitto.log'),
      host,
      port,
      tlsPort: tls?.port,
      servicePort,
      ownProcessGroup: o.ownProcessGroup,
    };
    const tlsUrl = tls ? `mqtts://${host}:${tls.port}` : undefined;
    const url = `mqtt://${host}:${port}`;
    const serviceUrl = servicePort !== undefined ? `mqtt://${host}:${servicePort}` : url;
    const broker = new MosquittoBroker(MosquittoBroker.spawn(spawnArgs), url, spawnArgs, auth, tlsUrl, serviceUrl);
    await broker.waitReady(o.startTimeoutMs ?? 15_000);
    return broker;
  }

  private static spawn(a: { binary: string; configFile: string; logFile: string; ownProcessGroup?: boolean }): ManagedProcess {
    return new ManagedProcess({ name: 'mosquitto', command: a.binary, args: ['-c', a.configFile], logFile: a.logFile, ownProcessGroup: a.ownProcessGroup });
  }

  /** Starts the broker again with the same config, port and persistence file. */
  async restart(timeoutMs = 15_000): Promise<MosquittoBroker> {
    const broker = new MosquittoBroker(MosquittoBroker.spawn(this.spawnArgs), this.url, this.spawnArgs, this.auth, this.tlsUrl, this.serviceUrl);
    await broker.waitReady(timeoutMs);
    return broker;
  }

  private async waitReady(timeoutMs: number): Promise<void> {
    const { host, port, tlsPort, servicePort, logFile } = this.spawnArgs;
    await waitFor(
      async () => {
        if (!this.process.running) throw new Error(`Mosquitto exited during start; see ${logFile}`);
        return (
          (await canConnect(host, port)) &&
          (tlsPort === undefined || (await canConnect(host, tlsPort))) &&
          (servicePort === undefined || (await canConnect(host, servicePort)))
        );
      },
      timeoutMs,
      () => `Mosquitto did not accept connections on ${host}:${port} within ${timeoutMs} ms; see ${logFile}`,
    );
  }

  stop(): Promise<void> {
    return this.process.stop();
  }

  kill(): Promise<void> {
    return this.process.kill();
  }
}
