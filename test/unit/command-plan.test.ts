import fc from 'fast-check';
import type { DevicePresence } from '../../protocol/command-contract';
import { MAX_PRESENCE_REPUBLISHES, MIN_PUBLISH_LEFT_MS } from '../../protocol/command-limits';
import {
  ackPhaseStep,
  ackWindowMs,
  afterSilence,
  DELIVERY_GRACE_PATCH,
  deliveredAfterDeadline,
  deliveryGraceWaitMs,
  EXPIRY_GRACE_PATCH,
  expiredReason,
  expiryGraceWaitMs,
  PENDING_REQUEST_PATCH,
  PUBLISHED_AFTER_ONLINE_PATCH,
  PRESENCE_BUDGET_PATCH,
  presenceStep,
  probeAfterWait,
  resultPhaseStep,
  resultProbeMs,
  resultProbeWaitMs,
  MAX_RESULT_PROBE_INTERVAL_MS,
  RESULT_PROBE_BACKOFF_PATCH,
  watchStep,
  WAKE_VIA_ENTITY_PATCH,
  WATCH_AFTER_MS,
  type PatchId,
} from '../../workflows/command-plan';

/** A `since` that records what was asked: the workflow's history gets a marker per ask. */
function patches(answer: boolean) {
  const asked: PatchId[] = [];
  return { asked, since: (p: PatchId) => (asked.push(p), answer) };
}
const options = { maxAttempts: 3, backoff: { initialMs: 1_000, maxMs: 30_000, multiplier: 2, jitter: 0 } };

describe('command plan: before the ack', () => {
  test('time left and online: publish, without asking any patch', () => {
    const p = patches(true);
    expect(ackPhaseStep({ leftMs: 60_000, offline: false, lastEvent: 'created', presenceRecheckMs: 120_000 }, p.since)).toEqual({ kind: 'publish' });
    expect(p.asked).toEqual([]);
  });

  test('expired: end, and no patch is asked (the old code ended too)', () => {
    const p = patches(true);
    expect(ackPhaseStep({ leftMs: 0, offline: false, lastEvent: 'published', presenceRecheckMs: 1 }, p.since)).toEqual({ kind: 'expire' });
    expect(p.asked).toEqual([]);
  });

  test(`under ${MIN_PUBLISH_LEFT_MS} ms left: the expiry-grace patch decides (asked exactly then)`, () => {
    const on = patches(true);
    expect(ackPhaseStep({ leftMs: MIN_PUBLISH_LEFT_MS - 1, offline: false, lastEvent: undefined, presenceRecheckMs: 1 }, on.since)).toEqual({ kind: 'expire' });
    expect(on.asked).toEqual([EXPIRY_GRACE_PATCH]);
    const off = patches(false);
    expect(ackPhaseStep({ leftMs: MIN_PUBLISH_LEFT_MS - 1, offline: false, lastEvent: undefined, presenceRecheckMs: 1 }, off.since)).toEqual({
      kind: 'publish',
    });
  });

  test('offline: wait for the re-check or expiry, whichever is first, noting it once', () => {
    const p = patches(true);
    expect(ackPhaseStep({ leftMs: 50_000, offline: true, lastEvent: 'created', presenceRecheckMs: 120_000 }, p.since)).toEqual({
      kind: 'wait-offline',
      waitMs: 50_000,
      noteOffline: true,
    });
    expect(ackPhaseStep({ leftMs: 500_000, offline: true, lastEvent: 'device-offline', presenceRecheckMs: 120_000 }, p.since)).toEqual({
      kind: 'wait-offline',
      waitMs: 120_000,
      noteOffline: false,
    });
  });

  test('expired reasons say why', () => {
    expect(expiredReason({ offline: true, leftMs: 10 })).toBe('time to live passed while the device was offline');
    expect(expiredReason({ offline: false, leftMs: 10 })).toBe(`less than ${MIN_PUBLISH_LEFT_MS} ms left before expiry: not published again`);
    expect(expiredReason({ offline: false, leftMs: -5 })).toBe('time to live passed before the device acknowledged');
  });

  test('the ack window is the ack timeout cut at expiry, at least 1 ms', () => {
    expect(ackWindowMs(10_000, 60_000)).toBe(10_000);
    expect(ackWindowMs(10_000, 3_000)).toBe(3_000);
    expect(ackWindowMs(10_000, -3)).toBe(1);
  });

  test('after a silent attempt: time out at the last one, without drawing a back-off', () => {
    const random = jest.fn(() => 0.5);
    expect(afterSilence({ unanswered: 3, attempt: 3, leftMs: 60_000, options }, random)).toEqual({ kind: 'time-out', reason: 'no ack after 3 attempt(s)' });
    expect(random).not.toHaveBeenCalled();
  });

  test('after a silent attempt: back off, or wait out the expiry when the back-off would pass it', () => {
    expect(afterSilence({ unanswered: 2, attempt: 2, leftMs: 60_000, options }, () => 0.5)).toEqual({
      kind: 'back-off',
      delayMs: 2_000,
      note: 'no ack for attempt 2; publishing again in 2000 ms',
    });
    expect(afterSilence({ unanswered: 2, attempt: 2, leftMs: 1_500, options }, () => 0.5)).toEqual({
      kind: 'wait-until-expiry',
      waitMs: 1_500,
      expiredReason: 'time to live passed after 2 unacknowledged attempt(s)',
    });
  });

  test('the expiry grace: only when a copy may be out and the command has the patch', () => {
    expect(expiryGraceWaitMs({ publishStarted: false, leftMs: 100, graceMs: 5_000 }, patches(true).since)).toBe(0);
    const never = patches(true);
    expiryGraceWaitMs({ publishStarted: false, leftMs: 100, graceMs: 5_000 }, never.since);
    expect(never.asked).toEqual([]); // nothing out: no marker either
    expect(expiryGraceWaitMs({ publishStarted: true, leftMs: 100, graceMs: 5_000 }, patches(false).since)).toBe(0);
    expect(expiryGraceWaitMs({ publishStarted: true, leftMs: -300, graceMs: 5_000 }, patches(true).since)).toBe(4_700);
    expect(expiryGraceWaitMs({ publishStarted: true, leftMs: -9_000, graceMs: 5_000 }, patches(true).since)).toBe(1);
  });
});

