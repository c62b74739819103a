import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { DeterminismViolationError } from '@temporalio/workflow';
import { Worker } from '@temporalio/worker';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { testEnv } from '../setup/test-env';

/**
 * Histories recorded from real runs (one per path through the command and rollout workflows) must replay
 * against today's workflow code. A failure here means a change is not deterministic for
 * commands already running in production: use `patched()` or a new workflow type.
 * Refresh them with `npm run record:histories` only when the change is deliberate.
 */
const dir = path.join(__dirname, '..', 'replay', 'histories');
const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
const load = (f: string) => historyFromJSON(JSON.parse(readFileSync(path.join(dir, f), 'utf8')));

describe('replay of recorded command histories', () => {
  const workflowBundle = () => ({ codePath: testEnv().bundlePath });

  test('there are recorded histories of both workflows, for every terminal state', () => {
    expect(files.filter((f) => !f.startsWith('rollout-')).length).toBeGreaterThanOrEqual(10);
    expect(files.filter((f) => f.startsWith('rollout-')).length).toBeGreaterThanOrEqual(5);
  });

  test.each(files)('%s replays without divergence', async (file) => {
    await Worker.runReplayHistory({ workflowBundle: workflowBundle() }, load(file), file);
  });

  test('a history that does not match the code is detected', async () => {
    const history = load('succeeded.json');
    // Pretend an older version of the code scheduled a different activity first.
    const scheduled = history.events!.find((e) => e.activityTaskScheduledEventAttributes)!;
    scheduled.activityTaskScheduledEventAttributes!.activityType = { name: 'sendSms' };
    await expect(Worker.runReplayHistory({ workflowBundle: workflowBundle() }, history, 'tampered')).rejects.toThrow(
      DeterminismViolationError,
    );
  });
});
