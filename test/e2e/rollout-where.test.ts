import { devicesMatching } from '../../client/devices-matching';
import type { RolloutStatusView } from '../../protocol/rollout-contract';
import { eventually } from '../support/eventually';
import { Harness } from '../support/harness';
import { runCli } from '../support/run-cli';

/** `dco rollout start --where QUERY`: targets are the devices whose entity matches, resolved at start. */
describe('rollout targets by query (--where)', () => {
  const h = new Harness();
  let env: NodeJS.ProcessEnv;
  // Entities are global to the namespace: a site unique to this run keeps other files' devices out.
  let site: string;
  const id = (name: string) => `${h.id}-${name}`;

  beforeAll(async () => {
    await h.start();
    env = { TEMPORAL_ADDRESS: h.env.temporalAddress, MQTT_URL: h.env.mqttUrl, DCO_TASK_QUEUE: h.taskQueue, DCO_TOPIC_PREFIX: h.topicPrefix };
    site = `site-${h.id}`;
    await h.startDevice(id('old-1'), undefined, undefined, undefined, { firmware: '1.0.0', site, tags: ['north'] });
    await h.startDevice(id('old-2'), undefined, undefined, undefined, { firmware: '1.0.0', site });
    await h.startDevice(id('new-1'), undefined, undefined, undefined, { firmware: '2.0.0', site, tags: ['north'] });
    // The bridge creates the entities; visibility shows them a moment later.
    await eventually(
      () => devicesMatching(h.client.temporal, `DeviceSite = '${site}'`),
      (ids) => ids.length === 3,
      30_000,
    );
  });
  afterAll(() => h.stop());

  test('the client resolves a query over firmware, site and tags to the matching device IDs, sorted', async () => {
    expect(await devicesMatching(h.client.temporal, `DeviceSite = '${site}' AND DeviceFirmware = '1.0.0'`)).toEqual([id('old-1'), id('old-2')]);
    expect(await devicesMatching(h.client.temporal, `DeviceSite = '${site}' AND DeviceTags = 'north'`)).toEqual([id('new-1'), id('old-1')]);
    // A query that closes the parenthesis early is refused: it would escape the conditions around it.
    await expect(devicesMatching(h.client.temporal, `DeviceSite = '${site}') OR (WorkflowType = 'commandWorkflow'`)).rejects.toThrow(
      'the device query closes a parenthesis it did not open',
    );
  });

  test('dco rollout start --where runs the command on exactly the matching devices', async () => {
    const r = await runCli(
      ['rollout', 'start', 'ping', '--where', `DeviceSite = '${site}' AND DeviceFirmware = '1.0.0'`, '--canary', '1', '--wait', '--json'],
      env,
      undefined,
      120_000,
    );
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    const final = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as RolloutStatusView;
    expect(final).toMatchObject({ state: 'done', targets: 2, overall: { succeeded: 2 } });
  });

  test('a query that matches nothing, or that Temporal cannot parse, is a usage error naming --where', async () => {
    const none = await runCli(['rollout', 'start', 'ping', '--where', `DeviceSite = '${site}' AND DeviceFirmware = '9.9.9'`], env);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('--where: no device entity matches');
    const bad = await runCli(['rollout', 'start', 'ping', '--where', 'DeviceFirmware ==== 1'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--where: ');
    const both = await runCli(['rollout', 'start', 'ping', '--all', '--where', 'DeviceSite = "x"'], env);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('give exactly one of --targets FILE, --all, --where QUERY or --group NAME');
  });
});