describe('command plan: the delivery grace at a deadline', () => {
  test('since the patch, the grace is waited; before it, not (and the patch is asked exactly once)', () => {
    const on = patches(true);
    expect(deliveryGraceWaitMs(5_000, on.since)).toBe(5_000);
    expect(on.asked).toEqual([DELIVERY_GRACE_PATCH]);
    const off = patches(false);
    expect(deliveryGraceWaitMs(5_000, off.since)).toBe(0);
  });

  test('an answer the bridge received before the deadline was on time: only our queues were late', () => {
    expect(deliveredAfterDeadline({ deadlineMs: 10_000, receivedAtMs: 9_800, appliedAtMs: 12_300 })).toEqual({
      event: 'delivered-late',
      detail: 'the answer reached the bridge 200 ms before the deadline and waited 2500 ms in our queues: on time',
    });
  });

  test('an answer the bridge received after the deadline was the device being late; its outcome is still kept', () => {
    expect(deliveredAfterDeadline({ deadlineMs: 10_000, receivedAtMs: 11_500, appliedAtMs: 11_600 }).event).toBe('answered-after-deadline');
    expect(deliveredAfterDeadline({ deadlineMs: 10_000, receivedAtMs: 11_500, appliedAtMs: 11_600 }).detail).toContain('1500 ms after the deadline');
    expect(deliveredAfterDeadline({ deadlineMs: 10_000, receivedAtMs: undefined, appliedAtMs: 10_700 }).detail).toContain('700 ms after the deadline');
  });
});

