import path from 'node:path';
import { startTemporalCluster } from '../stack/temporal-cluster';
import { TemporalServer } from '../stack/temporal-server';
import type { BenchOptions } from './options';
import { say } from './say';

/** Where Temporal runs: the CLI's dev server (SQLite), or the production server on PostgreSQL (issue 15). */
export type Backend = 'dev' | 'postgres';

export interface StartedBackend {
  address: string;
  /** The engine's processes whose CPU the rollouts count; `postgres` is the postmaster, counted with its backends. */
  servers: Record<string, number>;
  /** The Temporal server's Prometheus endpoint: its counts of requests, database calls and tasks. */
  metricsUrl: string;
  stop(): Promise<void>;
}

export async function startBackend(backend: Backend, dir: string, opts: BenchOptions): Promise<StartedBackend> {
  if (backend === 'dev') {
    const temporal = await TemporalServer.start({ dataDir: path.join(dir, 'temporal'), ui: false, dynamicConfig: opts.dynamicConfig ?? [] });
    return { address: temporal.address, servers: { temporal: temporal.process.pid! }, metricsUrl: temporal.metricsUrl, stop: () => temporal.stop() };
  }
  say('starting the Temporal server on PostgreSQL (stack/temporal-cluster.ts)');
  const cluster = await startTemporalCluster({
    dir: path.join(dir, 'cluster'),
    say: (line) => say(`   ${line}`),
    ...(opts.shards ? { numHistoryShards: opts.shards } : {}),
  });
  return {
    address: cluster.address,
    servers: { temporal: cluster.serverProcesses.get('temporal-server')!.pid!, postgres: cluster.postgres.pid()! },
    metricsUrl: cluster.metricsUrl,
    stop: () => cluster.stop(),
  };
}
