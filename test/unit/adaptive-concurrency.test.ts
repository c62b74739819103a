import fc from 'fast-check';
import { adaptiveLimit, adaptivePolicy, newAdaptiveState, observe, type AdaptiveSample } from '../../workflows/adaptive-concurrency';

const policy = adaptivePolicy(200, 10_000); // target 2.5 s, congestion beyond 5 s
const ack = (latencyMs: number, attempts = 1): AdaptiveSample => ({ latencyMs, attempts, answered: true });
const silent: AdaptiveSample = { latencyMs: 0, attempts: 3, answered: false };

describe('adaptive concurrency (latency gradient, with a cut on congestion)', () => {
  test('the target is a quarter of the ack timeout (at least 0.5 s), congestion beyond half of it (at least 1 s)', () => {
    expect(adaptivePolicy(50, 10_000)).toMatchObject({ targetLatencyMs: 2_500, congestionLatencyMs: 5_000 });
    expect(adaptivePolicy(50, 1_000)).toMatchObject({ targetLatencyMs: 500, congestionLatencyMs: 1_000 });
  });

  test('starts at 10 (or the ceiling); acks far under the target double it per round trip', () => {
    let s = newAdaptiveState(policy);
    expect(adaptiveLimit(s)).toBe(10);
    expect(adaptiveLimit(newAdaptiveState(adaptivePolicy(4, 10_000)))).toBe(4);
    for (let i = 0; i < 10; i++) s = observe(s, ack(300), i, policy);
    expect(adaptiveLimit(s)).toBe(20);
  });

  test('acks at the target hold it; acks above the target (not yet congestion) shrink it, halving at most per round trip', () => {
    let s = newAdaptiveState(policy, 100);
    for (let i = 0; i < 100; i++) s = observe(s, ack(2_500), i, policy);
    expect(adaptiveLimit(s)).toBe(100);
    for (let i = 0; i < 100; i++) s = observe(s, ack(5_000), 100 + i, policy); // ratio 0.5: -0.5 a sample
    expect(adaptiveLimit(s)).toBe(50);
    expect(s.decreases).toBe(0); // a gradual move, not a cut
  });

  test('steers to where latency meets the target (Little: in flight = throughput × latency)', () => {
    // A system that serves 20 commands/s: latency = in flight / 20, plus 200 ms of work.
    let s = newAdaptiveState(policy);
    for (let i = 0; i < 3_000; i++) s = observe(s, ack((adaptiveLimit(s) / 20) * 1_000 + 200), i * 50, policy);
    // 20/s × (2.5 s − 0.2 s) = 46 in flight.
    expect(adaptiveLimit(s)).toBeGreaterThanOrEqual(44);
    expect(adaptiveLimit(s)).toBeLessThanOrEqual(48);
  });

  test('never above the ceiling', () => {
    let s = newAdaptiveState(policy);
    for (let i = 0; i < 1_000; i++) s = observe(s, ack(100), i, policy);
    expect(adaptiveLimit(s)).toBe(200);
    expect(s.max).toBe(200);
  });

  test('an ack past half the ack timeout, or after a re-publish, cuts it by 30%, once per target interval', () => {
    let s = newAdaptiveState(policy, 100);
    s = observe(s, ack(6_000), 10_000, policy);
    expect(adaptiveLimit(s)).toBe(70);
    s = observe(s, ack(300, 2), 11_000, policy); // same episode: no second cut
    expect(adaptiveLimit(s)).toBe(70);
    s = observe(s, ack(300, 2), 12_500, policy); // a target interval later: cut again
    expect(adaptiveLimit(s)).toBe(49);
    expect(s.decreases).toBe(2);
    expect(s.min).toBe(49);
  });

  test('silent devices say nothing about load: the limit does not move', () => {
    const s = newAdaptiveState(policy, 50);
    expect(adaptiveLimit(observe(s, silent, 0, policy))).toBe(50);
  });

  test('property: within [1, ceiling]; at most doubled, and at most cut by 30% plus halved, per round trip of samples', () => {
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
          expect(s.limit).toBeLessThanOrEqual(before + 1 + 1e-9); // +1 a sample at most
          expect(s.limit).toBeGreaterThanOrEqual(Math.min(before - 0.5, before * 0.7) - 1e-9);
        }
      }),
    );
  });
});
