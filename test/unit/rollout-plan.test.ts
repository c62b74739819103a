import fc from 'fast-check';
import type { CommandState } from '../../protocol/command-state';
import { COMMAND_ID_PATTERN } from '../../protocol/ids';
import { AbortRule, RolloutSpec, type RolloutSpecInput, type WaveSize } from '../../protocol/rollout-spec';
import { windowAt } from '../../protocol/maintenance-window';
import { formatPercent, shouldAbort } from '../../workflows/rollout-abort-rule';
import { parseRolloutCommandId, rolloutCommandId } from '../../workflows/rollout-command-ids';
import { emptyCounts, failureShare, outcomeKey, sizeOf, verdictCount, type RolloutCounts } from '../../workflows/rollout-counts';
import { advanceWave, nextAction, recordFinished, recordStarted, recordWindow, type NextAction } from '../../workflows/rollout-plan';
import { newProgress, rateCapacity, totalCounts, type RolloutProgress } from '../../workflows/rollout-progress';
import { allowedToStart, inFlightLimit } from '../../workflows/rollout-start-limits';
import { endReached, untilEndMs } from '../../workflows/rollout-end-time';
import { addTargets } from '../../workflows/rollout-joined-targets';
import { approvalProblem, approve, cancel, pause, resume } from '../../workflows/rollout-operator-controls';
import { rolloutStatus } from '../../workflows/rollout-status';
import { planWaves } from '../../workflows/rollout-waves';

const T0 = 1_770_000_000_000;
const ids = (n: number) => Array.from({ length: n }, (_, i) => `d${i}`);
// The planner's own tests run without adaptive concurrency (its samples come from the workflow; see adaptive-concurrency.test.ts and the rollout e2e test).
const specOf = (n: number, patch: Partial<RolloutSpecInput> = {}) =>
  RolloutSpec.parse({ rolloutId: 'r1', name: 'reboot', targets: ids(n), adaptive: false, ...patch });
const ranges = (n: number, patch: Partial<RolloutSpecInput> = {}) =>
  planWaves(n, specOf(n, patch)).map((w) => `${w.name}:${w.start}-${w.end}${w.approvalAfter ? '!' : ''}`);
const rule = (patch: Partial<AbortRule> = {}): AbortRule => AbortRule.parse(patch);
const counts = (patch: Partial<RolloutCounts>): RolloutCounts => ({ ...emptyCounts(), ...patch });

