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
import { NativeConnection, Runtime, DefaultLogger, type Worker } from '@temporalio/worker';
import { Command } from 'commander';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MqttPublisher } from '../activities/mqtt-publisher';
import { MqttBridge } from '../bridge/mqtt-bridge';
import { DcoClient } from '../client/dco-client';
import { RolloutClient } from '../client/rollout-client';
import { devicesMatching } from '../client/devices-matching';
import { createLogger } from '../config/logger';
import { FleetSimulator } from '../device/fleet-simulator';
import { ManagedProcess } from '../stack/managed-process';
import { MosquittoBroker } from '../stack/mosquitto-broker';
import { TemporalServer } from '../stack/temporal-server';
import { tempDirForPostgres } from '../stack/postgres-cluster';
import { startTemporalCluster } from '../stack/temporal-cluster';
import { createCommandWorker } from '../workers/command-worker';
import { cpuSeconds, peakRssMb, treeCpuSeconds } from './process-memory';
import { runConcurrently, summarize } from './percentiles';
import { rawMqttRoundTrip } from './raw-mqtt-baseline';
import { createBareCommandWorker } from './bare-workflow-baseline';
import { prebuiltWorkflowBundle } from '../workers/workflow-bundle';
import { setWorkflowStackTraces } from '../workers/workflow-stack-traces';
import { noisyNeighbour, reconnectStorm } from './isolation';
import { freePort } from '../stack/net';
import { SUGGESTED_QUICK_RESULT_MS } from '../device/command-decisions';
import { bridgeOutcomes, publishCauses } from './publish-causes';
import { operationsPerDevice, readTemporalOperations } from './temporal-operations';

const program = new Command('bench')
  .option('--commands <n>', 'commands per throughput variant', (v) => Number(v), 1000)
  .option('--concurrency <n>', 'commands in flight per variant', (v) => Number(v), 50)
  .option('--fleet <n>', 'devices in the rollout benchmarks', (v) => Number(v), 10_000)
  .option('--instances <n>', 'rollouts: workers and bridges (the bridges in one shared-subscription group), each a process of its own', (v) => Number(v), 1)
  // In flight = throughput × latency: at the dev server's ~45 commands/s, 200 in flight is ~4.5 s
  // per command; 500 queued acks past the 10 s ack timeout and caused re-publishes.
  .option('--rollout-concurrency <n>', 'rollout: device commands in flight', (v) => Number(v), 200)
  // Documented worker knobs (docs/operations.md, "Throughput and memory"): a V8 heap cap keeps
  // the worker's RSS down (V8 otherwise grows its heap towards a limit set by the machine's
  // memory), and an explicit cache size keeps the SDK from deriving a small one from that cap.
  .option('--worker-heap-mb <n>', 'rollout worker: --max-old-space-size (0: Node default)', (v) => Number(v), 400)
  .option('--worker-profile <dir>', 'rollout workers: write a V8 CPU profile (.cpuprofile) into this directory when each stops')
  .option('--workflow-stack-traces', "every worker (in-process and spawned) records the SDK's per-promise stack traces, as before they were off by default")
  .option('--worker-cached-workflows <n>', 'rollout worker: --max-cached-workflows (0: SDK default)', (v) => Number(v), 1000)
  .option(
    '--first-start',
    "rollouts: the fleet's device entities do not exist yet, so the bridge creates them (at its live rate) during the rollout, as at a first start over a connected fleet (default: they exist, as after a bridge restart)",
  )
  .option(
    '--statuses-live',
    "rollouts: the fleet connects after the bridge, so every device's first status is live and creates its entity at the live rate (default: before it, so the bridge reads retained statuses; see --first-start)",
  )
  .option(
    '--backend <kind>',
    "Temporal to run against: dev (the CLI's dev server, SQLite), postgres (temporal-server on PostgreSQL, as docker-compose.yml), or both, side by side",
    'dev',
  )
  .option(
    '--dynamic-config <key=json...>',
    'dev backend: more --dynamic-config-value settings for the dev server (experiments, e.g. history.hostLevelCacheMaxSize=256000)',
  )
  .option('--shards <n>', "postgres backend: history shards (default docker-compose.yml's 512)", (v) => Number(v))
  .option('--skip-rollouts', 'only the throughput comparison')
  .option('--skip-abort', 'rollouts: not the one that aborts at its canary (3)')
  .option('--skip-query', 'rollouts: not the campaign targeted by query (4)')
  .option('--query-status-rate <n>', "campaign by query: the bridge's --device-status-rate while the fleet's entities are created", (v) => Number(v), 500)
  .option('--skip-throughput', 'only the rollouts')
  .option('--skip-isolation', 'no noisy-neighbour and reconnect-storm scenarios')
  .option('--lanes <n>', 'rollouts: lane workflows that start the commands (RolloutSpec.lanes; default 1: the rollout itself)', (v) => Number(v), 1)
  .option('--fixed-concurrency', 'rollouts keep --rollout-concurrency in flight (adaptive off): the baseline for the adaptive runs')
  // Protocol rule 5's shortcut: the simulated devices (50 ms per command) answer with the result
  // alone when it is ready within this window; 0: they always ack first (two messages each).
  .option(
    '--quick-result-ms <n>',
    'rollouts: devices answer with the result alone when done within this (0: always ack first)',
    (v) => Number(v),
    SUGGESTED_QUICK_RESULT_MS,
  )
  .option('--slowed', 'also run the all-succeed rollout with every process pinned to one core (taskset): a machine about half as fast')
  .parse();
