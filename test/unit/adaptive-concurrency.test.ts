import fc from 'fast-check';
import { adaptiveLimit, adaptivePolicy, newAdaptiveState, observe, type AdaptiveSample } from '../../workflows/adaptive-concurrency';

const policy = adaptivePolicy(200, 10_000); // target 5 s
const fast: AdaptiveSample = { latencyMs: 800, attempts: 1, answered: true };
const slow: AdaptiveSample = { latencyMs: 6_000, attempts: 1, answered: true };
const republished: AdaptiveSample = { latencyMs: 800, attempts: 2, answered: true };
const silent: AdaptiveSample = { latencyMs: 0, attempts: 3, answered: false };

describe('adaptive concurrency (AIMD)', () => {
  test('the target is half the ack timeout, at least 0.5 s', () => {
    expect(adaptivePolicy(50, 10_000).targetLatencyMs).toBe(5_000);
    expect(adaptivePolicy(50, 600).targetLatencyMs).toBe(500);
  });

  test('starts at 10 (or the ceiling), and grows by one per fast command until the first congestion', () => {
    let s = newAdaptiveState(policy);
    expect(adaptiveLimit(s)).toBe(10);
    expect(adaptiveLimit(newAdaptiveState(adaptivePolicy(4, 10_000)))).toBe(4);
    for (let i = 0; i < 10; i++) s = observe(s, fast, i, policy);
    expect(adaptiveLimit(s)).toBe(20); // doubled in one round trip's worth of answers
  });

  test('never above the ceiling', () => {
    let s = newAdaptiveState(policy);
    for (let i = 0; i < 1_000; i++) s = observe(s, fast, i, policy);
    expect(adaptiveLimit(s)).toBe(200);
    expect(s.max).toBe(200);
  });

  test('a slow or re-published command cuts the limit by 30%, once per target interval', () => {
    let s = newAdaptiveState(policy, 100);
    s = observe(s, slow, 10_000, policy);
    expect(adaptiveLimit(s)).toBe(70);
    s = observe(s, republished, 11_000, policy); // same episode: no second cut
    expect(adaptiveLimit(s)).toBe(70);
    s = observe(s, slow, 15_000, policy); // a target interval later: cut again
    expect(adaptiveLimit(s)).toBe(49);
    expect(s.decreases).toBe(2);
    expect(s.min).toBe(49);
  });

  test('after congestion it grows by about one per round trip, not one per command', () => {
    let s = observe(newAdaptiveState(policy, 100), slow, 0, policy); // 70
    expect(adaptiveLimit(s)).toBe(70);
    for (let i = 0; i < 75; i++) s = observe(s, fast, 1 + i, policy);
    expect(adaptiveLimit(s)).toBe(71); // slow start would have reached 145
  });

  test('silent devices say nothing about load: the limit does not move', () => {
    const s = newAdaptiveState(policy, 50);
    expect(adaptiveLimit(observe(s, silent, 0, policy))).toBe(50);
  });

  test('property: the limit stays within [1, ceiling], and never drops by more than 30% per target interval', () => {
    const sample = fc.record({ latencyMs: fc.nat(20_000), attempts: fc.integer({ min: 1, max: 3 }), answered: fc.boolean() });
    fc.assert(
      fc.property(fc.array(fc.tuple(sample, fc.nat(2_000)), { maxLength: 300 }), fc.integer({ min: 1, max: 500 }), (events, ceiling) => {
        const p = adaptivePolicy(ceiling, 10_000);
        let s = newAdaptiveState(p);
        let now = 0;
        for (const [sm, dt] of events) {
          now += dt;
          const before = s.limit;
          s = observe(s, sm, now, p);
          expect(s.limit).toBeGreaterThanOrEqual(1);
          expect(s.limit).toBeLessThanOrEqual(ceiling);
          expect(s.limit).toBeGreaterThanOrEqual(Math.min(before, Math.max(1, before * 0.7)) - 1e-9);
        }
      }),
    );
  });
});
