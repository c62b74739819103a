import { devicesMatching } from '../../client/devices-matching';
import { RolloutClient } from '../../client/rollout-client';
import { deviceWorkflowId } from '../../protocol/device-contract';
import type { RolloutStatusView } from '../../protocol/rollout-contract';
import { DeviceAttributesAtAttribute } from '../../protocol/search-attributes';
import { rolloutWorkflowId } from '../../protocol/rollout-contract';
import { eventually } from '../support/eventually';
import { Harness } from '../support/harness';
import { runCli } from '../support/run-cli';

/**
 * Continuous rollouts (`--where QUERY --continuous`): besides the devices that match at start,
 * devices that start matching later (a new device, or changed attributes) get the command too,
 * once each, until the rollout's end time or its cancel.
 */
describe('continuous rollouts', () => {
  const h = new Harness();
  let rollouts: RolloutClient;
  let env: NodeJS.ProcessEnv;
  // Entities are global to the namespace: a site unique to this run keeps other files' devices out.
  let site: string;
  const id = (name: string) => `${h.id}-${name}`;
  const pump = () => ({ model: 'pump-x', site });
  const status = (rolloutId: string) => rollouts.get(rolloutId).status();
  const statusWhen = (rolloutId: string, accept: (s: RolloutStatusView) => boolean) => eventually(() => status(rolloutId), accept, 60_000);

  beforeAll(async () => {
    await h.start();
    rollouts = new RolloutClient(h.client.temporal, h.taskQueue);
    env = { TEMPORAL_ADDRESS: h.env.temporalAddress, MQTT_URL: h.env.mqttUrl, DCO_TASK_QUEUE: h.taskQueue, DCO_TOPIC_PREFIX: h.topicPrefix };
    site = `site-${h.id}`;
  });
  afterAll(() => h.stop());

  test('a new matching device and a device whose attributes come to match get the command, once each; a non-matching one does not; cancel ends it', async () => {
    await h.startDevice(id('a'), undefined, undefined, undefined, pump());
    const b = await h.startDevice(id('b'), undefined, undefined, undefined, pump());
    const query = `DeviceSite = '${site}' AND DeviceModel = 'pump-x'`;
    const targets = await eventually(
      () => devicesMatching(h.client.temporal, query),
      (ids) => ids.length === 2,
      30_000,
    );
    const rolloutId = `cont-${h.id}`;
    h.started.push(rolloutWorkflowId(rolloutId));
    await rollouts.start({ rolloutId, name: 'ping', targets, canary: { count: 1 }, waves: [{ percent: 100 }], continuous: { query, scanEveryMs: 1_000 } });
    await statusWhen(rolloutId, (s) => s.state === 'wait-devices' && s.overall.succeeded === 2);

    // A valve on the same site never matches; a new pump does.
    const valve = await h.startDevice(id('valve'), undefined, undefined, undefined, { model: 'valve-y', site });
    await h.startDevice(id('c'), undefined, undefined, undefined, pump());
    const withC = await statusWhen(rolloutId, (s) => s.overall.succeeded === 3);
    expect(withC).toMatchObject({ targets: 3, continuous: { query, joined: 1 } });

    // The valve is refitted as a pump: its attributes change, so it matches now, and its entity
    // stamps the change (looks ask for what changed since the last one).
    const stampOf = async () =>
      (await h.client.temporal.workflow.getHandle(deviceWorkflowId(id('valve'))).describe()).typedSearchAttributes
        .get(DeviceAttributesAtAttribute)
        ?.getTime() ?? 0;
    const created = await eventually(stampOf, (t) => t > 0);
    const refitAt = Date.now();
    await valve.setAttributes({ model: 'pump-x', site });
    expect(await eventually(stampOf, (t) => t > created)).toBeGreaterThanOrEqual(refitAt - 1_000);
    const withValve = await statusWhen(rolloutId, (s) => s.overall.succeeded === 4 && s.state === 'wait-devices');
    expect(withValve).toMatchObject({ targets: 4, continuous: { joined: 2 } });
    const before = Date.parse(withValve.continuous!.lastScanAt!);

    // A device already reached that reports again (new tags, still matching) is not sent the command twice.
    await b.setAttributes({ ...pump(), tags: ['north'] });
    const later = await statusWhen(rolloutId, (s) => Date.parse(s.continuous!.lastScanAt!) > before + 2_000);
    expect(later).toMatchObject({ targets: 4, overall: { succeeded: 4 }, continuous: { joined: 2 } });

    await rollouts.get(rolloutId).cancel('enough');
    const final = await rollouts.get(rolloutId).result();
    expect(final).toMatchObject({ state: 'cancelled', cancelReason: 'enough', targets: 4, overall: { succeeded: 4, pending: 0 } });
    // One command per device: the four matching devices, not the valve before its refit, nothing twice.
    const commands = await eventually(
      () => h.client.temporal.workflow.count(`WorkflowType = 'commandWorkflow' AND RolloutId = '${rolloutId}'`),
      (c) => c.count >= 4,
    );
    expect(commands.count).toBe(4);
  });

  test('at its end time a continuous rollout that reached every device ends done; from the CLI, the status line says what it found', async () => {
    await h.startDevice(id('e1'), undefined, undefined, undefined, { model: 'pump-z', site });
    const query = `DeviceSite = '${site}' AND DeviceModel = 'pump-z'`;
    await eventually(
      () => devicesMatching(h.client.temporal, query),
      (ids) => ids.length === 1,
      30_000,
    );
    const rolloutId = `cont-end-${h.id}`;
    h.started.push(rolloutWorkflowId(rolloutId));
    const endAt = new Date(Date.now() + 20_000).toISOString();
    const started = await runCli(
      ['rollout', 'start', 'ping', '--where', query, '--continuous', '--scan-every', '1s', '--end-at', endAt, '--id', rolloutId],
      env,
    );
    expect({ code: started.code, out: started.stdout, err: started.stderr }).toEqual({ code: 0, out: `${rolloutId}\n`, err: '' });
    const line = await eventually(
      () => runCli(['rollout', 'status', rolloutId], env),
      (r) => r.stdout.includes('wait-devices') && r.stdout.includes('continuous: 0 joined, last look 2'),
    );
    expect(line.stdout).toContain('1/1 finished (ok 1');
    const final = await rollouts.get(rolloutId).result();
    expect(final).toMatchObject({ state: 'done', targets: 1, overall: { succeeded: 1 } });
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(endAt));
    const late = await runCli(['rollout', 'cancel', rolloutId], env);
    expect({ code: late.code, err: late.stderr }).toEqual({ code: 2, err: `error: rollout ${rolloutId} has already ended (done): nothing to cancel\n` });

    const usage = await runCli(['rollout', 'start', 'ping', '--targets', '/dev/null', '--continuous'], env);
    expect({ code: usage.code, err: usage.stderr }).toMatchObject({ code: 2, err: expect.stringContaining('--continuous needs --where QUERY') });
    const escape = await runCli(['rollout', 'start', 'ping', '--where', `DeviceSite = '${site}') OR (DeviceSite = 'x'`, '--continuous'], env);
    expect({ code: escape.code, err: escape.stderr }).toMatchObject({ code: 2, err: expect.stringContaining('closes a parenthesis it did not open') });
  });

  test('a continuous rollout may start before any device matches: it waits, and the first one to match joins its one wave', async () => {
    const query = `DeviceSite = '${site}' AND DeviceModel = 'pump-new'`;
    const rolloutId = `cont-empty-${h.id}`;
    h.started.push(rolloutWorkflowId(rolloutId));
    // Without --continuous, a query that matches nothing is still refused.
    const refused = await runCli(['rollout', 'start', 'ping', '--where', query], env);
    expect({ code: refused.code, err: refused.stderr }).toMatchObject({ code: 2, err: expect.stringContaining('--where: no device entity matches') });
    const started = await runCli(['rollout', 'start', 'ping', '--where', query, '--continuous', '--scan-every', '1s', '--id', rolloutId], env);
    expect({ code: started.code, out: started.stdout, err: started.stderr }).toEqual({
      code: 0,
      out: `${rolloutId}\n`,
      err: '--where: no device matches yet; the continuous rollout waits for devices that come to match\n',
    });
    const waiting = await statusWhen(rolloutId, (s) => s.continuous?.lastScanAt !== undefined);
    expect(waiting).toMatchObject({ state: 'wait-devices', targets: 0, waves: [], overall: { pending: 0, succeeded: 0 } });

    await h.startDevice(id('new1'), undefined, undefined, undefined, { model: 'pump-new', site });
    const reached = await statusWhen(rolloutId, (s) => s.overall.succeeded === 1);
    expect(reached).toMatchObject({ targets: 1, continuous: { joined: 1 }, waves: [{ name: 'joined', start: 0, end: 1 }] });
    await rollouts.get(rolloutId).cancel('enough');
    expect(await rollouts.get(rolloutId).result()).toMatchObject({ state: 'cancelled', targets: 1, overall: { succeeded: 1 } });
  });
});
