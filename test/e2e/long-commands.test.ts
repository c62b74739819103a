import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { COMMAND_WORKFLOW_TYPE, commandWorkflowId, type CommandRequest, type CommandSnapshot } from '../../protocol/command-contract';
import { DeviceIdAttribute } from '../../protocol/search-attributes';
import { eventually } from '../support/eventually';
import { Harness } from '../support/harness';

/**
 * A command may wait for its device for up to 30 days; Temporal stops a run at 51,200 history
 * events. The command workflow continues as new past `tuning.maxHistoryEvents` (10,000 by
 * default), carrying its whole record. Here the bound is 40 events and the offline re-check
 * 1 s, so a few seconds offline stand for weeks.
 */
describe('long commands continue as new', () => {
  const h = new Harness();
  beforeAll(() => h.start());
  afterAll(() => h.stop());

  const start = async (request: CommandRequest) => {
    const workflowId = commandWorkflowId(request.commandId);
    await h.client.temporal.workflow.start(COMMAND_WORKFLOW_TYPE, {
      workflowId,
      taskQueue: h.taskQueue,
      args: [request],
      typedSearchAttributes: [{ key: DeviceIdAttribute, value: request.deviceId }],
    });
    h.started.push(workflowId);
    return h.client.get(request.commandId);
  };
  const request = (commandId: string, deviceId: string): CommandRequest => ({
    commandId,
    deviceId,
    name: 'ping',
    params: {},
    expiresAt: new Date(Date.now() + 10 * 60_000).toISOString(),
    options: { ackTimeoutMs: 10_000, resultTimeoutMs: 60_000, maxAttempts: 3, backoff: { initialMs: 1_000, maxMs: 1_000, multiplier: 2, jitter: 0 } },
    tuning: { presenceRecheckMs: 1_000, maxHistoryEvents: 40 },
  });
  const notes = (s: CommandSnapshot, event: string) => s.history.filter((e) => e.event === event).length;

  test('offline for many re-checks: the command continues as new twice or more, keeps its record, and Succeeds when the device returns', async () => {
    const device = await h.startDevice('patient-1', { ping: async () => ({ waited: true }) });
    await device.stop(); // retained status: offline
    const handle = await start(request(`patient-1.ping.${h.id}`, 'patient-1'));
    const firstRun = (await h.client.temporal.workflow.getHandle(handle.workflowId).describe()).runId;
    await eventually(
      () => handle.state(),
      (s) => notes(s, 'continued-as-new') >= 2,
      90_000,
    );
    const latest = await h.client.temporal.workflow.getHandle(handle.workflowId).describe();
    expect(latest.runId).not.toBe(firstRun);
    expect(latest.typedSearchAttributes.get(DeviceIdAttribute)).toBe('patient-1'); // the bridge finds the new run by it
    expect(latest.historyLength).toBeLessThanOrEqual(40 + 20);

    await h.startDevice('patient-1', { ping: async () => ({ waited: true }) }); // back online: the bridge wakes the latest run
    const outcome = await handle.result();
    expect(outcome.state).toBe('Succeeded');
    expect(outcome.output).toEqual({ waited: true });
    // Waiting offline used no attempt, in any run: dozens of re-checks, at most two publishes
    // (the re-check that finds the device back, and the re-publish its online status may add
    // when it reaches the command after that publish).
    expect(outcome.attempts).toBeLessThanOrEqual(2);
    expect(outcome.history[0].event).toBe('created'); // the whole record came along
    expect(notes(outcome, 'continued-as-new')).toBeGreaterThanOrEqual(2);

    // The harness replays the last run at the end; the first one, which ended by continuing as
    // new, is replayed here (and kept when recording histories).
    const first = await h.client.temporal.workflow.getHandle(handle.workflowId, firstRun).fetchHistory();
    expect(first.events?.at(-1)?.workflowExecutionContinuedAsNewEventAttributes).toBeTruthy();
    await Worker.runReplayHistory({ workflowBundle: { codePath: h.env.bundlePath } }, first, handle.workflowId);
    if (process.env.RECORD_HISTORIES) {
      mkdirSync(process.env.RECORD_HISTORIES, { recursive: true });
      writeFileSync(path.join(process.env.RECORD_HISTORIES, 'continued-as-new-first-run.json'), historyToJSON(first) + '\n');
    }
  }, 120_000);

  test('an invalid tuning or a forged continuation ends the command at once as Rejected', async () => {
    const bad = await start({ ...request(`tuned-badly.${h.id}`, 'patient-2'), tuning: { maxHistoryEvents: 5 } });
    expect(await bad.result()).toMatchObject({
      state: 'Rejected',
      reason: expect.stringMatching(/^invalid request: tuning.maxHistoryEvents must be a whole number from 30/),
    });
    const forged = await start({
      ...request(`forged.${h.id}`, 'patient-3'),
      continued: {
        record: { commandId: 'someone-else', deviceId: 'x', history: [] } as unknown as CommandSnapshot,
        runs: 1,
        unanswered: 0,
        presenceRepublishes: 0,
        presenceBudgetNoted: false,
      },
    });
    expect(await forged.result()).toMatchObject({
      state: 'Rejected',
      reason: expect.stringMatching(/^invalid request: continued is set only by the command workflow/),
    });
  });
});
