import path from 'node:path';
import { writeFileSync } from 'node:fs';
import { RolloutClient } from '../../client/rollout-client';
import type { RolloutReportRow } from '../../client/rollout-report';
import type { RolloutStatusView } from '../../protocol/rollout-contract';
import { eventually } from '../support/eventually';
import { testFleets } from '../support/fleets';
import { Harness } from '../support/harness';
import { runCli } from '../support/run-cli';

/** Rate shapes, abort rules beyond one failure share, and schedules: an exponential rate, thresholds per outcome, start and end times. */
describe('rollout rate ramps, abort thresholds per outcome and schedules', () => {
  const h = new Harness();
  let rollouts: RolloutClient;
  const fleets = testFleets(h, { seed: 3, latencyMs: 5 });
  const fleet = fleets.start;
  beforeAll(async () => {
    await h.start();
    const client = new RolloutClient(h.client.temporal, h.taskQueue);
    // Rollouts are replayed at the end like commands (Harness.stop), and recorded with RECORD_HISTORIES.
    rollouts = Object.assign(Object.create(client) as RolloutClient, {
      start: async (spec: Parameters<RolloutClient['start']>[0]) => {
        const r = await client.start(spec);
        if (!h.started.includes(r.workflowId)) h.started.push(r.workflowId);
        return r;
      },
    });
  });
  afterAll(async () => {
    await fleets.stopAll();
    await h.stop();
  });

  /**
   * When the rollout decided to start each child, on its own workflow clock: the start of the
   * workflow task that initiated it (what its rate limiter reads). The first initiation per child.
   */
  async function childStartsOnWorkflowClock(workflowId: string): Promise<number[]> {
    const history = await h.client.temporal.workflow.getHandle(workflowId).fetchHistory();
    const first = new Map<string, number>();
    let taskStarted = 0;
    for (const event of history.events ?? []) {
      if (event.workflowTaskStartedEventAttributes)
        taskStarted = Number(event.eventTime?.seconds ?? 0) * 1000 + Math.floor((event.eventTime?.nanos ?? 0) / 1e6);
      const child = event.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId;
      if (child && !first.has(child)) first.set(child, taskStarted);
    }
    return [...first.values()].sort((a, b) => a - b);
  }

  test('an exponential rate starts slow and speeds up as devices succeed, up to its ceiling', async () => {
    const sim = await fleet(24);
    const rolloutId = `ramp-${h.id}`;
    const started = await rollouts.start({
      rolloutId,
      name: 'ping',
      targets: [...sim.deviceIds],
      canary: { count: 24 },
      waves: [{ percent: 100 }],
      rampUp: false,
      ratePerMinute: 60,
      rateRamp: { factor: 4, everySucceeded: 4, maxPerMinute: 960 },
    });
    const final = await started.result();
    expect(final.state).toBe('done');
    expect(final.overall.succeeded).toBe(24);
    expect(final.ratePerMinute).toBe(960); // 60 × 4^6, capped
    const starts = await childStartsOnWorkflowClock(started.workflowId);
    expect(starts).toHaveLength(24);
    // At 1/s (a bucket of one), the first four starts are 3 s apart on the parent's own clock
    // whatever the machine's speed (the children's server start times are not: a busy parent
    // delays one child's start and not the next). The ramp then lets the other 20 start far
    // faster than 1/s would (20 s).
    expect(starts[3] - starts[0]).toBeGreaterThanOrEqual(3_000);
    expect(sim.stats()).toMatchObject({ executions: 24, maxExecutionsPerCommand: 1 });
  });

  test('`--abort-on rejected=0` stops a rollout at the first refusal, though the failure share would allow it', async () => {
    const sim = await fleet(40, { rejectRate: 0.1 });
    const rejecting = sim.deviceIds.filter((d) => sim.profile(d)?.rejecting);
    expect(rejecting).toHaveLength(4);
    const file = path.join(h.dir, 'shapes-targets.txt');
    writeFileSync(file, sim.deviceIds.join('\n'));
    const env = { TEMPORAL_ADDRESS: h.env.temporalAddress, MQTT_URL: h.env.mqttUrl, DCO_TASK_QUEUE: h.taskQueue, DCO_TOPIC_PREFIX: h.topicPrefix };
    const id = `abort-on-${h.id}`;
    // --concurrency 1: one device at a time, so the first refusal is the last command it starts.
    const run = await runCli(
      [
        'rollout',
        'start',
        'ping',
        '--targets',
        file,
        '--id',
        id,
        '--canary',
        '100%',
        '--waves',
        '100%',
        '--concurrency',
        '1',
        '--no-ramp-up',
        '--no-adaptive',
        '--abort-at',
        '100%',
        '--min-finished',
        '1',
        '--abort-on',
        'rejected=0',
        '--wait',
        '--json',
      ],
      env,
      undefined,
      110_000,
    );
    expect(run.code).toBe(1);
    const final = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as RolloutStatusView;
    expect(final.state).toBe('aborted');
    expect(final.overall.rejected).toBe(1);
    expect(final.abortReason).toMatch(/^wave canary: 1 of \d+ finished commands were rejected \(\d+(\.\d+)?% > 0%, the limit for rejected\)$/);
    // Exactly the devices up to the first rejecting one were reached.
    const firstRejecting = sim.deviceIds.findIndex((d) => rejecting.includes(d));
    expect(final.overall.succeeded).toBe(firstRejecting);
    expect(final.overall.pending).toBe(40 - firstRejecting - 1);
  }, 120_000);

  const reportOf = async (rolloutId: string, accept: (rows: RolloutReportRow[]) => boolean) =>
    eventually(async () => {
      const all: RolloutReportRow[] = [];
      for await (const r of rollouts.get(rolloutId).report()) all.push(r);
      return all;
    }, accept);

  test('nothing starts before startAt: the rollout waits in wait-start, then runs', async () => {
    const sim = await fleet(4);
    const startAt = new Date(Date.now() + 6_000).toISOString().replace(/\.\d+Z$/, 'Z');
    const rolloutId = `later-${h.id}`;
    const handle = await rollouts.start({ rolloutId, name: 'ping', targets: [...sim.deviceIds], canary: { count: 4 }, waves: [{ percent: 100 }], startAt });
    await eventually(
      () => handle.status(),
      (s) => s.state === 'wait-start',
      5_000,
    );
    const final = await handle.result();
    expect(final).toMatchObject({ state: 'done', overall: { succeeded: 4 } });
    const rows = await reportOf(rolloutId, (r) => r.length === 4 && r.every((x) => x.startedAt));
    for (const r of rows) expect(Date.parse(r.startedAt!)).toBeGreaterThanOrEqual(Date.parse(startAt));
  });

  test('at endAt no new command starts; with cancel-in-flight the devices are asked to stop those running, and confirm', async () => {
    // Every device takes a minute per command: the end time comes while the first two run.
    const sim = await fleet(6, { slowRate: 1, slowLatencyMs: 60_000 });
    const rolloutId = `ends-${h.id}`;
    const endAt = new Date(Date.now() + 4_000).toISOString();
    const final = await (
      await rollouts.start({
        rolloutId,
        name: 'ping',
        targets: [...sim.deviceIds],
        canary: { count: 6 },
        waves: [{ percent: 100 }],
        concurrency: 2,
        rampUp: false,
        adaptive: false,
        endAt,
        endBehaviour: 'cancel-in-flight',
      })
    ).result();
    expect(final.state).toBe('cancelled');
    expect(final.cancelReason).toBe(`end time ${endAt} reached: no new commands were started, commands in flight were cancelled`);
    expect(final.overall).toMatchObject({ cancelled: 2, pending: 4, inFlight: 0 });
    const rows = await reportOf(rolloutId, (r) => r.filter((x) => x.state === 'Cancelled').length === 2);
    expect(rows.map((r) => r.state).sort()).toEqual(['Cancelled', 'Cancelled', 'NotStarted', 'NotStarted', 'NotStarted', 'NotStarted']);
    expect(
      rows
        .filter((r) => r.state === 'Cancelled')
        .map((r) => r.deviceId)
        .sort(),
    ).toEqual(sim.deviceIds.slice(0, 2).sort());
  });

  test('at endAt with the default behaviour the commands in flight finish and count', async () => {
    const sim = await fleet(6, { slowRate: 1, slowLatencyMs: 5_000 });
    const rolloutId = `stops-${h.id}`;
    const endAt = new Date(Date.now() + 2_000).toISOString();
    const final = await (
      await rollouts.start({
        rolloutId,
        name: 'ping',
        targets: [...sim.deviceIds],
        canary: { count: 6 },
        waves: [{ percent: 100 }],
        concurrency: 2,
        rampUp: false,
        adaptive: false,
        endAt,
      })
    ).result();
    expect(final.state).toBe('cancelled');
    expect(final.cancelReason).toBe(`end time ${endAt} reached: no new commands were started, commands in flight were left to finish`);
    expect(final.overall).toMatchObject({ succeeded: 2, pending: 4, inFlight: 0 });
  });

  test('a maintenance window: nothing starts before it opens; then the devices get the command within it', async () => {
    const sim = await fleet(4);
    // A window once a minute, at a second at least 8 s from now, open for 30 s (6 fields: seconds first).
    const opensAt = new Date(Math.ceil((Date.now() + 8_000) / 1000) * 1000);
    const window = { cron: `${opensAt.getUTCSeconds()} * * * * *`, durationMs: 30_000, timeZone: 'UTC' };
    const rolloutId = `window-${h.id}`;
    const handle = await rollouts.start({ rolloutId, name: 'ping', targets: [...sim.deviceIds], canary: { count: 4 }, waves: [{ percent: 100 }], window });
    await eventually(
      () => handle.status(),
      (s) => s.state === 'wait-window',
      7_000,
    );
    expect((await handle.status()).overall.pending).toBe(4);
    const final = await handle.result();
    expect(final).toMatchObject({ state: 'done', overall: { succeeded: 4 } });
    const rows = await reportOf(rolloutId, (r) => r.length === 4 && r.every((x) => x.startedAt));
    // The rollout decides to start a command only inside the window: no command exists before it opened.
    for (const r of rows) expect(Date.parse(r.startedAt!)).toBeGreaterThanOrEqual(opensAt.getTime());
  });
});
