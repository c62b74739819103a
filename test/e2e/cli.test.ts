import path from 'node:path';
import { Harness } from '../support/harness';
import { runCli } from '../support/run-cli';
import { entityShows } from '../support/entity-presence';

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

  test('params too large or nested too deep: a clear message and exit code 2, nothing sent', async () => {
    const deep = '{"a":'.repeat(32) + '1' + '}'.repeat(32); // 32 levels: 33 inside the command message, one too many
    const big = JSON.stringify({ blob: 'x'.repeat(33_000) });
    for (const [params, message] of [
      [deep, 'params must not nest objects and arrays more than 31 levels deep'],
      [big, 'params must be plain JSON of at most 32768 bytes'],
    ]) {
      const r = await runCli(['send', 'd1', 'ping', '--params', params], env);
      expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 2, stdout: '' });
      expect(r.stderr).toContain(message);
    }
    // One level less is fine (and is sent).
    const ok = await runCli(['send', 'cli-deep', 'ping', '--params', '{"a":'.repeat(31) + '1' + '}'.repeat(31), '--ttl', '2s', '--json'], env);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout).params).toBeDefined();
  });

  test('`dco deadletters` prints counts per reason and the latest entries; bad options exit 2', async () => {
    const { DeadLetterStore } = await import('../../bridge/dead-letter-store');
    const { deadLetterOf } = await import('../../bridge/dead-letter-record');
    const dir = path.join(h.dir, 'deadletters-cli');
    const store = new DeadLetterStore({ dir });
    store.add(deadLetterOf('devices/d1/ack', Buffer.from('{"v":1,'), 'not-json', 'Unexpected end of JSON input', { prefix: 'devices' }));
    store.add(deadLetterOf('devices/d2/result', Buffer.from([0xff, 0x00]), 'not-json', 'Unexpected token', { prefix: 'devices' }));
    store.add(
      deadLetterOf('devices/d3/ack', Buffer.from('{"v":1,"commandId":"gone","status":"accepted"}'), 'unknown-command', 'no running command gone', {
        prefix: 'devices',
        commandId: 'gone',
      }),
    );
    store.close();
    const text = await runCli(['deadletters', '--dir', dir, '--limit', '2'], env);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^3 dead letters in /);
    expect(text.stdout).toMatch(/not-json\s+2\n/);
    expect(text.stdout).toMatch(/unknown-command\s+1\n/);
    expect(text.stdout).toMatch(/spoofed\s+0\n/);
    expect(text.stdout).toContain('latest 2 (oldest first; 3 kept on disk)');
    expect(text.stdout).toContain('base64:/wA=');
    expect(text.stdout).toContain('devices/d3/ack  command gone');
    expect(text.stdout).not.toContain('#1 ');
    const none = await runCli(['deadletters', '--dir', path.join(h.dir, 'nothing-here'), '--json'], env);
    expect(none.code).toBe(0);
    expect(JSON.parse(none.stdout)).toMatchObject({ exists: false, total: 0 });
    expect(none.stderr).toContain('no dead-letter record in');
    const bad = await runCli(['deadletters', '--limit', 'many'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('expected a whole number >= 0');
  });

  test('`dco bridge --share-group-size` without a group, or above the device burst, is refused before connecting', async () => {
    const alone = await runCli(['bridge', '--share-group-size', '2'], env);
    expect(alone.code).toBe(2);
    expect(alone.stderr).toContain('--share-group-size needs --share-group');
    const over = await runCli(['bridge', '--share-group', 'g', '--share-group-size', '4', '--device-burst', '3'], env);
    expect(over.code).toBe(2);
    expect(over.stderr).toContain('--device-burst (3) must be at least --share-group-size (4)');
  });

  test('`dco --version` prints the package version and exits 0', async () => {
    const r = await runCli(['--version'], env);
    expect({ code: r.code, out: r.stdout.trim() }).toEqual({ code: 0, out: require('../../package.json').version });
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
    await entityShows(h.client.temporal, h.taskQueue, 'dir-2', 'offline'); // the command is then held, not published
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
