import { Connection } from '@temporalio/client';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DcoClient } from '../../client/dco-client';
import { fleetProfiles } from '../../device/fleet-profiles';
import { simulatedDeviceIds } from '../../device/simulator';
import { ChaosStack, type ChaosBackend } from './chaos-stack';
import { CONCURRENT_EXECUTIONS_FILE } from './fleet-main';
import { checkChaosRun, type TemporalFacts } from './checker';
import { planCommands } from './command-plan';
import { CommandSender } from './command-sender';
import { readDeviceJournals } from './journal-reader';
import { KillScheduler } from './kill-scheduler';
import type { ChaosReport } from './report';
import { collectTemporalFacts, countCommands } from './temporal-view';
import { chaosTiming, commandDeadlineMs } from './timing';

export interface ChaosOptions {
  devices: number;
  commands: number;
  /** How long processes are killed; commands are sent during the first `sendWindowShare` of it. */
  durationMs: number;
  killEveryMs: number;
  burstRate: number;
  seed: number;
  dataDir: string;
  sendWindowShare: number;
  /** Bound on a stretch with any process down; every deadline is sized from it (timing.ts). */
  maxOutageMs: number;
  calmMs: number;
  calmRatio: number;
  minDowntimeMs: number;
  maxDowntimeMs: number;
  maxDown: number;
  restartAllowanceMs: number;
  ackTimeoutMs: number;
  /** Device profiles (exact shares of the fleet) and execution times. */
  offlineRate: number;
  rejectRate: number;
  failureRate: number;
  slowRate: number;
  latencyMs: number;
  slowLatencyMs: number;
  /** Share of commands whose name no device knows (Rejected). */
  unknownNameRate: number;
  /** Every n-th device gets serial commands only (0: none): they must never execute two at once. */
  serialEvery: number;
  progressEveryMs: number;
  /** Where Temporal runs; on `postgres` PostgreSQL is killed too. Default `dev`. */
  backend?: ChaosBackend;
  /** On `postgres`: each Temporal service in a process of its own, each killed alone. */
  separateServices?: boolean;
  log: (line: string) => void;
}

export const CHAOS_DEFAULTS: Omit<ChaosOptions, 'dataDir' | 'log'> = {
  devices: 100,
  commands: 1000,
  durationMs: 10 * 60_000,
  killEveryMs: 4_000,
  burstRate: 0.3,
  seed: 42,
  sendWindowShare: 0.8,
  maxOutageMs: 60_000,
  calmMs: 3_000,
  calmRatio: 0.5,
  minDowntimeMs: 500,
  maxDowntimeMs: 3_000,
  maxDown: 2,
  restartAllowanceMs: 15_000,
  ackTimeoutMs: 10_000,
  offlineRate: 0.05,
  rejectRate: 0.1,
  failureRate: 0.15,
  slowRate: 0.2,
  latencyMs: 1_000,
  slowLatencyMs: 5_000,
  unknownNameRate: 0.05,
  serialEvery: 2,
  progressEveryMs: 15_000,
};

const DEVICE_PREFIX = 'chaos-';

/** History events that show a recovery path was taken (counted per command in the report). */
const RECOVERY_EVENTS = ['ack-timeout', 'result-probe', 'device-rebooted', 'device-offline'] as const;

/**
 * A chaos run: the whole stack as separate processes, commands with mixed outcomes, random
 * `kill -9` and restarts of every process kind, then the checks of checker.ts.
 */
