import { BridgeCounters } from '../../bridge/bridge-counters';
import { DeviceStatusForwarder } from '../../bridge/device-status-forwarder';
import type { EntityStatusCheck } from '../../bridge/entity-status-check';
import { createLogger } from '../../config/logger';
import type { DeviceStatusReport } from '../../protocol/device-contract';

/** The forwarder's bookkeeping (coalescing, repeats, pacing, retries) with Temporal's call recorded. */
function setup(o: { perSecond?: number; backfillPerSecond?: number; fail?: (n: number) => unknown; check?: EntityStatusCheck } = {}) {
  const calls: Array<{ at: number; workflowId: string; report: DeviceStatusReport }> = [];
  let n = 0;
  const temporal = {
    workflow: {
      signalWithStart: async (_type: string, opts: { workflowId: string; signalArgs: [DeviceStatusReport] }) => {
        const err = o.fail?.(n++);
        if (err) throw err;
        calls.push({ at: Date.now(), workflowId: opts.workflowId, report: opts.signalArgs[0] });
      },
    },
  };
  const counters = new BridgeCounters();
  const forwarder = new DeviceStatusForwarder(temporal as never, counters, createLogger('test', 'silent'), {
    perSecond: o.perSecond ?? 1000,
    backfillPerSecond: o.backfillPerSecond,
    concurrency: 2,
    ...(o.check ? { check: o.check } : {}),
  });
  return { calls, counters, forwarder };
}
let t = 0;
const report = (deviceId: string, over: Partial<DeviceStatusReport> = {}): DeviceStatusReport => ({
  deviceId,
  state: 'online',
  bootId: 'b1',
  receivedAt: new Date(Date.UTC(2026, 0, 1) + ++t).toISOString(),
  ...over,
});

