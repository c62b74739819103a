import fc from 'fast-check';
import type { DeviceQueueEntry, DeviceQueueRequest } from '../../protocol/device-queue-contract';
import {
  RELEASED_KEPT,
  applyQueueRequest,
  checkQueueRequest,
  emptyQueue,
  grantNext,
  nextHoldEnd,
  reclaimExpired,
  reclaimTurn,
  type DeviceQueue,
} from '../../workflows/device-queue';

const T0 = Date.parse('2026-12-03T10:00:00Z');
const entry = (commandId: string, priority = 0, atS = 0, holdS = 3600): DeviceQueueEntry => ({
  commandId,
  name: 'work',
  priority,
  enqueuedAt: new Date(T0 + atS * 1000).toISOString(),
  holdUntilMs: T0 + holdS * 1000,
});
const enqueue = (q: DeviceQueue, e: DeviceQueueEntry) => applyQueueRequest(q, { kind: 'enqueue', entry: e });
const release = (q: DeviceQueue, commandId: string) => applyQueueRequest(q, { kind: 'release', commandId });
const grant = (q: DeviceQueue) => grantNext(q, new Date(T0).toISOString());

describe('a device serial queue', () => {
  test('grants one turn at a time: by priority, then by arrival', () => {
    let q = emptyQueue();
    q = enqueue(q, entry('a', 0, 1));
    q = enqueue(q, entry('b', 0, 2));
    q = enqueue(q, entry('urgent', 5, 3));
    const first = grant(q);
    expect(first.granted?.commandId).toBe('urgent');
    expect(grant(first.queue).granted).toBeUndefined(); // one in flight: nothing more
    q = release(first.queue, 'urgent');
    expect(grant(q).granted?.commandId).toBe('a');
    expect(grant(q).queue).toMatchObject({ served: 2, waiting: [expect.objectContaining({ commandId: 'b' })] });
  });

  test('a duplicate enqueue, of a waiting, granted or released command, changes nothing', () => {
    let q = enqueue(emptyQueue(), entry('a'));
    expect(enqueue(q, entry('a'))).toBe(q);
    q = grant(q).queue;
    expect(enqueue(q, entry('a'))).toBe(q);
    q = release(q, 'a');
    expect(enqueue(q, entry('a'))).toBe(q);
    expect(release(q, 'a')).toBe(q);
  });

  test('a release that overtakes its enqueue keeps the late enqueue out', () => {
    const q = release(emptyQueue(), 'a');
    expect(q.released).toEqual(['a']);
    expect(enqueue(q, entry('a')).waiting).toEqual([]);
  });

  test('remembers at most RELEASED_KEPT released commands', () => {
    let q = emptyQueue();
    for (let i = 0; i < RELEASED_KEPT + 10; i++) q = release(q, `c${i}`);
    expect(q.released).toHaveLength(RELEASED_KEPT);
    expect(q.released[0]).toBe('c10');
  });

  test('takes back what is held past its hold time, and says when the next hold ends', () => {
    let q = enqueue(emptyQueue(), entry('short', 0, 0, 10));
    q = grant(q).queue;
    q = enqueue(q, entry('waits', 0, 1, 5));
    q = enqueue(q, entry('later', 0, 2, 100));
    expect(nextHoldEnd(q)).toBe(T0 + 5_000);
    const nothing = reclaimExpired(q, T0 + 4_000);
    expect(nothing).toEqual({ queue: q, reclaimed: [] });
    const taken = reclaimExpired(q, T0 + 10_000);
    expect(taken.reclaimed).toEqual(['short', 'waits']);
    expect(taken.queue).toMatchObject({ inFlight: undefined, reclaimed: 2, waiting: [expect.objectContaining({ commandId: 'later' })] });
    expect(nextHoldEnd(emptyQueue())).toBeUndefined();
  });

  test('a turn that could not be given is freed and counted', () => {
    const q = grant(enqueue(emptyQueue(), entry('gone'))).queue;
    expect(reclaimTurn(q, 'other')).toBe(q);
    expect(reclaimTurn(q, 'gone')).toMatchObject({ inFlight: undefined, reclaimed: 1, released: ['gone'] });
  });

  test('property: whatever the order and duplication of requests, at most one turn is out, and every turn goes to the best waiting command', () => {
    const request = fc.oneof(
      fc.record({
        kind: fc.constant('enqueue' as const),
        id: fc.integer({ min: 0, max: 7 }),
        priority: fc.integer({ min: 0, max: 9 }),
        at: fc.integer({ min: 0, max: 50 }),
      }),
      fc.record({ kind: fc.constant('release' as const), id: fc.integer({ min: 0, max: 7 }) }),
    );
    fc.assert(
      fc.property(fc.array(request, { maxLength: 60 }), (requests) => {
        let q = emptyQueue();
        for (const r of requests) {
          const req: DeviceQueueRequest =
            r.kind === 'enqueue' ? { kind: 'enqueue', entry: entry(`c${r.id}`, r.priority, r.at) } : { kind: 'release', commandId: `c${r.id}` };
          q = applyQueueRequest(q, req);
          const ids = [q.inFlight, ...q.waiting].filter(Boolean).map((e) => e!.commandId);
          expect(new Set(ids).size).toBe(ids.length); // nobody twice
          for (const id of q.released) expect(ids).not.toContain(id);
          const before = q.waiting;
          const g = grant(q);
          if (q.inFlight) expect(g.granted).toBeUndefined();
          else if (before.length) {
            const best = [...before].sort((x, y) => y.priority - x.priority || Date.parse(x.enqueuedAt) - Date.parse(y.enqueuedAt))[0];
            expect(g.granted?.priority).toBe(best.priority);
            expect(g.granted?.enqueuedAt).toBe(best.enqueuedAt);
          }
          q = g.queue;
        }
      }),
    );
  });
});

describe('queue requests from anyone', () => {
  test('are checked before they touch the queue', () => {
    expect(checkQueueRequest({ kind: 'release', commandId: 'a.b' })).toEqual({ ok: true, request: { kind: 'release', commandId: 'a.b' } });
    expect(checkQueueRequest({ kind: 'enqueue', entry: { ...entry('x'), extra: 1 } })).toEqual({ ok: true, request: { kind: 'enqueue', entry: entry('x') } });
    for (const bad of [
      null,
      'x',
      {},
      { kind: 'release', commandId: 'a/b' },
      { kind: 'enqueue' },
      { kind: 'enqueue', entry: { ...entry('x'), priority: 10 } },
      { kind: 'enqueue', entry: { ...entry('x'), enqueuedAt: 'soon' } },
      { kind: 'enqueue', entry: { ...entry('x'), holdUntilMs: Infinity } },
    ]) {
      expect(checkQueueRequest(bad).ok).toBe(false);
    }
  });
});
