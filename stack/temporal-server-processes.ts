import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ManagedProcess } from './managed-process';
import { waitFor } from './net';
import type { PostgresCluster } from './postgres-cluster';
import { answersOnce } from './temporal-probe';

/** Temporal's four services; auto-setup (and so docker-compose.yml) runs them in one process. */
export const TEMPORAL_SERVICES = ['frontend', 'history', 'matching', 'worker'] as const;
export type TemporalService = (typeof TEMPORAL_SERVICES)[number];

/** `temporal-server`: all four services in one process; `temporal-<service>`: one service each. */
export type ServerProcessName = 'temporal-server' | `temporal-${TemporalService}`;

export interface ServerPorts {
  frontend: number;
  frontendHttp: number;
  frontendMembership: number;
  history: number;
  historyMembership: number;
  matching: number;
  matchingMembership: number;
  worker: number;
  workerMembership: number;
  /** The Prometheus endpoint of temporal-server, or of the frontend's process when separate. */
  metrics: number;
  /** The other services' Prometheus endpoints when they run as processes of their own. */
  historyMetrics: number;
  matchingMetrics: number;
  workerMetrics: number;
}

/** One process of the server: its name, the services it runs and where its metrics are. */
export interface ServerProcessSpec {
  name: ServerProcessName;
  services: readonly TemporalService[];
  metricsPort: number;
}

/**
 * The processes the server runs as: one (as auto-setup does), or one per service, which is how
 * Temporal scales past one host and what lets a chaos run kill a single service. The services
 * find each other through the membership table in PostgreSQL either way.
 */
export function serverProcessSpecs(separate: boolean, ports: ServerPorts): ServerProcessSpec[] {
  if (!separate) return [{ name: 'temporal-server', services: TEMPORAL_SERVICES, metricsPort: ports.metrics }];
  const metrics: Record<TemporalService, number> = {
    frontend: ports.metrics,
    history: ports.historyMetrics,
    matching: ports.matchingMetrics,
    worker: ports.workerMetrics,
  };
  return TEMPORAL_SERVICES.map((service) => ({ name: `temporal-${service}` as const, services: [service], metricsPort: metrics[service] }));
}

export interface ServerSettings {
  host: string;
  plugin: string;
  database: string;
  visibilityDatabase: string;
  logLevel: string;
  numHistoryShards: number;
  dynamicConfigFile: string;
}

/** The server's config, as config/docker.yaml renders with compose's environment. */
function serverConfig(ports: ServerPorts, metricsPort: number, pg: PostgresCluster, s: ServerSettings): object {
  const sql = (databaseName: string, maxConns: number) => ({
    pluginName: s.plugin,
    databaseName,
    connectAddr: `${pg.host}:${pg.port}`,
    connectProtocol: 'tcp',
    user: pg.user,
    password: pg.password,
    maxConns,
    maxIdleConns: maxConns,
    maxConnLifetime: '1h',
  });
  const rpc = (grpcPort: number, membershipPort: number, httpPort?: number) => ({
    rpc: { grpcPort, membershipPort, bindOnIP: s.host, ...(httpPort ? { httpPort } : {}) },
  });
  const archival = { state: 'enabled', enableRead: true, provider: { filestore: { fileMode: '0666', dirMode: '0766' } } };
  return {
    log: { stdout: true, level: s.logLevel },
    persistence: {
      numHistoryShards: s.numHistoryShards,
      defaultStore: 'default',
      visibilityStore: 'visibility',
      datastores: {
        default: { sql: sql(s.database, 20) },
        visibility: { sql: sql(s.visibilityDatabase, 10) },
      },
    },
    global: {
      membership: { maxJoinDuration: '30s', broadcastAddress: s.host },
      pprof: { port: 0 },
      // As config/docker.yaml renders with PROMETHEUS_ENDPOINT set; on loopback only.
      metrics: { prometheus: { timerType: 'histogram', listenAddress: `${s.host}:${metricsPort}` } },
    },
    services: {
      frontend: rpc(ports.frontend, ports.frontendMembership, ports.frontendHttp),
      history: rpc(ports.history, ports.historyMembership),
      matching: rpc(ports.matching, ports.matchingMembership),
      worker: rpc(ports.worker, ports.workerMembership),
    },
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: {
        active: {
          enabled: true,
          initialFailoverVersion: 1,
          rpcName: 'frontend',
          rpcAddress: `${s.host}:${ports.frontend}`,
          httpAddress: `${s.host}:${ports.frontendHttp}`,
        },
      },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    archival: { history: archival, visibility: archival },
    namespaceDefaults: {
      archival: {
        history: { state: 'disabled', URI: 'file:///tmp/temporal_archival/development' },
        visibility: { state: 'disabled', URI: 'file:///tmp/temporal_vis_archival/development' },
      },
    },
    dynamicConfigClient: { filepath: s.dynamicConfigFile, pollInterval: '60s' },
  };
}

/** The frontend answers a call (its namespace may not be registered yet). */
export function frontendAnswers(address: string): Promise<boolean> {
  return answersOnce(address, (c) => c.workflowService.getSystemInfo({}));
}

/** Its Prometheus endpoint answers: the process is up (it serves metrics before it joins the ring). */
async function metricsAnswer(host: string, port: number): Promise<boolean> {
  try {
    return (await fetch(`http://${host}:${port}/metrics`, { signal: AbortSignal.timeout(1_000) })).ok;
  } catch {
    return false;
  }
}

export const serverLogFile = (logDir: string, name: ServerProcessName) => path.join(logDir, `${name}.log`);

/**
 * Starts one process of the server and waits until it is up: a process with the frontend
 * answers gRPC; another serves its metrics. Its config file is rewritten at every start.
 */
export async function startServerProcess(o: {
  binary: string;
  configRoot: string;
  spec: ServerProcessSpec;
  ports: ServerPorts;
  pg: PostgresCluster;
  settings: ServerSettings;
  logDir: string;
  timeoutMs: number;
}): Promise<ManagedProcess> {
  const { spec, settings } = o;
  mkdirSync(path.join(o.configRoot, 'config'), { recursive: true });
  const env = spec.name === 'temporal-server' ? 'dco' : `dco-${spec.services[0]}`;
  // YAML 1.2 is a superset of JSON: no YAML library, and passwords need no quoting rules.
  const header = '# Written by stack/temporal-server-processes.ts at every start (values of docker-compose.yml).\n';
  const config = serverConfig(o.ports, spec.metricsPort, o.pg, settings);
  writeFileSync(path.join(o.configRoot, 'config', `${env}.yaml`), header + JSON.stringify(config, null, 2) + '\n', { mode: 0o600 });
  const args = ['--root', o.configRoot, '--config', 'config', '--env', env, '--allow-no-auth', 'start', ...spec.services.flatMap((s) => ['--service', s])];
  const child = new ManagedProcess({ name: spec.name, command: o.binary, args, logFile: serverLogFile(o.logDir, spec.name) });
  const address = `${settings.host}:${o.ports.frontend}`;
  const up = spec.services.includes('frontend') ? () => frontendAnswers(address) : () => metricsAnswer(settings.host, spec.metricsPort);
  try {
    await waitFor(
      async () => {
        if (!child.running) throw new Error(`${spec.name} exited during start`);
        return up();
      },
      o.timeoutMs,
      () => `${spec.name} was not up within ${o.timeoutMs} ms`,
    );
  } catch (err) {
    await child.stop();
    throw err;
  }
  return child;
}