describe('planWaves', () => {
  it('default waves on 10,000 devices: 1%, then up to 10%, 50%, all', () => {
    expect(ranges(10_000)).toEqual(['canary:0-100', 'wave-1:100-1000', 'wave-2:1000-5000', 'wave-3:5000-10000']);
  });

  it('a 1% canary of a small fleet is one device; empty waves are dropped and keep their names', () => {
    expect(ranges(5)).toEqual(['canary:0-1', 'wave-2:1-2', 'wave-3:2-5']);
    expect(ranges(1)).toEqual(['canary:0-1']);
    expect(ranges(2)).toEqual(['canary:0-1', 'wave-3:1-2']);
  });

  it('percentages round down, without floating point surprises', () => {
    expect(ranges(100, { canary: { percent: 29 }, waves: [{ percent: 100 }] })).toEqual(['canary:0-29', 'wave-1:29-100']);
    expect(ranges(10_000, { canary: { percent: 0.57 }, waves: [{ percent: 100 }] })).toEqual(['canary:0-57', 'wave-1:57-10000']);
    expect(ranges(150, { canary: { percent: 1 }, waves: [{ percent: 33.3 }, { percent: 100 }] })).toEqual(['canary:0-1', 'wave-1:1-49', 'wave-2:49-150']);
  });

  it('counts are cumulative and clamped to the fleet', () => {
    expect(ranges(20, { canary: { count: 50 }, waves: [{ percent: 100 }] })).toEqual(['canary:0-20']);
    expect(ranges(1000, { canary: { count: 10 }, waves: [{ count: 100 }, { count: 5000 }, { count: 1 }] })).toEqual([
      'canary:0-10',
      'wave-1:10-100',
      'wave-2:100-1000',
    ]);
  });

  it('the last wave takes the remainder whatever its size says', () => {
    expect(ranges(1000, { canary: { count: 10 }, waves: [{ count: 20 }] })).toEqual(['canary:0-10', 'wave-1:10-1000']);
  });

  it('a wave that reaches no further than the one before is dropped', () => {
    expect(ranges(100, { canary: { percent: 50 }, waves: [{ percent: 10 }, { percent: 60 }, { percent: 100 }] })).toEqual([
      'canary:0-50',
      'wave-2:50-60',
      'wave-3:60-100',
    ]);
  });

  it('approval gates: kept, moved from an empty wave to the wave before, dropped after the final wave', () => {
    expect(ranges(1000, { approvalAfter: [0, 2] })).toEqual(['canary:0-10!', 'wave-1:10-100', 'wave-2:100-500!', 'wave-3:500-1000']);
    // wave-1 (10% of 5) is empty: its gate sits between the same devices as a gate after the canary.
    expect(ranges(5, { approvalAfter: [1] })).toEqual(['canary:0-1!', 'wave-2:1-2', 'wave-3:2-5']);
    // everything fits in the canary: nothing follows it, no gate.
    expect(ranges(1, { approvalAfter: [0] })).toEqual(['canary:0-1']);
  });

  it('no targets, no waves; a bad count is a programming error', () => {
    expect(planWaves(0, specOf(1))).toEqual([]);
    expect(() => planWaves(-1, specOf(1))).toThrow(RangeError);
    expect(() => planWaves(1.5, specOf(1))).toThrow(RangeError);
  });

  const waveSize: fc.Arbitrary<WaveSize> = fc.oneof(
    fc.integer({ min: 1, max: 20_000 }).map((count) => ({ count })),
    fc.double({ min: 0.01, max: 100, noNaN: true }).map((percent) => ({ percent })),
  );

  it('property: waves partition the targets exactly, canary at least 1 and at most what was asked', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20_000 }),
        waveSize,
        fc.array(waveSize, { minLength: 1, maxLength: 8 }),
        fc.array(fc.integer({ min: 0, max: 8 }), { maxLength: 4 }),
        (n, canary, waves, gates) => {
          const plan = planWaves(n, { canary, waves, approvalAfter: gates });
          expect(plan.length).toBeGreaterThanOrEqual(1);
          expect(plan[0].name).toBe('canary');
          expect(plan[0].start).toBe(0);
          expect(plan.at(-1)!.end).toBe(n);
          expect(plan.at(-1)!.approvalAfter).toBe(false);
          plan.forEach((w, i) => {
            expect(w.index).toBe(i);
            expect(w.end).toBeGreaterThan(w.start);
            if (i > 0) expect(w.start).toBe(plan[i - 1].end);
          });
          expect(plan.reduce((s, w) => s + w.end - w.start, 0)).toBe(n);
          expect(new Set(plan.map((w) => w.name)).size).toBe(plan.length);
          const canarySize = plan[0].end;
          const asked = 'count' in canary ? canary.count : (canary.percent * n) / 100;
          expect(canarySize).toBeGreaterThanOrEqual(1);
          expect(canarySize <= Math.max(1, asked + 1e-6)).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('counts and failure share', () => {
  it('maps terminal states to counters and nothing else', () => {
    expect(outcomeKey('Succeeded')).toBe('succeeded');
    expect(outcomeKey('TimedOut')).toBe('timedOut');
    expect(outcomeKey('Expired')).toBe('expired');
    expect(outcomeKey('Cancelled')).toBe('cancelled');
    expect(outcomeKey('Sent')).toBeUndefined();
    expect(outcomeKey('Acknowledged')).toBeUndefined();
  });

  it('failed, rejected and timed out are failures; expired only if configured; cancelled never', () => {
    const c = counts({ pending: 3, inFlight: 2, succeeded: 6, failed: 1, rejected: 1, timedOut: 2, expired: 5, cancelled: 7 });
    expect(sizeOf(c)).toBe(27);
    expect(verdictCount(c)).toBe(10);
    expect(failureShare(c)).toBe(0.4);
    expect(verdictCount(c, { countExpiredAsFailure: true })).toBe(15);
    expect(failureShare(c, { countExpiredAsFailure: true })).toBe(9 / 15);
    expect(failureShare(emptyCounts(10))).toBe(0);
  });

  it('formats percentages to one decimal', () => {
    expect(formatPercent(0.3)).toBe('30%');
    expect(formatPercent(1 / 3)).toBe('33.3%');
    expect(formatPercent(0.1)).toBe('10%');
    expect(formatPercent(0.0005)).toBe('0.1%');
  });
});

describe('shouldAbort', () => {
  it('names the wave and the numbers', () => {
    const wave = counts({ pending: 90, succeeded: 7, failed: 1, rejected: 1, timedOut: 1 });
    expect(shouldAbort('canary', wave, wave, rule())).toEqual({
      abort: true,
      reason: 'wave canary: 3 of 10 finished commands failed (30% > 10%; failed 1, rejected 1, timed out 1)',
    });
  });

  it('waits for minFinished verdicts', () => {
    const nine = counts({ pending: 91, failed: 9 });
    expect(shouldAbort('canary', nine, nine, rule())).toEqual({ abort: false });
    const ten = counts({ pending: 90, failed: 9, succeeded: 1 });
    expect(shouldAbort('canary', ten, ten, rule()).abort).toBe(true);
  });

  it('judges a wave smaller than minFinished once all of it has finished', () => {
    const running = counts({ inFlight: 1, failed: 1 });
    expect(shouldAbort('canary', running, counts({ inFlight: 1, failed: 1, pending: 98 }), rule())).toEqual({ abort: false });
    const done = counts({ failed: 1 });
    expect(shouldAbort('canary', done, counts({ failed: 1, pending: 99 }), rule())).toEqual({
      abort: true,
      reason: 'wave canary: 1 of 1 finished commands failed (100% > 10%; failed 1)',
    });
    // expired devices give no verdict: the 3-device canary is judged on the other two
    const withExpired = counts({ expired: 1, succeeded: 1, failed: 1 });
    expect(shouldAbort('canary', withExpired, withExpired, rule()).abort).toBe(true);
  });

  it('aborts only strictly above the threshold', () => {
    const atThreshold = counts({ succeeded: 27, failed: 3 });
    expect(shouldAbort('w', atThreshold, atThreshold, rule())).toEqual({ abort: false });
    const above = counts({ succeeded: 26, failed: 4 });
    expect(shouldAbort('w', above, above, rule()).abort).toBe(true);
    expect(shouldAbort('w', counts({ succeeded: 70, failed: 30 }), emptyCounts(), rule({ failureShare: 0.3, scope: 'wave' }))).toEqual({ abort: false });
    const oneFailure = counts({ succeeded: 99, failed: 1 });
    expect(shouldAbort('w', oneFailure, oneFailure, rule({ failureShare: 0 })).abort).toBe(true);
    const allFailed = counts({ failed: 100 });
    expect(shouldAbort('w', allFailed, allFailed, rule({ failureShare: 1 }))).toEqual({ abort: false });
  });

  it('counts expired as failure when configured', () => {
    const c = counts({ succeeded: 8, expired: 4 });
    expect(shouldAbort('wave-1', c, c, rule())).toEqual({ abort: false });
    expect(shouldAbort('wave-1', c, c, rule({ countExpiredAsFailure: true }))).toEqual({
      abort: true,
      reason: 'wave wave-1: 4 of 12 finished commands failed (33.3% > 10%; expired 4)',
    });
  });

  it('respects the scope', () => {
    const wave = counts({ succeeded: 10 });
    const total = counts({ succeeded: 10, failed: 5, pending: 100 });
    expect(shouldAbort('wave-2', wave, total, rule())).toEqual({
      abort: true,
      reason: 'overall: 5 of 15 finished commands failed (33.3% > 10%; failed 5)',
    });
    expect(shouldAbort('wave-2', wave, total, rule({ scope: 'wave' }))).toEqual({ abort: false });
    const badWave = counts({ failed: 10 });
    expect(shouldAbort('wave-2', badWave, counts({ failed: 10, succeeded: 1000 }), rule({ scope: 'overall' }))).toEqual({ abort: false });
    expect(shouldAbort('wave-2', badWave, counts({ failed: 10, succeeded: 1000 }), rule({ scope: 'wave' })).abort).toBe(true);
  });

  const countsArb = fc
    .record({
      pending: fc.nat(40),
      inFlight: fc.nat(40),
      succeeded: fc.nat(40),
      failed: fc.nat(40),
      rejected: fc.nat(40),
      timedOut: fc.nat(40),
      expired: fc.nat(40),
      cancelled: fc.nat(40),
    })
    .filter((c) => sizeOf(c) > 0);
  const ruleArb = fc.record({
    failureShare: fc.double({ min: 0, max: 1, noNaN: true }),
    minFinished: fc.integer({ min: 1, max: 100 }),
    countExpiredAsFailure: fc.boolean(),
    scope: fc.constantFrom('wave' as const, 'overall' as const, 'both' as const),
  });

  it('property: never aborts before minFinished verdicts unless the scope has completely finished', () => {
    fc.assert(
      fc.property(countsArb, countsArb, ruleArb, (wave, extra, r) => {
        const total = { ...wave };
        for (const k of Object.keys(extra) as Array<keyof RolloutCounts>) total[k] += extra[k];
        const d = shouldAbort('w', wave, total, r);
        if (!d.abort) return;
        const scope = d.reason.startsWith('wave') ? wave : total;
        const verdicts = verdictCount(scope, r);
        const finished = scope.pending === 0 && scope.inFlight === 0;
        expect(verdicts >= r.minFinished || finished).toBe(true);
        expect(failureShare(scope, r)).toBeGreaterThan(r.failureShare);
        expect(d.reason).toContain(` of ${verdicts} finished commands failed`);
      }),
      { numRuns: 2000 },
    );
  });
});

/**
 * Runs a rollout against a fake fleet on a virtual clock, the way the workflow will: ask
 * nextAction, act, repeat. Commands finish `durationOf(i)` ms after they start.
 */
function drive(
  spec: RolloutSpec,
  outcomeOf: (i: number) => CommandState,
  o: {
    durationOf?: (i: number) => number;
    onStep?: (p: RolloutProgress, now: number, a: NextAction) => void;
    maxSteps?: number;
    /** A continuous rollout's looks: at each time, this many devices join (what the workflow's look does). */
    joins?: Array<{ atMs: number; count: number }>;
  } = {},
) {
  const durationOf = o.durationOf ?? (() => 1_000);
  let now = T0;
  let p = newProgress(spec.targets.length, spec, now);
  const finishes = new Map<number, number>(); // target → finish time
  const starts: number[] = []; // time of each start, in order
  const started: number[] = []; // target of each start, in order
  const log: string[] = [];
  const joins = [...(o.joins ?? [])].sort((x, y) => x.atMs - y.atMs);
  for (let step = 0; step < (o.maxSteps ?? 1_000_000); step++) {
    while (joins.length && joins[0].atMs <= now && !p.cancelled && !p.aborted) p = addTargets(p, joins.shift()!.count);
    const ending = endReached(p, now, spec);
    if (ending) p = cancel(p, ending);
    const a = nextAction(p, now, spec);
    o.onStep?.(p, now, a);
    const finishUntil = (t: number) => {
      const due = [...finishes].filter(([, at]) => at <= t).sort((x, y) => x[1] - y[1] || x[0] - y[0]);
      for (const [i, at] of due) {
        now = Math.max(now, at);
        finishes.delete(i);
        p = recordFinished(p, i, outcomeOf(i), now, spec);
      }
      now = Math.max(now, t);
    };
    const earliest = () => {
      if (finishes.size === 0) throw new Error(`${a.kind} with nothing in flight`);
      return Math.min(...finishes.values());
    };
    switch (a.kind) {
      case 'start-more': {
        const r = recordStarted(p, a.count, now, spec);
        expect(r.targets).toHaveLength(a.count);
        p = r.progress;
        for (const i of r.targets) {
          finishes.set(i, now + durationOf(i));
          starts.push(now);
          started.push(i);
        }
        break;
      }
      case 'wait-in-flight':
        finishUntil(earliest());
        break;
      case 'wait-rate':
        finishUntil(finishes.size ? Math.min(a.untilMs, earliest()) : a.untilMs);
        break;
      case 'soak':
        log.push(`soak ${p.waves[p.current].name} ${a.untilMs - now}`);
        now = a.untilMs;
        break;
      case 'await-approval':
        log.push(`approve ${p.waves[a.wave].name}`);
        p = approve(p, a.wave);
        break;
      case 'advance-wave':
        p = advanceWave(p, now, spec);
        log.push(`advance to ${p.waves[p.current].name}`);
        break;
      case 'paused':
        p = resume(p);
        break;
      case 'wait-start':
        finishUntil(a.untilMs);
        break;
      case 'find-window': {
        // What the workflow's activity does.
        const w = windowAt(spec.window!, now);
        if (!w.ok) throw new Error(w.reason);
        p = recordWindow(p, w.value);
        log.push(`window ${new Date(w.value.opensAtMs).toISOString()}`);
        break;
      }
      case 'wait-window':
        finishUntil(a.untilMs);
        break;
      case 'wait-devices':
        // Nothing in flight: time passes until the next join, or until the end time.
        if (joins.length) now = Math.max(now, joins[0].atMs);
        else if (spec.endAt && now < Date.parse(spec.endAt)) now = Date.parse(spec.endAt);
        else return { p, now, starts, started, log, final: a };
        break;
      default:
        return { p, now, starts, started, log, final: a };
    }
  }
  throw new Error('rollout did not finish');
}

describe('the rollout state machine', () => {
  it('runs canary, soak, approval and waves to done, within the concurrency', () => {
    const spec = specOf(100, {
      canary: { percent: 10 },
      waves: [{ percent: 50 }, { percent: 100 }],
      soakMs: 5_000,
      approvalAfter: [0],
      concurrency: 4,
      rampUp: false,
    });
    let maxInFlight = 0;
    const r = drive(spec, () => 'Succeeded', { onStep: (p) => (maxInFlight = Math.max(maxInFlight, p.inFlight.length)) });
    expect(r.final).toEqual({ kind: 'done' });
    expect(r.log).toEqual(['soak canary 5000', 'approve canary', 'advance to wave-1', 'soak wave-1 5000', 'advance to wave-2']);
    expect(totalCounts(r.p)).toEqual(counts({ succeeded: 100 }));
    expect(r.p.waves.map((w) => w.counts.succeeded)).toEqual([10, 40, 50]);
    expect(maxInFlight).toBe(4);
    // 10/4 → 3 rounds, 40/4 → 10, 50/4 → 13 rounds of 1 s, plus two soaks of 5 s
    expect(r.now - T0).toBe((3 + 10 + 13) * 1_000 + 2 * 5_000);
  });

  it('a bad canary stops the rollout: in-flight commands finish and are counted, later waves never start', () => {
    const spec = specOf(1_000, { canary: { count: 20 }, concurrency: 5, abort: { minFinished: 5 } });
    const r = drive(spec, (i) => (i % 2 === 0 ? 'Failed' : 'Succeeded'));
    expect(r.final).toEqual({ kind: 'aborted', reason: 'wave canary: 3 of 5 finished commands failed (60% > 10%; failed 3)' });
    expect(r.p.waves[0].counts).toEqual(counts({ pending: 15, succeeded: 2, failed: 3 }));
    expect(totalCounts(r.p)).toEqual(counts({ pending: 995, succeeded: 2, failed: 3 }));
    expect(r.starts).toHaveLength(5);
  });

  it('abort in the middle of a batch: the rest of the batch still finishes', () => {
    const spec = specOf(100, { canary: { count: 10 }, concurrency: 10, abort: { minFinished: 2 }, rampUp: false });
    const r = drive(spec, (i) => (i < 3 ? 'TimedOut' : 'Succeeded'), { durationOf: (i) => 1_000 + i });
    expect(r.final.kind).toBe('aborted');
    expect((r.final as { reason: string }).reason).toBe('wave canary: 2 of 2 finished commands failed (100% > 10%; timed out 2)');
    expect(r.p.waves[0].counts).toEqual(counts({ timedOut: 3, succeeded: 7 }));
    expect(rolloutStatus(r.p, r.now, spec)).toMatchObject({ state: 'aborted', currentWave: 'canary', abortReason: (r.final as { reason: string }).reason });
  });

  it('offline devices that expire do not abort by default, and do with countExpiredAsFailure', () => {
    const outcome = (i: number): CommandState => (i % 5 === 0 ? 'Expired' : 'Succeeded');
    expect(drive(specOf(200), outcome).final).toEqual({ kind: 'done' });
    const strict = drive(specOf(200, { abort: { countExpiredAsFailure: true } }), outcome);
    expect(strict.final).toEqual({ kind: 'aborted', reason: 'wave canary: 1 of 2 finished commands failed (50% > 10%; expired 1)' });
  });

  it('a 10,000-device rollout with 2% failures spread evenly completes with exact counts', () => {
    const spec = specOf(10_000, { concurrency: 500, rampUp: false });
    const r = drive(spec, (i) => (i % 50 === 7 ? 'Failed' : 'Succeeded'));
    expect(r.final).toEqual({ kind: 'done' });
    expect(totalCounts(r.p)).toEqual(counts({ succeeded: 9_800, failed: 200 }));
    expect(r.p.waves.map((w) => [w.name, w.counts.failed])).toEqual([
      ['canary', 2],
      ['wave-1', 18],
      ['wave-2', 80],
      ['wave-3', 100],
    ]);
    expect(r.starts).toHaveLength(10_000);
    // canary 1 round, 900/500 → 2, 4000/500 → 8, 5000/500 → 10
    expect(r.now - T0).toBe(21_000);
  });

  it('ramp-up: each wave starts with minFinished devices and doubles; a bad change stops after 10 devices, not 100', () => {
    const bad = (i: number): CommandState => (i % 5 === 0 ? 'Failed' : 'Succeeded'); // 20% failing
    const ramped = drive(specOf(10_000, { concurrency: 500 }), bad);
    expect(ramped.final.kind).toBe('aborted');
    expect(ramped.starts).toHaveLength(10);
    const unramped = drive(specOf(10_000, { concurrency: 500, rampUp: false }), bad);
    expect(unramped.final.kind).toBe('aborted');
    expect(unramped.starts).toHaveLength(100); // the whole 1% canary was in flight before a verdict
  });

  it('ramp-up costs a few rounds per wave and changes no outcome', () => {
    const spec = specOf(10_000, { concurrency: 500 });
    const r = drive(spec, (i) => (i % 50 === 7 ? 'Failed' : 'Succeeded'));
    expect(r.final).toEqual({ kind: 'done' });
    expect(totalCounts(r.p)).toEqual(counts({ succeeded: 9_800, failed: 200 }));
    expect(r.starts).toHaveLength(10_000);
    // Rounds of 1 s each: every wave first climbs 10, 20, 40, … to 500 in flight. 21 without the ramp.
    expect(r.now - T0).toBe(36_000);
  });

  it('inFlightLimit: at most the concurrency; what may have started never shrinks; never stuck', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000 }),
        fc.integer({ min: 1, max: 100 }),
        fc.integer({ min: 0, max: 5_000 }),
        (concurrency, minFinished, size) => {
          const spec = specOf(10, { concurrency, abort: { minFinished } });
          let before = 0;
          for (let finished = 0; finished <= size; finished += Math.max(1, Math.floor(size / 50))) {
            const wave = {
              index: 0,
              name: 'canary',
              start: 0,
              end: size,
              approvalAfter: false,
              counts: counts({ succeeded: finished, pending: size - finished }),
            };
            const limit = inFlightLimit(wave, spec);
            expect(limit).toBeGreaterThanOrEqual(1); // nothing in flight here: the wave can go on
            expect(limit).toBeLessThanOrEqual(concurrency);
            const mayHaveStarted = finished + limit;
            expect(mayHaveStarted).toBeGreaterThanOrEqual(before);
            before = mayHaveStarted;
          }
        },
      ),
    );
  });

  it('pause stops new starts but lets in-flight commands finish; resume goes on', () => {
    const spec = specOf(100, { canary: { count: 10 }, concurrency: 4 });
    let p = newProgress(100, spec, T0);
    p = recordStarted(p, 4, T0, spec).progress;
    p = pause(p, 'checking dashboards');
    expect(nextAction(p, T0, spec)).toEqual({ kind: 'paused', reason: 'checking dashboards' });
    expect(allowedToStart(p, T0, spec)).toBe(0);
    expect(recordStarted(p, 4, T0, spec).targets).toEqual([]);
    p = recordFinished(p, 0, 'Succeeded', T0 + 1, spec);
    expect(p.waves[0].counts).toEqual(counts({ pending: 6, inFlight: 3, succeeded: 1 }));
    expect(rolloutStatus(p, T0, spec).pauseReason).toBe('checking dashboards');
    expect(pause(p, 'other')).toBe(p);
    p = resume(p);
    expect(p.paused).toBeUndefined();
    expect(nextAction(p, T0 + 1, spec)).toEqual({ kind: 'start-more', count: 1 });
    expect(recordStarted(p, 10, T0 + 1, spec).targets).toEqual([4]);
  });

  it('cancel: nothing new starts, in-flight commands drain, then cancelled', () => {
    const spec = specOf(100, { canary: { count: 10 }, concurrency: 3 });
    let p = recordStarted(newProgress(100, spec, T0), 3, T0, spec).progress;
    p = cancel(p, 'wrong firmware');
    expect(nextAction(p, T0, spec)).toEqual({ kind: 'wait-in-flight' });
    for (const i of [0, 1]) p = recordFinished(p, i, 'Succeeded', T0, spec);
    p = recordFinished(p, 2, 'Cancelled', T0, spec);
    expect(nextAction(p, T0, spec)).toEqual({ kind: 'cancelled', reason: 'wrong firmware' });
    expect(totalCounts(p)).toEqual(counts({ pending: 97, succeeded: 2, cancelled: 1 }));
    expect(cancel(p, 'again').cancelled).toEqual({ reason: 'wrong firmware' });
  });

  it('ignores repeated, unknown and non-terminal finishes', () => {
    const spec = specOf(100, { canary: { count: 10 } });
    let p = recordStarted(newProgress(100, spec, T0), 2, T0, spec).progress;
    expect(p.inFlight).toEqual([0, 1]);
    p = recordFinished(p, 1, 'Failed', T0, spec);
    expect(recordFinished(p, 1, 'Failed', T0, spec)).toBe(p);
    expect(recordFinished(p, 5, 'Succeeded', T0, spec)).toBe(p);
    expect(recordFinished(p, 0, 'Acknowledged', T0, spec)).toBe(p);
    expect(p.waves[0].counts).toEqual(counts({ pending: 8, inFlight: 1, failed: 1 }));
  });

  it('approval: only for a gate, once, not behind; ahead of time is fine', () => {
    const spec = specOf(1_000, { approvalAfter: [0, 1] });
    const p = newProgress(1_000, spec, T0);
    expect(approvalProblem(p, 7)).toBe('there is no wave 7 (waves 0-3)');
    expect(approvalProblem(p, 2)).toBe('wave wave-2 has no approval gate');
    expect(approve(p, 2)).toBe(p);
    const early = approve(p, 1);
    expect(early.approved).toEqual([1]);
    expect(approvalProblem(early, 1)).toBe('wave wave-1 is already approved');
    expect(approve(approve(early), 0).approved).toEqual([0, 1]);
    expect(approvalProblem({ ...p, current: 1 }, 0)).toBe('wave canary is already behind the rollout');
  });

  it('soak counts from the last finish of the wave; advanceWave only when allowed', () => {
    const spec = specOf(100, { canary: { count: 2 }, soakMs: 60_000, concurrency: 2 });
    let p = recordStarted(newProgress(100, spec, T0), 2, T0, spec).progress;
    expect(advanceWave(p, T0, spec)).toBe(p);
    p = recordFinished(p, 0, 'Succeeded', T0 + 100, spec);
    p = recordFinished(p, 1, 'Succeeded', T0 + 900, spec);
    expect(p.waves[0].completedAtMs).toBe(T0 + 900);
    expect(nextAction(p, T0 + 1_000, spec)).toEqual({ kind: 'soak', untilMs: T0 + 60_900 });
    expect(advanceWave(p, T0 + 60_899, spec)).toBe(p);
    expect(nextAction(p, T0 + 60_900, spec)).toEqual({ kind: 'advance-wave' });
    expect(advanceWave(p, T0 + 60_900, spec).current).toBe(1);
  });
});

