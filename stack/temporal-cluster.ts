import { Connection } from '@temporalio/client';
import { execFile } from 'node:child_process';
import { appendFileSync, mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { cliTypeName, probeClause, SEARCH_ATTRIBUTES } from '../protocol/search-attributes';
import { ManagedProcess } from './managed-process';
import { logSize, logTail } from './log-file';
import { freePort, waitFor } from './net';
import { startPostgresCluster, type PostgresCluster } from './postgres-cluster';
import { ensureTemporalBinary } from './temporal-binary';
import { ensureTemporalServerBinaries } from './temporal-server-binary';
import {
  serverLogFile,
  serverProcessSpecs,
  startServerProcess,
  type ServerPorts,
  type ServerProcessName,
  type ServerSettings,
} from './temporal-server-processes';
import { startTemporalUi } from './temporal-ui';
import { ensureTemporalUi } from './temporal-ui-binary';

/**
 * docker-compose.yml's values for the `postgresql`, `temporal` and `temporal-admin-tools`
 * services (and the defaults of the auto-setup image's config template, config/docker.yaml in
 * the server module, for what compose does not set). test/e2e/postgres-cluster.test.ts keeps
 * them equal to the compose file.
 */
export const COMPOSE_TEMPORAL = {
  plugin: 'postgres12',
  user: 'temporal',
  database: 'temporal',
  visibilityDatabase: 'temporal_visibility',
  /** Fixed for the life of the database: a cluster keeps the count it was created with. */
  numHistoryShards: 512,
  namespace: 'default',
  retention: '7d',
  logLevel: 'warn',
  /** The file compose mounts as the server's dynamic config: the same file, so the same values. */
  dynamicConfigFile: path.resolve(__dirname, '..', 'docker', 'temporal', 'dynamic-config.yaml'),
} as const;

/** Every port on 127.0.0.1. `frontend` is the gRPC address clients use; `metrics` the server's (or its frontend's) Prometheus endpoint. */
export interface TemporalClusterPorts extends ServerPorts {
  postgres: number;
  /** The Web UI (compose's `temporal-ui`, port 8080 there). */
  ui: number;
}

export interface TemporalClusterOptions {
  /** State directory: PostgreSQL data, the server's config, and logs/. A second start reuses it. */
  dir: string;
  /** Ports on 127.0.0.1; those not given are picked free. */
  ports?: Partial<TemporalClusterPorts>;
  startTimeoutMs?: number;
  /**
   * History shards (default compose's 512). Fixed when the databases are created: a later
   * start on the same `dir` must give the same count (the server refuses another).
   */
  numHistoryShards?: number;
  /**
   * Each of Temporal's four services in a process of its own (default: one process, as
   * docker-compose.yml's auto-setup image runs them). What a multi-host cluster does, and what
   * lets a chaos run kill one service.
   */
  separateServices?: boolean;
  /** Progress lines (what starts, how long it took). */
  say?: (line: string) => void;
}

export interface TemporalCluster {
  address: string;
  ports: TemporalClusterPorts;
  logDir: string;
  /** The running PostgreSQL (a new handle after restartPostgres). */
  readonly postgres: PostgresCluster;
  /**
   * Starts PostgreSQL again on the same data, port and password, after it was killed or stopped
   * (the chaos run): it recovers from its write-ahead log.
   */
  restartPostgres(startTimeoutMs?: number): Promise<PostgresCluster>;
  /** The server's running processes: `temporal-server`, or one per service (a new one after a restart). */
  readonly serverProcesses: ReadonlyMap<ServerProcessName, ManagedProcess>;
  /**
   * Starts one of the server's processes again on the same ports, configuration and databases,
   * after it was killed or stopped (the chaos run); resolves when it is up.
   */
  restartServerProcess(name: ServerProcessName, startTimeoutMs?: number): Promise<ManagedProcess>;
  /** The server's Prometheus metrics (its own counters of requests, database calls and tasks). */
  metricsUrl: string;
  /**
   * The Web UI on this cluster (http://127.0.0.1:<ui>): the one compose runs. It outlives a
   * restart of temporal-server (it reconnects by itself).
   */
  uiUrl: string;
  /** The Web UI's process: stopped by stop() only (a caller that stops the other parts one by one stops it too). */
  uiProcess: ManagedProcess;
  /** The Web UI, then the server (it holds connections to PostgreSQL; its frontend first), then PostgreSQL. */
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
const STOP_ORDER: readonly ServerProcessName[] = ['temporal-server', 'temporal-frontend', 'temporal-matching', 'temporal-worker', 'temporal-history'];
const START_ATTEMPTS = 3;

/**
 * Whether a server start that failed is worth another try, from the new lines of its logs:
 * - a port we picked, taken before the server bound it (a clash on a port the caller chose is
 *   theirs to see);
 * - separate services on a fresh database: each process writes the cluster's first metadata
 *   record, and all but one lose with a version mismatch and exit. The record is there for the
 *   next try, so that one cannot lose again.
 */
export function startWorthRetrying(log: string, callerPorts: readonly number[]): boolean {
  const clash = /address already in use/i.test(log) && !callerPorts.some((port) => log.includes(`:${port}`));
  return clash || /SaveClusterMetadata encountered version mismatch/.test(log);
}

/** Runs a program; resolves with its exit code and output (also appended to `logFile`). */
function run(command: string, args: string[], logFile: string, env?: NodeJS.ProcessEnv): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { encoding: 'utf8', env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      const output = `${stdout}${stderr}`.trim();
      appendFileSync(logFile, `$ ${path.basename(command)} ${args.join(' ')}\n${output}\n`);
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, output });
    });
  });
}

