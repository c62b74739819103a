import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { DeviceRateLimiter } from '../../bridge/device-rate-limiter';
import { DuplicateGuard } from '../../bridge/duplicate-guard';
import { PerKeyOrder } from '../../bridge/per-key-order';
import { SignalForwarder } from '../../bridge/signal-forwarder';
import { classifyTemporalError } from '../../bridge/temporal-errors';
import type { DeviceMessage } from '../../protocol/command-contract';

describe('DeviceRateLimiter', () => {
  test("a burst, then the sustained rate; one device never spends another device's budget", () => {
    let t = 0;
    const limiter = new DeviceRateLimiter({ burst: 5, perSecond: 2 }, () => t);
    const take = (id: string, n: number) => Array.from({ length: n }, () => limiter.take(id)).filter(Boolean).length;
    expect(take('flood', 100)).toBe(5);
    expect(take('quiet', 5)).toBe(5);
    t += 1_000;
    expect(take('flood', 100)).toBe(2);
    t += 10_000; // refills up to the burst, not beyond
    expect(take('flood', 100)).toBe(5);
  });

  test('a message may cost several tokens (an answer, in a group of bridges): the budget then lets through fewer of them', () => {
    let t = 0;
    const limiter = new DeviceRateLimiter({ burst: 10, perSecond: 2 }, () => t);
    const take = (id: string, n: number, cost: number) => Array.from({ length: n }, () => limiter.take(id, cost)).filter(Boolean).length;
    expect(take('answers', 100, 2)).toBe(5);
    expect(take('answers', 1, 1)).toBe(0); // nothing left, whatever the cost
    t += 1_000; // 2 tokens: one answer at cost 2
    expect(take('answers', 100, 2)).toBe(1);
  });

  test('remembers at most maxDevices devices', () => {
    const limiter = new DeviceRateLimiter({ burst: 1, perSecond: 0.001 }, () => 0, 2);
    expect([limiter.take('a'), limiter.take('b'), limiter.take('c')]).toEqual([true, true, true]);
    expect(limiter.take('a')).toBe(true); // forgotten, so a full bucket again
    expect(limiter.take('c')).toBe(false);
  });
});

describe('DuplicateGuard', () => {
  test('admits the first copies of an answer, then drops the rest; other answers are independent', () => {
    const guard = new DuplicateGuard(3);
    expect(Array.from({ length: 10 }, () => guard.admit('c1', 'ack', 'accepted'))).toEqual([true, true, true, ...Array(7).fill(false)]);
    expect(guard.admit('c1', 'result', 'succeeded')).toBe(true);
    expect(guard.admit('c2', 'ack', 'accepted')).toBe(true);
  });
});

describe('PerKeyOrder', () => {
  test('runs the tasks of one key in order, of different keys in parallel', async () => {
    const order = new PerKeyOrder();
    const log: string[] = [];
    let releaseA!: () => void;
    const gateA = new Promise<void>((r) => (releaseA = r));
    const a1 = order.run('a', async () => (await gateA, log.push('a1')));
    const a2 = order.run('a', async () => log.push('a2'));
    await order.run('b', async () => log.push('b1'));
    expect(log).toEqual(['b1']); // b did not wait for a
    releaseA();
    await Promise.all([a1, a2]);
    expect(log).toEqual(['b1', 'a1', 'a2']);
    await new Promise((r) => setImmediate(r));
    expect(order.pending).toBe(0);
  });

  test('a failing task does not stop the next one of its key', async () => {
    const order = new PerKeyOrder();
    await expect(
      order.run('k', async () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    await expect(order.run('k', async () => 'next')).resolves.toBe('next');
  });
});

const grpcError = (code: number, details = 'x') =>
  Object.assign(new Error(`${code} ${details}`), { cause: Object.assign(new Error(details), { code, details }) });

describe('classifyTemporalError', () => {
  test('transient: unavailable, deadline exceeded, resource exhausted; permanent: invalid argument and the like', () => {
    expect([14, 4, 8].map((c) => classifyTemporalError(grpcError(c)))).toEqual(['transient', 'transient', 'transient']);
    expect([3, 7, 9, 12].map((c) => classifyTemporalError(grpcError(c)))).toEqual(['permanent', 'permanent', 'permanent', 'permanent']);
    expect(classifyTemporalError(new Error('socket hang up'))).toBe('transient');
  });
});

describe('SignalForwarder', () => {
  const message: DeviceMessage = { kind: 'ack', deviceId: 'd1', receivedAt: new Date(0).toISOString(), message: { v: 1, commandId: 'c1', status: 'accepted' } };
  const clientThrowing = (errors: unknown[]) => {
    let calls = 0;
    const client = {
      workflow: {
        getHandle: () => ({
          signal: async () => {
            const e = errors[calls++];
            if (e) throw e;
          },
        }),
      },
    } as unknown as Pick<Client, 'workflow' | 'connection'>;
    return { client, calls: () => calls };
  };

  test('the signal limit (INVALID_ARGUMENT) is refused at once, not retried', async () => {
    const { client, calls } = clientThrowing([grpcError(3, 'exceeded workflow execution limit for signal events')]);
    await expect(new SignalForwarder(client).forward(message)).resolves.toEqual({
      outcome: 'refused',
      detail: 'INVALID_ARGUMENT: exceeded workflow execution limit for signal events',
    });
    expect(calls()).toBe(1);
  });

  test('transient errors are retried until the signal is stored', async () => {
    const { client, calls } = clientThrowing([grpcError(14), grpcError(8)]);
    await expect(new SignalForwarder(client, { maxBackoffMs: 1 }).forward(message)).resolves.toEqual({ outcome: 'signalled' });
    expect(calls()).toBe(3);
  });

  test('a message is never retried past its budget', async () => {
    const { client, calls } = clientThrowing(Array(1_000).fill(grpcError(14, 'down')));
    const outcome = await new SignalForwarder(client, { maxBackoffMs: 5, retryBudgetMs: 50 }).forward(message);
    expect(outcome.outcome).toBe('gave-up');
    expect(calls()).toBeLessThan(1_000);
  });

  test('a closed or unknown workflow is not-running', async () => {
    const { client } = clientThrowing([new WorkflowNotFoundError('not found', 'command-c1', undefined)]);
    await expect(new SignalForwarder(client).forward(message)).resolves.toEqual({ outcome: 'not-running' });
  });
});
