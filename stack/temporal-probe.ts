import { Connection } from '@temporalio/client';

/**
 * A readiness probe of a Temporal frontend: connects, makes one call, closes; true when the
 * call succeeded. It asks exactly once, without the SDK's retry interceptor, and its caller
 * asks again. With the interceptor a "not yet" answer (UNAVAILABLE, a frontend restarting) is
 * retried behind the probe's back, and a retry whose timer fires after the probe closed its
 * connection throws from that timer ("Channel has been shut down": an uncaught exception;
 * test/unit/temporal-probe.test.ts).
 */
export async function answersOnce(address: string, ask: (connection: Connection) => Promise<unknown>): Promise<boolean> {
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({ address, connectTimeout: 1_000, interceptors: [] });
    await ask(connection);
    return true;
  } catch {
    return false;
  } finally {
    await connection?.close().catch(() => {});
  }
}