/**
 * What auto-setup does before it starts the server: create both databases, the version tables,
 * then every schema version up to the one this server needs. Each step is a no-op when done,
 * so a second start on the same data only checks. The schemas are the ones the tool embeds
 * (schema/postgresql/v12/... of the server module), so nothing depends on the Go module cache.
 */
async function setupSchemas(sqlTool: string, pg: PostgresCluster, logFile: string): Promise<void> {
  const connect = ['--plugin', COMPOSE_TEMPORAL.plugin, '--ep', pg.host, '-p', String(pg.port), '-u', pg.user];
  // The password in the environment (the tool's SQL_PASSWORD), not on a command line others can read.
  const env = { SQL_PASSWORD: pg.password };
  const steps = [
    [COMPOSE_TEMPORAL.database, 'postgresql/v12/temporal'],
    [COMPOSE_TEMPORAL.visibilityDatabase, 'postgresql/v12/visibility'],
  ];
  for (const [db, schema] of steps) {
    const create = await run(sqlTool, [...connect, '--db', db, 'create-database'], logFile, env);
    if (create.code !== 0 && !/already exists/.test(create.output)) throw new Error(`temporal-sql-tool create-database ${db} failed; see ${logFile}`);
    for (const step of [
      ['setup-schema', '-v', '0.0'],
      ['update-schema', '--schema-name', schema],
    ]) {
      const done = await run(sqlTool, [...connect, '--db', db, ...step], logFile, env);
      if (done.code !== 0) throw new Error(`temporal-sql-tool ${step[0]} on ${db} failed; see ${logFile}`);
    }
  }
}

/**
 * A free port below 32768. PostgreSQL's cluster_membership.rpc_port is a SMALLINT: a
 * membership port above 32767 makes the server die at start ("value out of range for type
 * smallint"), and the ports the OS hands out for port 0 are all above it (32768-60999).
 */
