import { WorkflowNotFoundError } from '@temporalio/client';
import { RolloutClient } from '../../client/rollout-client';
import { rolloutWorkflowId, type RolloutStatusView } from '../../protocol/rollout-contract';
import type { RolloutLaneSummary } from '../../workflows/rollout-lane-workflow';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { eventually } from '../support/eventually';
import { testFleets } from '../support/fleets';
import { Harness } from '../support/harness';
import { runCli } from '../support/run-cli';

const GRPC_NOT_FOUND = 5;

/** Rollouts whose commands are started by lane workflows (RolloutSpec.lanes), not by the rollout itself. */
describe('rollout lanes', () => {
  const h = new Harness();
  let rollouts: RolloutClient;
  const fleets = testFleets(h, { seed: 11 });
  const laneId = (rolloutId: string, lane: number, run = 0) => `${rolloutWorkflowId(rolloutId)}.lane-${lane}.run-${run}`;
  /** Rollouts and their lanes are replayed at the end like commands (Harness.stop), and recorded with RECORD_HISTORIES. */
  const replayLater = (...ids: string[]) => ids.forEach((id) => h.started.includes(id) || h.started.push(id));
  beforeAll(async () => {
    await h.start();
    const client = new RolloutClient(h.client.temporal, h.taskQueue);
    rollouts = Object.assign(Object.create(client) as RolloutClient, {
      start: async (spec: Parameters<RolloutClient['start']>[0]) => {
        const r = await client.start(spec);
        replayLater(r.workflowId);
        return r;
      },
    });
  });
  afterAll(async () => {
    await fleets.stopAll();
    await h.stop();
  });

  test('three lanes start every command once, a batch shared between them, and the rollout counts every end', async () => {
    const sim = await fleets.start(60);
    const rolloutId = `lanes-${h.id}`;
    // No ramp-up, no adaptive limit: the canary (6) is one batch, the wave (54) the next.
    const final = await (
      await rollouts.start({
        rolloutId,
        name: 'ping',
        targets: [...sim.deviceIds],
        canary: { count: 6 },
        waves: [{ percent: 100 }],
        concurrency: 60,
        rampUp: false,
        adaptive: false,
        lanes: 3,
      })
    ).result();
    expect(final.state).toBe('done');
    expect(final.overall).toMatchObject({ succeeded: 60, pending: 0, inFlight: 0 });
    expect(sim.stats()).toMatchObject({ executions: 60, maxExecutionsPerCommand: 1 });

    // The rollout's run ended, so its lanes were asked to stop, and they end with what they did:
    // the canary went to lane 1 whole (below a part's minimum), the wave in three equal parts.
    const lanes = [1, 2, 3].map((k) => laneId(rolloutId, k));
    replayLater(...lanes);
    const summaries = await Promise.all(lanes.map((id) => h.client.temporal.workflow.getHandle(id).result() as Promise<RolloutLaneSummary>));
    expect(summaries).toEqual([
      { started: 24, reported: 24 },
      { started: 18, reported: 18 },
      { started: 18, reported: 18 },
    ]);
    // Each command is a child of a lane, and the rollout started none itself.
    for (const deviceId of [sim.deviceIds[0], sim.deviceIds[59]]) {
      const command = await h.client.temporal.workflow.getHandle(`command-${rolloutId}.${deviceId}`).describe();
      expect(command.parentExecution?.workflowId).toMatch(new RegExp(`^${rolloutWorkflowId(rolloutId)}\\.lane-[123]\\.run-0$`));
    }
    const history = await h.client.temporal.workflow.getHandle(rolloutWorkflowId(rolloutId)).fetchHistory();
    const childTypes = (history.events ?? []).flatMap((e) => e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowType?.name ?? []);
    expect(childTypes).toEqual(['rolloutLaneWorkflow', 'rolloutLaneWorkflow', 'rolloutLaneWorkflow']);
  });

  test('a lane terminated with commands in flight: the rollout takes them over, and every device still runs its command once', async () => {
    // Slow devices (4-12 s per command): the lane is stopped long before its commands end.
    const sim = await fleets.start(30, { latencyMs: 8_000 });
    const rolloutId = `lane-lost-${h.id}`;
    const started = await rollouts.start({
      rolloutId,
      name: 'ping',
      targets: [...sim.deviceIds],
      canary: { count: 2 },
      waves: [{ percent: 100 }],
      concurrency: 30,
      rampUp: false,
      adaptive: false,
      lanes: 2,
    });
    // The wave's 28 go 14 and 14 to lanes 1 and 2. Lane 2 is stopped once it has started its
    // 14 (a device takes at least 4 s to answer, so all are in flight).
    const lane2 = h.client.temporal.workflow.getHandle(laneId(rolloutId, 2));
    const childrenStarted = () =>
      lane2.fetchHistory().then(
        (history) => (history.events ?? []).filter((e) => e.childWorkflowExecutionStartedEventAttributes).length,
        // Not started yet: gRPC's NOT_FOUND (fetchHistory does not map it to WorkflowNotFoundError).
        (err: unknown) => ((err as { code?: number }).code === GRPC_NOT_FOUND ? 0 : Promise.reject(err)),
      );
    await eventually(childrenStarted, (n) => n === 14);
    await lane2.terminate('an operator stopped a lane');
    const final = await started.result();
    expect(final.state).toBe('done');
    expect(final.overall).toMatchObject({ succeeded: 30, pending: 0, inFlight: 0 });
    expect(sim.stats()).toMatchObject({ executions: 30, maxExecutionsPerCommand: 1 });
    // The rollout took the lane's 14 over: each start found the command running, so it waited
    // for its end instead of sending it again.
    const events = (await h.client.temporal.workflow.getHandle(rolloutWorkflowId(rolloutId)).fetchHistory()).events ?? [];
    const count = (pick: (e: (typeof events)[number]) => boolean) => events.filter(pick).length;
    expect(count((e) => e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowType?.name === 'commandWorkflow')).toBe(14);
    expect(count((e) => e.startChildWorkflowExecutionFailedEventAttributes !== null && e.startChildWorkflowExecutionFailedEventAttributes !== undefined)).toBe(
      14,
    );
    expect(count((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'awaitCommandOutcome')).toBe(14);
    replayLater(laneId(rolloutId, 1));
  });

  test('the CLI: DCO_ROLLOUT_LANES sets the lanes of every rollout it starts, --lanes overrides it', async () => {
    const sim = await fleets.start(12);
    const file = path.join(h.dir, 'lanes-targets.txt');
    writeFileSync(file, sim.deviceIds.join('\n'));
    const env = { TEMPORAL_ADDRESS: h.env.temporalAddress, MQTT_URL: h.env.mqttUrl, DCO_TASK_QUEUE: h.taskQueue, DCO_TOPIC_PREFIX: h.topicPrefix };
    const start = async (id: string, extra: string[], lanes: string) => {
      const args = ['rollout', 'start', 'ping', '--targets', file, '--id', id, '--canary', '1', '--waves', '100%', ...extra, '--wait', '--json'];
      const run = await runCli(args, { ...env, DCO_ROLLOUT_LANES: lanes });
      expect(run.code).toBe(0);
      expect((JSON.parse(run.stdout.trim().split('\n').at(-1)!) as RolloutStatusView).overall.succeeded).toBe(12);
      replayLater(rolloutWorkflowId(id));
    };
    const lanesOf = async (id: string) => {
      const history = await h.client.temporal.workflow.getHandle(rolloutWorkflowId(id)).fetchHistory();
      return (history.events ?? []).filter((e) => e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowType?.name === 'rolloutLaneWorkflow').length;
    };
    await start(`cli-env-${h.id}`, [], '2');
    // The ramp-up's first 10 of the wave are one batch: 8 to lane 1, 2 to lane 2.
    expect(await lanesOf(`cli-env-${h.id}`)).toBe(2);
    await start(`cli-flag-${h.id}`, ['--lanes', '1'], '2');
    expect(await lanesOf(`cli-flag-${h.id}`)).toBe(0);
    // Two rollouts (two IDs) of the same 12 devices: each command once.
    expect(sim.stats()).toMatchObject({ executions: 24, maxExecutionsPerCommand: 1 });
  });

  test('odd signals to a rollout and its lane (anyone may signal a workflow) change nothing: the rollout counts what its devices did', async () => {
    const sim = await fleets.start(16, { latencyMs: 3_000 });
    const rolloutId = `odd-signals-${h.id}`;
    const started = await rollouts.start({
      rolloutId,
      name: 'ping',
      targets: [...sim.deviceIds],
      canary: { count: 16 },
      waves: [{ percent: 100 }],
      concurrency: 16,
      rampUp: false,
      adaptive: false,
      lanes: 2,
    });
    const rollout = h.client.temporal.workflow.getHandle(rolloutWorkflowId(rolloutId));
    const lane1 = h.client.temporal.workflow.getHandle(laneId(rolloutId, 1));
    await eventually(
      () =>
        lane1.describe().then(
          () => true,
          (err: unknown) => (err instanceof WorkflowNotFoundError ? false : Promise.reject(err)),
        ),
      (exists) => exists,
    );
    // Before the fix each of these failed the receiver's workflow task at every retry: the rollout never ended.
    for (const payload of [null, [null], 'garbage', [{ target: 'x', state: 'Failed' }], [{ target: 3, state: 'Exploded' }]]) {
      await rollout.signal('commandsEnded' as never, payload as never);
      await lane1.signal('startCommands' as never, payload as never);
    }
    await lane1.signal('startCommands' as never, [{ target: 0, deviceId: 'not a device', expiresAt: 'soon', startedAtMs: 0 }] as never);
    const final = await started.result();
    expect(final.state).toBe('done');
    expect(final.overall).toMatchObject({ succeeded: 16, failed: 0, pending: 0, inFlight: 0 });
    expect(sim.stats()).toMatchObject({ executions: 16, maxExecutionsPerCommand: 1 });
  });
});
