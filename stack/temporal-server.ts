import { closeSync, existsSync, mkdirSync, openSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import { cliTypeName, SEARCH_ATTRIBUTES } from '../protocol/search-attributes';
import { ManagedProcess } from './managed-process';
import { freePort, waitFor } from './net';
import { ensureTemporalBinary } from './temporal-binary';
import { answersOnce } from './temporal-probe';

export interface TemporalServerOptions {
  /** Directory for the SQLite file and the log; state survives a restart with the same dir. */
  dataDir: string;
  port?: number;
  uiPort?: number;
  /** Serve the Web UI (on by default; tests turn it off). */
  ui?: boolean;
  ip?: string;
  namespace?: string;
  startTimeoutMs?: number;
  /** More `--dynamic-config-value KEY=JSON` settings, after DYNAMIC_CONFIG (tests lower limits). */
  dynamicConfig?: string[];
  /** Picks the ports not given above (tests give one that hands out a taken port first). */
  pickPort?: () => Promise<number>;
  /** In a process group of its own (ManagedProcessOptions.ownProcessGroup): `dco demo` and `dco up` stop it last. */
  ownProcessGroup?: boolean;
}

/**
 * Attempts when the ports are ours to pick: a port that was free when we picked it can be taken
 * before the server binds it (by another process, or by the dev server's own picks for its
 * internal services), and the server then exits with "address already in use".
 */
const PICKED_PORT_ATTEMPTS = 3;

/** Whether a failed start's log shows a port taken under us (then new ports may succeed). */
export function isPortClash(logText: string): boolean {
  return /address already in use/i.test(logText);
}

/** The ports a failed start's log says it could not listen on (`listen tcp 127.0.0.1:41703: ...`). */
export function clashingPorts(logText: string): number[] {
  return [...logText.matchAll(/listen tcp [^\s:]*:(\d+)/g)].map((m) => Number(m[1]));
}

/**
 * Server knobs (see docs/operations.md, "Throughput and memory"; docker/temporal/dynamic-config.yaml
 * has the same continue-as-new limits).
 * - Eager activity execution hands an activity to the worker in the reply to its workflow task
 *   (the rollout's; the publish itself is a local activity).
 * - Continue-as-new is suggested at 8,000 events or 16 MB instead of 4,096 events or 4 MB: a
 *   rollout drains its in-flight commands at each new run, and a 10,000-device rollout then
 *   needs 4 runs instead of 8 (205 s instead of 228 s). 8,000 is also the rollout's own cap,
 *   far below Temporal's hard limits (51,200 events, 50 MB).
 * - The dev server turns on `system.forceSearchAttributesCacheRefreshOnRead` so that search
 *   attributes added at run time are usable at once: then every search-attribute lookup (each
 *   start, upsert and visibility write) re-reads them from SQLite, 5% of the server's CPU in a
 *   rollout profile (perf). Ours are all registered when the server starts (`--search-attribute`),
 *   so the server's normal 60 s cache is safe: 20.5 → 16.6 ms of server CPU per rollout device.
 */
export const DYNAMIC_CONFIG = [
  'system.enableActivityEagerExecution=true',
  'system.forceSearchAttributesCacheRefreshOnRead=false',
  'limit.historyCount.suggestContinueAsNew=8000',
  'limit.historySize.suggestContinueAsNew=16777216',
];

/**
 * Go's garbage collector took 13% of the dev server's CPU in a rollout (perf); collecting at 4x
 * the live heap instead of 2x cost about 12% less server CPU per command in paired runs
 * (docs/operations.md, "Throughput and memory"), for more memory. A GOGC in the environment wins.
 */
export function serverEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...env, GOGC: env.GOGC ?? '400' };
}

/** The search attributes as `--search-attribute Name=Type` flags (`DeviceId=Keyword`, `DeviceTags=KeywordList`). */
export function searchAttributeFlags(): string[] {
  return SEARCH_ATTRIBUTES.flatMap((key) => ['--search-attribute', `${key.name}=${cliTypeName(key)}`]);
}

/**
 * The Temporal CLI dev server: a complete Temporal (frontend, history, matching, Web UI) in one
 * process, persisting to a SQLite file.
 *
 * SQLite runs with WAL and `synchronous=OFF`: a killed server loses nothing (the OS still has
 * the pages), only a power loss could. That is the trade the SDK's own CI makes; production
 * uses PostgreSQL (docker-compose.yml).
 */
export class TemporalServer {
  private constructor(
    readonly process: ManagedProcess,
    readonly address: string,
    readonly uiUrl: string | undefined,
    /** The server's Prometheus metrics (its own counters of requests, database calls and tasks). */
    readonly metricsUrl: string,
    private readonly restartArgs: { binary: string; args: string[]; logFile: string; ownProcessGroup?: boolean },
  ) {}