describe('command plan: after the ack', () => {
  test('wait for the result up to the next probe, time out at the deadline', () => {
    expect(resultPhaseStep({ deadlineMs: 100_000, nowMs: 40_000, resultTimeoutMs: 60_000, probeWaitMs: resultProbeMs(10_000) })).toEqual({
      kind: 'wait',
      waitMs: resultProbeMs(10_000),
    });
    expect(resultPhaseStep({ deadlineMs: 100_000, nowMs: 95_000, resultTimeoutMs: 60_000, probeWaitMs: resultProbeMs(10_000) })).toEqual({
      kind: 'wait',
      waitMs: 5_000,
    });
    expect(resultPhaseStep({ deadlineMs: 100_000, nowMs: 100_000, resultTimeoutMs: 60_000, probeWaitMs: resultProbeMs(10_000) })).toEqual({
      kind: 'time-out',
      reason: 'no result within 60000 ms of the ack',
    });
  });

  test('probes back off: the silence before each doubles, up to an hour; a command from before the patch keeps the fixed interval, and only a second probe asks', () => {
    const asked: PatchId[] = [];
    const patchedSince = (p: PatchId) => (asked.push(p), true);
    expect([0, 1, 2, 3].map((k) => resultProbeWaitMs(10_000, k, patchedSince))).toEqual([20_000, 40_000, 80_000, 160_000]);
    expect(asked).toEqual([RESULT_PROBE_BACKOFF_PATCH, RESULT_PROBE_BACKOFF_PATCH, RESULT_PROBE_BACKOFF_PATCH]); // not for the first
    expect(resultProbeWaitMs(10_000, 12, patchedSince)).toBe(MAX_RESULT_PROBE_INTERVAL_MS);
    expect(resultProbeWaitMs(10_000, 1_000, patchedSince)).toBe(MAX_RESULT_PROBE_INTERVAL_MS);
    expect(resultProbeWaitMs(10_000, 5, () => false)).toBe(20_000);
    // An acknowledged command silent for a whole day is probed 30 times (8 doublings, then hourly), not 4,320 (every 20 s).
    let t = 0;
    let probes = 0;
    while ((t += resultProbeWaitMs(10_000, probes, patchedSince)) < 86_400_000) probes++;
    expect(probes).toBe(30);
    // The longest ack timeout (7 days) gives a 14-day first interval: never shorter than resultProbeMs.
    expect(resultProbeWaitMs(7 * 86_400_000, 3, patchedSince)).toBe(resultProbeMs(7 * 86_400_000));
  });

  test('probes: after silence, noted; published only to a device that can take it before expiry', () => {
    expect(probeAfterWait({ woke: false, offline: false, leftMs: 10 })).toEqual({ note: true, publish: true });
    expect(probeAfterWait({ woke: true, offline: false, leftMs: 10 })).toEqual({ note: false, publish: true });
    expect(probeAfterWait({ woke: false, offline: true, leftMs: 10 })).toEqual({ note: true, publish: false });
    expect(probeAfterWait({ woke: false, offline: false, leftMs: 0 })).toEqual({ note: true, publish: false });
  });

  test('the probe interval is twice the ack timeout, at least 5 s', () => {
    expect(resultProbeMs(1_000)).toBe(5_000);
    expect(resultProbeMs(10_000)).toBe(20_000);
  });
});