async function freeMembershipPort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_768);
    const free = await new Promise<boolean>((resolve) => {
      const server = net.createServer();
      server.once('error', () => resolve(false));
      server.listen(port, HOST, () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
}

async function pickPorts(given: Partial<TemporalClusterPorts>): Promise<Omit<TemporalClusterPorts, 'postgres'>> {
  const pick = async (p: number | undefined) => p ?? (await freePort());
  const pickMembership = async (p: number | undefined) => p ?? (await freeMembershipPort());
  return {
    frontend: await pick(given.frontend),
    frontendHttp: await pick(given.frontendHttp),
    frontendMembership: await pickMembership(given.frontendMembership),
    history: await pick(given.history),
    historyMembership: await pickMembership(given.historyMembership),
    matching: await pick(given.matching),
    matchingMembership: await pickMembership(given.matchingMembership),
    worker: await pick(given.worker),
    workerMembership: await pickMembership(given.workerMembership),
    metrics: await pick(given.metrics),
    historyMetrics: await pick(given.historyMetrics),
    matchingMetrics: await pick(given.matchingMetrics),
    workerMetrics: await pick(given.workerMetrics),
    ui: await pick(given.ui),
  };
}

/**
 * What auto-setup and the temporal-admin-tools job do once the server is up: register the
 * namespace (the server does not create it) and dco's search attributes, then wait until the
 * frontend accepts a query that uses all of them (it learns them when its namespace cache
 * refreshes), so the first command cannot be refused.
 */
async function setupNamespace(address: string, logFile: string, timeoutMs: number): Promise<void> {
  const cli = ensureTemporalBinary();
  const ns = ['--namespace', COMPOSE_TEMPORAL.namespace, '--address', address];
  let last = '';
  await waitFor(
    async () => {
      if ((await run(cli, ['operator', 'namespace', 'describe', ...ns], logFile)).code === 0) return true;
      const created = await run(cli, ['operator', 'namespace', 'create', ...ns, '--retention', COMPOSE_TEMPORAL.retention], logFile);
      last = created.output;
      return created.code === 0;
    },
    timeoutMs,
    () => `could not create the namespace ${COMPOSE_TEMPORAL.namespace}: ${last}`,
  );
  // One call with every attribute, as `--name N --type T` pairs. The CLI refuses an attribute
  // that exists with another type (the server, on SQL visibility, would skip it silently); one
  // with the same type is skipped. A new namespace reaches the frontend's namespace cache within
  // seconds; until then this fails with "Namespace default is not found": retried.
  const pairs = SEARCH_ATTRIBUTES.flatMap((key) => ['--name', key.name, '--type', cliTypeName(key)]);
  await waitFor(
    async () => {
      const added = await run(cli, ['operator', 'search-attribute', 'create', ...ns, ...pairs], logFile);
      last = added.output;
      if (/different type/.test(last)) throw new Error(last);
      return added.code === 0;
    },
    timeoutMs,
    () => `could not register the search attributes: ${last}`,
  );
  const connection = await Connection.connect({ address });
  try {
    const query = SEARCH_ATTRIBUTES.map(probeClause).join(' AND ');
    await waitFor(
      () =>
        connection.workflowService
          .listWorkflowExecutions({ namespace: COMPOSE_TEMPORAL.namespace, query, pageSize: 1 })
          .then(() => true)
          .catch(() => false),
      timeoutMs,
      () => `the search attributes are still not queryable after ${timeoutMs} ms`,
    );
  } finally {
    await connection.close();
  }
}

/**
 * The production Temporal of docker-compose.yml on this machine without Docker: a private
 * PostgreSQL, the schemas, temporal-server (frontend, history, matching, worker in one process,
 * or one process each) with the namespace and search attributes registered, and the Web UI. State survives stop(): a
 * later start with the same `dir` finds its data (and picks new free ports unless given).
 */
export async function startTemporalCluster(o: TemporalClusterOptions): Promise<TemporalCluster> {
  const say = o.say ?? (() => {});
  const timeoutMs = o.startTimeoutMs ?? 120_000;
  const binaries = ensureTemporalServerBinaries(say);
  const uiBuild = ensureTemporalUi(say);
  const logDir = path.join(o.dir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const setupLog = path.join(logDir, 'setup.log');

  let started = Date.now();
  const startPostgres = (port: number | undefined, startTimeoutMs: number) =>
    startPostgresCluster({
      dir: path.join(o.dir, 'postgres'),
      logFile: path.join(logDir, 'postgres.log'),
      user: COMPOSE_TEMPORAL.user,
      port,
      startTimeoutMs,
    });
  const pg = await startPostgres(o.ports?.postgres, timeoutMs);
  say(`PostgreSQL on ${pg.host}:${pg.port} (${Date.now() - started} ms)`);
  try {
    started = Date.now();
    await setupSchemas(binaries.sqlTool, pg, setupLog);
    say(`Schemas of ${COMPOSE_TEMPORAL.database} and ${COMPOSE_TEMPORAL.visibilityDatabase} up to date (${Date.now() - started} ms)`);

    started = Date.now();
    const fixed = Object.entries(o.ports ?? {})
      .filter(([name]) => name !== 'postgres')
      .map(([, port]) => port);
    const settings: ServerSettings = { host: HOST, ...COMPOSE_TEMPORAL, numHistoryShards: o.numHistoryShards ?? COMPOSE_TEMPORAL.numHistoryShards };
    const configRoot = path.join(o.dir, 'temporal');
    for (let attempt = 1; ; attempt++) {
      const ports: TemporalClusterPorts = { postgres: pg.port, ...(await pickPorts(o.ports ?? {})) };
      const specs = serverProcessSpecs(o.separateServices === true, ports);
      const logs = specs.map((spec) => serverLogFile(logDir, spec.name));
      const offsets = logs.map(logSize);
      const processes = new Map<ServerProcessName, ManagedProcess>();
      const startProcess = (name: ServerProcessName, current: PostgresCluster, startTimeoutMs: number) =>
        startServerProcess({
          binary: binaries.server,
          configRoot,
          spec: specs.find((s) => s.name === name)!,
          ports,
          pg: current,
          settings,
          logDir,
          timeoutMs: startTimeoutMs,
        });
      const stopServer = async () => {
        // The frontend first (it stops taking requests), history last: it hands its shards back
        // and flushes, so it gets longer than a test server.
        for (const name of STOP_ORDER) await processes.get(name)?.stop(30_000);
      };
      try {
        const launched = await Promise.allSettled(specs.map((spec) => startProcess(spec.name, pg, timeoutMs)));
        launched.forEach((r, i) => r.status === 'fulfilled' && processes.set(specs[i].name, r.value));
        const failed = launched.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed) throw failed.reason;
      } catch (err) {
        await stopServer();
        const log = logs.map((file, i) => logTail(file, offsets[i])).join('\n');
        if (startWorthRetrying(log, fixed) && attempt < START_ATTEMPTS) continue;
        throw new Error(`${(err as Error).message}; see ${logs.join(', ')}:\n${log}`);
      }
      const address = `${HOST}:${ports.frontend}`;
      say(`Temporal server ${address} answers (${[...processes.keys()].join(', ')}; ${Date.now() - started} ms)`);
      let ui: Awaited<ReturnType<typeof startTemporalUi>>;
      try {
        started = Date.now();
        await setupNamespace(address, setupLog, timeoutMs).catch((err: Error) => {
          throw new Error(`${err.message}; see ${setupLog}`);
        });
        say(`Namespace ${COMPOSE_TEMPORAL.namespace} and ${SEARCH_ATTRIBUTES.length} search attributes ready (${Date.now() - started} ms)`);
        started = Date.now();
        ui = await startTemporalUi({ build: uiBuild, temporalAddress: address, port: ports.ui, logFile: path.join(logDir, 'temporal-ui.log'), timeoutMs });
        say(`Web UI ${ui.url} (${Date.now() - started} ms)`);
      } catch (err) {
        await stopServer();
        throw err;
      }
      let currentPostgres = pg;
      return {
        address,
        ports,
        logDir,
        get postgres() {
          return currentPostgres;
        },
        restartPostgres: async (restartTimeoutMs = timeoutMs) => {
          currentPostgres = await startPostgres(ports.postgres, restartTimeoutMs);
          return currentPostgres;
        },
        serverProcesses: processes,
        restartServerProcess: async (name, restartTimeoutMs = timeoutMs) => {
          const running = processes.get(name);
          if (!running) throw new Error(`${name} is not a process of this cluster (${[...processes.keys()].join(', ')})`);
          if (running.running) throw new Error(`${name} is already running`);
          const restarted = await startProcess(name, currentPostgres, restartTimeoutMs);
          processes.set(name, restarted);
          return restarted;
        },
        metricsUrl: `http://${HOST}:${ports.metrics}/metrics`,
        uiUrl: ui.url,
        uiProcess: ui.process,
        stop: async () => {
          await ui.process.stop();
          await stopServer();
          await currentPostgres.stop();
        },
      };
    }
  } catch (err) {
    await pg.stop().catch(() => {});
    throw err;
  }
}