  static async start(o: TemporalServerOptions): Promise<TemporalServer> {
    mkdirSync(o.dataDir, { recursive: true });
    const logFile = path.join(o.dataDir, 'temporal.log');
    // Fixed ports are the caller's (`dco up`): a clash there is theirs to see, not to dodge. A
    // clash on a port we picked (the HTTP and metrics ports are always ours) is retried.
    const fixed = new Set([o.port, o.ui === false ? undefined : o.uiPort].filter((p): p is number => p !== undefined));
    for (let attempt = 1; ; attempt++) {
      const logOffset = existsSync(logFile) ? statSync(logFile).size : 0;
      try {
        return await TemporalServer.startOnce(o, logFile);
      } catch (err) {
        const log = readFromOffset(logFile, logOffset);
        const ours = isPortClash(log) && !clashingPorts(log).some((p) => fixed.has(p));
        if (!ours || attempt >= PICKED_PORT_ATTEMPTS) throw err;
        // Same data directory: the failed attempt never opened the database for writes.
      }
    }
  }

  private static async startOnce(o: TemporalServerOptions, logFile: string): Promise<TemporalServer> {
    const binary = ensureTemporalBinary();
    const pick = o.pickPort ?? freePort;
    const ip = o.ip ?? '127.0.0.1';
    const port = o.port ?? (await pick());
    const uiPort = o.ui === false ? undefined : (o.uiPort ?? (await pick()));
    const metricsPort = await pick();
    const args = [
      'server',
      'start-dev',
      '--db-filename',
      path.join(o.dataDir, 'temporal.sqlite'),
      '--ip',
      ip,
      '--port',
      String(port),
      '--http-port',
      String(await pick()),
      '--metrics-port',
      String(metricsPort),
      '--namespace',
      o.namespace ?? 'default',
      '--sqlite-pragma',
      'journal_mode=WAL',
      '--sqlite-pragma',
      'synchronous=OFF',
      '--log-level',
      'warn',
      ...searchAttributeFlags(),
      ...[...DYNAMIC_CONFIG, ...(o.dynamicConfig ?? [])].flatMap((kv) => ['--dynamic-config-value', kv]),
      ...(uiPort === undefined ? ['--headless'] : ['--ui-ip', ip, '--ui-port', String(uiPort)]),
    ];
    const server = new TemporalServer(
      new ManagedProcess({ name: 'temporal', command: binary, args, logFile, env: serverEnv(), ownProcessGroup: o.ownProcessGroup }),
      `${ip}:${port}`,
      uiPort === undefined ? undefined : `http://${ip}:${uiPort}`,
      `http://${ip}:${metricsPort}/metrics`,
      { binary, args, logFile, ownProcessGroup: o.ownProcessGroup },
    );
    try {
      await server.waitReady(o.startTimeoutMs ?? 60_000);
    } catch (err) {
      await server.process.stop();
      throw err;
    }
    return server;
  }

  /** Starts the same server again on the same ports and data (after stop() or kill()). */
  async restart(timeoutMs = 60_000): Promise<TemporalServer> {
    const { binary, args, logFile, ownProcessGroup } = this.restartArgs;
    const server = new TemporalServer(
      new ManagedProcess({ name: 'temporal', command: binary, args, logFile, env: serverEnv(), ownProcessGroup }),
      this.address,
      this.uiUrl,
      this.metricsUrl,
      this.restartArgs,
    );
    await server.waitReady(timeoutMs);
    return server;
  }

  private async waitReady(timeoutMs: number): Promise<void> {
    await waitFor(
      async () => {
        if (!this.process.running) {
          throw new Error(`the Temporal server exited during start; see ${this.restartArgs.logFile}`);
        }
        return isTemporalServing(this.address);
      },
      timeoutMs,
      () => `the Temporal server did not answer at ${this.address} within ${timeoutMs} ms; see ${this.restartArgs.logFile}`,
    );
  }

  stop(): Promise<void> {
    return this.process.stop();
  }

  kill(): Promise<void> {
    return this.process.kill();
  }
}

/** True when the frontend answers and the default namespace is usable. */
export function isTemporalServing(address: string, namespace = 'default'): Promise<boolean> {
  return answersOnce(address, (c) => c.workflowService.describeNamespace({ namespace }));
}

/** The text appended to `file` since `offset` (what one start attempt logged). */
function readFromOffset(file: string, offset: number): string {
  if (!existsSync(file)) return '';
  const length = statSync(file).size - offset;
  if (length <= 0) return '';
  const buffer = Buffer.alloc(length);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, buffer, 0, length, offset);
  } finally {
    closeSync(fd);
  }
  return buffer.toString('utf8');
}
