import type { Client } from '@temporalio/client';
import os from 'node:os';
import path from 'node:path';
import { devicesMatching } from '../client/devices-matching';
import { RolloutClient } from '../client/rollout-client';
import { FleetSimulator } from '../device/fleet-simulator';
import { ManagedProcess } from '../stack/managed-process';
import { freePort } from '../stack/net';
import { historyEvents } from './history-events';
import type { BenchOptions } from './options';
import { pinToCores } from './pin-to-cores';
import { cpuSeconds, peakRssMb, treeCpuSeconds } from './process-memory';
import { bridgeOutcomes, publishCauses } from './publish-causes';
import { say } from './say';
import { seedEntities } from './seed-entities';
import { operationsPerDevice, readTemporalOperations } from './temporal-operations';

/** The CLI that runs each rollout's workers and bridges as processes of their own. */
const DCO = path.join(__dirname, '..', 'bin', 'dco');

/** Processes counted with their descendants (a PostgreSQL backend per connection). */
const PROCESS_TREES = new Set(['postgres']);
const cpuOf = (name: string, pid: number) => (PROCESS_TREES.has(name) ? treeCpuSeconds(pid) : cpuSeconds(pid));

/** The engine a rollout runs on: its address, the processes whose CPU is counted (with Mosquitto), its metrics. */
export interface Engine {
  address: string;
  servers: Record<string, number>;
  metricsUrl: string;
}