const opts = program.opts();
if (!['dev', 'postgres', 'both'].includes(opts.backend)) program.error(`--backend must be dev, postgres or both, not ${opts.backend}`);
if (!Number.isInteger(opts.instances) || opts.instances < 1 || opts.instances > 8)
  program.error(`--instances must be a whole number from 1 to 8, not ${opts.instances}`);

// The in-process workers (throughput, bare baseline) like the spawned `dco worker`s: threads
// started from now on copy the switch.
setWorkflowStackTraces(opts.workflowStackTraces === true);

const say = (line: string) => process.stderr.write(line + '\n');
const DCO = path.join(__dirname, '..', 'bin', 'dco');

/** Where Temporal runs: the CLI's dev server (SQLite), or the production server on PostgreSQL (issue 15). */
type Backend = 'dev' | 'postgres';

interface StartedBackend {
  address: string;
  /** The engine's processes whose CPU the rollouts count; `postgres` is the postmaster, counted with its backends. */
  servers: Record<string, number>;
  /** The Temporal server's Prometheus endpoint: its counts of requests, database calls and tasks. */
  metricsUrl: string;
  stop(): Promise<void>;
}

async function startBackend(backend: Backend, dir: string): Promise<StartedBackend> {
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

/** Processes counted with their descendants (a PostgreSQL backend per connection). */
const PROCESS_TREES = new Set(['postgres']);
const cpuOf = (name: string, pid: number) => (PROCESS_TREES.has(name) ? treeCpuSeconds(pid) : cpuSeconds(pid));

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
  mkdirSync(path.join(__dirname, 'results'), { recursive: true });
  const file = path.join(__dirname, 'results', `${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify(results, null, 2) + '\n');
  process.stdout.write(JSON.stringify(results, null, 2) + '\n');
  say(`results written to ${path.relative(process.cwd(), file)}`);
}

/** Every part of the bench against one Temporal backend (with a Mosquitto of its own). */
async function benchOn(backend: Backend, dir: string): Promise<Record<string, unknown>> {
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o755);
  const [temporal, mosquitto] = await Promise.all([startBackend(backend, dir), MosquittoBroker.start({ dataDir: path.join(dir, 'mosquitto') })]);
  const results: Record<string, unknown> = {};
  const connection = await Connection.connect({ address: temporal.address });
  const temporalClient = new Client({ connection });
  try {
    if (!opts.skipThroughput) results.throughput = await throughput(temporal.address, mosquitto.url, temporalClient, dir);
    if (!opts.skipRollouts) {
      const engine = { address: temporal.address, metricsUrl: temporal.metricsUrl, servers: { ...temporal.servers, mosquitto: mosquitto.process.pid! } };
      results.rolloutAllSucceed = await rolloutBench(engine, mosquitto.url, temporalClient, dir, 'ok', 0);
      if (!opts.skipAbort) results.rolloutAbort = await rolloutBench(engine, mosquitto.url, temporalClient, dir, 'bad', 0.2);
      if (!opts.skipQuery) results.rolloutByQuery = await rolloutBench(engine, mosquitto.url, temporalClient, dir, 'query', 0, false, true);
      // The engine's own speed, the baseline of each rollout: the bare workflow of part 1, or
      // measured here when part 1 was skipped; for the slowed run, measured slowed too.
      const bare =
        (results.throughput as { variants?: Array<{ name: string; perSecond: number }> } | undefined)?.variants?.find(
          (v) => v.name === 'command workflow, no MQTT',
        ) ?? (results.bareWorkflow = await bareWorkflowRate(temporal.address, temporalClient, 'bench-bare-rollouts'));
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
          results.bareWorkflowSlowed = await bareWorkflowRate(temporal.address, temporalClient, 'bench-bare-slowed');
        } finally {
          for (const pid of slowedPids) pinToCores(pid, `0-${os.cpus().length - 1}`);
        }
        results.rolloutSlowed = await rolloutBench(engine, mosquitto.url, temporalClient, dir, 'slow', 0, true);
        setRatio(results.rolloutSlowed, (results.bareWorkflowSlowed as { perSecond: number }).perSecond);
      }
    }
  } finally {
    await connection.close();
    await Promise.all([temporal.stop(), mosquitto.stop()]);
  }
  return results;
}

/**
 * PostgreSQL's figures over the dev server's, measured in the same run: > 1 is faster (per
 * second) or costlier (CPU ms). The engine's CPU is Temporal's plus PostgreSQL's.
 */
function compareBackends(dev: Record<string, unknown>, pg: Record<string, unknown>) {
  type Rollout = { devicesPerSecond: number; cpuMsPerDevice: Record<string, number> };
  type Throughput = { variants: Array<{ name: string; perSecond: number }> };
  const ratio = (a?: number, b?: number) => (a && b ? Math.round((a / b) * 100) / 100 : undefined);
  const engineMs = (r: Rollout) => (r.cpuMsPerDevice.temporal ?? 0) + (r.cpuMsPerDevice.postgres ?? 0);
  const out: Record<string, unknown> = {};
  const [d, p] = [dev.rolloutAllSucceed as Rollout | undefined, pg.rolloutAllSucceed as Rollout | undefined];
  if (d && p) {
    out.rolloutDevicesPerSecond = ratio(p.devicesPerSecond, d.devicesPerSecond);
    out.rolloutEngineCpuMsPerDevice = {
      dev: Math.round(engineMs(d) * 10) / 10,
      postgres: Math.round(engineMs(p) * 10) / 10,
      ratio: ratio(engineMs(p), engineMs(d)),
    };
  }
  const [dt, pt] = [dev.throughput as Throughput | undefined, pg.throughput as Throughput | undefined];
  if (dt && pt)
    out.throughput = Object.fromEntries(dt.variants.map((v) => [v.name, ratio(pt.variants.find((x) => x.name === v.name)?.perSecond, v.perSecond)]));
  return out;
}

/** The rollout's speed over the engine's (issue 17: >= 0.9 on both machines' speeds). */
function setRatio(rollout: unknown, bareCommandsPerSecond: number): void {
  const r = rollout as { devicesPerSecond: number; rolloutVsBareWorkflow?: number; bareWorkflowPerSecond?: number };
  r.bareWorkflowPerSecond = bareCommandsPerSecond;
  r.rolloutVsBareWorkflow = Math.round((r.devicesPerSecond / bareCommandsPerSecond) * 100) / 100;
}

/**
 * The bare-workflow baseline on its own (the command workflow with signals instead of MQTT,
 * DcoClient starts, --concurrency in flight): how fast this engine runs commands right now.
 */
async function bareWorkflowRate(address: string, client: Client, taskQueue: string) {
  const n = Math.min(opts.commands as number, 500);
  const native = await NativeConnection.connect({ address });
  const worker = await createBareCommandWorker(native, client, taskQueue, { codePath: prebuiltWorkflowBundle().codePath });
  const running = worker.run();
  try {
    const bareClient = new DcoClient({ connection: client.connection, taskQueue });
    const ids = Array.from({ length: 200 }, (_, i) => `bare-${String(i).padStart(3, '0')}`);
    const r = summarize(
      'command workflow, no MQTT',
      await runConcurrently(
        n,
        opts.concurrency as number,
        async (i) => void (await (await bareClient.send({ deviceId: ids[i % ids.length], name: 'ping' })).result()),
      ),
    );
    say(`   baseline: ${JSON.stringify(r)}`);
    return r;
  } finally {
    worker.shutdown();
    await running;
    await native.close();
  }
}

/** 1. Full path vs raw MQTT vs the same workflow without MQTT, all in this process. */
async function throughput(address: string, mqttUrl: string, client: Client, dir: string) {
  const n = opts.commands as number;
  const c = opts.concurrency as number;
  const topicPrefix = 'bench/devices';
  const sim = new FleetSimulator({ mqttUrl, topicPrefix, devices: 200, idPrefix: 'tp-', latencyMs: 0, connections: 1, journalDir: path.join(dir, 'tp') });
  await sim.start();
  const native = await NativeConnection.connect({ address });
  const publisher = new MqttPublisher({ url: mqttUrl });
  await publisher.waitConnected();
  const logger = createLogger('bench', 'error');
  const workflowBundle = { codePath: prebuiltWorkflowBundle().codePath };
  const full = await createCommandWorker({ connection: native, namespace: 'default', taskQueue: 'bench-full', publisher, topicPrefix, client, workflowBundle });
  const bare = await createBareCommandWorker(native, client, 'bench-bare', workflowBundle);
  const bridge = new MqttBridge({ mqttUrl, topicPrefix, taskQueue: 'bench-full', temporal: client, logger, clientId: 'bench-bridge' });
  const runs: Array<Promise<void>> = [full.run(), bare.run()];
  const ids = sim.deviceIds;
  try {
    say(`1. throughput: ${n} commands per variant, ${c} in flight`);
    const raw = summarize('raw MQTT request/response', await rawMqttRoundTrip(mqttUrl, topicPrefix, ids, n, c));
    say(`   ${JSON.stringify(raw)}`);
    await bridge.start(); // after the raw baseline, whose answers it would only count as unknown
    const bareClient = new DcoClient({ connection: client.connection, taskQueue: 'bench-bare' });
    const bareRun = summarize(
      'command workflow, no MQTT',
      await runConcurrently(n, c, async (i) => void (await (await bareClient.send({ deviceId: ids[i % ids.length], name: 'ping' })).result())),
    );
    say(`   ${JSON.stringify(bareRun)}`);
    const fullClient = new DcoClient({ connection: client.connection, taskQueue: 'bench-full' });
    const fullRun = summarize(
      'full path',
      await runConcurrently(n, c, async (i) => void (await (await fullClient.send({ deviceId: ids[i % ids.length], name: 'ping' })).result())),
    );
    say(`   ${JSON.stringify(fullRun)}`);
    const isolation = opts.skipIsolation
      ? undefined
      : await (async () => {
          const setup = { mqttUrl, topicPrefix, client: fullClient, bridge, deviceIds: ids, commands: n, concurrency: c, say };
          return { noisyNeighbour: await noisyNeighbour(setup), reconnectStorm: await reconnectStorm(setup) };
        })();
    return {
      isolation,
      variants: [raw, bareRun, fullRun],
      fullVsBareWorkflow: Math.round((fullRun.perSecond / bareRun.perSecond) * 100) / 100,
      fullVsRawMqtt: Math.round((fullRun.perSecond / raw.perSecond) * 1000) / 1000,
      target: 'fullVsBareWorkflow >= 0.8',
    };
  } finally {
    await bridge.stop();
    (full as Worker).shutdown();
    (bare as Worker).shutdown();
    await Promise.all(runs);
    await publisher.close();
    await native.close();
    await sim.stop();
  }
}

/** 2 and 3. A rollout over a simulated fleet with the worker and the bridge as their own processes. */
/** The engine a rollout runs on: its address, the processes whose CPU is counted (with Mosquitto), its metrics. */
interface Engine {
  address: string;
  servers: Record<string, number>;
  metricsUrl: string;
}

async function rolloutBench(engine: Engine, mqttUrl: string, client: Client, dir: string, name: string, failureRate: number, slowed = false, byQuery = false) {
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
        ...(shareGroup ? ['--share-group', shareGroup] : []),
      ],
      logFile: path.join(dir, `${name}-bridge${role}.log`),
      env,
    });
  // As after a bridge restart (the default): the entities exist, created before the measured
  // bridge starts; it then finds every retained status already shown and forwards none.
  // --first-start: they do not, and the measured bridge creates them during the rollout.
  // The rollout that aborts reaches a few devices in seconds: nothing to compete with, no seeding.
  const seeded = !live && !opts.firstStart && !failureRate;
  if (seeded) await seedEntities(client, startBridge, firmware, fleetSize, worker, path.join(dir, `${name}-worker.log`));
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

/** Seeding gives up when no entity was added for this long (a dead worker or bridge). */
const SEEDING_STALL_MS = 120_000;

/**
 * Creates the fleet's device entities before the measured part, as a bridge that ran before
 * would have (not timed): a bridge at 500 statuses/s until every entity shows the device
 * online, then stopped. The measured bridge starts after it, as a restarted one.
 */
async function seedEntities(
  client: Client,
  startBridge: (role: string, rate?: number) => ManagedProcess,
  firmware: string,
  fleetSize: number,
  worker: ManagedProcess,
  workerLog: string,
): Promise<void> {
  const t0 = performance.now();
  const seeder = startBridge('-seed', opts.queryStatusRate as number);
  let last = { count: -1, atMs: Date.now() };
  try {
    for (;;) {
      const { count } = await client.workflow.count(`WorkflowType = 'deviceWorkflow' AND DeviceFirmware = '${firmware}' AND DevicePresence = 'online'`);
      if (count >= fleetSize) break;
      // The entities are the worker's: without it, or without progress for long, waiting is pointless.
      if (!worker.running) throw new Error(`the rollout worker exited while the device entities were being created; see ${workerLog}`);
      if (count > last.count) last = { count, atMs: Date.now() };
      else if (Date.now() - last.atMs > SEEDING_STALL_MS)
        throw new Error(
          `no device entity was created for ${SEEDING_STALL_MS / 1000} s (${count}/${fleetSize}); see ${workerLog} and the bridge's log beside it`,
        );
      say(`   device entities ${count}/${fleetSize} (created before the rollout, as by an earlier bridge)`);
      await new Promise((r) => setTimeout(r, 5_000));
    }
  } finally {
    await seeder.stop();
  }
  say(`   ${fleetSize} device entities ready after ${Math.round((performance.now() - t0) / 1000)} s`);
}

