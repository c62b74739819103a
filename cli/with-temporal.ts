import { Client, type Connection } from '@temporalio/client';
import { InvalidRequestError } from '../client/errors';
import type { Settings } from '../config/settings';
import { connectClient, type TemporalTarget } from '../config/temporal-connect';
import { UsageError } from './usage-error';

/** What `work` gets: the connection, a Temporal client in the settings' namespace, and the settings. */
export interface TemporalScope {
  connection: Connection;
  client: Client;
  settings: Settings;
}

/**
 * Runs one CLI command's work on one Temporal connection. Every command that talks to Temporal
 * does the same three things, which were written by hand at each: connect (failing fast with a
 * hint), close the connection whatever happens, and report a request the client refuses
 * (InvalidRequestError) as a usage error, exit code 2. Refusals only one command knows (a
 * missing template, a conflicting commandId, ...) stay at that command. `connect` is there for
 * tests that count connections.
 */
export async function withTemporal<T>(
  settings: Settings,
  work: (t: TemporalScope) => Promise<T>,
  connect: (target: TemporalTarget) => Promise<Connection> = connectClient,
): Promise<T> {
  const connection = await connect(settings);
  try {
    return await work({ connection, client: new Client({ connection, namespace: settings.namespace }), settings });
  } catch (err) {
    if (err instanceof InvalidRequestError) throw new UsageError(err.message);
    throw err;
  } finally {
    await connection.close();
  }
}
