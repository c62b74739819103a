import { Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { Logger } from './logger';

export class TemporalUnreachableError extends Error {
  constructor(address: string, cause: unknown) {
    super(
      `cannot reach Temporal at ${address} (${(cause as Error)?.message ?? cause}). ` +
        'Is `dco up` running? Otherwise set TEMPORAL_ADDRESS or --temporal-address.',
    );
    this.name = 'TemporalUnreachableError';
  }
}

/** For one-shot commands: fail fast with a hint. */
export async function connectClient(address: string): Promise<Connection> {
  try {
    return await Connection.connect({ address, connectTimeout: 5_000 });
  } catch (err) {
    throw new TemporalUnreachableError(address, err);
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

export function connectNative(address: string, logger: Logger): Promise<NativeConnection> {
  return connectWithRetry(`Temporal at ${address}`, () => NativeConnection.connect({ address }), logger);
}
