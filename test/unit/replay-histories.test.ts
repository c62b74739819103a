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
/** Histories of earlier code (commands before the `lean-history` patch, rollouts before `rampUp`): they must keep replaying. */
const EARLIER = 'earlier-versions';
const jsonIn = (d: string) =>
  readdirSync(path.join(dir, d))
    .filter((f) => f.endsWith('.json'))
    .map((f) => path.join(d, f));
const files = [...jsonIn('.'), ...jsonIn(EARLIER)];
const load = (f: string) => historyFromJSON(JSON.parse(readFileSync(path.join(dir, f), 'utf8')));
const isRollout = (f: string) => path.basename(f).startsWith('rollout-');
const isDevice = (f: string) => path.basename(f).startsWith('device-');
const isTemplate = (f: string) => path.basename(f).startsWith('template-');
const isGroup = (f: string) => path.basename(f).startsWith('group-');
const isCommand = (f: string) => !isRollout(f) && !isDevice(f) && !isTemplate(f) && !isGroup(f) && !path.basename(f).startsWith('late-answers-');

/**
 * The workflow ID the history ran under: a command checks that its ID is command-<commandId>,
 * so it is derived from the input (a history does not record its own ID). Others: the file.
 */
function workflowIdOf(history: ReturnType<typeof load>, file: string): string {
  const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
  const type = started?.workflowType?.name;
  if (type !== 'commandWorkflow' && type !== 'deviceWorkflow') return file;
  const payload = started?.input?.payloads?.[0]?.data;
  const input = payload ? (JSON.parse(Buffer.from(payload).toString('utf8')) as { commandId?: unknown; deviceId?: unknown }) : undefined;
  // A device entity checks that its ID is device-<deviceId> the same way.
  if (type === 'deviceWorkflow') return typeof input?.deviceId === 'string' ? `device-${input.deviceId}` : file;
  return typeof input?.commandId === 'string' ? `command-${input.commandId}` : file;
}

describe('replay of recorded command histories', () => {
  const workflowBundle = () => ({ codePath: testEnv().bundlePath });

  test('there are recorded histories of every workflow (commands, rollouts and their lanes, late answers, device entities, templates, groups), for every terminal state, before and after the patch', () => {
    const current = files.filter((f) => !f.startsWith(EARLIER));
    expect(current.filter(isCommand).length).toBeGreaterThanOrEqual(10);
    expect(current.filter(isRollout).length).toBeGreaterThanOrEqual(5);
    expect(current.filter((f) => path.basename(f).startsWith('rollout-lane-')).length).toBeGreaterThanOrEqual(2);
    expect(current.filter((f) => path.basename(f).startsWith('rollout-lanes-')).length).toBeGreaterThanOrEqual(2);
    expect(files.filter((f) => f.startsWith(EARLIER) && isCommand(f)).length).toBeGreaterThanOrEqual(10);
    expect(files.filter((f) => f.startsWith(EARLIER) && isRollout(f)).length).toBeGreaterThanOrEqual(5);
    expect(current.filter((f) => path.basename(f).startsWith('late-answers-')).length).toBeGreaterThanOrEqual(2);
    expect(current.filter(isDevice).length).toBeGreaterThanOrEqual(2);
    expect(current.filter(isTemplate).length).toBeGreaterThanOrEqual(1);
    expect(current.filter(isGroup).length).toBeGreaterThanOrEqual(1);
  });

  test.each(files)('%s replays without divergence', async (file) => {
    const history = load(file);
    await Worker.runReplayHistory({ workflowBundle: workflowBundle() }, history, workflowIdOf(history, file));
  });

  test('a history that does not match the code is detected (publish as a local activity)', async () => {
    const history = load('succeeded.json');
    // Pretend an older version of the code ran a different local activity first.
    const marker = history.events!.find((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity')!;
    const data = marker.markerRecordedEventAttributes!.details!.data.payloads![0];
    const decoded = JSON.parse(Buffer.from(data.data!).toString('utf8'));
    data.data = Buffer.from(JSON.stringify({ ...decoded, activity_type: 'sendSms' }));
    await expect(Worker.runReplayHistory({ workflowBundle: workflowBundle() }, history, workflowIdOf(history, 'tampered'))).rejects.toThrow(
      DeterminismViolationError,
    );
  });

  test('a history that does not match the code is detected (before the patch: a regular activity)', async () => {
    const history = load(path.join(EARLIER, 'succeeded.json'));
    const scheduled = history.events!.find((e) => e.activityTaskScheduledEventAttributes)!;
    scheduled.activityTaskScheduledEventAttributes!.activityType = { name: 'sendSms' };
    await expect(Worker.runReplayHistory({ workflowBundle: workflowBundle() }, history, workflowIdOf(history, 'tampered'))).rejects.toThrow(
      DeterminismViolationError,
    );
  });
});
