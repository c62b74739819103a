import { mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { tempDirForPostgres } from '../../stack/postgres-cluster';
import { PROCESS_KINDS, SEPARATE_SERVICES_PROCESS_KINDS, type ChaosBackend } from '../chaos/chaos-stack';
import { killAllChildren } from '../chaos/reaper';
import { formatReport } from '../chaos/report';
import { CHAOS_DEFAULTS, runChaos } from '../chaos/run-chaos';
import { testEnv } from '../setup/test-env';

/**
 * The short, seeded chaos run (`npm run chaos` is the long one): its own Temporal, Mosquitto,
 * worker, bridge and devices as separate processes, each killed with SIGKILL a few times while
 * tens of commands run. The checker behind it is unit-tested to fail on a corrupted journal or
 * a double execution (test/unit/chaos-checker.test.ts).
 */
describe('chaos: every process killed with SIGKILL, repeatedly, while commands run', () => {
  afterAll(() => killAllChildren()); // nothing outlives the test, even when it fails

  // On the dev server, and on temporal-server with PostgreSQL (issue 15), whose database is
  // killed too, with each of Temporal's services in a process of its own: frontend, history,
  // matching and worker are each killed alone. (`npm run chaos -- --backend postgres` without
  // --separate-services kills temporal-server whole, the one process docker-compose.yml runs.)
  test.each<[ChaosBackend, readonly string[]]>([
    ['dev', PROCESS_KINDS],
    ['postgres', SEPARATE_SERVICES_PROCESS_KINDS],
  ])(
    'on %s: nothing is left open past its deadline, nothing runs twice, serial devices never run two at once, and every device journal agrees with Temporal',
    async (backend, kinds) => {
      // PostgreSQL runs as the postgres user: its data must be under a directory it can enter.
      const dataDir = backend === 'postgres' ? tempDirForPostgres('dco-chaos-postgres-') : mkdtempSync(path.join(testEnv().dir, 'dco-chaos-dev-'));
      const lines: string[] = [];
      const report = await runChaos({
        ...CHAOS_DEFAULTS,
        devices: 12,
        commands: 50,
        durationMs: 75_000,
        killEveryMs: 3_000,
        seed: 7,
        dataDir,
        backend,
        separateServices: backend === 'postgres',
        // Short deadlines for a short run; still longer than the outage bound (timing.ts).
        maxOutageMs: 30_000,
        ackTimeoutMs: 5_000,
        // Executions of seconds, so that kills land on commands in flight.
        latencyMs: 1_500,
        slowLatencyMs: 4_000,
        slowRate: 0.25,
        offlineRate: 0, // commands to offline devices would only end at their time to live
        progressEveryMs: 10_000,
        log: (line) => lines.push(line),
      });
      if (!report.passed || process.env.CHAOS_VERBOSE) process.stderr.write(lines.join('\n') + '\n' + formatReport(report));

      expect({
        notTerminalAfterDeadline: report.check.notTerminalAfterDeadline,
        executedMoreThanOnce: report.check.executedMoreThanOnce,
        disagreements: report.check.disagreements,
        serialConcurrentExecutions: report.serial.concurrentExecutions,
      }).toEqual({ notTerminalAfterDeadline: 0, executedMoreThanOnce: 0, disagreements: 0, serialConcurrentExecutions: 0 });
      // Half the devices got serial commands only, several each.
      expect(report.serial.devices).toBe(6);
      expect(report.serial.commands).toBeGreaterThan(report.serial.devices);
      expect(report.sent).toBe(50);
      expect(report.kinds).toEqual(kinds);
      for (const kind of report.kinds) expect(report.kills.kills[kind]).toBeGreaterThanOrEqual(2);
      expect(report.guaranteeHeld).toBe(true);
      // Mixed outcomes really happened.
      expect(report.check.byState.Succeeded).toBeGreaterThan(0);
      expect(report.check.byState.Failed).toBeGreaterThan(0);
      expect(report.check.byState.Rejected).toBeGreaterThan(0);
      // Outside the test's own directory (cleaned by the global teardown): kept only when it failed.
      if (backend === 'postgres') rmSync(dataDir, { recursive: true, force: true });
    },
    600_000,
  );
});
