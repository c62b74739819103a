import { devicesMatching } from '../../client/devices-matching';
import { GroupClient, GroupNotFoundError, GroupRefusedError } from '../../client/group-client';
import { RolloutClient } from '../../client/rollout-client';
import { deviceWorkflowId, type DeviceSnapshot } from '../../protocol/device-contract';
import { deviceSnapshotQuery } from '../../protocol/device-contract';
import { groupWorkflowId } from '../../protocol/device-group-contract';
import { rolloutWorkflowId, type RolloutStatusView } from '../../protocol/rollout-contract';
import { eventually } from '../support/eventually';
import { Harness } from '../support/harness';
import { runCli } from '../support/run-cli';

/**
 * Device groups: assigned groups (the label lives on each device's entity, as DeviceGroups) and
 * query groups (a saved query); `dco rollout start --group NAME`, continuous too.
 */
describe('device groups', () => {
  const h = new Harness();
  let groups: GroupClient;
  let rollouts: RolloutClient;
  let env: NodeJS.ProcessEnv;
  let site: string;
  const id = (name: string) => `${h.id}-${name}`;
  const g = (name: string) => `${name}-${h.id}`;

  beforeAll(async () => {
    await h.start();
    groups = new GroupClient(h.client.temporal, h.taskQueue);
    rollouts = new RolloutClient(h.client.temporal, h.taskQueue);
    env = { TEMPORAL_ADDRESS: h.env.temporalAddress, MQTT_URL: h.env.mqttUrl, DCO_TASK_QUEUE: h.taskQueue, DCO_TOPIC_PREFIX: h.topicPrefix };
    site = `site-${h.id}`;
  });
  afterAll(() => h.stop());

  test('an assigned group: devices are put in it (one never seen too), shown on their entity, listed, targeted by a rollout; a device assigned later joins a continuous rollout of the group', async () => {
    const name = g('north');
    await groups.define(name, { description: 'pumps on the north side' });
    await h.startDevice(id('a'), undefined, undefined, undefined, { site });
    await h.startDevice(id('b'), undefined, undefined, undefined, { site });
    await groups.assign(name, [id('a'), id('b'), id('never-seen')]);
    expect(
      await eventually(
        () => groups.members(name),
        (m) => m.length === 3,
        30_000,
      ),
    ).toEqual([id('a'), id('b'), id('never-seen')].sort());
    const entity = await h.client.temporal.workflow.getHandle(deviceWorkflowId(id('a'))).query<DeviceSnapshot>(deviceSnapshotQuery);
    expect(entity.groups).toEqual([name]);
    expect(entity.recent.at(-1)).toMatchObject({ event: 'groups-changed', detail: `+${name}` });

    // The device never seen is in the group, so drop it before rolling out (it would only expire).
    expect(await groups.unassign(name, [id('never-seen')])).toEqual([id('never-seen')]);
    await eventually(
      () => groups.members(name),
      (m) => m.length === 2,
      30_000,
    );

    const rolloutId = `grp-${h.id}`;
    h.started.push(rolloutWorkflowId(rolloutId));
    const started = await runCli(['rollout', 'start', 'ping', '--group', name, '--continuous', '--scan-every', '1s', '--id', rolloutId], env);
    expect({ code: started.code, err: started.stderr }).toEqual({ code: 0, err: '' });
    await eventually(
      () => rollouts.get(rolloutId).status(),
      (s: RolloutStatusView) => s.state === 'wait-devices' && s.overall.succeeded === 2,
      60_000,
    );

    // Assigned later: the assignment changes the entity, so the rollout's next look finds it.
    await h.startDevice(id('c'), undefined, undefined, undefined, { site });
    await groups.assign(name, [id('c')]);
    const joined = await eventually(
      () => rollouts.get(rolloutId).status(),
      (s) => s.overall.succeeded === 3,
      60_000,
    );
    expect(joined).toMatchObject({ targets: 3, continuous: { query: `DeviceGroups = '${name}'`, joined: 1 } });
    await rollouts.get(rolloutId).cancel('test done');
    await rollouts.get(rolloutId).result();

    const listed = await eventually(
      () => runCli(['group', 'list', '--json'], env),
      (r) => r.stdout.includes(name),
    );
    expect(JSON.parse(listed.stdout)).toContainEqual(expect.objectContaining({ name, description: 'pumps on the north side', devices: 3 }));
    const shown = await runCli(['group', 'show', name], env);
    expect(shown.stdout).toBe(`group ${name}: assigned devices · pumps on the north side\n3 devices: ${[id('a'), id('b'), id('c')].sort().join(' ')}\n`);
    const device = await runCli(['devices', 'show', id('c')], env);
    expect(device.stdout).toContain(`groups:         ${name}`);

    // Deleting needs the group empty first.
    await expect(groups.delete(name)).rejects.toThrow(`group ${name} still has 3 assigned devices`);
    const out = await runCli(['group', 'unassign', name, '--all'], env);
    expect(out.stdout).toBe(`group ${name}: 3 devices unassigned\n`);
    await eventually(
      () => groups.members(name),
      (m) => m.length === 0,
      30_000,
    );
    await groups.delete(name);
    await expect(groups.get(name)).rejects.toThrow(GroupNotFoundError);
    expect((await h.client.temporal.workflow.getHandle(groupWorkflowId(name)).describe()).status.name).toBe('COMPLETED');
    // Replayed (and recorded) at stop: the group's whole life, and an entity that was assigned and unassigned.
    h.started.push(groupWorkflowId(name));
    await h.client.temporal.workflow.getHandle(deviceWorkflowId(id('never-seen'))).terminate('recorded for replay');
    h.started.push(deviceWorkflowId(id('never-seen')));
  });

  test('a query group resolves to the devices matching its query now; it cannot take assignments; bad input is refused with the reason', async () => {
    const name = g('valves');
    await h.startDevice(id('v1'), undefined, undefined, undefined, { model: 'valve-q', site });
    await eventually(
      () => devicesMatching(h.client.temporal, `DeviceSite = '${site}' AND DeviceModel = 'valve-q'`),
      (ids) => ids.length === 1,
      30_000,
    );
    const created = await runCli(['group', 'create', name, '--where', `DeviceSite = '${site}' AND DeviceModel = 'valve-q'`], env);
    expect(created.stdout).toBe(`group ${name}: devices matching DeviceSite = '${site}' AND DeviceModel = 'valve-q'\n`);
    expect(await groups.members(name)).toEqual([id('v1')]);
    await expect(groups.assign(name, [id('v1')])).rejects.toThrow(GroupRefusedError);

    const r = await runCli(['rollout', 'start', 'ping', '--group', name, '--wait', '--json'], env, undefined, 120_000);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout.trim().split('\n').at(-1)!)).toMatchObject({ state: 'done', targets: 1, overall: { succeeded: 1 } });

    const missing = await runCli(['rollout', 'start', 'ping', '--group', g('nope')], env);
    expect({ code: missing.code, err: missing.stderr }).toMatchObject({ code: 2, err: expect.stringContaining(`--group: no group named ${g('nope')}`) });
    const escape = await runCli(['group', 'create', g('bad'), '--where', "DeviceSite = 'x') OR (DeviceSite = 'y'"], env);
    expect({ code: escape.code, err: escape.stderr }).toMatchObject({ code: 2, err: expect.stringContaining('closes a parenthesis it did not open') });
    const badName = await runCli(['group', 'create', 'no spaces'], env);
    expect({ code: badName.code, err: badName.stderr }).toMatchObject({ code: 2, err: expect.stringContaining('a group name is 1-63 characters') });
    // An assigned group with members cannot turn into a query group.
    const mixed = g('mixed');
    await groups.define(mixed, {});
    await groups.assign(mixed, [id('v1')]);
    await eventually(
      () => groups.members(mixed),
      (m) => m.length === 1,
      30_000,
    );
    await expect(groups.define(mixed, { where: "DeviceModel = 'x'" })).rejects.toThrow(
      `group ${mixed} has 1 assigned devices; a group is either assigned devices or a query`,
    );
  });

  test('`group list` counts from visibility: a group whose workflow cannot answer (no worker for it) is still listed, with its count', async () => {
    // Another deployment's group, or one whose worker is down: listing once queried each group and failed as a whole.
    const quiet = g('quiet');
    await groups.define(quiet, { where: `DeviceSite = '${site}' AND DeviceModel = 'valve-q'` });
    await eventually(
      () => groups.list(),
      (all) => all.some((v) => v.name === quiet),
      30_000,
    );
    await h.stopWorker();
    try {
      const listed = await runCli(['group', 'list', '--json'], env, undefined, 60_000);
      expect({ code: listed.code, err: listed.stderr }).toEqual({ code: 0, err: '' });
      expect(JSON.parse(listed.stdout)).toContainEqual(expect.objectContaining({ name: quiet, devices: 1 }));
    } finally {
      await h.startWorker();
    }
  });
});