/** 2 and 3. A rollout over a simulated fleet with the worker and the bridge as their own processes. */
export async function rolloutBench(
  opts: BenchOptions,
  engine: Engine,
  mqttUrl: string,
  client: Client,
  dir: string,
  name: string,
  failureRate: number,
  slowed = false,
  byQuery = false,
) {
  const { address, servers } = engine;
  const fleetSize = opts.fleet as number;
  const topicPrefix = `bench-${name}/devices`;
  const taskQueue = `bench-rollout-${name}`;
  say(
    `${byQuery ? 4 : failureRate ? 3 : 2}. rollout of ${fleetSize} devices${failureRate ? `, ${failureRate * 100}% failing, abort at 10%` : ', all succeed'}${byQuery ? ', targeted by query' : ''}`,
  );
  // A firmware no other fleet of the bench reports: the query (4) and the count of entities find exactly this one.
  const firmware = `1.0.0-${name}`;
  const sim = new FleetSimulator({
    mqttUrl,
    topicPrefix,
    devices: fleetSize,
    idPrefix: `${name}-`,
    latencyMs: 50,
    failureRate,
    seed: 11,
    quickResultMs: opts.quickResultMs,
    journalDir: path.join(dir, name),
    firmware,
  });
  // Targeted by query, the entities must exist first: the fleet connects after the bridge, so
  // its statuses are live (a bridge start reads retained ones at a tenth of the rate).
  const live = opts.statusesLive || byQuery;
  if (!live) await sim.start();
  const env = { ...process.env, TEMPORAL_ADDRESS: address, MQTT_URL: mqttUrl, DCO_TASK_QUEUE: taskQueue, DCO_TOPIC_PREFIX: topicPrefix, LOG_LEVEL: 'warn' };
  // --instances N: N workers on the task queue and N bridges in one shared-subscription group,
  // as `worker`, `worker2`, ... and `bridge`, `bridge2`, ... (the first keep the names of a
  // single-instance run, so results compare).
  const instances = opts.instances as number;
  const suffix = (i: number) => (i === 0 ? '' : String(i + 1));
  const metricsAddresses = await Promise.all(Array.from({ length: instances }, async () => `127.0.0.1:${await freePort()}`));
  const bridgeMetricsAddresses = await Promise.all(Array.from({ length: instances }, async () => `127.0.0.1:${await freePort()}`));
  const workerEnv = opts.workerHeapMb ? { ...env, NODE_OPTIONS: `--max-old-space-size=${opts.workerHeapMb}` } : env;
  // --worker-profile DIR: a V8 CPU profile of the rollout worker (a .cpuprofile, written when it
  // stops). Node refuses --cpu-prof in NODE_OPTIONS: it goes on the command line.
  const profile = opts.workerProfile ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(opts.workerProfile)}`] : [];
  const workers = metricsAddresses.map(
    (metricsAddress, i) =>
      new ManagedProcess({
        name: `worker${suffix(i)}`,
        command: process.execPath,
        args: [
          ...profile,
          DCO,
          'worker',
          '--metrics-address',
          metricsAddress,
          ...(opts.workerCachedWorkflows ? ['--max-cached-workflows', String(opts.workerCachedWorkflows)] : []),
          ...(opts.workflowStackTraces ? ['--workflow-stack-traces'] : []),
        ],
        logFile: path.join(dir, `${name}-worker${suffix(i)}.log`),
        env: workerEnv,
      }),
  );
  const worker = workers[0];
  const statusRate = byQuery ? (opts.queryStatusRate as number) : undefined;
  const startBridge = (role: string, rate?: number, metrics?: string, shareGroup?: string) =>
    new ManagedProcess({
      name: `bridge${role}`,
      command: process.execPath,
      args: [
        DCO,
        'bridge',
        '--client-id',
        `bench-bridge${role}-${name}`,
        ...(metrics ? ['--metrics-address', metrics] : []),
        ...(rate ? ['--device-status-rate', String(rate)] : []),
        ...(shareGroup ? ['--share-group', shareGroup, '--share-group-size', String(instances)] : []),
      ],
      logFile: path.join(dir, `${name}-bridge${role}.log`),
      env,
    });
  // As after a bridge restart (the default): the entities exist, created before the measured
  // bridge starts; it then finds every retained status already shown and forwards none.
  // --first-start: they do not, and the measured bridge creates them during the rollout.
  // The rollout that aborts reaches a few devices in seconds: nothing to compete with, no seeding.
  const seeded = !live && !opts.firstStart && !failureRate;
  if (seeded) await seedEntities(client, startBridge, firmware, fleetSize, worker, path.join(dir, `${name}-worker.log`), opts.queryStatusRate as number);
  const bridges = bridgeMetricsAddresses.map((metrics, i) => startBridge(suffix(i), statusRate, metrics, instances > 1 ? `bench-${name}` : undefined));
  try {
    await new Promise((r) => setTimeout(r, 8_000)); // both connect and the worker bundles its workflows
    if (live) await sim.start();
    const rollouts = new RolloutClient(client, taskQueue);
    // Where the time goes: CPU seconds per process during the rollout.
    const pids: Record<string, number> = {
      ...servers,
      ...Object.fromEntries(workers.map((w, i) => [`worker${suffix(i)}`, w.pid!])),
      ...Object.fromEntries(bridges.map((b, i) => [`bridge${suffix(i)}`, b.pid!])),
      'simulator+client': process.pid,
    };
    // Slowed: every process of the system on one core, as on a machine half as fast.
    if (slowed) for (const pid of Object.values(pids)) pinToCores(pid, '0');
    let targeting: { query: string; deviceStatusRate: number; entityBackfillSeconds: number; resolveSeconds: number } | undefined;
    let targets = [...sim.deviceIds];
    if (byQuery) {
      // The entities come from the devices' statuses, through the bridge; then `--where` resolves them.
      const query = `DeviceFirmware = '${firmware}'`;
      const tb = performance.now();
      for (;;) {
        const { count } = await client.workflow.count(`WorkflowType = 'deviceWorkflow' AND ${query}`);
        if (count >= fleetSize) break;
        say(`   device entities ${count}/${fleetSize}`);
        await new Promise((r) => setTimeout(r, 5_000));
      }
      const tr = performance.now();
      targets = await devicesMatching(client, query);
      targeting = {
        query,
        deviceStatusRate: statusRate!,
        entityBackfillSeconds: Math.round((tr - tb) / 100) / 10,
        resolveSeconds: Math.round((performance.now() - tr) / 100) / 10,
      };
      say(`   resolved ${targets.length} devices in ${targeting.resolveSeconds} s (entities ready after ${targeting.entityBackfillSeconds} s)`);
    }
    const cpuBefore = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuOf(k, pid) ?? 0]));
    const operationsBefore = await readTemporalOperations(engine.metricsUrl).catch(() => undefined);
    const t0 = performance.now();
    const handle = await rollouts.start({
      rolloutId: `bench-${name}-${Date.now().toString(36)}`,
      name: 'update-firmware',
      params: { version: '2.0.0' },
      targets,
      canary: { percent: 1 },
      waves: [{ percent: 100 }],
      concurrency: opts.rolloutConcurrency,
      adaptive: !opts.fixedConcurrency,
      ...(opts.lanes > 1 ? { lanes: opts.lanes } : {}),
      abort: { failureShare: 0.1, minFinished: 10 },
    });
    let last = '';
    const limits: number[] = [];
    for (;;) {
      const s = await handle.status();
      if (s.concurrency) limits.push(s.concurrency.limit);
      const line = `   ${s.state} ${s.currentWave} finished ${fleetSize - s.overall.pending - s.overall.inFlight}/${fleetSize} in flight ${s.overall.inFlight} (generation ${s.generation})`;
      if (line !== last) say(line);
      last = line;
      if (['done', 'aborted', 'cancelled'].includes(s.state)) break;
      await new Promise((r) => setTimeout(r, 2_000));
    }
    const final = await handle.result();
    const wallMs = performance.now() - t0;
    const cpuShare = Object.fromEntries(
      Object.entries(pids).map(([k, pid]) => [k, Math.round((((cpuOf(k, pid) ?? 0) - cpuBefore[k]) / (wallMs / 1000)) * 100) / 100]),
    );
    const stats = sim.stats();
    const sorted = [...limits].sort((a, b) => a - b);
    const events = await historyEvents(client, handle.workflowId, final.rolloutId, sim.deviceIds, fleetSize - final.overall.pending);
    const operationsAfter = await readTemporalOperations(engine.metricsUrl).catch(() => undefined);
    const causes = await Promise.all(metricsAddresses.map((a) => publishCauses(a)))
      .then(sumCounts)
      .catch((err) => ({ unavailable: String(err) }));
    const entityReports = await Promise.all(bridgeMetricsAddresses.map((a) => bridgeOutcomes(a, 'device-status')))
      .then(sumCounts)
      .catch((err) => ({ unavailable: String(err) }));
    return {
      slowed,
      // Targeted by query: the query, how long the bridge took to create every entity, and how long --where's resolution took (not in wallSeconds).
      ...(targeting ? { targeting } : {}),
      statuses: opts.statusesLive ? 'live' : seeded ? 'retained, entities exist (a restart)' : 'retained, no entities (a first start)',
      // Status reports to the device entities during the rollout (the bridge's dco_bridge_messages_total{kind="device-status"}).
      deviceEntityReports: entityReports,
      // Publishes a device received per device reached: 1.0 when nothing was re-published.
      historyEvents: events,
      publishesPerDevice: stats.commandsReceived
        ? Math.round((stats.commandsReceived / Math.max(1, fleetSize - final.overall.pending)) * 1000) / 1000
        : undefined,
      // Publishes by cause (the worker's dco_command_publishes): `first` once per device, the rest re-publishes.
      publishCauses: causes,
      adaptiveConcurrency: final.concurrency
        ? { ...final.concurrency, sampledLimit: { min: sorted[0], median: sorted[Math.floor(sorted.length / 2)], max: sorted.at(-1), samples: sorted.length } }
        : undefined,
      devices: fleetSize,
      state: final.state,
      abortReason: final.abortReason,
      wallSeconds: Math.round(wallMs / 100) / 10,
      devicesPerSecond: Math.round(((fleetSize - final.overall.pending) / wallMs) * 1000),
      overall: final.overall,
      devicesThatReceivedTheCommand: stats.commandsReceived,
      // What the devices sent back: with --quick-result-ms, quick commands need no ack.
      deviceAnswers: { acks: stats.acksSent, results: stats.resultsSent },
      maxExecutionsPerCommand: stats.maxExecutionsPerCommand,
      // The largest of the instances' peaks (each is a process of its own).
      workerPeakRssMb: maxOf(workers.map((w) => (w.pid ? peakRssMb(w.pid) : undefined))),
      bridgePeakRssMb: maxOf(bridges.map((b) => (b.pid ? peakRssMb(b.pid) : undefined))),
      ...(instances > 1 ? { instances } : {}),
      continueAsNewGenerations: final.generation,
      cpuCoresUsedOnAverage: cpuShare,
      // The budget: 2 cores × 120 s for 10,000 devices is 24 ms of CPU per device, all processes together.
      cpuMsPerDevice: Object.fromEntries(
        Object.entries(cpuShare).map(([k, cores]) => [k, Math.round(((cores * wallMs) / Math.max(1, fleetSize - final.overall.pending)) * 10) / 10]),
      ),
      // Where the engine's share goes, by its own counters (bench/temporal-operations.ts).
      temporalPerDevice:
        operationsBefore && operationsAfter
          ? operationsPerDevice(operationsBefore, operationsAfter, fleetSize - final.overall.pending)
          : 'unavailable: the metrics endpoint did not answer',
      target: failureRate ? 'as few devices as possible before the abort' : 'wallSeconds <= 120 and workerPeakRssMb <= 512',
    };
  } finally {
    if (slowed) for (const pid of [...Object.values(servers), process.pid]) pinToCores(pid, `0-${os.cpus().length - 1}`);
    await Promise.all([...workers, ...bridges].map((p) => p.stop()));
    await sim.stop();
  }
}

/** Counters of several processes (workers, bridges) added up by key. */
function sumCounts(all: Array<Record<string, number>>): Record<string, number> {
  const sum: Record<string, number> = {};
  for (const counts of all) for (const [k, v] of Object.entries(counts)) sum[k] = (sum[k] ?? 0) + v;
  return sum;
}

function maxOf(values: Array<number | undefined>): number | undefined {
  const known = values.filter((v): v is number => v !== undefined);
  return known.length ? Math.max(...known) : undefined;
}
