import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { SEARCH_ATTRIBUTES } from '../protocol/search-attributes';
import { ManagedProcess } from './managed-process';
import { logSize, logTail } from './log-file';
import { startPostgresCluster, type PostgresCluster } from './postgres-cluster';
import { setupNamespace, setupSchemas } from './temporal-auto-setup';
import { HOST, pickPorts, type TemporalClusterPorts } from './temporal-cluster-ports';
import { START_ATTEMPTS, startWorthRetrying } from './temporal-cluster-start-retry';
import { ensureTemporalServerBinaries } from './temporal-server-binary';
import { serverLogFile, serverProcessSpecs, startServerProcess, type ServerProcessName, type ServerSettings } from './temporal-server-processes';
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

const STOP_ORDER: readonly ServerProcessName[] = ['temporal-server', 'temporal-frontend', 'temporal-matching', 'temporal-worker', 'temporal-history'];

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
    await setupSchemas(binaries.sqlTool, pg, setupLog, COMPOSE_TEMPORAL);
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
        await setupNamespace(address, setupLog, timeoutMs, COMPOSE_TEMPORAL).catch((err: Error) => {
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
