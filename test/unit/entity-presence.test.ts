import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { EntityPresence } from '../../activities/entity-presence';

/** Which entity answers count: ours (its task queue), with a well-formed presence memo. A fake describe, nothing else. */
function fakeClient(answer: () => Promise<unknown>): Pick<Client, 'workflow' | 'withDeadline'> {
  return {
    workflow: { getHandle: () => ({ describe: answer }) } as unknown as Client['workflow'],
    withDeadline: <R>(_deadline: number | Date, fn: () => Promise<R>) => fn(),
  };
}
const memo = { presence: { state: 'offline', bootId: 'b1', observedAt: '2026-02-04T10:00:00.000Z' } };

describe('presence read from the device entity', () => {
  test("this deployment's entity: its memo", async () => {
    const p = new EntityPresence(
      fakeClient(async () => ({ taskQueue: 'q-devices', memo })),
      'q-devices',
    );
    expect(await p.get('d1')).toEqual({ deviceId: 'd1', state: 'offline', bootId: 'b1', observedAt: '2026-02-04T10:00:00.000Z' });
  });

  test('an entity of another deployment (another task queue) with the same device ID: not known', async () => {
    const p = new EntityPresence(
      fakeClient(async () => ({ taskQueue: 'other-devices', memo })),
      'q-devices',
    );
    expect(await p.get('d1')).toBeUndefined();
  });

  test('no memo (an entity from before it), a malformed one, no entity, or Temporal failing: not known', async () => {
    const logged: string[] = [];
    const log = (m: string) => void logged.push(m);
    expect(
      await new EntityPresence(
        fakeClient(async () => ({ taskQueue: 'q-devices', memo: {} })),
        'q-devices',
      ).get('d1'),
    ).toBeUndefined();
    expect(
      await new EntityPresence(
        fakeClient(async () => ({ taskQueue: 'q-devices', memo: { presence: { state: 'asleep' } } })),
        'q-devices',
      ).get('d1'),
    ).toBeUndefined();
    expect(
      await new EntityPresence(
        fakeClient(async () => Promise.reject(new WorkflowNotFoundError('gone', 'device-d1', undefined))),
        'q-devices',
        log,
      ).get('d1'),
    ).toBeUndefined();
    expect(logged).toEqual([]); // no entity is normal: a device that never sent a status
    expect(
      await new EntityPresence(
        fakeClient(async () => Promise.reject(new Error('unavailable'))),
        'q-devices',
        log,
      ).get('d1'),
    ).toBeUndefined();
    expect(logged).toHaveLength(1);
  });
});
