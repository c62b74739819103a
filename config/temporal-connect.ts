import { Connection, type TLSConfig } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { readFileSync } from 'node:fs';
import type { Logger } from './logger';
import type { Settings } from './settings';

/** How to reach Temporal: the address, and TLS, mTLS or an API key when the settings ask for them. */
export type TemporalTarget = Pick<
  Settings,
  | 'temporalAddress'
  | 'temporalTls'
  | 'temporalTlsServerCaCertPath'
  | 'temporalTlsClientCertPath'
  | 'temporalTlsClientKeyPath'
  | 'temporalTlsServerName'
  | 'temporalApiKey'
>;

/**
 * The options both connections take (the client's Connection and the worker's
 * NativeConnection). TLS is on when TEMPORAL_TLS says so, or when any TLS file, a server name or
 * an API key is given (Temporal Cloud needs TLS), unless TEMPORAL_TLS is false.
 */
export function temporalConnectionOptions(t: TemporalTarget): { address: string; tls?: TLSConfig | boolean; apiKey?: string } {
  const explicit = t.temporalTls === undefined ? undefined : t.temporalTls === 'true' || t.temporalTls === '1';
  const implied = Boolean(
    t.temporalTlsServerCaCertPath || t.temporalTlsClientCertPath || t.temporalTlsClientKeyPath || t.temporalTlsServerName || t.temporalApiKey,
  );
  if (Boolean(t.temporalTlsClientCertPath) !== Boolean(t.temporalTlsClientKeyPath)) {
    throw new Error('mTLS needs both TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH (or neither)');
  }
  const options: { address: string; tls?: TLSConfig | boolean; apiKey?: string } = { address: t.temporalAddress };
  if (t.temporalApiKey) options.apiKey = t.temporalApiKey;
  if (!(explicit ?? implied)) return options;
  const tls: TLSConfig = {};
  if (t.temporalTlsServerCaCertPath) tls.serverRootCACertificate = readFileSync(t.temporalTlsServerCaCertPath);
  if (t.temporalTlsClientCertPath && t.temporalTlsClientKeyPath) {
    tls.clientCertPair = { crt: readFileSync(t.temporalTlsClientCertPath), key: readFileSync(t.temporalTlsClientKeyPath) };
  }
  if (t.temporalTlsServerName) tls.serverNameOverride = t.temporalTlsServerName;
  options.tls = Object.keys(tls).length ? tls : true;
  return options;
}

export class TemporalUnreachableError extends Error {
  constructor(address: string, cause: unknown) {
    super(
      `cannot reach Temporal at ${address} (${(cause as Error)?.message ?? cause}). ` +
        'Is `dco up` running? Otherwise set TEMPORAL_ADDRESS or --temporal-address.',
    );
    this.name = 'TemporalUnreachableError';
  }
}

/** For one-shot commands: fail fast with a hint. A bare address is a plain connection. */
export async function connectClient(target: TemporalTarget | string): Promise<Connection> {
  const t = typeof target === 'string' ? { temporalAddress: target } : target;
  try {
    return await Connection.connect({ ...temporalConnectionOptions(t), connectTimeout: 5_000 });
  } catch (err) {
    throw new TemporalUnreachableError(t.temporalAddress, err);
  }
}

/**
 * For long-running services: Temporal may start after us (compose, `dco up`), so keep trying,
 * and say so in the log.
 */
export async function connectWithRetry<T>(what: string, connect: () => Promise<T>, logger: Logger): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await connect();
    } catch (err) {
      if (attempt === 1 || attempt % 10 === 0) logger.warn({ err: String(err), attempt }, `waiting for ${what}`);
      await new Promise((r) => setTimeout(r, Math.min(5_000, 250 * attempt)));
    }
  }
}

export function connectNative(target: TemporalTarget, logger: Logger): Promise<NativeConnection> {
  return connectWithRetry(`Temporal at ${target.temporalAddress}`, () => NativeConnection.connect(temporalConnectionOptions(target)), logger);
}
