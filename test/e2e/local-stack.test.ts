import { countByCause } from '../../bench/publish-causes';
import { Connection } from '@temporalio/client';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DcoClient } from '../../client/dco-client';
import { DeviceAgent } from '../../device/device-agent';
import { TemporalServer } from '../../stack/temporal-server';
import { LocalStack } from '../../stack/local-stack';
import { canConnect, freePort } from '../../stack/net';
import { testEnv } from '../setup/test-env';
import { eventually } from '../support/eventually';
import { startStackDevice } from '../support/stack-device';

/** What `dco up` runs: every service its own process, worker and bridge supervised. */
describe('the local stack (dco up)', () => {
  let stack: LocalStack;
  let connection: Connection;
  let device: DeviceAgent;
  let dir: string;
  /** What the stack told its user. */
  const said: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(testEnv().dir, 'stack-'));
    stack = await LocalStack.start({
      dataDir: dir,
      temporalPort: await freePort(),
      mqttPort: await freePort(),
      ui: false,
      say: (line) => void said.push(line),
    });
    connection = await Connection.connect({ address: stack.temporalAddress });
    device = await startStackDevice(stack, 'stack-1', dir, { ping: async () => ({ ok: true }) });
  }, 180_000);

  afterAll(async () => {
    await device?.stop();
    await connection?.close();
    await stack?.stop();
  });

  test('a command goes through the worker and bridge processes', async () => {
    const client = new DcoClient({ connection });
    const outcome = await (await client.send({ deviceId: 'stack-1', name: 'ping' })).result();
    expect(outcome.state).toBe('Succeeded');
  });

  test('worker and bridge serve Prometheus metrics', async () => {
    const worker = await eventually(
      async () =>
        await fetch(stack.metricsUrls.worker)
          .then((r) => r.text())
          .catch(() => ''),
      (t) => t.includes('dco_commands_finished'),
    );
    expect(worker).toMatch(/dco_commands_finished\{[^}]*state="Succeeded"[^}]*\} 1/);
    expect(worker).toContain('dco_command_ack_latency');
    // One command, answered at once: published once, for the first time.
    expect(countByCause(worker)).toEqual({ first: 1 });
    const bridge = await fetch(stack.metricsUrls.bridge).then((r) => r.text());
    expect(bridge).toMatch(/dco_bridge_messages_total\{kind="ack",outcome="signalled"\} 1/);
    const health = await fetch(stack.metricsUrls.bridge.replace('/metrics', '/healthz'));
    expect(health.status).toBe(200);
  });

  test("no MQTT password is on any command line or in the services' environment while the stack runs", async () => {
    const services = JSON.parse(readFileSync(path.join(dir, 'mosquitto', 'service-credentials.json'), 'utf8')) as Record<string, string>;
    const secrets = [...Object.values(services), stack.mosquitto.auth!.addDevice('stack-secret')];
    expect(secrets.length).toBeGreaterThanOrEqual(3);
    const commandLines = readdirSync('/proc')
      .filter((entry) => /^\d+$/.test(entry))
      .map((pid) => {
        try {
          return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        } catch {
          return ''; // ended meanwhile
        }
      });
    expect(commandLines.length).toBeGreaterThan(3);
    expect(secrets.filter((secret) => commandLines.some((line) => line.includes(secret)))).toEqual([]);
    for (const name of ['worker', 'bridge'] as const) {
      const environ = readFileSync(`/proc/${stack.service(name)!.pid}/environ`, 'utf8').split('\0');
      expect(environ.filter((kv) => kv.startsWith('MQTT_PASSWORD='))).toEqual([]);
      expect(environ.some((kv) => kv.startsWith('MQTT_PASSWORD_FILE='))).toBe(true);
      expect(secrets.filter((secret) => environ.some((kv) => kv.includes(secret)))).toEqual([]);
    }
  });

  test('a worker killed with SIGKILL is restarted and commands keep completing', async () => {
    const first = stack.service('worker')!;
    await first.kill();
    const restarted = await eventually(
      async () => stack.service('worker'),
      (p) => p !== first && p!.running,
      60_000,
    );
    expect(restarted!.pid).not.toBe(first.pid);
    const client = new DcoClient({ connection });
    const outcome = await (await client.send({ deviceId: 'stack-1', name: 'ping' })).result();
    expect(outcome.state).toBe('Succeeded');
  });

  test('starting a second stack on the same ports fails with a clear message', async () => {
    const [host, port] = stack.temporalAddress.split(':');
    await expect(LocalStack.start({ dataDir: path.join(dir, 'second'), host, temporalPort: Number(port), ui: false, say: () => {} })).rejects.toThrow(
      `port ${port} (Temporal) is already in use`,
    );
  });

  test('Ctrl-C at a terminal (SIGINT to the whole process group): the services stop and are not restarted', async () => {
    const worker = stack.service('worker')!;
    const bridge = stack.service('bridge')!;
    process.kill(worker.pid!, 'SIGINT');
    process.kill(bridge.pid!, 'SIGINT');
    expect(await worker.exited).toEqual({ code: 0, signal: null });
    expect(await bridge.exited).toEqual({ code: 0, signal: null });
    expect(said.filter((l) => /^(worker|bridge) /.test(l)).map((l) => l.replace(/\. Log: .*/, ''))).toEqual(
      expect.arrayContaining(['worker stopped (code 0); not restarting it', 'bridge stopped (code 0); not restarting it']),
    );
    expect([stack.service('worker'), stack.service('bridge')]).toEqual([worker, bridge]);
  });

  test('stop ends every process', async () => {
    const worker = stack.service('worker')!;
    const bridge = stack.service('bridge')!;
    await device.stop();
    await stack.stop();
    expect(worker.running).toBe(false);
    expect(bridge.running).toBe(false);
    expect((stack.temporal as TemporalServer).process.running).toBe(false);
    expect(stack.mosquitto.process.running).toBe(false);
    const [host, port] = stack.temporalAddress.split(':');
    expect(await canConnect(host, Number(port))).toBe(false);
  });
});
