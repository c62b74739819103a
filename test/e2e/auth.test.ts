import mqtt from 'mqtt';
import path from 'node:path';
import { MqttPublisher } from '../../activities/mqtt-publisher';
import { DeviceAgent } from '../../device/device-agent';
import { MosquittoBroker } from '../../stack/mosquitto-broker';
import { runCli } from '../support/run-cli';
import { eventually } from '../support/eventually';
import { Harness } from '../support/harness';
import { RawDevice } from '../support/raw-device';

/** The broker authenticates and routes; a device may only speak for itself. */
describe('identity and authorization (Mosquitto with passwords and per-device ACLs)', () => {
  let broker: MosquittoBroker;
  let h: Harness;
  let brokerDir: string;
  const creds: Record<string, { username: string; password: string }> = {};

  beforeAll(async () => {
    const base = new Harness(); // only for its temp dir
    brokerDir = path.join(base.dir, 'auth-broker');
    broker = await MosquittoBroker.start({ dataDir: brokerDir, auth: { topicPrefixes: ['+/devices'] } });
    const auth = broker.auth!;
    for (const id of ['alice', 'bob', 'mallory', 'revoked-1', 'victim-b', 'thief-a']) creds[id] = { username: id, password: auth.addDevice(id) };
    await auth.reloadAndWait();
    h = new Harness({ url: broker.url, serviceUrl: broker.serviceUrl, worker: auth.credentialsOf('worker'), bridge: auth.credentialsOf('bridge') });
    await h.start();
  });
  afterAll(async () => {
    await h?.stop();
    await broker?.stop();
  });

  const connect = (options: mqtt.IClientOptions) =>
    mqtt.connectAsync(broker.url, { protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5_000, ...options });

  test('anonymous clients are refused', async () => {
    await expect(connect({})).rejects.toThrow(/Not authorized|Bad User Name or Password/);
  });

  test('a wrong password is refused', async () => {
    await expect(connect({ username: 'alice', password: 'guess' })).rejects.toThrow(/Not authorized|Bad User Name or Password/);
  });

  test('a device with its own credentials completes a command', async () => {
    await h.startDevice('alice', { ping: async () => ({ me: 'alice' }) }, undefined, creds.alice);
    const outcome = await (await h.client.send({ deviceId: 'alice', name: 'ping' })).result();
    expect(outcome.state).toBe('Succeeded');
    expect(outcome.output).toEqual({ me: 'alice' });
  });

  test("a device cannot answer for another: mallory's acks and results on bob's topics are refused by the broker", async () => {
    const bob = await new RawDevice('bob', broker.url, h.topicPrefix, creds.bob).start();
    const mallory = await new RawDevice('mallory', broker.url, h.topicPrefix, creds.mallory).start();
    const handle = await h.client.send({ deviceId: 'bob', name: 'ping', ackTimeoutMs: 30_000 });
    const [cmd] = await bob.waitForCommands(1);
    await expect(mallory.ack(cmd.commandId, 'accepted', undefined, 'bob')).rejects.toThrow(/Not authorized/);
    await expect(mallory.result(cmd.commandId, 'failed', { error: { code: 'x', message: 'spoof' } }, 'bob')).rejects.toThrow(/Not authorized/);
    await expect(mallory.publish('status', { v: 1, state: 'offline', bootId: 'fake' }, 'bob')).rejects.toThrow(/Not authorized/);
    // On its own topic the broker lets it through; the bridge sees that the command is bob's and
    // dead-letters it as spoofed, before it reaches the workflow's history.
    const spoofed = () => h.bridge!.counters.get('ack:spoofed');
    const before = spoofed();
    await mallory.ack(cmd.commandId);
    await eventually(
      async () => spoofed(),
      (n) => n === before + 1,
    );
    const state = await handle.state();
    expect(state.state).toBe('Sent');
    expect(state.history.filter((e) => e.event.startsWith('ignored-'))).toEqual([]);
    await bob.ack(cmd.commandId);
    await bob.result(cmd.commandId, 'succeeded', { output: { me: 'bob' } });
    expect((await handle.result()).output).toEqual({ me: 'bob' });
    await bob.stop();
    await mallory.stop();
  });

  test("a device subscribing to another device's commands receives nothing", async () => {
    const mallory = await new RawDevice('mallory', broker.url, h.topicPrefix, creds.mallory).start();
    await mallory.eavesdrop('alice');
    const outcome = await (await h.client.send({ deviceId: 'alice', name: 'ping' })).result();
    expect(outcome.state).toBe('Succeeded'); // alice got it
    await new Promise((r) => setTimeout(r, 300));
    expect(mallory.commands).toEqual([]);
    await mallory.stop();
  });

  test('a device refused at first (its credentials do not exist yet: 135) connects once they exist and the broker reloaded, and completes a command', async () => {
    const logs: string[] = [];
    const password = 'chosen-late-password';
    const agent = new DeviceAgent({
      deviceId: 'late-1',
      mqttUrl: broker.url,
      username: 'late-1',
      password,
      topicPrefix: h.topicPrefix,
      journalDir: path.join(h.dir, 'late-journals'),
      handlers: { ping: async () => ({ late: true }) },
      onLog: (message, details) => logs.push(`${message} ${JSON.stringify(details)}`),
    });
    const started = agent.start();
    started.catch(() => {}); // awaited below; no unhandled rejection meanwhile
    try {
      await eventually(
        async () => logs.join('\n'),
        (text) => /Not authorized/.test(text),
      );
      broker.auth!.addDevice('late-1', password);
      await broker.auth!.reloadAndWait();
      await started;
      const outcome = await (await h.client.send({ deviceId: 'late-1', name: 'ping' })).result();
      expect(outcome.state).toBe('Succeeded');
      expect(outcome.output).toEqual({ late: true });
    } finally {
      await agent.stop();
    }
  }, 60_000);

  test('start() with wrong credentials fails within its timeout, naming the refusal (135, Not authorized)', async () => {
    const options = {
      deviceId: 'nobody-1',
      mqttUrl: broker.url,
      username: 'nobody-1',
      password: 'guess',
      topicPrefix: h.topicPrefix,
      journalDir: path.join(h.dir, 'nobody-journals'),
      handlers: {},
      startTimeoutMs: 1_500,
    };
    const agent = new DeviceAgent(options);
    const t0 = Date.now();
    await expect(agent.start()).rejects.toThrow(/device nobody-1 could not connect .* within 1500 ms: .*Not authorized \(reason code 135\)/);
    // Its timeout, plus at most one connection attempt in flight, not forever.
    expect(Date.now() - t0).toBeLessThan(1_500 + 10_000);

    const publisher = new MqttPublisher({ url: broker.url, username: 'dco-worker', password: 'guess' });
    try {
      await expect(publisher.waitConnected(1_500)).rejects.toThrow(/within 1500 ms: .*Not authorized \(reason code 135\)/);
    } finally {
      await publisher.close();
    }
  }, 30_000);

  test("a device logging in with its own credentials but another device's client ID takes over neither its session nor its queued commands", async () => {
    const victimLogs: string[] = [];
    const victim = new DeviceAgent({
      deviceId: 'victim-b',
      mqttUrl: broker.url,
      ...creds['victim-b'],
      topicPrefix: h.topicPrefix,
      journalDir: path.join(h.dir, 'victim-journals'),
      handlers: { ping: async () => ({ me: 'victim-b' }) },
      onLog: (message, details) => victimLogs.push(`${message} ${JSON.stringify(details)}`),
    });
    await victim.start();
    let victimRunning = true;
    const thiefOptions = { ...creds['thief-a'], clientId: 'device-victim-b', clean: false, properties: { sessionExpiryInterval: 3600 } };
    const received: string[] = [];
    try {
      // While B is online: A's CONNECT with B's client ID must not kick B off.
      const thief = await connect(thiefOptions);
      thief.on('message', (topic) => received.push(topic));
      const online = await (await h.client.send({ deviceId: 'victim-b', name: 'ping' })).result();
      expect(online.output).toEqual({ me: 'victim-b' });
      await thief.endAsync();

      // While B is offline, a command waits in B's session (published as the worker would;
      // the service itself holds commands for a device whose status is offline). A logging in
      // with B's client ID gets neither B's session nor the command.
      await victim.stop();
      victimRunning = false;
      const service = await mqtt.connectAsync(broker.serviceUrl, {
        protocolVersion: 5,
        reconnectPeriod: 0,
        clientId: `queue-${h.id}`,
        ...broker.auth!.credentialsOf('worker'),
      });
      const now = Date.now();
      const command = {
        v: 1,
        commandId: `queued-${h.id}`,
        name: 'ping',
        params: {},
        attempt: 1,
        issuedAt: new Date(now).toISOString(),
        expiresAt: new Date(now + 120_000).toISOString(),
      };
      await service.publishAsync(`${h.topicPrefix}/victim-b/commands`, JSON.stringify(command), { qos: 1 });
      await service.endAsync();
      const thief2 = await connect(thiefOptions);
      thief2.on('message', (topic) => received.push(topic));
      await victim.start();
      victimRunning = true;
      // B gets its queued command from its own session and runs it.
      const entry = await eventually(
        async () => victim.journal.get(command.commandId),
        (e) => e?.result !== undefined,
      );
      expect(entry?.result?.status).toBe('succeeded');
      await thief2.endAsync();
      expect(received).toEqual([]);
      // B was never kicked off (a takeover closes the old connection: reason 142).
      expect(victimLogs.filter((l) => /lost or refused|still not connected/.test(l))).toEqual([]);
    } finally {
      if (victimRunning) await victim.stop();
    }
  }, 60_000);

  test('`dco device rm` revokes at once: the connected device is dropped and cannot reconnect', async () => {
    const client = await connect({ ...creds['revoked-1'], clientId: 'device-revoked-1' });
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    const r = await runCli(['device', 'rm', 'revoked-1', '--broker-dir', brokerDir]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('revoked revoked-1');
    await closed;
    await expect(connect({ ...creds['revoked-1'] })).rejects.toThrow(/Not authorized|Bad User Name or Password/);
    await client.endAsync(true);
  });

  test('`dco device add` prints working credentials once and stores only a hash', async () => {
    const r = await runCli(['device', 'add', 'carol', '--broker-dir', brokerDir, '--json']);
    expect(r.code).toBe(0);
    const { username, password, active } = JSON.parse(r.stdout);
    expect(username).toBe('carol');
    expect(active).toBe(true);
    const { readFileSync } = await import('node:fs');
    const stored = readFileSync(broker.auth!.passwordFile, 'utf8');
    expect(stored).toContain('carol:');
    expect(stored).not.toContain(password);
    const client = await eventually(
      () => connect({ username, password }).catch(() => undefined),
      (c) => c !== undefined,
    );
    await client!.endAsync();
  });

  test('bad device IDs and service account names are refused by `dco device add`', async () => {
    for (const [id, message] of [
      ['a/b', 'invalid deviceId'],
      ['dco-bridge', 'service account'],
    ]) {
      const r = await runCli(['device', 'add', id, '--broker-dir', brokerDir]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(message);
    }
  });
});
