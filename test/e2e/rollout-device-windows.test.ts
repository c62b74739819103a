import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { RolloutClient } from '../../client/rollout-client';
import { deviceWorkflowId } from '../../protocol/device-contract';
import { rolloutWorkflowId } from '../../protocol/rollout-contract';
import { DeviceTimeZoneAttribute } from '../../protocol/search-attributes';
import { eventually } from '../support/eventually';
import { Harness } from '../support/harness';
import { runCli } from '../support/run-cli';

/**
 * Per-device maintenance windows (`window.deviceTimeZone`, `--window-device-tz`): the window's
 * cron expression is read in the time zone each device reports. A device whose own window is
 * closed is not sent the command (no command exists for it, so it costs no attempt), while the
 * devices whose window is open go on.
 */
describe('per-device maintenance windows', () => {
  const h = new Harness();
  let rollouts: RolloutClient;
  let env: NodeJS.ProcessEnv;
  const id = (name: string) => `${h.id}-${name}`;

  beforeAll(async () => {
    await h.start();
    rollouts = new RolloutClient(h.client.temporal, h.taskQueue);
    env = { TEMPORAL_ADDRESS: h.env.temporalAddress, MQTT_URL: h.env.mqttUrl, DCO_TASK_QUEUE: h.taskQueue, DCO_TOPIC_PREFIX: h.topicPrefix };
  });
  afterAll(() => h.stop());

  const zoneOnEntity = async (deviceId: string) => {
    try {
      return (await h.client.temporal.workflow.getHandle(deviceWorkflowId(deviceId)).describe()).typedSearchAttributes.get(DeviceTimeZoneAttribute) ?? null;
    } catch {
      return undefined; // no entity yet
    }
  };

  test('each device waits for the window in its own time zone: UTC devices (and one that reports no zone) run now, the Kathmandu one is not sent the command; from the CLI as well', async () => {
    await h.startDevice(id('utc'), undefined, undefined, undefined, { timeZone: 'UTC' });
    await h.startDevice(id('ktm'), undefined, undefined, undefined, { timeZone: 'Asia/Kathmandu' });
    await h.startDevice(id('none'), undefined, undefined, undefined, { model: 'no-zone' });
    // The entities show what the devices report (the rollout reads it from visibility).
    await eventually(
      () => zoneOnEntity(id('utc')),
      (z) => z === 'UTC',
      30_000,
    );
    await eventually(
      () => zoneOnEntity(id('ktm')),
      (z) => z === 'Asia/Kathmandu',
      30_000,
    );
    await eventually(
      () => zoneOnEntity(id('none')),
      (z) => z === null,
      30_000,
    );
    const targets = [id('ktm'), id('none'), id('utc')];
    await eventually(
      async () =>
        (
          await h.client.temporal.workflow.count(
            `DeviceTimeZone IN ('UTC', 'Asia/Kathmandu') AND WorkflowId IN ('${deviceWorkflowId(id('utc'))}', '${deviceWorkflowId(id('ktm'))}')`,
          )
        ).count,
      (n) => n === 2,
      30_000,
    );

    // Daily at a second at least 20 s from now (time for the CLI to start the rollout on a slow
    // machine), for 30 s, in each device's own time: in UTC it opens then; in Kathmandu
    // (UTC+05:45) the same local time was 5 h 45 min ago, so its next window is 18 h 15 min
    // after the UTC one.
    const opensAt = new Date(Math.ceil((Date.now() + 20_000) / 1000) * 1000);
    const cron = `${opensAt.getUTCSeconds()} ${opensAt.getUTCMinutes()} ${opensAt.getUTCHours()} * * *`;
    const ktmOpensAt = new Date(opensAt.getTime() + (18 * 60 + 15) * 60_000);
    const targetsFile = path.join(h.dir, `zoned-${h.id}.txt`);
    writeFileSync(targetsFile, targets.join('\n'));
    const rolloutId = `zoned-${h.id}`;
    h.started.push(rolloutWorkflowId(rolloutId));
    const started = await runCli(
      [
        'rollout',
        'start',
        'ping',
        '--id',
        rolloutId,
        '--targets',
        targetsFile,
        '--canary',
        '3',
        '--window',
        cron,
        '--window-duration',
        '30s',
        '--window-device-tz',
      ],
      env,
    );
    expect(started.stderr).toBe('');
    expect(started.code).toBe(0);

    // Before the UTC window opens nothing starts; the status shows both zones waiting.
    const before = await eventually(
      () => rollouts.get(rolloutId).status(),
      (s) => s.state === 'wait-window' && (s.timeZones?.length ?? 0) === 2,
      19_000,
    );
    expect(before.timeZones).toEqual([
      { timeZone: 'UTC', pending: 2, opensAt: opensAt.toISOString(), closesAt: new Date(opensAt.getTime() + 30_000).toISOString() },
      { timeZone: 'Asia/Kathmandu', pending: 1, opensAt: ktmOpensAt.toISOString(), closesAt: new Date(ktmOpensAt.getTime() + 30_000).toISOString() },
    ]);
    expect(before.overall).toMatchObject({ pending: 3, inFlight: 0 });

    // In the UTC window the two devices get it; Kathmandu's device waits for its own.
    const after = await eventually(
      () => rollouts.get(rolloutId).status(),
      (s) => s.overall.succeeded === 2 && s.state === 'wait-window',
      60_000,
    );
    expect(after.timeZones).toEqual([
      { timeZone: 'Asia/Kathmandu', pending: 1, opensAt: ktmOpensAt.toISOString(), closesAt: new Date(ktmOpensAt.getTime() + 30_000).toISOString() },
    ]);
    const line = await runCli(['rollout', 'status', rolloutId], env);
    expect(line.stdout).toContain(`waiting by time zone: Asia/Kathmandu 1 (window opens ${ktmOpensAt.toISOString()})`);

    await rollouts.get(rolloutId).cancel('not waiting for Kathmandu tonight');
    const final = await rollouts.get(rolloutId).result();
    expect(final).toMatchObject({ state: 'cancelled', overall: { succeeded: 2, pending: 1, inFlight: 0 } });
    // One command per device that was in its window, each started inside it; none for Kathmandu.
    const rows = await eventually(
      async () => {
        const all = [];
        for await (const r of rollouts.get(rolloutId).report()) all.push(r);
        return all;
      },
      (all) => all.filter((r) => r.startedAt).length === 2,
    );
    const startedRows = rows.filter((r) => r.startedAt);
    expect(startedRows.map((r) => r.deviceId).sort()).toEqual([id('none'), id('utc')].sort());
    for (const r of startedRows) expect(Date.parse(r.startedAt!)).toBeGreaterThanOrEqual(opensAt.getTime());
    const commands = await h.client.temporal.workflow.count(`WorkflowType = 'commandWorkflow' AND RolloutId = '${rolloutId}'`);
    expect(commands.count).toBe(2);
  });
});
