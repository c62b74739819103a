/**
 * `npm run bench`: the numbers behind the rollout targets, measured in one run on this machine
 * and reported as ratios against baselines run in the same process:
 *   1. command throughput and latency through the full path (client → Temporal → worker → MQTT
 *      → device → bridge → Temporal), against raw MQTT request/response through the same
 *      Mosquitto (no Temporal) and the same command workflow with the MQTT hop replaced by
 *      direct signals (no MQTT);
 *   2. a 10,000-device rollout, all succeeding, in 2 waves: wall time, devices/s, peak worker RSS;
 *   3. the same with 20% failing devices and a 10% abort threshold: devices reached before the abort;
 *   4. the rollout of 2 targeted by query (`DeviceFirmware = ...` over the device entities, as
 *      `--where` does): the entities' backfill, the query's resolution, and the rollout, side by
 *      side with 2's static list;
 *   and, on the path of 1, the isolation scenarios of bench/isolation.ts (noisy neighbour,
 *   reconnect storm).
 * Results go to bench/results/<time>.json.
 */
import { Client, Connection } from '@temporalio/client';
import { Runtime, DefaultLogger } from '@temporalio/worker';
import { chmodSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MosquittoBroker } from '../stack/mosquitto-broker';
import { tempDirForPostgres } from '../stack/postgres-cluster';
import { setWorkflowStackTraces } from '../workers/workflow-stack-traces';
import { bareWorkflowRate } from './bare-workflow-rate';
import { parseBenchOptions } from './options';
import { pinToCores } from './pin-to-cores';
import { compareBackends, setRatio } from './ratios';
import { saveResults } from './results-file';
import { rolloutBench } from './rollout-bench';
import { say } from './say';
import { startBackend, type Backend } from './temporal-backend';
import { throughput } from './throughput';

const opts = parseBenchOptions();

// The in-process workers (throughput, bare baseline) like the spawned `dco worker`s: threads
// started from now on copy the switch.
setWorkflowStackTraces(opts.workflowStackTraces === true);

async function main() {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  // The cluster's PostgreSQL runs as the postgres user when we are root: it must enter the directory.
  const dir = tempDirForPostgres('dco-bench-');
  say(`bench data in ${dir}; ${os.cpus().length} cores`);
  const backends: Backend[] = opts.backend === 'both' ? ['dev', 'postgres'] : [opts.backend as Backend];
  const results: Record<string, unknown> = {
    at: new Date().toISOString(),
    machine: { cores: os.cpus().length, memoryGb: Math.round(os.totalmem() / 2 ** 30) },
    options: opts,
  };
  for (const backend of backends) {
    say(`== Temporal: ${backend === 'dev' ? 'the CLI dev server (SQLite)' : 'temporal-server on PostgreSQL'}`);
    const figures = await benchOn(backend, path.join(dir, backend));
    // The first backend's figures stay where earlier runs had them; the second's go under its name.
    if (backend === backends[0]) Object.assign(results, figures, { backend });
    else results[backend] = figures;
  }
  if (backends.length === 2) results.postgresVsDev = compareBackends(results, results.postgres as Record<string, unknown>);
  saveResults(results);
}

/** Every part of the bench against one Temporal backend (with a Mosquitto of its own). */
async function benchOn(backend: Backend, dir: string): Promise<Record<string, unknown>> {
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o755);
  const [temporal, mosquitto] = await Promise.all([startBackend(backend, dir, opts), MosquittoBroker.start({ dataDir: path.join(dir, 'mosquitto') })]);
  const results: Record<string, unknown> = {};
  const connection = await Connection.connect({ address: temporal.address });
  const temporalClient = new Client({ connection });
  try {
    if (!opts.skipThroughput) results.throughput = await throughput(opts, temporal.address, mosquitto.url, temporalClient, dir);
    if (!opts.skipRollouts) {
      const engine = { address: temporal.address, metricsUrl: temporal.metricsUrl, servers: { ...temporal.servers, mosquitto: mosquitto.process.pid! } };
      results.rolloutAllSucceed = await rolloutBench(opts, engine, mosquitto.url, temporalClient, dir, 'ok', 0);
      if (!opts.skipAbort) results.rolloutAbort = await rolloutBench(opts, engine, mosquitto.url, temporalClient, dir, 'bad', 0.2);
      if (!opts.skipQuery) results.rolloutByQuery = await rolloutBench(opts, engine, mosquitto.url, temporalClient, dir, 'query', 0, false, true);
      // The engine's own speed, the baseline of each rollout: the bare workflow of part 1, or
      // measured here when part 1 was skipped; for the slowed run, measured slowed too.
      const bare =
        (results.throughput as { variants?: Array<{ name: string; perSecond: number }> } | undefined)?.variants?.find(
          (v) => v.name === 'command workflow, no MQTT',
        ) ?? (results.bareWorkflow = await bareWorkflowRate(opts, temporal.address, temporalClient, 'bench-bare-rollouts'));
      setRatio(results.rolloutAllSucceed, bare.perSecond);
      if (results.rolloutByQuery) {
        setRatio(results.rolloutByQuery, bare.perSecond);
        const q = results.rolloutByQuery as { devicesPerSecond: number; workerPeakRssMb?: number };
        const l = results.rolloutAllSucceed as { devicesPerSecond: number; workerPeakRssMb?: number };
        results.queryVsStaticList = {
          devicesPerSecond: Math.round((q.devicesPerSecond / l.devicesPerSecond) * 100) / 100,
          workerPeakRssMb: [q.workerPeakRssMb, l.workerPeakRssMb],
        };
      }
      // Pinning PostgreSQL's running backends is not done here: the slowed run is the dev server's.
      if (opts.slowed && backend === 'dev') {
        const slowedPids = [...Object.values(temporal.servers), mosquitto.process.pid!, process.pid];
        for (const pid of slowedPids) pinToCores(pid, '0');
        try {
          results.bareWorkflowSlowed = await bareWorkflowRate(opts, temporal.address, temporalClient, 'bench-bare-slowed');
        } finally {
          for (const pid of slowedPids) pinToCores(pid, `0-${os.cpus().length - 1}`);
        }
        results.rolloutSlowed = await rolloutBench(opts, engine, mosquitto.url, temporalClient, dir, 'slow', 0, true);
        setRatio(results.rolloutSlowed, (results.bareWorkflowSlowed as { perSecond: number }).perSecond);
      }
    }
  } finally {
    await connection.close();
    await Promise.all([temporal.stop(), mosquitto.stop()]);
  }
  return results;
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${err?.stack ?? err}\n`);
  process.exit(1);
});