/**
 * Where Temporal's work goes: history events of a sample of the device commands (median), and
 * of the rollout itself per device it reached (every run of its continue-as-new chain).
 */
async function historyEvents(client: Client, rolloutWorkflowId: string, rolloutId: string, deviceIds: readonly string[], reached: number) {
  const sample = deviceIds.slice(0, Math.min(20, reached));
  const perCommand: number[] = [];
  for (const d of sample) {
    const desc = await client.workflow
      .getHandle(`command-${rolloutId}.${d}`)
      .describe()
      .catch(() => undefined);
    if (desc?.historyLength) perCommand.push(desc.historyLength);
  }
  perCommand.sort((a, b) => a - b);
  let rolloutEvents = 0;
  for await (const run of client.workflow.list({ query: `WorkflowId = '${rolloutWorkflowId}'` })) rolloutEvents += run.historyLength ?? 0;
  return {
    perCommandMedian: perCommand[Math.floor(perCommand.length / 2)],
    commandsSampled: perCommand.length,
    rolloutPerDevice: reached ? Math.round((rolloutEvents / reached) * 100) / 100 : undefined,
  };
}

/** Pins every thread of a process to the given cores (taskset from util-linux). */
function pinToCores(pid: number, cores: string): void {
  try {
    execFileSync('taskset', ['-a', '-p', '-c', cores, String(pid)], { stdio: 'ignore' });
  } catch (err) {
    say(`   could not pin pid ${pid} to cores ${cores}: ${(err as Error).message}`);
  }
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${err?.stack ?? err}\n`);
  process.exit(1);
});

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