describe('command plan: presence', () => {
  const at = (s: number) => new Date(Date.UTC(2026, 1, 4, 10, 0, s)).toISOString();
  const p = (state: 'online' | 'offline', bootId: string, s: number, deviceId = 'd1'): DevicePresence => ({ deviceId, state, bootId, observedAt: at(s) });
  const base = { deviceId: 'd1', known: p('online', 'A', 1), state: 'Sent' as const, terminal: false, republishes: 0, budgetNoted: false };

  test('another device, or an older status: ignored and not kept', () => {
    expect(presenceStep(base, p('online', 'B', 5, 'd2'), patches(true).since)).toEqual({ kind: 'ignore', keep: false });
    expect(presenceStep(base, p('online', 'B', 0), patches(true).since)).toEqual({ kind: 'ignore', keep: false });
  });

  test('offline, no change, or a finished command: kept, nothing done', () => {
    expect(presenceStep(base, p('offline', 'A', 5), patches(true).since)).toEqual({ kind: 'ignore', keep: true });
    expect(presenceStep(base, p('online', 'A', 5), patches(true).since)).toEqual({ kind: 'ignore', keep: true });
    expect(presenceStep({ ...base, terminal: true, state: 'Succeeded' }, p('online', 'B', 5), patches(true).since)).toEqual({ kind: 'ignore', keep: true });
  });

  test('not published yet: online is only noted', () => {
    expect(presenceStep({ ...base, state: 'Created', known: p('offline', 'A', 1) }, p('online', 'B', 5), patches(true).since)).toEqual({
      kind: 'note-online',
      detail: 'boot B',
    });
  });

  test('a device seen online, or in a new boot, before the latest publish has that copy (since the patch); one seen after it gets it again', () => {
    const unknown = { ...base, known: undefined, lastPublishAt: Date.parse(at(3)) };
    const on = patches(true);
    expect(presenceStep(unknown, p('online', 'A', 2), on.since)).toEqual({ kind: 'ignore', keep: true });
    expect(on.asked).toEqual([PUBLISHED_AFTER_ONLINE_PATCH]);
    expect(presenceStep(unknown, p('online', 'A', 3), patches(true).since)).toEqual({ kind: 'ignore', keep: true }); // the same instant: published after it
    expect(presenceStep(unknown, p('online', 'A', 4), patches(true).since)).toMatchObject({ kind: 'republish', event: 'device-online' });
    // Before the patch: re-published, as the old code did.
    expect(presenceStep(unknown, p('online', 'A', 2), patches(false).since)).toMatchObject({ kind: 'republish', event: 'device-online' });
    // A boot the command did not know of (the entity lagged when it published), seen before the publish: no copy.
    const stale = { ...base, lastPublishAt: Date.parse(at(3)) };
    expect(presenceStep(stale, p('online', 'B', 2), patches(true).since)).toEqual({ kind: 'ignore', keep: true });
    expect(presenceStep(stale, p('online', 'B', 4), patches(true).since)).toMatchObject({ kind: 'republish', event: 'device-rebooted' });
    // Nothing to re-publish anyway, or a device asking: the patch is not asked.
    const known = patches(true);
    presenceStep(stale, p('online', 'A', 2), known.since);
    presenceStep(unknown, { ...p('online', 'A', 2), asked: true }, known.since);
    expect(known.asked).toEqual([PENDING_REQUEST_PATCH]);
  });

  test('a reboot or a return while the command is out: publish again, saying why', () => {
    expect(presenceStep(base, p('online', 'B', 5), patches(true).since)).toEqual({
      kind: 'republish',
      event: 'device-rebooted',
      because: 'device rebooted (boot A → B)',
    });
    expect(presenceStep({ ...base, known: p('offline', 'A', 1) }, p('online', 'A', 5), patches(true).since)).toEqual({
      kind: 'republish',
      event: 'device-online',
      because: 'device came back online',
    });
  });

  test('the device asked for its pending commands: publish again now, within the same budget; a worker without the patch took it as presence', () => {
    const asked = { ...p('online', 'A', 5), asked: true };
    const on = patches(true);
    expect(presenceStep(base, asked, on.since)).toEqual({ kind: 'republish', event: 'device-asked', because: 'the device asked for its pending commands' });
    expect(on.asked).toEqual([PENDING_REQUEST_PATCH]);
    expect(presenceStep({ ...base, state: 'Acknowledged' }, asked, patches(true).since)).toMatchObject({ kind: 'republish', event: 'device-asked' });
    expect(presenceStep(base, asked, patches(false).since)).toEqual({ kind: 'ignore', keep: true });
    // Also when this command had not known the device yet (published without presence, or it was offline).
    expect(presenceStep({ ...base, known: undefined }, asked, patches(true).since)).toMatchObject({ kind: 'republish', event: 'device-asked' });
    expect(presenceStep({ ...base, known: p('offline', 'A', 1) }, asked, patches(true).since)).toMatchObject({ kind: 'republish', event: 'device-asked' });
    // Not published yet: nothing to re-publish (the first publish is on its way).
    expect(presenceStep({ ...base, state: 'Created' }, asked, patches(true).since)).toEqual({ kind: 'ignore', keep: true });
    expect(presenceStep({ ...base, republishes: MAX_PRESENCE_REPUBLISHES }, asked, patches(true).since)).toMatchObject({ kind: 'budget-spent' });
    // A plain presence signal never asks the patch.
    const plain = patches(true);
    presenceStep(base, p('online', 'A', 5), plain.since);
    expect(plain.asked).toEqual([]);
  });

  test(`past ${MAX_PRESENCE_REPUBLISHES} re-publishes: the budget is spent (noted once); without the patch, as before`, () => {
    const spent = { ...base, republishes: MAX_PRESENCE_REPUBLISHES };
    const on = patches(true);
    expect(presenceStep(spent, p('online', 'B', 5), on.since)).toMatchObject({ kind: 'budget-spent', note: true });
    expect(on.asked).toEqual([PRESENCE_BUDGET_PATCH]);
    expect(presenceStep({ ...spent, budgetNoted: true }, p('online', 'B', 5), on.since)).toMatchObject({ kind: 'budget-spent', note: false });
    expect(presenceStep(spent, p('online', 'B', 5), patches(false).since)).toMatchObject({ kind: 'republish' });
    const under = patches(true);
    presenceStep({ ...base, republishes: MAX_PRESENCE_REPUBLISHES - 1 }, p('online', 'B', 5), under.since);
    expect(under.asked).toEqual([]); // under the budget the marker is never written
  });

  test('property: with the patch, a boot loop never gets more than the budget of re-publishes', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.nat(5)), { maxLength: 60 }), (events) => {
        let known: DevicePresence | undefined = p('online', 'boot-0', 0);
        let republishes = 0;
        let budgetNoted = false;
        events.forEach(([online, boot], i) => {
          const next = p(online ? 'online' : 'offline', `boot-${boot}`, i + 1);
          const step = presenceStep({ deviceId: 'd1', known, state: 'Sent', terminal: false, republishes, budgetNoted }, next, () => true);
          if (step.kind !== 'ignore' || step.keep) known = next;
          if (step.kind === 'republish') republishes++;
          if (step.kind === 'budget-spent' && step.note) budgetNoted = true;
        });
        expect(republishes).toBeLessThanOrEqual(MAX_PRESENCE_REPUBLISHES);
      }),
    );
  });
});

