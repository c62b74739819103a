import path from 'node:path';
import { writeFileSync } from 'node:fs';
import { RolloutClient } from '../../client/rollout-client';
import type { RolloutReportRow } from '../../client/rollout-report';
import { rolloutCommandId } from '../../workflows/rollout-command-ids';
import { eventually } from '../support/eventually';
import { testFleets } from '../support/fleets';
import { Harness } from '../support/harness';
import { runCli } from '../support/run-cli';

/**
 * `dco rollout report` (every device's outcome, attempts and times) and `dco rollout retry`
 * (a follow-up rollout to the devices with the given outcomes), from the client and the CLI.
 */
describe('rollout reports and follow-up rollouts', () => {
  const h = new Harness();
  let rollouts: RolloutClient;
  const fleets = testFleets(h, { seed: 11, latencyMs: 10 });
  const fleet = fleets.start;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    await h.start();
    rollouts = new RolloutClient(h.client.temporal, h.taskQueue);
    env = { TEMPORAL_ADDRESS: h.env.temporalAddress, MQTT_URL: h.env.mqttUrl, DCO_TASK_QUEUE: h.taskQueue, DCO_TOPIC_PREFIX: h.topicPrefix };
  });
  afterAll(async () => {
    await fleets.stopAll();
    await h.stop();
  });

  const rowsOf = async (rolloutId: string) => {
    const rows: RolloutReportRow[] = [];
    for await (const row of rollouts.get(rolloutId).report()) rows.push(row);
    return rows.sort((a, b) => a.deviceId.localeCompare(b.deviceId));
  };
  /** Visibility lags the workflows by a moment: the report is complete once every command shows its final state. */
  const reportWhen = (rolloutId: string, accept: (rows: RolloutReportRow[]) => boolean) => eventually(() => rowsOf(rolloutId), accept);

  test("a report has every device's outcome, attempts and times, from the client and as CSV and JSON from the CLI; retry --only failed sends the command again to exactly those devices", async () => {
    const sim = await fleet(10, { failureRate: 0.2 });
    const failing = sim.deviceIds.filter((d) => sim.profile(d)?.failing).sort();
    expect(failing).toHaveLength(2);
    const rolloutId = `rep-${h.id}`;
    const final = await (
      await rollouts.start({
        rolloutId,
        name: 'ping',
        targets: [...sim.deviceIds],
        canary: { count: 2 },
        waves: [{ percent: 100 }],
        abort: { failureShare: 1, minFinished: 1 },
      })
    ).result();
    expect(final.overall).toMatchObject({ succeeded: 8, failed: 2 });

    const rows = await reportWhen(rolloutId, (r) => r.length === 10 && r.every((x) => x.attempts !== undefined));
    expect(rows.map((r) => [r.deviceId, r.commandId, r.state, r.attempts])).toEqual(
      [...sim.deviceIds].sort().map((d) => [d, rolloutCommandId(rolloutId, d), failing.includes(d) ? 'Failed' : 'Succeeded', 1]),
    );
    for (const r of rows) expect(Date.parse(r.endedAt!)).toBeGreaterThanOrEqual(Date.parse(r.startedAt!));

    const csv = await runCli(['rollout', 'report', rolloutId], env);
    expect(csv.code).toBe(0);
    const [header, ...lines] = csv.stdout.trimEnd().split('\n');
    expect(header).toBe('deviceId,commandId,state,attempts,startedAt,endedAt');
    expect(lines.sort()).toEqual(rows.map((r) => `${r.deviceId},${r.commandId},${r.state},1,${r.startedAt},${r.endedAt}`).sort());
    expect(csv.stderr).toContain('10 devices: succeeded 8, failed 2');
    const json = await runCli(['rollout', 'report', rolloutId, '--format', 'json'], env);
    expect((JSON.parse(json.stdout) as RolloutReportRow[]).sort((a, b) => a.deviceId.localeCompare(b.deviceId))).toEqual(rows);

    // Nothing matches: a usage error that says so; an unknown outcome lists the known ones.
    const none = await runCli(['rollout', 'retry', rolloutId, '--only', 'expired,timed-out'], env);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain(`rollout ${rolloutId} has no device whose outcome is expired or timed-out: nothing to retry`);
    expect((await runCli(['rollout', 'retry', rolloutId, '--only', 'broken'], env)).stderr).toContain('unknown outcome "broken"; use created, sent');

    const retried = await runCli(['rollout', 'retry', rolloutId, '--only', 'failed', '--id', `${rolloutId}-again`, '--json'], env);
    expect(retried.code).toBe(0);
    expect(JSON.parse(retried.stdout)).toEqual({ rolloutId: `${rolloutId}-again`, devices: 2 });
    const again = await rollouts.get(`${rolloutId}-again`).result();
    expect(again.targets).toBe(2);
    expect(again.overall).toMatchObject({ failed: 2 }); // the same devices fail the same way again
    expect((await reportWhen(`${rolloutId}-again`, (r) => r.every((x) => x.state === 'Failed'))).map((r) => r.deviceId)).toEqual(failing);
    // Sent again: each failing device executed both rollouts' commands, the others one.
    expect(sim.stats()).toMatchObject({ executions: 12, maxExecutionsPerCommand: 1 });
  });

  test('devices the rollout never reached are NotStarted; a rollout still running cannot be retried; retry --only not-started reaches them', async () => {
    const sim = await fleet(6);
    const rolloutId = `gate-${h.id}`;
    const targets = [...sim.deviceIds];
    const handle = await rollouts.start({ rolloutId, name: 'ping', targets, canary: { count: 2 }, waves: [{ percent: 100 }], approvalAfter: [0] });
    await eventually(
      () => handle.status(),
      (s) => s.state === 'await-approval',
    );
    const running = await runCli(['rollout', 'retry', rolloutId, '--only', 'not-started'], env);
    expect(running.code).toBe(2);
    expect(running.stderr).toContain(`rollout ${rolloutId} is still running`);
    await handle.cancel('test: stop at the gate');
    expect((await handle.result()).state).toBe('cancelled');

    const rows = await reportWhen(rolloutId, (r) => r.filter((x) => x.state === 'Succeeded').length === 2);
    expect(rows.map((r) => r.state).sort()).toEqual(['NotStarted', 'NotStarted', 'NotStarted', 'NotStarted', 'Succeeded', 'Succeeded']);
    const notStarted = rows.filter((r) => r.state === 'NotStarted');
    expect(notStarted.every((r) => r.commandId === undefined && r.attempts === undefined)).toBe(true);
    // The canary is the first two targets.
    expect(rows.filter((r) => r.state === 'Succeeded').map((r) => r.deviceId)).toEqual(targets.slice(0, 2).sort());

    const { handle: followUp, devices } = await rollouts.retry(rolloutId, ['NotStarted']);
    expect(devices).toEqual(targets.slice(2)); // in the original order
    // The same settings, its approval gate included.
    await eventually(
      () => followUp.status(),
      (s) => s.state === 'await-approval',
    );
    await followUp.approve();
    expect((await followUp.result()).overall).toMatchObject({ succeeded: 4 });
    writeFileSync(path.join(h.dir, 'follow-up.txt'), followUp.rolloutId); // for a reader of the test's data dir
  });
});