describe('rate limit', () => {
  it('a token bucket of one second of starts', () => {
    expect(rateCapacity(120)).toBe(2);
    expect(rateCapacity(0.5)).toBe(1);
    expect(rateCapacity(6_000)).toBe(100);
    const spec = specOf(100, { canary: { count: 50 }, ratePerMinute: 120, concurrency: 50 });
    let p = newProgress(100, spec, T0);
    expect(allowedToStart(p, T0, spec)).toBe(2);
    p = recordStarted(p, 5, T0, spec).progress;
    expect(p.inFlight).toEqual([0, 1]);
    expect(allowedToStart(p, T0, spec)).toBe(0);
    expect(nextAction(p, T0, spec)).toEqual({ kind: 'wait-rate', untilMs: T0 + 500 });
    expect(allowedToStart(p, T0 + 499, spec)).toBe(0);
    expect(allowedToStart(p, T0 + 500, spec)).toBe(1);
    expect(allowedToStart(p, T0 + 60_000, spec)).toBe(2); // never more than the bucket holds
  });

  it('survives continue-as-new: the state is plain JSON', () => {
    const spec = specOf(100, { canary: { count: 50 }, ratePerMinute: 90, concurrency: 50 });
    let p = newProgress(100, spec, T0);
    p = recordStarted(p, 2, T0 + 333, spec).progress;
    const copy = JSON.parse(JSON.stringify(p)) as RolloutProgress;
    expect(copy).toEqual(p);
    for (const t of [T0 + 333, T0 + 700, T0 + 1_001, T0 + 99_999]) expect(allowedToStart(copy, t, spec)).toBe(allowedToStart(p, t, spec));
  });

  it('property: in flight never exceeds the concurrency, starts never exceed the rate, the rollout always ends', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 300 }),
        fc.integer({ min: 1, max: 40 }),
        fc.option(fc.double({ min: 1, max: 3_000, noNaN: true }), { nil: undefined }),
        fc.array(fc.integer({ min: 1, max: 5_000 }), { minLength: 1, maxLength: 20 }),
        fc.double({ min: 0, max: 0.5, noNaN: true }),
        (n, concurrency, ratePerMinute, durations, failRate) => {
          const spec = specOf(n, { concurrency, ratePerMinute, canary: { percent: 5 }, waves: [{ percent: 30 }, { percent: 100 }], abort: { minFinished: 3 } });
          let violations = 0;
          const r = drive(spec, (i) => ((i * 7919) % 100 < failRate * 100 ? 'Failed' : 'Succeeded'), {
            durationOf: (i) => durations[i % durations.length],
            onStep: (p) => {
              if (p.inFlight.length > concurrency) violations++;
              const t = totalCounts(p);
              if (sizeOf(t) !== n || t.inFlight !== p.inFlight.length) violations++;
            },
          });
          expect(violations).toBe(0);
          expect(['done', 'aborted']).toContain(r.final.kind);
          expect(r.p.inFlight).toEqual([]);
          if (r.final.kind === 'done') expect(totalCounts(r.p).pending).toBe(0);
          if (ratePerMinute) {
            // token bucket: in any window, starts <= capacity + rate × window
            const cap = rateCapacity(ratePerMinute);
            for (let a = 0; a < r.starts.length; a++) {
              for (let b = a; b < r.starts.length; b++) {
                const allowed = cap + (ratePerMinute * (r.starts[b] - r.starts[a])) / 60_000 + 1e-6;
                if (b - a + 1 > allowed) throw new Error(`${b - a + 1} starts in ${r.starts[b] - r.starts[a]} ms at ${ratePerMinute}/min`);
              }
            }
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('rolloutCommandId', () => {
  it('is {rolloutId}.{deviceId}', () => {
    expect(rolloutCommandId('fw-2_3_1', 'pump-7')).toBe('fw-2_3_1.pump-7');
    expect(parseRolloutCommandId('fw-2_3_1.pump.7')).toEqual({ rolloutId: 'fw-2_3_1', deviceId: 'pump.7' });
    expect(parseRolloutCommandId('pump-7')).toBeUndefined();
    expect(parseRolloutCommandId('.pump-7')).toBeUndefined();
  });

  it('fits 128 characters at the longest', () => {
    const id = rolloutCommandId('r'.repeat(63), 'd'.repeat(64));
    expect(id).toHaveLength(128);
    expect(COMMAND_ID_PATTERN.test(id)).toBe(true);
  });

  it('refuses what it cannot encode', () => {
    expect(() => rolloutCommandId('a.b', 'c')).toThrow(RangeError);
    expect(() => rolloutCommandId('r'.repeat(64), 'c')).toThrow(RangeError);
    expect(() => rolloutCommandId('r', 'a/b')).toThrow(RangeError);
  });

  const idChars = (chars: string, max: number) => fc.array(fc.constantFrom(...chars), { minLength: 1, maxLength: max }).map((c) => c.join(''));
  const rolloutIdArb = idChars('ab_-', 63);
  const deviceIdArb = idChars('ab._-', 64);

  it('property: valid, and the inverse gives back the pair (so distinct pairs never share an ID)', () => {
    fc.assert(
      fc.property(rolloutIdArb, deviceIdArb, (r, d) => {
        const id = rolloutCommandId(r, d);
        expect(COMMAND_ID_PATTERN.test(id)).toBe(true);
        expect(parseRolloutCommandId(id)).toEqual({ rolloutId: r, deviceId: d });
      }),
      { numRuns: 1000 },
    );
  });

  it('property: distinct pairs give distinct IDs', () => {
    fc.assert(
      fc.property(fc.tuple(rolloutIdArb, deviceIdArb), fc.tuple(rolloutIdArb, deviceIdArb), ([r1, d1], [r2, d2]) => {
        fc.pre(r1 !== r2 || d1 !== d2);
        expect(rolloutCommandId(r1, d1)).not.toBe(rolloutCommandId(r2, d2));
      }),
      { numRuns: 1000 },
    );
  });
});

describe('abort thresholds per outcome (abort.byOutcome)', () => {
  it('a kind above its own threshold aborts before the failures add up to failureShare, and the reason names it', () => {
    const wave = counts({ pending: 80, succeeded: 17, timedOut: 3 });
    expect(shouldAbort('wave-1', wave, wave, rule({ failureShare: 0.5 }))).toEqual({ abort: false });
    expect(shouldAbort('wave-1', wave, wave, rule({ failureShare: 0.5, byOutcome: { timedOut: 0.1 } }))).toEqual({
      abort: true,
      reason: 'wave wave-1: 3 of 20 finished commands timed out (15% > 10%, the limit for timedOut)',
    });
    // Other kinds do not count against it.
    const failed = counts({ pending: 80, succeeded: 17, failed: 3 });
    expect(shouldAbort('wave-1', failed, failed, rule({ failureShare: 0.5, byOutcome: { timedOut: 0.1 } }))).toEqual({ abort: false });
  });

  it('rejected: 0 stops at the first refusal, once the verdicts the rule needs are in', () => {
    const r = rule({ minFinished: 5, failureShare: 1, byOutcome: { rejected: 0 } });
    expect(shouldAbort('canary', counts({ pending: 96, succeeded: 3, rejected: 1 }), counts({ pending: 96, succeeded: 3, rejected: 1 }), r)).toEqual({
      abort: false,
    });
    const five = counts({ pending: 95, succeeded: 4, rejected: 1 });
    expect(shouldAbort('canary', five, five, r)).toMatchObject({ abort: true, reason: expect.stringContaining('1 of 5 finished commands were rejected') });
  });

  it('expired counts among the verdicts of its own criterion, even when expired is no failure', () => {
    const wave = counts({ pending: 80, succeeded: 10, expired: 10 });
    expect(shouldAbort('wave-1', wave, wave, rule())).toEqual({ abort: false }); // offline devices are no verdict on the change
    expect(shouldAbort('wave-1', wave, wave, rule({ byOutcome: { expired: 0.4 } }))).toEqual({
      abort: true,
      reason: 'wave wave-1: 10 of 20 finished commands expired (50% > 40%, the limit for expired)',
    });
  });

  it('a misspelt outcome is refused, not ignored', () => {
    expect(() => rule({ byOutcome: { timeout: 0.1 } as never })).toThrow();
  });

  it('property: a rule with thresholds per outcome aborts whenever the same rule without them does (they only add reasons)', () => {
    const countsArb = fc.record({
      pending: fc.nat(50),
      inFlight: fc.nat(5),
      succeeded: fc.nat(50),
      failed: fc.nat(10),
      rejected: fc.nat(10),
      timedOut: fc.nat(10),
      expired: fc.nat(10),
      cancelled: fc.nat(3),
    });
    const share = fc.double({ min: 0, max: 1, noNaN: true });
    fc.assert(
      fc.property(
        countsArb,
        share,
        fc.record({ failed: share, rejected: share, timedOut: share, expired: share }, { requiredKeys: [] }),
        (c, failureShare, byOutcome) => {
          const base = shouldAbort('w', c, c, rule({ failureShare, minFinished: 5 }));
          const more = shouldAbort('w', c, c, rule({ failureShare, minFinished: 5, byOutcome }));
          if (base.abort) expect(more.abort).toBe(true);
        },
      ),
    );
  });
});

describe('exponential rate (rateRamp)', () => {
  const rampSpec = (n: number) =>
    specOf(n, {
      canary: { count: n },
      waves: [{ percent: 100 }],
      concurrency: 1_000,
      rampUp: false,
      ratePerMinute: 60,
      rateRamp: { factor: 2, everySucceeded: 10, maxPerMinute: 300 },
    });

  it('starts at ratePerMinute and doubles after each 10 succeeded devices, up to maxPerMinute', () => {
    const spec = rampSpec(100);
    let p = newProgress(100, spec, T0);
    const rateAfter = (succeeded: number) => {
      let q = p;
      for (let i = 0; i < succeeded; i++) {
        q = recordStarted(q, 1, T0 + i * 60_000, spec).progress;
        q = recordFinished(q, q.inFlight[0], 'Succeeded', T0 + i * 60_000, spec);
      }
      return rolloutStatus(q, T0, spec).ratePerMinute;
    };
    expect(rateAfter(0)).toBe(60);
    expect(rateAfter(9)).toBe(60);
    expect(rateAfter(10)).toBe(120);
    expect(rateAfter(20)).toBe(240);
    expect(rateAfter(30)).toBe(300); // 480 capped
    p = recordStarted(p, 1, T0, spec).progress;
    p = recordFinished(p, 0, 'Failed', T0, spec);
    expect(rolloutStatus(p, T0, spec).ratePerMinute).toBe(60); // failures never speed it up
  });

  it('needs a starting rate, and a ceiling at or above it', () => {
    expect(
      RolloutSpec.safeParse({ rolloutId: 'r', name: 'n', targets: ['d'], rateRamp: { factor: 2, everySucceeded: 5, maxPerMinute: 100 } }).error?.issues[0]
        ?.message,
    ).toBe('rateRamp needs ratePerMinute, the rate it starts from');
    expect(
      RolloutSpec.safeParse({ rolloutId: 'r', name: 'n', targets: ['d'], ratePerMinute: 200, rateRamp: { factor: 2, everySucceeded: 5, maxPerMinute: 100 } })
        .error?.issues[0]?.message,
    ).toBe('rateRamp.maxPerMinute (100) is below the starting ratePerMinute (200)');
  });

  it('property: never faster than maxPerMinute, and never faster than the starting rate before the first step', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 20, max: 200 }),
        fc.integer({ min: 1, max: 30 }),
        fc.double({ min: 1.1, max: 4, noNaN: true }),
        fc.double({ min: 30, max: 600, noNaN: true }),
        (n, every, factor, base) => {
          const max = base * 4;
          const spec = specOf(n, {
            canary: { count: n },
            waves: [{ percent: 100 }],
            concurrency: 1_000,
            rampUp: false,
            ratePerMinute: base,
            rateRamp: { factor, everySucceeded: every, maxPerMinute: max },
          });
          const r = drive(spec, () => 'Succeeded', { durationOf: () => 200 });
          expect(r.final.kind).toBe('done');
          const within = (starts: number[], perMinute: number) => {
            const cap = rateCapacity(perMinute);
            for (let a = 0; a < starts.length; a++) {
              for (let b = a; b < starts.length; b++) {
                if (b - a + 1 > cap + (perMinute * (starts[b] - starts[a])) / 60_000 + 1e-6) return false;
              }
            }
            return true;
          };
          // Starts made while fewer than `every` had succeeded: the first `every` starts plus those before their finishes.
          const beforeFirstStep = r.starts.filter((t) => t < r.starts[0] + 200).slice(0, every);
          expect(within(beforeFirstStep, base)).toBe(true);
          expect(within(r.starts, max)).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('schedule: startAt and endAt', () => {
  const at = (ms: number) => new Date(ms).toISOString();

  it('nothing starts before startAt: wait-start until then, then the rollout runs as usual', () => {
    const spec = specOf(10, { startAt: at(T0 + 60_000) });
    const p = newProgress(10, spec, T0);
    expect(nextAction(p, T0, spec)).toEqual({ kind: 'wait-start', untilMs: T0 + 60_000 });
    expect(nextAction(p, T0 + 59_999, spec).kind).toBe('wait-start');
    expect(nextAction(p, T0 + 60_000, spec).kind).toBe('start-more');
    expect(rolloutStatus(p, T0, spec).state).toBe('wait-start');
  });

  it('at endAt the rollout is to stop, with a reason that says what happened to those in flight; waits never last past it', () => {
    const spec = specOf(10, { endAt: at(T0 + 60_000) });
    let p = newProgress(10, spec, T0);
    expect(endReached(p, T0 + 59_999, spec)).toBeUndefined();
    expect(untilEndMs(p, T0 + 50_000, spec)).toBe(10_000);
    expect(endReached(p, T0 + 60_000, spec)).toBe(`end time ${at(T0 + 60_000)} reached: no new commands were started, commands in flight were left to finish`);
    expect(endReached(p, T0 + 60_000, { ...spec, endBehaviour: 'cancel-in-flight' })).toMatch(/commands in flight were cancelled$/);
    p = cancel(p, endReached(p, T0 + 60_000, spec));
    expect(endReached(p, T0 + 70_000, spec)).toBeUndefined(); // once
    expect(untilEndMs(p, T0 + 70_000, spec)).toBeUndefined(); // no busy waiting after it
    expect(nextAction(p, T0 + 70_000, spec)).toEqual({ kind: 'cancelled', reason: p.cancelled!.reason });
    expect(untilEndMs(newProgress(10, specOf(10), T0), T0, specOf(10))).toBeUndefined();
  });

  it('endAt must come after startAt; endBehaviour needs endAt', () => {
    expect(RolloutSpec.safeParse({ rolloutId: 'r', name: 'n', targets: ['d'], startAt: at(T0), endAt: at(T0) }).error?.issues[0]?.message).toBe(
      `endAt (${at(T0)}) must be after startAt (${at(T0)})`,
    );
    expect(RolloutSpec.safeParse({ rolloutId: 'r', name: 'n', targets: ['d'], endBehaviour: 'cancel-in-flight' }).error?.issues[0]?.message).toBe(
      'endBehaviour needs endAt, the time it applies at',
    );
  });
});

describe('maintenance windows (RolloutSpec.window)', () => {
  // T0 is 2026-02-02T02:40:00Z. Every day 03:00 to 03:10 in Berlin (CET, UTC+1): 02:00Z to 02:10Z.
  const nightly = { cron: '0 3 * * *', durationMs: 10 * 60_000, timeZone: 'Europe/Berlin' };

  it('starts nothing outside the window: finds it, waits for it, runs in it, waits for the next one', () => {
    const spec = specOf(30, { canary: { count: 30 }, waves: [{ percent: 100 }], concurrency: 1, rampUp: false, window: nightly });
    const r = drive(spec, () => 'Succeeded', { durationOf: () => 60_000 });
    expect(r.final).toEqual({ kind: 'done' });
    // 10 one-minute commands per 10-minute window, one at a time: three nights.
    expect(r.log.filter((l) => l.startsWith('window'))).toEqual([
      'window 2026-02-03T02:00:00.000Z',
      'window 2026-02-04T02:00:00.000Z',
      'window 2026-02-05T02:00:00.000Z',
    ]);
    for (const t of r.starts) {
      const w = windowAt(nightly, t);
      expect(w.ok && w.value.opensAtMs <= t && t < w.value.closesAtMs).toBe(true);
    }
  });

  it('property: no command ever starts outside a window, whatever the cron, duration and time zone', () => {
    const crons = ['0 3 * * *', '*/20 * * * *', '30 2 * * 1-5', '0 22 * * 0,6', '15 1 * * *'];
    const zones = ['Europe/Berlin', 'America/New_York', 'Asia/Kolkata', 'UTC', 'Australia/Lord_Howe'];
    fc.assert(
      fc.property(
        fc.constantFrom(...crons),
        fc.constantFrom(...zones),
        fc.integer({ min: 1, max: 180 }),
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 1, max: 20 }),
        (cron, timeZone, minutes, n, concurrency) => {
          const window = { cron, durationMs: minutes * 60_000, timeZone };
          const spec = specOf(n, { canary: { count: n }, waves: [{ percent: 100 }], concurrency, rampUp: false, window });
          const r = drive(spec, () => 'Succeeded', { durationOf: (i) => 10_000 + (i % 7) * 30_000 });
          expect(r.final.kind).toBe('done');
          for (const t of r.starts) {
            const w = windowAt(window, t);
            if (!(w.ok && w.value.opensAtMs <= t && t < w.value.closesAtMs))
              throw new Error(`a start at ${new Date(t).toISOString()} outside ${cron} (${minutes} min, ${timeZone})`);
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('continuous rollouts (RolloutSpec.continuous, addTargets)', () => {
  const at = (ms: number) => new Date(ms).toISOString();
  const continuous = { query: "DeviceModel = 'pump-x'" };

  it('one that starts with no device waits; the devices it finds join one wave, `joined`, which ramps up like a canary', () => {
    const spec = specOf(0, { continuous, endAt: at(T0 + 3_600_000), abort: { minFinished: 2 }, concurrency: 10 });
    expect(nextAction(newProgress(0, spec, T0), T0, spec)).toEqual({ kind: 'wait-devices' });
    let maxInFlight = 0;
    const r = drive(spec, () => 'Succeeded', {
      joins: [
        { atMs: T0 + 60_000, count: 12 },
        { atMs: T0 + 120_000, count: 3 },
      ],
      onStep: (p) => (maxInFlight = Math.max(maxInFlight, p.inFlight.length)),
    });
    expect(r.final).toEqual({ kind: 'done' });
    expect(r.started).toEqual(Array.from({ length: 15 }, (_, i) => i));
    expect(r.p.waves.map((w) => `${w.name}:${w.start}-${w.end}`)).toEqual(['joined:0-15']);
    // Ramp-up: the first 2 (minFinished) alone, then twice as many as have finished.
    expect(r.starts.slice(0, 3)).toEqual([T0 + 60_000, T0 + 60_000, T0 + 61_000]);
    expect(maxInFlight).toBeLessThanOrEqual(10);
    expect(RolloutSpec.safeParse({ rolloutId: 'r', name: 'n', targets: [] }).error?.issues[0]?.message).toMatch(/^a rollout needs at least one target device/);
  });

  it('after its last device it waits for more; devices that join go out in the last wave; at its end time it is done', () => {
    const spec = specOf(3, { continuous, canary: { count: 1 }, waves: [{ percent: 100 }], endAt: at(T0 + 3_600_000), rampUp: false });
    const r = drive(spec, () => 'Succeeded', {
      joins: [
        { atMs: T0 + 60_000, count: 2 },
        { atMs: T0 + 120_000, count: 1 },
      ],
    });
    expect(r.final).toEqual({ kind: 'done' });
    expect(r.now).toBe(T0 + 3_600_000);
    expect(r.started).toEqual([0, 1, 2, 3, 4, 5]);
    expect(r.starts.slice(3)).toEqual([T0 + 60_000, T0 + 60_000, T0 + 120_000]); // each at its join
    expect(r.p.waves.map((w) => `${w.name}:${w.start}-${w.end}`)).toEqual(['canary:0-1', 'wave-1:1-6']);
    expect(totalCounts(r.p)).toMatchObject({ succeeded: 6, pending: 0, inFlight: 0 });
  });

  it('without an end time it waits for devices until cancelled; before it, its state is wait-devices', () => {
    const spec = specOf(2, { continuous, rampUp: false });
    const r = drive(spec, () => 'Succeeded');
    expect(r.final).toEqual({ kind: 'wait-devices' });
    expect(rolloutStatus(r.p, r.now, spec).state).toBe('wait-devices');
    expect(nextAction(cancel(r.p), r.now, spec)).toEqual({ kind: 'cancelled', reason: 'cancelled by operator' });
    // addTargets refuses nonsense: nothing changes.
    expect(addTargets(r.p, 0)).toBe(r.p);
    expect(addTargets(r.p, -3)).toBe(r.p);
    expect(addTargets(r.p, 1.5)).toBe(r.p);
  });

  it('at its end time with devices still pending it stops like any rollout (cancelled, with the reason); with nothing pending, it just ends', () => {
    const spec = specOf(2, { continuous, endAt: at(T0 + 60_000), rampUp: false, concurrency: 1, canary: { count: 2 }, waves: [{ percent: 100 }] });
    let p = newProgress(2, spec, T0);
    expect(endReached(p, T0 + 60_000, spec)).toMatch(/^end time .* reached: no new commands were started/);
    p = recordFinished(recordFinished(recordStarted(p, 2, T0, { ...spec, concurrency: 2 }).progress, 0, 'Succeeded', T0, spec), 1, 'Succeeded', T0, spec);
    expect(endReached(p, T0 + 60_000, spec)).toBeUndefined();
    expect(nextAction(p, T0 + 59_999, spec)).toEqual({ kind: 'wait-devices' });
    expect(nextAction(p, T0 + 60_000, spec)).toEqual({ kind: 'done' });
    expect(untilEndMs(p, T0 + 60_000, spec)).toBeUndefined(); // no busy waiting after the end
  });

  it('property: every device, at start or joined later, is started exactly once and in order, within the concurrency; the abort rule still applies', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.array(fc.record({ after: fc.integer({ min: 0, max: 600_000 }), count: fc.integer({ min: 1, max: 30 }) }), { maxLength: 8 }),
        fc.integer({ min: 1, max: 10 }),
        fc.boolean(),
        (n, joinList, concurrency, failing) => {
          const spec = specOf(n, { continuous, endAt: at(T0 + 3_600_000), concurrency, abort: { failureShare: 0.5, minFinished: 5 } });
          const joins = joinList.map((j) => ({ atMs: T0 + j.after, count: j.count }));
          const total = n + joins.reduce((x, j) => x + j.count, 0);
          let maxInFlight = 0;
          const r = drive(spec, (i) => (failing && i % 2 === 0 ? 'Failed' : 'Succeeded'), {
            durationOf: (i) => 1_000 + (i % 5) * 10_000,
            joins,
            onStep: (p) => (maxInFlight = Math.max(maxInFlight, p.inFlight.length)),
          });
          expect(maxInFlight).toBeLessThanOrEqual(concurrency);
          expect(r.started).toEqual(r.started.map((_, i) => i)); // in order, each once
          if (r.final.kind === 'done') {
            expect(r.started).toHaveLength(total);
            expect(totalCounts(r.p)).toMatchObject({ pending: 0, inFlight: 0 });
          } else if (r.final.kind === 'cancelled') {
            // The end time came before every device was reached: those not reached stay pending.
            expect(r.final.reason).toMatch(/^end time .* reached/);
            expect(totalCounts(r.p).pending).toBe(total - r.started.length);
            expect(r.started.length).toBeLessThan(total);
          } else {
            expect(failing && r.final.kind === 'aborted').toBe(true);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
