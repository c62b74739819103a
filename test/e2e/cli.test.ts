import path from 'node:path';
import { Harness } from '../support/harness';
import { runCli } from '../support/run-cli';

/** The `dco` CLI as a user runs it: real processes, real servers. */
describe('dco CLI', () => {
  const h = new Harness();
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    await h.start();
    env = { TEMPORAL_ADDRESS: h.env.temporalAddress, MQTT_URL: h.env.mqttUrl, DCO_TASK_QUEUE: h.taskQueue, DCO_TOPIC_PREFIX: h.topicPrefix };
  });
  afterAll(() => h.stop());

  test('a device made of mosquitto_sub/mosquitto_pub completes `dco send --wait --json`', async () => {
    const url = new URL(h.env.mqttUrl);
    const script = path.join(__dirname, '..', '..', 'docs', 'examples', 'shell-device.sh');
    const device = runCli(['shell-1', url.hostname, url.port], env, script);
    const sent = await runCli(['send', 'shell-1', 'ping', '--params', '{"n":1}', '--ack-timeout', '2s', '--wait', '--json'], env);
    expect(sent.stderr).toBe('');
    expect(sent.code).toBe(0);
    const outcome = JSON.parse(sent.stdout);
    expect(outcome).toMatchObject({ deviceId: 'shell-1', name: 'ping', state: 'Succeeded', output: { executedBy: 'shell' } });
    expect(outcome.attempts).toBeGreaterThanOrEqual(1);
    expect(outcome.history.length).toBeGreaterThanOrEqual(4);
    expect((await device).code).toBe(0);

    const got = await runCli(['get', outcome.commandId, '--json'], env);
    expect(got.code).toBe(0);
    expect(JSON.parse(got.stdout)).toEqual(outcome);
  });

  test('--wait exits 1 when the command does not succeed, and shows why', async () => {
    await h.startDevice('cli-2', { ping: async () => ({}) });
    const r = await runCli(['send', 'cli-2', 'format-disk', '--wait'], env);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('Rejected');
    expect(r.stdout).toContain('unknown-command: format-disk');
  });

  test('--id makes sending idempotent', async () => {
    await h.startDevice('cli-3', { ping: async () => ({ n: 1 }) });
    const id = `cli-idem-${h.id}`;
    const first = await runCli(['send', 'cli-3', 'ping', '--id', id, '--wait', '--json'], env);
    const second = await runCli(['send', 'cli-3', 'ping', '--id', id, '--json'], env);
    expect(JSON.parse(first.stdout).commandId).toBe(id);
    expect(JSON.parse(second.stdout)).toEqual(JSON.parse(first.stdout));
  });

  test.each([
    [['send', 'bad/device', 'ping'], 'deviceId must be'],
    [['send', 'd1', 'ping', '--params', '[1,2]'], 'expected a JSON object'],
    [['send', 'd1', 'ping', '--params', '{oops'], 'not valid JSON'],
    [['send', 'd1', 'ping', '--ack-timeout', '-1s'], 'expected a positive duration'],
    [['send', 'd1', 'ping', '--ttl', 'soon'], 'expected a positive duration'],
    [['send', 'd1', 'ping', '--max-attempts', '0'], 'expected a whole number >= 1'],
    [['send', 'd1', 'ping', '--ack-timeout', '10ms'], 'must be at least 1000 ms'],
    [['send', 'd1'], "missing required argument 'name'"],
    [['get', 'no such id'], 'commandId must be'],
    [['frobnicate'], "unknown command 'frobnicate'"],
  ])('bad input %j: a clear message and exit code 2', async (args, message) => {
    const r = await runCli(args, env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stdout).toBe('');
  });

  test('an unknown commandId is a clear error', async () => {
    const r = await runCli(['get', 'never-sent-anything'], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no command with id "never-sent-anything"');
  });

  test('`dco devices --json` lists presence and open commands', async () => {
    await h.startDevice('dir-1');
    const off = await h.startDevice('dir-2');
    await off.stop();
    const waiting = await h.client.send({ deviceId: 'dir-2', name: 'ping', ttlMs: 60_000 });
    const r = await runCli(['devices', '--json'], env);
    expect(r.code).toBe(0);
    const devices = JSON.parse(r.stdout) as Array<Record<string, unknown>>;
    const byId = Object.fromEntries(devices.map((d) => [d.deviceId, d]));
    expect(byId['dir-1']).toMatchObject({ state: 'online', openCommands: [] });
    expect(byId['dir-2']).toMatchObject({ state: 'offline', openCommands: [{ commandId: waiting.commandId, state: 'Created' }] });
    expect(typeof byId['dir-1'].lastSeen).toBe('string');
    await waiting.cancel();
  });

  test('Temporal unreachable: says what to do', async () => {
    const r = await runCli(['send', 'd1', 'ping'], { ...env, TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('cannot reach Temporal at 127.0.0.1:1');
    expect(r.stderr).toContain('dco up');
  });
});
