import mqtt, { type MqttClient } from 'mqtt';
import type { CommandHandle } from '../../client/dco-client';
import { DEFAULT_MAX_REPEATS } from '../../bridge/duplicate-guard';
import { deviceTopic } from '../../protocol/topics';
import { TEST_SIGNAL_LIMIT } from '../setup/test-env';
import { eventually } from '../support/eventually';
import { Harness } from '../support/harness';

/**
 * One misbehaving device against everyone else, on the real bridge, Temporal and Mosquitto:
 * whatever it sends, the other devices' commands succeed, and what it can cost (its own
 * command's history, Temporal's calls) stays bounded.
 */
describe('noisy neighbour: one device cannot stop the others', () => {
  const harnesses: Harness[] = [];
  afterAll(async () => {
    for (const h of harnesses) await h.stop();
  });

  const floodClient = (h: Harness, name: string) =>
    mqtt.connectAsync(h.mqttUrl, { protocolVersion: 5, clientId: `${name}-${h.id}`, clean: true, reconnectPeriod: 0 });

  /** Publishes every message at QoS 1, 200 unacknowledged at a time. */
  async function publishAll(client: MqttClient, messages: Array<{ topic: string; payload: string }>): Promise<void> {
    for (let i = 0; i < messages.length; i += 200) {
      await Promise.all(messages.slice(i, i + 200).map((m) => client.publishAsync(m.topic, m.payload, { qos: 1 })));
    }
  }

  test("a flood of acks, results and reboots from one device: 50 other devices each run a command, all Succeeded; the flooder's history stays bounded", async () => {
    const h = await new Harness().start();
    harnesses.push(h);
    const calm = Array.from({ length: 50 }, (_, i) => `calm-${String(i + 1).padStart(2, '0')}`);
    for (const id of calm) await h.startDevice(id);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    await h.startDevice('noisy-1', { hold: async () => (await gate, { held: true }) });
    const own = await h.client.send({ deviceId: 'noisy-1', name: 'hold', resultTimeoutMs: 600_000 });
    await eventually(
      async () => (await own.state()).state,
      (s) => s === 'Acknowledged',
      30_000,
    );

    // The flood: 10,100 acks for its own running command (one past Temporal's default signal
    // limit), 5,000 results for made-up commands, and a new boot ID 100 times a second.
    const topic = (kind: 'ack' | 'result' | 'status') => deviceTopic(h.topicPrefix, 'noisy-1', kind);
    const acks = Array.from({ length: 10_100 }, () => ({
      topic: topic('ack'),
      payload: JSON.stringify({ v: 1, commandId: own.commandId, status: 'accepted' }),
    }));
    const ghosts = Array.from({ length: 5_000 }, (_, i) => ({
      topic: topic('result'),
      payload: JSON.stringify({ v: 1, commandId: `ghost-${i}`, status: 'succeeded' }),
    }));
    const flooder = await floodClient(h, 'flood');
    let reboots = 0;
    const rebooting = setInterval(() => {
      reboots++;
      void flooder
        .publishAsync(topic('status'), JSON.stringify({ v: 1, state: 'online', bootId: `boot-${reboots}`, ts: new Date().toISOString() }), { qos: 1 })
        .catch(() => {});
    }, 10);
    const before = h.bridge!.counters.toJSON();
    const flood = publishAll(flooder, [...acks, ...ghosts]);

    // Meanwhile, 50 well-behaved devices each get a command.
    const commands: CommandHandle[] = await Promise.all(calm.map((deviceId) => h.client.send({ deviceId, name: 'ping' })));
    const outcomes = await Promise.all(commands.map((c) => c.result()));
    await flood;
    clearInterval(rebooting);

    expect(outcomes.map((o) => `${o.deviceId}:${o.state}`)).toEqual(calm.map((id) => `${id}:Succeeded`));
    // The healthy commands were answered at the first publish: the flood did not delay their acks past the ack timeout.
    expect(outcomes.map((o) => o.attempts)).toEqual(calm.map(() => 1));

    // The flooder's own command: still waiting for its result, its history bounded.
    const delta = (k: string) => h.bridge!.counters.get(k) - (before[k] ?? 0);
    await eventually(
      async () => delta('ack:duplicate-dropped') + delta('ack:rate-limited') + delta('result:rate-limited') + delta('result:unknown-command'),
      (n) => n >= 15_100 - DEFAULT_MAX_REPEATS,
      60_000,
    );
    const snapshot = await own.state();
    expect(snapshot.state).toBe('Acknowledged');
    expect(snapshot.history.filter((e) => e.event === 'duplicate-ack').length).toBeLessThanOrEqual(DEFAULT_MAX_REPEATS);
    const events = (await h.client.temporal.workflow.getHandle(own.workflowId).fetchHistory()).events ?? [];
    expect(events.length).toBeLessThan(100);
    // Made-up commands cost one describe each at most, and the device's budget cut most of them.
    expect(delta('result:rate-limited')).toBeGreaterThan(0);
    expect(h.bridge!.deadLetters.totals()['rate-limited']).toBeGreaterThan(0);
    expect(delta('signal-retry')).toBe(0);

    release();
    expect((await own.result()).state).toBe('Succeeded');
    await flooder.endAsync();
  });

  test(`Temporal refuses a signal for good (the execution's signal limit, ${TEST_SIGNAL_LIMIT} on the test server): dead-lettered once, never retried; the next command succeeds`, async () => {
    // No budget and no repeat cap, so that the flood reaches Temporal's limit.
    const h = await new Harness().start({ bridgeOptions: { deviceRate: false, maxRepeats: Infinity } });
    harnesses.push(h);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    await h.startDevice('limit-1', { hold: async () => (await gate, {}) });
    await h.startDevice('after-1');
    const own = await h.client.send({ deviceId: 'limit-1', name: 'hold', resultTimeoutMs: 600_000 });
    await eventually(
      async () => (await own.state()).state,
      (s) => s === 'Acknowledged',
      30_000,
    );

    const flooder = await floodClient(h, 'limit-flood');
    const n = TEST_SIGNAL_LIMIT + 100;
    const before = h.bridge!.counters.toJSON();
    const delta = (k: string) => h.bridge!.counters.get(k) - (before[k] ?? 0);
    await publishAll(
      flooder,
      Array.from({ length: n }, () => ({
        topic: deviceTopic(h.topicPrefix, 'limit-1', 'ack'),
        payload: JSON.stringify({ v: 1, commandId: own.commandId, status: 'accepted' }),
      })),
    );
    await eventually(
      async () => delta('ack:signalled') + delta('ack:signal-refused'),
      (x) => x === n,
      60_000,
    );
    expect(delta('ack:signal-refused')).toBeGreaterThan(0);
    expect(delta('signal-retry')).toBe(0);
    expect(h.bridge!.deadLetters.latest(1)[0]).toMatchObject({ reason: 'signal-refused', commandId: own.commandId });
    expect(h.bridge!.deadLetters.latest(1)[0].detail).toMatch(/INVALID_ARGUMENT: exceeded workflow execution limit for signal events/);

    // The bridge is not wedged: another device's command goes through.
    const next = await (await h.client.send({ deviceId: 'after-1', name: 'ping' })).result();
    expect(next.state).toBe('Succeeded');
    release();
    await flooder.endAsync();
  });

  test('a fleet reconnecting at once waits in one coalesced queue for the device entities, and the answers of running commands are not held up', async () => {
    const h = await new Harness().start();
    harnesses.push(h);
    const calm = Array.from({ length: 20 }, (_, i) => `storm-calm-${i + 1}`);
    for (const id of calm) await h.startDevice(id);
    const storm = Array.from({ length: 1_000 }, (_, i) => `storm-${i + 1}`);
    const before = h.bridge!.counters.toJSON();
    const delta = (k: string) => h.bridge!.counters.get(k) - (before[k] ?? 0);
    const gateway = await floodClient(h, 'storm');
    // 1,000 devices come online, each twice (a reboot right after), while 20 commands run.
    const statuses = storm.flatMap((id) =>
      [1, 2].map((boot) => ({
        topic: deviceTopic(h.topicPrefix, id, 'status'),
        payload: JSON.stringify({ v: 1, state: 'online', bootId: `${id}-boot-${boot}`, ts: new Date().toISOString() }),
      })),
    );
    const reconnecting = publishAll(gateway, statuses);
    const outcomes = await Promise.all(calm.map(async (deviceId) => (await h.client.send({ deviceId, name: 'ping' })).result()));
    await reconnecting;
    expect(outcomes.map((o) => `${o.state}/${o.attempts}`)).toEqual(calm.map(() => 'Succeeded/1'));
    await eventually(
      async () => delta('status'),
      (n) => n === statuses.length,
      60_000,
    );
    // The newest status per device waits; the rest were coalesced into it or already
    // forwarded. Nothing else happens per status: the entities wake their own commands.
    expect(h.bridge!.router.deviceStatuses.backlog).toBeLessThanOrEqual(storm.length);
    expect(delta('device-status:coalesced')).toBeGreaterThan(0);
    await gateway.endAsync();
  });
});
