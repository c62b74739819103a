import { cancellableWait } from '../../device/simulated-handlers';
import type { DeviceView } from '../../client/device-entity';
import { eventually } from '../support/eventually';
import { Harness } from '../support/harness';
import { runCli } from '../support/run-cli';

/** `dco devices show <deviceId>`: one device's entity record and its open commands, as a user runs it. */
describe('dco devices show', () => {
  const h = new Harness();
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    await h.start();
    env = { TEMPORAL_ADDRESS: h.env.temporalAddress, MQTT_URL: h.env.mqttUrl, DCO_TASK_QUEUE: h.taskQueue, DCO_TOPIC_PREFIX: h.topicPrefix };
  });
  afterAll(() => h.stop());

  // Entity IDs are global to the namespace: names unique to this file.
  const id = (name: string) => `${h.id}-${name}`;
  const showJson = async (deviceId: string): Promise<DeviceView> => {
    const r = await runCli(['devices', 'show', deviceId, '--json'], env);
    return JSON.parse(r.stdout) as DeviceView;
  };

  test('an online device with an open command: presence, boot and the command, as JSON and as text', async () => {
    const deviceId = id('show-1');
    // A handler that runs until cancelled: the command stays Acknowledged until then.
    const device = await h.startDevice(deviceId, { ping: (_p, ctx) => cancellableWait(600_000, ctx.signal) });
    const open = await h.client.send({ deviceId, name: 'ping', resultTimeoutMs: 120_000, ttlMs: 180_000 });

    const view = (await eventually(
      () => showJson(deviceId).catch(() => undefined),
      (v) => v?.entity?.presence === 'online' && v.openCommands.some((c) => c.commandId === open.commandId && c.state === 'Acknowledged'),
      30_000,
    ))!;
    expect(view).toMatchObject({ deviceId, entity: { deviceId, presence: 'online', bootId: device.bootId, boots: 1 } });
    expect(view.entity!.recent.map((e) => e.event)).toEqual(['first-seen']);
    expect(view.openCommands).toEqual([{ commandId: open.commandId, state: 'Acknowledged', startedAt: expect.any(String) }]);

    const text = await runCli(['devices', 'show', deviceId], env);
    expect({ code: text.code, stderr: text.stderr }).toEqual({ code: 0, stderr: '' });
    expect(text.stdout).toContain(`device ${deviceId}: online since `);
    expect(text.stdout).toContain(device.bootId);
    expect(text.stdout).toMatch(new RegExp(`${open.commandId.replace(/\./g, '\\.')}\\s+Acknowledged\\s+started `));
    expect(text.stdout).toContain('first-seen');
    expect(text.stdout).toContain('reports: ');

    await open.cancel();
    expect((await open.result()).state).toBe('Cancelled');
  });

  test('a device without a record: exit code 1, and what creates one', async () => {
    const deviceId = id('never-seen');
    const r = await runCli(['devices', 'show', deviceId], env);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`no record of device ${deviceId}`);
    expect(r.stderr).toContain("created by the device's first status while `dco bridge` runs");
    expect(r.stderr).toContain('`dco devices`');
    const json = await runCli(['devices', 'show', deviceId, '--json'], env);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toEqual({ deviceId, openCommands: [] });
  });

  test('an invalid deviceId is a usage error (exit code 2), before anything is asked', async () => {
    const r = await runCli(['devices', 'show', "x' OR DeviceId != 'y"], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('deviceId must be');
    expect(r.stdout).toBe('');
  });
});
