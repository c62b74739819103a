import { ServiceError, type WorkflowHandle } from '@temporalio/client';
import { RolloutHandle, STATUS_QUERY_TRIES } from '../../client/rollout-client';
import type { RolloutStatusView } from '../../protocol/rollout-contract';
import type { rolloutWorkflow } from '../../workflows/rollout-workflow';

/**
 * RolloutHandle.status() while the server fails the status query for a moment (a rollout that
 * just continued as new, a busy worker): `dco rollout start --wait` and the bench follow a
 * rollout by polling it, and died of one failed query while the rollout went on.
 */
describe('RolloutHandle.status', () => {
  const view = { rolloutId: 'r1', state: 'running' } as unknown as RolloutStatusView;

  function handleFailing(failures: Error[]) {
    const calls = { describe: 0, query: 0 };
    const fake = {
      workflowId: 'rollout-r1',
      describe: async () => (calls.describe++, { status: { name: 'RUNNING' } }),
      query: async () => {
        calls.query++;
        const err = failures.shift();
        if (err) throw err;
        return view;
      },
      result: async () => view,
    };
    return { handle: new RolloutHandle('r1', fake as unknown as WorkflowHandle<typeof rolloutWorkflow>), calls };
  }

  test('a query the server fails is asked again, and the status comes back', async () => {
    const { handle, calls } = handleFailing([new ServiceError('Failed to query Workflow'), new ServiceError('Failed to query Workflow')]);
    await expect(handle.status()).resolves.toBe(view);
    expect(calls).toEqual({ describe: 3, query: 3 });
  });

  test(`it gives up after ${STATUS_QUERY_TRIES} tries, with the server's error`, async () => {
    const { handle, calls } = handleFailing(Array.from({ length: STATUS_QUERY_TRIES }, () => new ServiceError('Failed to query Workflow')));
    await expect(handle.status()).rejects.toThrow('Failed to query Workflow');
    expect(calls.query).toBe(STATUS_QUERY_TRIES);
  });

  test('any other error (a bug, a refused query) is not asked again', async () => {
    const { handle, calls } = handleFailing([new TypeError('boom')]);
    await expect(handle.status()).rejects.toThrow('boom');
    expect(calls.query).toBe(1);
  });
});
