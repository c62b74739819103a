import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { readFileSync } from 'node:fs';

/**
 * The one way every part of dco opens an MQTT connection (publisher, bridge, presence readers,
 * device agent, simulators, CLI readers), so they all share one reconnect policy:
 *
 * - Any loss of the connection, including a refused CONNACK (bad credentials, a password file
 *   not yet reloaded, a server busy), is retried. MQTT.js alone gives up after a refusal
 *   unless told otherwise, and retries at a fixed period otherwise; we schedule every
 *   reconnect ourselves with capped exponential backoff and jitter, so a thousand clients
 *   refused together do not come back in lockstep.
 * - One log line per refusal or loss, with the broker's reason code when there is one.
 * - `waitForConnect` fails loudly after a timeout, naming the last reason, instead of waiting
 *   forever.
 */
export interface MqttConnectOptions {
  url: string;
  /** Who is connecting, for log lines and errors ("bridge", "device pump-7", ...). */
  name: string;
  clientId?: string;
  username?: string;
  password?: string;
  /** CA certificate (PEM file) that signed the broker's certificate, for mqtts:// URLs. */
  caFile?: string;
  /** false: a persistent session (subscriptions and queued QoS 1 messages kept by the broker). */
  clean?: boolean;
  /** MQTT v5 session expiry, for persistent sessions. */
  sessionExpirySeconds?: number;
  /** MQTT v5 Receive Maximum: how many QoS 1 messages the broker may have in flight to us. */
  receiveMaximum?: number;
  will?: IClientOptions['will'];
  /** How long one connection attempt may take (TCP + CONNACK). */
  connectTimeoutMs?: number;
  reconnect?: Partial<ReconnectPolicy>;
  /** Where warnings go; defaults to nowhere (errors still surface through waitForConnect). */
  log?: (message: string, details: Record<string, unknown>) => void;
  /** Anything else MQTT.js takes (customHandleAcks, resubscribe, ...). */
  extra?: Partial<IClientOptions>;
}

export interface ReconnectPolicy {
  initialMs: number;
  maxMs: number;
  multiplier: number;
  /** Each delay is randomized by ±jitter × delay. */
  jitter: number;
  /** A connection that lasted this long resets the backoff; a shorter one (kicked at once) does not. */
  stableAfterMs: number;
}

/**
 * 0.5 s doubling to 30 s: quick after a blip, and at most one attempt per 30 s per client
 * during a long outage, so a fleet reconnecting does not hammer a broker that is coming back.
 */
export const DEFAULT_RECONNECT: ReconnectPolicy = { initialMs: 500, maxMs: 30_000, multiplier: 2, jitter: 0.2, stableAfterMs: 10_000 };

/** Delay before reconnect attempt `n` (1-based); pure, for tests. */
export function reconnectDelayMs(n: number, policy: ReconnectPolicy, random: () => number = Math.random): number {
  const base = Math.min(policy.maxMs, policy.initialMs * policy.multiplier ** Math.max(0, n - 1));
  const spread = base * policy.jitter * (2 * random() - 1);
  return Math.max(0, Math.round(base + spread));
}

/** The last reason a client could not connect or lost its connection, if any. */
const lastProblem = new WeakMap<MqttClient, string>();

export function connectMqtt(o: MqttConnectOptions): MqttClient {
  const policy = { ...DEFAULT_RECONNECT, ...o.reconnect };
  const log = o.log ?? (() => {});
  const properties: IClientOptions['properties'] = {
    ...(o.sessionExpirySeconds !== undefined ? { sessionExpiryInterval: o.sessionExpirySeconds } : {}),
    ...(o.receiveMaximum !== undefined ? { receiveMaximum: o.receiveMaximum } : {}),
  };
  const client = mqtt.connect(o.url, {
    protocolVersion: 5,
    ...(o.clientId ? { clientId: o.clientId } : {}),
    clean: o.clean ?? true,
    ...(Object.keys(properties).length > 0 ? { properties } : {}),
    username: o.username,
    password: o.password,
    ...(o.caFile ? { ca: readFileSync(o.caFile) } : {}),
    ...(o.will ? { will: o.will } : {}),
    connectTimeout: o.connectTimeoutMs ?? 10_000,
    // We reconnect ourselves (below): MQTT.js's own timer has a fixed period.
    reconnectPeriod: 0,
    ...o.extra,
  });

  let failures = 0;
  let connectedAt: number | undefined;
  let timer: NodeJS.Timeout | undefined;
  let ended = false;
  const endAsync = client.endAsync.bind(client);
  const end = client.end.bind(client);
  const stop = () => {
    ended = true;
    if (timer) clearTimeout(timer);
  };
  // Ending the client must also end our reconnect loop.
  client.end = ((...args: Parameters<MqttClient['end']>) => (stop(), end(...args))) as MqttClient['end'];
  client.endAsync = ((...args: Parameters<MqttClient['endAsync']>) => (stop(), endAsync(...args))) as MqttClient['endAsync'];

  client.on('connect', () => {
    connectedAt = Date.now();
    lastProblem.delete(client);
    if (failures > 0) log('MQTT connected again', { name: o.name, url: o.url, after: failures });
  });
  client.on('error', (err: Error & { code?: number | string }) => {
    const problem = `${err.message}${typeof err.code === 'number' ? ` (reason code ${err.code})` : err.code ? ` (${err.code})` : ''}`;
    lastProblem.set(client, problem);
  });
  client.on('close', () => {
    if (ended || timer) return;
    if (connectedAt !== undefined && Date.now() - connectedAt >= policy.stableAfterMs) failures = 0;
    connectedAt = undefined;
    failures++;
    const delay = reconnectDelayMs(failures, policy);
    log(failures === 1 ? 'MQTT connection lost or refused; reconnecting' : 'MQTT still not connected; reconnecting', {
      name: o.name,
      url: o.url,
      reason: lastProblem.get(client) ?? 'connection closed',
      attempt: failures,
      retryInMs: delay,
    });
    timer = setTimeout(() => {
      timer = undefined;
      if (!ended) client.reconnect();
    }, delay);
    // A client never holds its process open by itself (tests, one-shot readers); a long-running
    // command holds itself open until stopped (cli/until-stopped.ts).
    timer.unref?.();
  });
  return client;
}

export class MqttConnectTimeoutError extends Error {
  constructor(name: string, url: string, timeoutMs: number, reason: string | undefined) {
    super(
      `${name} could not connect to the MQTT broker at ${url} within ${timeoutMs} ms` +
        `${reason ? `: ${reason}` : ''}. Is the broker running, and are the credentials right?`,
    );
    this.name = 'MqttConnectTimeoutError';
  }
}

/** Resolves once connected (now or later), or rejects after `timeoutMs` with the last reason. */
export async function waitForConnect(client: MqttClient, o: { name: string; url: string }, timeoutMs = 15_000): Promise<void> {
  if (client.connected) return;
  await new Promise<void>((resolve, reject) => {
    const onConnect = () => {
      clearTimeout(t);
      resolve();
    };
    const t = setTimeout(() => {
      client.off('connect', onConnect);
      reject(new MqttConnectTimeoutError(o.name, o.url, timeoutMs, lastProblem.get(client)));
    }, timeoutMs);
    client.once('connect', onConnect);
  });
}

/** The reason of the last refusal or loss, while not connected. */
export function lastConnectProblem(client: MqttClient): string | undefined {
  return lastProblem.get(client);
}