describe('DeviceStatusForwarder', () => {
  test('the newest report per device is forwarded; one queued behind another replaces it', async () => {
    const { calls, counters, forwarder } = setup({ perSecond: 10 });
    forwarder.report(report('a'));
    forwarder.report(report('b', { state: 'offline' }));
    forwarder.report(report('b', { state: 'online', bootId: 'b2' }));
    await forwarder.idle();
    expect(calls.map((c) => `${c.workflowId} ${c.report.state} ${c.report.bootId}`)).toEqual(['device-a online b1', 'device-b online b2']);
    expect(counters.get('device-status:coalesced')).toBe(1);
    expect(counters.get('device-status:forwarded')).toBe(2);
  });

  test('a report without attributes that replaces one with attributes keeps them ("no attributes" means "keep the last")', async () => {
    const { calls, forwarder } = setup({ perSecond: 10 });
    forwarder.report(report('x')); // goes out first; the next two wait behind the pacing
    forwarder.report(report('a', { attributes: { firmware: '2.0' } }));
    forwarder.report(report('a', { state: 'offline' }));
    await forwarder.idle();
    expect(calls.at(-1)!.report).toMatchObject({ deviceId: 'a', state: 'offline', attributes: { firmware: '2.0' } });
  });

  test('a status that repeats what was last forwarded costs nothing', async () => {
    const { calls, counters, forwarder } = setup();
    forwarder.report(report('a', { attributes: { model: 'm' } }));
    await forwarder.idle();
    forwarder.report(report('a', { attributes: { model: 'm' } }));
    await forwarder.idle();
    forwarder.report(report('a', { attributes: { model: 'n' } }));
    await forwarder.idle();
    expect(calls.map((c) => c.report.attributes?.model)).toEqual(['m', 'n']);
    expect(counters.get('device-status:unchanged')).toBe(1);
  });

  test("a device's request for its pending commands is never skipped as a repeat, and survives a newer status queued behind it", async () => {
    const { calls, counters, forwarder } = setup({ perSecond: 10 });
    forwarder.report(report('a'));
    await forwarder.idle();
    // Online in the same boot: a repeat as a status, but the device asks.
    forwarder.report(report('a', { asked: true }));
    await forwarder.idle();
    expect(calls.map((c) => c.report.asked ?? false)).toEqual([false, true]);
    expect(counters.get('device-status:unchanged')).toBe(0);

    forwarder.report(report('x')); // goes out first; the next two wait behind the pacing
    forwarder.report(report('a', { asked: true }));
    forwarder.report(report('a', { attributes: { firmware: '2.1' } }));
    await forwarder.idle();
    expect(calls.at(-1)!.report).toMatchObject({ deviceId: 'a', asked: true, attributes: { firmware: '2.1' } });
  });

  test('calls are paced: 5 devices at 20 per second take at least 4 gaps of 50 ms', async () => {
    const { calls, forwarder } = setup({ perSecond: 20 });
    for (const d of ['a', 'b', 'c', 'd', 'e']) forwarder.report(report(d));
    await forwarder.idle();
    expect(calls).toHaveLength(5);
    for (let i = 1; i < calls.length; i++) expect(calls[i].at - calls[i - 1].at).toBeGreaterThanOrEqual(45); // timer granularity
  });

  test('a transient failure is tried again; a refusal is counted and dropped', async () => {
    const unavailable = Object.assign(new Error('unavailable'), { code: 14 });
    const invalid = Object.assign(new Error('invalid'), { code: 3 });
    const retried = setup({ fail: (n) => (n === 0 ? unavailable : undefined) });
    retried.forwarder.report(report('a'));
    await retried.forwarder.idle();
    expect(retried.calls).toHaveLength(1);
    expect(retried.counters.get('device-status:retry')).toBe(1);

    const refused = setup({ fail: () => invalid });
    refused.forwarder.report(report('a'));
    await refused.forwarder.idle();
    expect(refused.calls).toHaveLength(0);
    expect(refused.counters.get('device-status:refused')).toBe(1);
  });

  test('stop() while a report waits for its turn: nothing more is sent, and stop resolves without error', async () => {
    const { calls, counters, forwarder } = setup({ perSecond: 2 });
    forwarder.report(report('a'));
    forwarder.report(report('b')); // waits ~500 ms for its turn
    await new Promise((r) => setImmediate(r));
    await expect(forwarder.stop()).resolves.toBeUndefined();
    expect(calls.map((c) => c.workflowId)).toEqual(['device-a']);
    forwarder.report(report('c')); // after stop: ignored
    await forwarder.idle();
    expect(calls).toHaveLength(1);
    expect(counters.get('device-status:forwarded')).toBe(1);
  });

  test('retained statuses (a bridge start) wait behind live changes, and go at the backfill rate', async () => {
    const { calls, counters, forwarder } = setup({ perSecond: 100, backfillPerSecond: 10 });
    for (const d of ['r1', 'r2', 'r3', 'r4']) forwarder.report(report(d), true);
    forwarder.report(report('live-1'));
    forwarder.report(report('live-2'));
    await forwarder.idle();
    const order = calls.map((c) => c.workflowId.replace('device-', ''));
    // r1 may have gone out before the live ones arrived; every other retained one waits behind them.
    expect(order.filter((d) => d !== 'r1')).toEqual(['live-1', 'live-2', 'r2', 'r3', 'r4']);
    const retainedAt = calls.filter((c) => c.workflowId.startsWith('device-r')).map((c) => c.at);
    for (let i = 1; i < retainedAt.length; i++) expect(retainedAt[i] - retainedAt[i - 1]).toBeGreaterThanOrEqual(95); // 10/s, timer slack
    expect(counters.get('device-status:forwarded')).toBe(6);
  });

  test('a live change replaces the retained copy waiting for the same device, keeping its attributes; a retained copy never replaces a live one', async () => {
    const { calls, counters, forwarder } = setup({ perSecond: 100, backfillPerSecond: 1 });
    forwarder.report(report('x'), true); // goes out at once; the next retained one waits a second
    forwarder.report(report('a', { attributes: { firmware: '1.0' } }), true);
    forwarder.report(report('a', { state: 'offline' }));
    forwarder.report(report('b', { state: 'offline', bootId: 'b9' }));
    forwarder.report(report('b'), true);
    await forwarder.idle();
    expect(calls.map((c) => `${c.workflowId} ${c.report.state} ${c.report.attributes?.firmware ?? '-'}`)).toEqual([
      'device-x online -',
      'device-a offline 1.0',
      'device-b offline -',
    ]);
    expect(counters.get('device-status:coalesced')).toBe(2);
  });

  test('with a check: retained statuses the entities already show are not forwarded; the news go at the live rate, after live changes', async () => {
    const checked: string[][] = [];
    const check: EntityStatusCheck = async (reports) => {
      checked.push(reports.map((r) => r.deviceId));
      return new Set(reports.map((r) => r.deviceId).filter((d) => d.startsWith('known')));
    };
    const { calls, counters, forwarder } = setup({ perSecond: 100, backfillPerSecond: 1, check });
    for (const d of ['known-1', 'new-1', 'known-2', 'new-2']) forwarder.report(report(d), true);
    forwarder.report(report('live-1'));
    await forwarder.idle();
    expect(checked).toEqual([['known-1', 'new-1', 'known-2', 'new-2']]); // one query for the batch
    expect(calls.map((c) => c.workflowId)).toEqual(['device-live-1', 'device-new-1', 'device-new-2']);
    // At the live rate (100/s), not the backfill rate (1/s): 1 s apart would be the backfill.
    expect(calls[2].at - calls[1].at).toBeLessThan(900);
    expect(counters.get('device-status:known')).toBe(2);
    // What the check found known counts as forwarded: the same retained status again costs nothing.
    forwarder.report(report('known-1'), true);
    await forwarder.idle();
    expect(checked).toHaveLength(1);
    expect(counters.get('device-status:unchanged')).toBe(1);
  });

  test('with a check that fails, the statuses are forwarded all the same, at the backfill rate; a live change during the check wins', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const check: EntityStatusCheck = async () => {
      await gate;
      throw new Error('visibility unavailable');
    };
    const { calls, counters, forwarder } = setup({ perSecond: 100, backfillPerSecond: 10, check });
    forwarder.report(report('r1'), true);
    forwarder.report(report('r2'), true);
    forwarder.report(report('r2', { state: 'offline' })); // live, while r2's retained copy is being checked
    release();
    await forwarder.idle();
    expect(calls.map((c) => `${c.workflowId} ${c.report.state}`)).toEqual(['device-r2 offline', 'device-r1 online']);
    expect(counters.get('device-status:check-failed')).toBe(1);
    expect(counters.get('device-status:known')).toBe(0);
  });

  test('a retained status that repeats what was last forwarded costs nothing', async () => {
    const { calls, counters, forwarder } = setup();
    forwarder.report(report('a'));
    await forwarder.idle();
    forwarder.report(report('a'), true); // e.g. the bridge's MQTT session was lost and it subscribed again
    await forwarder.idle();
    expect(calls).toHaveLength(1);
    expect(counters.get('device-status:unchanged')).toBe(1);
  });
});