describe('command plan: wake-ups through the device entity', () => {
  const T = 1_000_000;
  const ask = (o: Partial<Parameters<typeof watchStep>[0]>, answer = true) => {
    const p = patches(answer);
    return { step: watchStep({ watching: false, heldOffline: false, waitingSinceMs: T, nowMs: T, waitMs: 10_000, ...o }, p.since), asked: p.asked };
  };

  test(`a wait that ends within ${WATCH_AFTER_MS / 1000} s of waiting never asks the entity, and no marker is written`, () => {
    expect(ask({ waitMs: WATCH_AFTER_MS })).toEqual({ step: { kind: 'wait' }, asked: [] });
    expect(ask({ nowMs: T + 5_000, waitMs: WATCH_AFTER_MS - 5_000 })).toEqual({ step: { kind: 'wait' }, asked: [] });
  });

  test(`a long wait asks after ${WATCH_AFTER_MS / 1000} s of waiting, not before: a command answered sooner costs the entity nothing, whatever its ack timeout`, () => {
    expect(ask({ waitMs: 600_000 })).toEqual({ step: { kind: 'ask-during', afterMs: WATCH_AFTER_MS }, asked: [WAKE_VIA_ENTITY_PATCH] });
    // A silent device with a 10 s ack timeout: during the backoff after the first window.
    expect(ask({ nowMs: T + 10_000, waitMs: 6_000 }).step).toEqual({ kind: 'ask-during', afterMs: 5_000 });
    // Already waited longer (a wait before it was too short to ask in): at once.
    expect(ask({ nowMs: T + 20_000, waitMs: 1_000 }).step).toEqual({ kind: 'ask-during', afterMs: 0 });
    expect(ask({ watching: true, waitMs: 600_000 })).toEqual({ step: { kind: 'wait' }, asked: [] });
  });

  test("one held for an offline device asks at once: waking it is the entity's job", () => {
    expect(ask({ heldOffline: true, waitingSinceMs: undefined, waitMs: 1_000 })).toEqual({
      step: { kind: 'ask-during', afterMs: 0 },
      asked: [WAKE_VIA_ENTITY_PATCH],
    });
  });

  test('a command started before the patch never asks (it replays as it ran)', () => {
    expect(ask({ heldOffline: true }, false)).toEqual({ step: { kind: 'wait' }, asked: [WAKE_VIA_ENTITY_PATCH] });
  });
});