export async function runChaos(o: ChaosOptions): Promise<ChaosReport> {
  if (o.maxDowntimeMs + o.restartAllowanceMs > o.maxOutageMs) {
    throw new RangeError(
      `max outage ${o.maxOutageMs} ms leaves no room for a kill: it must be at least the max downtime (${o.maxDowntimeMs} ms) + ${o.restartAllowanceMs} ms for the restart`,
    );
  }
  const t0 = Date.now();
  o = { ...o, dataDir: path.resolve(o.dataDir) };
  mkdirSync(o.dataDir, { recursive: true });
  const logFile = path.join(o.dataDir, 'chaos.log');
  const log = (line: string) => {
    const stamped = `[${clock(Date.now() - t0)}] ${line}`;
    appendFileSync(logFile, stamped + '\n');
    o.log(stamped);
  };
  const runId = Date.now().toString(36);
  const deviceIds = simulatedDeviceIds(o.devices, DEVICE_PREFIX);
  const rates = { seed: o.seed, offlineRate: o.offlineRate, rejectRate: o.rejectRate, failureRate: o.failureRate, slowRate: o.slowRate };
  const profiles = fleetProfiles(o.devices, rates);
  const timing = chaosTiming({
    maxOutageMs: o.maxOutageMs,
    calmRatio: o.calmRatio,
    ackTimeoutMs: o.ackTimeoutMs,
    maxExecutionMs: Math.ceil(1.5 * Math.max(o.latencyMs, o.slowLatencyMs)),
  });
  const plan = planCommands({
    runId,
    seed: o.seed,
    count: o.commands,
    deviceIds,
    profiles,
    sendWindowMs: o.durationMs * o.sendWindowShare,
    unknownNameRate: o.unknownNameRate,
    serialEvery: o.serialEvery,
  });
  log(
    `run ${runId}: ${o.devices} devices, ${o.commands} commands over ${Math.round((o.durationMs * o.sendWindowShare) / 1000)} s, chaos for ${Math.round(o.durationMs / 1000)} s, a kill every ~${o.killEveryMs / 1000} s, seed ${o.seed}`,
  );
  log(
    `data in ${o.dataDir}; command timing: ttl ${timing.ttlMs / 1000} s, ack timeout ${timing.ackTimeoutMs / 1000} s × ${timing.maxAttempts}, result timeout ${timing.resultTimeoutMs / 1000} s`,
  );

  const stack = new ChaosStack({
    dataDir: o.dataDir,
    ...(o.backend ? { backend: o.backend } : {}),
    ...(o.separateServices ? { separateServices: true } : {}),
    fleet: { devices: o.devices, idPrefix: DEVICE_PREFIX, latencyMs: o.latencyMs, slowLatencyMs: o.slowLatencyMs, ...rates },
  });
  let connection: Connection | undefined;
  let progress: NodeJS.Timeout | undefined;
  /** The progress line's count in flight: awaited before the connection closes, so no call of it (or its retry) outlives the connection. */
  let progressTick: Promise<unknown> = Promise.resolve();
  try {
    await stack.startAll();
    const tChaos = Date.now();
    log(`stack up in ${tChaos - t0} ms: Temporal ${stack.temporalAddress}, Mosquitto ${stack.mqttUrl}`);
    connection = await Connection.connect({ address: stack.temporalAddress });
    const dco = new DcoClient({ connection });
    const scheduler = new KillScheduler(stack, { ...o, seed: o.seed, log });
    const sender = new CommandSender(dco, plan, timing);

    let lastCount = '';
    progress = setInterval(() => {
      progressTick = countCommands(dco.temporal)
        .then((c) => (lastCount = `open ${c.running}, closed ${c.total - c.running}`))
        .catch(() => (lastCount = 'Temporal unreachable'))
        .finally(() => {
          const k = scheduler.stats().kills;
          const kills = stack.kinds.map((kind) => `${kind} ${k[kind]}`).join(' ');
          const down = scheduler.clock.down;
          log(
            `progress: sent ${sender.sentCount}/${plan.length} | ${lastCount} | kills ${scheduler.totalKills} (${kills}) | down: ${down.length ? down.join(', ') : 'none'}`,
          );
        });
    }, o.progressEveryMs);

    sender.start(tChaos);
    await scheduler.run(tChaos + o.durationMs);
    const tDrain = Date.now();
    log(`chaos over after ${scheduler.totalKills} kills; every process is up; waiting for the last sends`);
    await sender.done();
    const lastSent = Date.now();
    const lastDeadline = commandDeadlineMs(lastSent + timing.ttlMs, timing);
    log(`all ${sender.sentCount} commands sent; waiting until every command is terminal (at the latest until ${new Date(lastDeadline).toISOString()})`);

    // Wait until every command is terminal, or every deadline has passed.
    let facts: Map<string, TemporalFacts> = new Map();
    const ids = plan.map((c) => c.commandId);
    const deadlineOf = (t: TemporalFacts | undefined) => (t?.expiresAtMs !== undefined ? commandDeadlineMs(t.expiresAtMs, timing) : lastDeadline);
    for (;;) {
      const counts = await countCommands(dco.temporal).catch(() => undefined);
      const pastAll = Date.now() > lastDeadline;
      if ((counts && counts.running === 0 && counts.total >= ids.length) || pastAll) {
        facts = await collectTemporalFacts(dco.temporal, ids);
        const open = [...facts.values()].filter((f) => f.status !== 'COMPLETED');
        const now = Date.now();
        if (!open.length || pastAll || open.every((f) => now > deadlineOf(f))) break;
      }
      await new Promise((r) => setTimeout(r, 5_000));
    }
    clearInterval(progress);
    const tCheck = Date.now();

    // The devices stop (cleanly) before their journals are read.
    await stack.stop('devices');
    const journal = readDeviceJournals(stack.journalDir);
    const ours = journal.facts.filter((f) => f.commandId.includes(`.${runId}-`));
    const check = checkChaosRun({ commands: plan, temporal: facts, journal: ours, deadlineMs: deadlineOf, nowMs: Date.now() });
    const serialDevices = new Set(plan.filter((c) => c.serial).map((c) => c.deviceId));
    const concurrent = readConcurrentExecutions(stack.journalDir, runId);
    const kills = scheduler.stats();
    const tEnd = Date.now();
    const decided = [...facts.values()].filter((f) => f.status === 'COMPLETED' && f.state !== 'Expired' && f.durationMs !== undefined);
    const slowest = decided.reduce<TemporalFacts | undefined>((a, f) => (!a || f.durationMs! > a.durationMs! ? f : a), undefined);
    const report: ChaosReport = {
      runId,
      seed: o.seed,
      devices: o.devices,
      commands: o.commands,
      durationMs: o.durationMs,
      killEveryMs: o.killEveryMs,
      dataDir: o.dataDir,
      backend: stack.backend,
      kinds: stack.kinds,
      timing,
      kills,
      totalKills: scheduler.totalKills,
      totalRestarts: Object.values(kills.restarts).reduce((a, b) => a + b, 0),
      sent: sender.sentCount,
      sendRetries: sender.retryCount,
      phasesMs: { startup: tChaos - t0, chaos: tDrain - tChaos, drain: tCheck - tDrain, check: tEnd - tCheck },
      elapsedMs: tEnd - t0,
      journal: { ...journal.stats, entries: ours.length },
      commandStats: {
        slowestDecidedMs: slowest?.durationMs ?? 0,
        slowestCommandId: slowest?.commandId ?? '',
        republished: [...facts.values()].filter((f) => (f.attempts ?? 0) > 1).length,
        withEvent: Object.fromEntries(RECOVERY_EVENTS.map((e) => [e, [...facts.values()].filter((f) => f.events?.includes(e)).length])),
        maxAttemptsUsed: Math.max(0, ...[...facts.values()].map((f) => f.attempts ?? 0)),
      },
      check,
      serial: {
        devices: serialDevices.size,
        commands: plan.filter((c) => c.serial).length,
        concurrentExecutions: concurrent.filter((e) => serialDevices.has(e.deviceId)).length,
        concurrentExecutionsOfParallelDevices: concurrent.filter((e) => !serialDevices.has(e.deviceId)).length,
      },
      guaranteeHeld: kills.longestStretchMs <= timing.maxOutageMs,
      passed:
        check.notTerminalAfterDeadline === 0 &&
        check.executedMoreThanOnce === 0 &&
        check.disagreements === 0 &&
        concurrent.every((e) => !serialDevices.has(e.deviceId)),
    };
    log(`done: ${report.passed ? 'PASS' : 'FAIL'}`);
    return report;
  } finally {
    clearInterval(progress);
    await progressTick;
    await connection?.close().catch(() => {});
    await stack.stopAll();
  }
}

/** What the fleet process wrote each time a device started a command of this run while it executed another. */
function readConcurrentExecutions(journalDir: string, runId: string): Array<{ deviceId: string; started: string; running: string[] }> {
  const file = path.join(journalDir, CONCURRENT_EXECUTIONS_FILE);
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim())
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as { deviceId: string; started: string; running: string[] }];
      } catch {
        return []; // torn by a kill
      }
    })
    .filter((e) => e.started.includes(`.${runId}-`));
}

function clock(ms: number): string {
  const s = Math.floor(ms / 1000);
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}
