import mqtt, { type MqttClient } from 'mqtt';
import { mkdtempSync } from 'node:fs';
import path from 'node:path';
import { FleetSimulator, type FleetSimulatorOptions } from '../../device/fleet-simulator';
import { Simulator } from '../../device/simulator';
import { AckMessage, CommandMessage, ResultMessage, StatusMessage } from '../../protocol/messages';
import { deviceTopic, parseDeviceTopic } from '../../protocol/topics';
import { eventually } from '../support/eventually';
import { testEnv } from '../setup/test-env';

/**
 * The fleet simulator against the real Mosquitto of the test setup, driven by a bare MQTT
 * client that plays the service: it publishes commands as the command workflow would and
 * checks every device's answers against the device's simulated profile.
 */

const env = testEnv();
const run = Math.random().toString(36).slice(2, 8);
const dir = mkdtempSync(path.join(env.dir, `fleet-${run}-`));
const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

/** A distinct topic prefix, device IDs and client IDs per scenario. */
function scenario(name: string) {
  return { topicPrefix: `fleet${run}${name}/devices`, idPrefix: `${name}${run}-` };
}

async function startSim(o: Omit<FleetSimulatorOptions, 'mqttUrl'>): Promise<FleetSimulator> {
  const sim = new FleetSimulator({ mqttUrl: env.mqttUrl, ...o });
  cleanups.push(() => sim.stop());
  await sim.start();
  return sim;
}

/** The service side: publishes commands, records every ack, result and status per device. */
class Service {
  readonly acks = new Map<string, AckMessage[]>();
  readonly results = new Map<string, ResultMessage[]>();
  readonly statuses = new Map<string, StatusMessage>();
  private constructor(
    private readonly client: MqttClient,
    private readonly prefix: string,
  ) {}

  static async start(prefix: string, kinds: Array<'ack' | 'result' | 'status'> = ['ack', 'result']): Promise<Service> {
    const client = await mqtt.connectAsync(env.mqttUrl, { protocolVersion: 5, clientId: `svc-${run}-${Math.random().toString(36).slice(2)}`, clean: true });
    const s = new Service(client, prefix);
    cleanups.push(() => client.endAsync());
    client.on('message', (topic, payload) => s.onMessage(topic, payload));
    await client.subscribeAsync(
      kinds.map((k) => `${prefix}/+/${k}`),
      { qos: 1 },
    );
    return s;
  }

  private onMessage(topic: string, payload: Buffer): void {
    const t = parseDeviceTopic(this.prefix, topic);
    if (!t) return;
    const json = JSON.parse(payload.toString('utf8'));
    const push = <T>(m: Map<string, T[]>, v: T) => m.set(t.deviceId, [...(m.get(t.deviceId) ?? []), v]);
    if (t.kind === 'ack') push(this.acks, AckMessage.parse(json));
    if (t.kind === 'result') push(this.results, ResultMessage.parse(json));
    if (t.kind === 'status') this.statuses.set(t.deviceId, StatusMessage.parse(json));
  }

  /** One command per device, as the command workflow publishes it; at most 500 unacknowledged. */
  async send(deviceIds: readonly string[], commandIdOf: (d: string) => string, attempt = 1, ttlMs = 600_000): Promise<void> {
    const expiresAt = new Date(Date.now() + ttlMs).toISOString();
    for (let i = 0; i < deviceIds.length; i += 500) {
      await Promise.all(
        deviceIds.slice(i, i + 500).map((d) => {
          const command = CommandMessage.parse({
            v: 1,
            commandId: commandIdOf(d),
            name: 'update-firmware',
            params: { version: '2.0' },
            attempt,
            issuedAt: new Date().toISOString(),
            expiresAt,
          });
          return this.client.publishAsync(deviceTopic(this.prefix, d, 'commands'), JSON.stringify(command), {
            qos: 1,
            properties: { messageExpiryInterval: Math.ceil(ttlMs / 1000), contentType: 'application/json' },
          });
        }),
      );
    }
  }

  /** Cancel requests, as the command workflow publishes them for a cancelled command. */
  async cancel(deviceIds: readonly string[], commandIdOf: (d: string) => string): Promise<void> {
    await Promise.all(
      deviceIds.map((d) =>
        this.client.publishAsync(
          deviceTopic(this.prefix, d, 'cancel'),
          JSON.stringify({ v: 1, commandId: commandIdOf(d), issuedAt: new Date().toISOString() }),
          { qos: 1 },
        ),
      ),
    );
  }

  count(m: Map<string, unknown[]>, ids: readonly string[]): number {
    return ids.reduce((n, d) => n + (m.get(d)?.length ?? 0), 0);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('fleet simulator, shared connections', () => {
  it('3,000 devices over 2 connections: each answers exactly as its profile says; repeats are answered, never re-executed', async () => {
    const sc = scenario('a');
    const sim = await startSim({
      ...sc,
      devices: 3_000,
      connections: 2,
      seed: 42,
      latencyMs: 100,
      offlineRate: 0.1,
      slowRate: 0.1,
      slowLatencyMs: 1_500,
      dropAckRate: 0.1,
      journalDir: path.join(dir, 'a'),
    });
    expect(sim.stats()).toMatchObject({ devices: 3_000, online: 2_700, offline: 300, connections: 2, commandsReceived: 0 });

    // Presence: every device has a retained status, online ones with their own bootId.
    const presence = await Service.start(sc.topicPrefix, ['status']);
    await eventually(
      async () => presence.statuses.size,
      (n) => n === 3_000,
    );
    const statuses = sim.deviceIds.map((d) => presence.statuses.get(d)!);
    expect(statuses.filter((s) => s.state === 'online')).toHaveLength(2_700);
    expect(sim.deviceIds.every((d) => (presence.statuses.get(d)!.state === 'offline') === sim.profile(d)!.offline)).toBe(true);
    expect(new Set(statuses.map((s) => s.bootId)).size).toBe(3_000);

    const svc = await Service.start(sc.topicPrefix);
    const targets = sim.deviceIds.slice(0, 500);
    const online = targets.filter((d) => !sim.profile(d)!.offline);
    const offline = targets.filter((d) => sim.profile(d)!.offline);
    const slow = online.filter((d) => sim.profile(d)!.slow);
    const commandId = (d: string) => `c1.${d}`;
    const dropped = online.filter((d) => sim.dropsAck(d, commandId(d)));
    // The seeded fleet has every kind of device among the targets.
    expect([offline.length > 20, slow.length > 20, dropped.length > 20]).toEqual([true, true, true]);

    await svc.send(targets, commandId);
    await eventually(
      async () => svc.count(svc.results, online),
      (n) => n === online.length,
      20_000,
    );
    await sleep(300); // anything extra would show up now
    for (const d of online) {
      expect(svc.results.get(d)).toEqual([
        { v: 1, commandId: commandId(d), status: 'succeeded', output: { name: 'update-firmware', latencyMs: expect.any(Number) } },
      ]);
      expect(svc.acks.get(d)).toEqual(sim.dropsAck(d, commandId(d)) ? undefined : [{ v: 1, commandId: commandId(d), status: 'accepted' }]);
    }
    for (const d of offline) expect([svc.acks.get(d), svc.results.get(d)]).toEqual([undefined, undefined]);
    for (const d of slow) expect((svc.results.get(d)![0].output as { latencyMs: number }).latencyMs).toBeGreaterThanOrEqual(750);
    expect(sim.stats()).toMatchObject({
      commandsReceived: online.length,
      executions: online.length,
      acksSent: online.length - dropped.length,
      acksDropped: dropped.length,
      resultsSent: online.length,
      duplicatesAnswered: 0,
      maxExecutionsPerCommand: 1,
      ignored: 0,
    });

    // The same commands again (attempt 2) to 50 devices: same ack, same result, no execution.
    const repeated = targets.slice(0, 50);
    const repeatedOnline = repeated.filter((d) => !sim.profile(d)!.offline);
    await svc.send(repeated, commandId, 2);
    await eventually(
      async () => svc.count(svc.results, repeatedOnline),
      (n) => n === 2 * repeatedOnline.length,
    );
    await sleep(300);
    for (const d of repeatedOnline) {
      const results = svc.results.get(d)!;
      expect(results).toHaveLength(2);
      expect(results[1]).toEqual(results[0]);
      // A lost first ack is re-sent now: the repeat always gets the journaled ack.
      expect(svc.acks.get(d)).toHaveLength(sim.dropsAck(d, commandId(d)) ? 1 : 2);
    }
    for (const d of repeated.filter((x) => sim.profile(x)!.offline)) expect(svc.acks.get(d)).toBeUndefined();
    expect(sim.stats()).toMatchObject({
      commandsReceived: online.length + repeatedOnline.length,
      duplicatesAnswered: repeatedOnline.length,
      executions: online.length,
      maxExecutionsPerCommand: 1,
    });
  }, 60_000);

  it('exact shares: 20% of devices reject, 30% fail, 10% are offline; rejectRate 1 rejects everything', async () => {
    const mixed = await startSim({ ...scenario('b'), devices: 1_000, seed: 7, latencyMs: 50, rejectRate: 0.2, failureRate: 0.3, offlineRate: 0.1 });
    const mixedSvc = await Service.start(scenario('b').topicPrefix);
    const all = await startSim({ ...scenario('c'), devices: 1_000, rejectRate: 1, latencyMs: 50 });
    const allSvc = await Service.start(scenario('c').topicPrefix);

    await Promise.all([mixedSvc.send(mixed.deviceIds, (d) => `m.${d}`), allSvc.send(all.deviceIds.slice(0, 500), (d) => `r.${d}`)]);
    const profiles = mixed.deviceIds.map((d) => mixed.profile(d)!);
    expect([profiles.filter((p) => p.rejecting).length, profiles.filter((p) => p.failing).length, profiles.filter((p) => p.offline).length]).toEqual([
      200, 300, 100,
    ]);
    await eventually(
      async () => mixedSvc.count(mixedSvc.results, mixed.deviceIds) + mixedSvc.count(mixedSvc.acks, mixed.deviceIds),
      (n) => n === 200 + 700 * 2,
    );
    await eventually(
      async () => allSvc.count(allSvc.acks, all.deviceIds),
      (n) => n === 500,
    );
    await sleep(300);

    const outcome = (s: Service, d: string) =>
      `${
        s.acks
          .get(d)
          ?.map((a) => a.status + (a.reason ? `:${a.reason}` : ''))
          .join('+') ?? '-'
      } / ${
        s.results
          .get(d)
          ?.map((r) => r.status + (r.error ? `:${r.error.code}` : ''))
          .join('+') ?? '-'
      }`;
    const tally = new Map<string, number>();
    for (const d of mixed.deviceIds) {
      const p = mixed.profile(d)!;
      const expected = p.offline
        ? '- / -'
        : p.rejecting
          ? 'rejected:simulated-rejection / -'
          : p.failing
            ? 'accepted / failed:simulated-failure'
            : 'accepted / succeeded';
      expect(`${d} ${outcome(mixedSvc, d)}`).toBe(`${d} ${expected}`);
      tally.set(expected, (tally.get(expected) ?? 0) + 1);
    }
    expect(Object.fromEntries(tally)).toEqual({
      '- / -': 100,
      'rejected:simulated-rejection / -': 200,
      'accepted / failed:simulated-failure': 300,
      'accepted / succeeded': 400,
    });
    expect(mixed.stats()).toMatchObject({ commandsReceived: 900, executions: 700, maxExecutionsPerCommand: 1 });

    for (const d of all.deviceIds.slice(0, 500)) expect(outcome(allSvc, d)).toBe('rejected:simulated-rejection / -');
    expect(all.stats()).toMatchObject({ commandsReceived: 500, executions: 0, acksSent: 500, resultsSent: 0 });
  }, 60_000);

  it('commands sent while the simulator is down wait in its sessions; after a restart the journal answers repeats without running them', async () => {
    const sc = scenario('d');
    const options = { ...sc, devices: 200, connections: 2, latencyMs: 50, journalDir: path.join(dir, 'd'), clientIdPrefix: `fleet-d-${run}` };
    const first = new FleetSimulator({ mqttUrl: env.mqttUrl, ...options });
    cleanups.push(() => first.stop());
    await first.start();
    const svc = await Service.start(sc.topicPrefix, ['ack', 'result', 'status']);
    await svc.send(first.deviceIds, (d) => `c1.${d}`);
    await eventually(
      async () => svc.count(svc.results, first.deviceIds),
      (n) => n === 200,
    );
    const bootBefore = svc.statuses.get(first.deviceIds[0])!.bootId;
    await first.stop();
    await eventually(
      async () => svc.statuses.get(first.deviceIds[0])!.state,
      (s) => s === 'offline',
    );

    const queued = first.deviceIds.slice(0, 50);
    const repeated = first.deviceIds.slice(100, 120);
    await svc.send(queued, (d) => `c2.${d}`);
    await svc.send(repeated, (d) => `c1.${d}`, 2);

    const second = await startSim(options);
    // At least once: a result whose PUBACK was lost at the stop is sent again at the restart.
    await eventually(
      async () => svc.count(svc.results, first.deviceIds),
      (n) => n >= 200 + 50 + 20,
    );
    await sleep(300);
    expect(second.stats()).toMatchObject({ commandsReceived: 70, executions: 50, duplicatesAnswered: 20, maxExecutionsPerCommand: 1 });
    const distinct = (d: string) => [...new Set(svc.results.get(d)!.map((r) => `${r.commandId} ${r.status}`))];
    for (const d of queued) expect(distinct(d)).toEqual([`c1.${d} succeeded`, `c2.${d} succeeded`]);
    for (const d of repeated) {
      expect(distinct(d)).toEqual([`c1.${d} succeeded`]);
      expect(svc.results.get(d)!.length).toBeGreaterThanOrEqual(2); // the repeat was answered
    }
    const after = await eventually(
      async () => svc.statuses.get(first.deviceIds[0])!,
      (s) => s.state === 'online',
    );
    expect(after.bootId).not.toBe(bootBefore);
  }, 60_000);

  it('a crash in the middle of an execution: the repeat reports `interrupted`, it never runs twice', async () => {
    const sc = scenario('e');
    const options = { ...sc, devices: 5, latencyMs: 20_000, journalDir: path.join(dir, 'e'), clientIdPrefix: `fleet-e-${run}` };
    const first = new FleetSimulator({ mqttUrl: env.mqttUrl, ...options });
    cleanups.push(() => first.crash());
    await first.start();
    const svc = await Service.start(sc.topicPrefix);
    await svc.send(first.deviceIds, (d) => `long.${d}`);
    await eventually(
      async () => svc.count(svc.acks, first.deviceIds),
      (n) => n === 5,
    );
    expect(first.stats()).toMatchObject({ executions: 5, resultsSent: 0 });
    await first.crash();

    const second = await startSim(options);
    await svc.send(first.deviceIds, (d) => `long.${d}`, 2);
    await eventually(
      async () => svc.count(svc.results, first.deviceIds),
      (n) => n === 5,
    );
    for (const d of first.deviceIds) {
      expect(svc.results.get(d)).toEqual([
        { v: 1, commandId: `long.${d}`, status: 'failed', error: { code: 'interrupted', message: 'the device restarted while executing the command' } },
      ]);
    }
    expect(second.stats()).toMatchObject({ executions: 0, duplicatesAnswered: 5 });
  }, 30_000);
});

describe('fleet simulator, one DeviceAgent per device', () => {
  it('20 devices with their own connections answer as their profiles say', async () => {
    const sc = scenario('f');
    const sim = await startSim({
      ...sc,
      mode: 'per-device',
      devices: 20,
      seed: 3,
      latencyMs: 50,
      offlineRate: 0.1,
      failureRate: 0.1,
      rejectRate: 0.1,
      journalDir: path.join(dir, 'f'),
    });
    const svc = await Service.start(sc.topicPrefix);
    await svc.send(sim.deviceIds, (d) => `p.${d}`);
    await eventually(
      async () => svc.count(svc.results, sim.deviceIds) + svc.count(svc.acks, sim.deviceIds),
      (n) => n === 2 + 16 * 2,
    );
    await sleep(300);
    for (const d of sim.deviceIds) {
      const p = sim.profile(d)!;
      const expected = p.offline ? [undefined, undefined] : p.rejecting ? ['rejected', undefined] : ['accepted', p.failing ? 'failed' : 'succeeded'];
      expect([d, svc.acks.get(d)?.[0].status, svc.results.get(d)?.[0].status]).toEqual([d, ...expected]);
    }
    expect(sim.stats()).toMatchObject({ devices: 20, online: 18, offline: 2, commandsReceived: 18, executions: 16, maxExecutionsPerCommand: 1 });
  }, 30_000);
});

describe('dco sim without --shared (Simulator: reference agents with the demo handlers)', () => {
  it('--failure-rate, --reject-rate and --offline-rate mean what they mean with --shared: exact shares of devices, the same devices for the same seed', async () => {
    const sc = scenario('s');
    const o = { devices: 20, seed: 3, failureRate: 0.25, rejectRate: 0.1, offlineRate: 0.1 };
    const sim = new Simulator({
      ...o,
      idPrefix: sc.idPrefix,
      mqttUrl: env.mqttUrl,
      topicPrefix: sc.topicPrefix,
      dataDir: path.join(dir, 's'),
      latencyMs: 50,
      dropAckRate: 0,
    });
    cleanups.push(() => sim.stop());
    await sim.start();
    const shared = new FleetSimulator({ ...o, idPrefix: sc.idPrefix, mqttUrl: env.mqttUrl });
    expect(sim.deviceIds.map((d) => sim.profile(d))).toEqual(shared.deviceIds.map((d) => shared.profile(d)));

    const svc = await Service.start(sc.topicPrefix);
    await svc.send(sim.deviceIds, (d) => `s.${d}`);
    // 2 offline devices say nothing; 2 reject; 5 fail; 11 succeed (an ack and a result each).
    await eventually(
      async () => svc.count(svc.results, sim.deviceIds) + svc.count(svc.acks, sim.deviceIds),
      (n) => n === 2 + 16 * 2,
    );
    await sleep(300);
    const outcomes = sim.deviceIds.map(
      (d) => `${svc.acks.get(d)?.[0].status ?? '-'} / ${svc.results.get(d)?.[0].error?.code ?? svc.results.get(d)?.[0].status ?? '-'}`,
    );
    const expected = sim.deviceIds.map((d) => {
      const p = sim.profile(d)!;
      return p.offline ? '- / -' : p.rejecting ? 'rejected / -' : p.failing ? 'accepted / simulated-failure' : 'accepted / succeeded';
    });
    expect(outcomes).toEqual(expected);
    expect(expected.filter((e) => e === 'accepted / simulated-failure')).toHaveLength(5);
  }, 30_000);
});

describe('fleet simulator at 10,000 devices (timing is printed, not asserted)', () => {
  it('connects 10,000 devices and answers 10,000 commands', async () => {
    const sc = scenario('g');
    const rssBefore = process.memoryUsage().rss;
    const t0 = Date.now();
    const sim = await startSim({ ...sc, devices: 10_000, latencyMs: 100, journalDir: path.join(dir, 'g') });
    const connectMs = Date.now() - t0;
    const svc = await Service.start(sc.topicPrefix);
    const t1 = Date.now();
    await svc.send(sim.deviceIds, (d) => `big.${d}`);
    const publishMs = Date.now() - t1;
    await eventually(
      async () => svc.count(svc.results, sim.deviceIds),
      (n) => n === 10_000,
      45_000,
    );
    const answerMs = Date.now() - t1;
    expect(sim.stats()).toMatchObject({ devices: 10_000, online: 10_000, connections: 5, executions: 10_000, maxExecutionsPerCommand: 1 });
    expect(svc.count(svc.acks, sim.deviceIds)).toBe(10_000);
    const rssMb = (n: number) => Math.round(n / 1e6);
    console.log(
      `[fleet 10k] connect+subscribe+status: ${connectMs} ms over 5 connections; ` +
        `10,000 commands published in ${publishMs} ms, all acked and answered in ${answerMs} ms ` +
        `(${Math.round(10_000 / (answerMs / 1000))} commands/s, mean execution 100 ms); ` +
        `RSS ${rssMb(process.memoryUsage().rss)} MB (was ${rssMb(rssBefore)} MB; includes jest and the service client)`,
    );
  }, 60_000);
});

describe('fleet simulator, concurrent executions', () => {
  it('reports a device that starts a command while it executes another (what the chaos test counts for serial devices)', async () => {
    const sc = scenario('conc');
    const seen: Array<{ deviceId: string; started: string; running: readonly string[] }> = [];
    const sim = await startSim({
      ...sc,
      mode: 'per-device',
      devices: 1,
      latencyMs: 400,
      seed: 1,
      journalDir: path.join(dir, 'conc'),
      onConcurrentExecution: (deviceId, started, running) => seen.push({ deviceId, started, running }),
    });
    const [d] = sim.deviceIds;
    const svc = await Service.start(sc.topicPrefix);
    await svc.send([d], () => 'first');
    await svc.send([d], () => 'second');
    await eventually(
      async () => svc.count(svc.results, [d]),
      (n) => n === 2,
    );
    expect(seen).toEqual([{ deviceId: d, started: 'second', running: ['first'] }]);
    // One after the other: nothing to report.
    await svc.send([d], () => 'third');
    await eventually(
      async () => svc.count(svc.results, [d]),
      (n) => n === 3,
    );
    expect(seen).toHaveLength(1);
  });
});

describe.each(['shared', 'per-device'] as const)('fleet simulator (%s), cancel requests', (mode) => {
  it('running commands stop and answer `cancelled`; a command cancelled before it arrived is never run; a repeated cancel gets the stored answer', async () => {
    const sc = scenario(mode === 'shared' ? 'cs' : 'cp');
    const sim = await startSim({ ...sc, mode, devices: 12, connections: 1, seed: 7, latencyMs: 60_000, slowRate: 0, journalDir: path.join(dir, sc.idPrefix) });
    const svc = await Service.start(sc.topicPrefix);
    const [running, unseen, twice] = [sim.deviceIds.slice(0, 4), sim.deviceIds.slice(4, 8), sim.deviceIds.slice(8)];
    const first = (d: string) => `c1.${d}`;
    await svc.send(running, first);
    await eventually(
      async () => svc.count(svc.acks, running),
      (n) => n === running.length,
    );

    await svc.cancel(running, first);
    await svc.cancel(unseen, first); // never sent to them
    await eventually(
      async () => svc.count(svc.results, [...running, ...unseen]),
      (n) => n === 8,
    );
    for (const d of [...running, ...unseen]) expect(svc.results.get(d)).toEqual([{ v: 1, commandId: first(d), status: 'cancelled' }]);

    // The command arrives after its cancel: answered from the journal, never run.
    await svc.send(unseen, first);
    await eventually(
      async () => svc.count(svc.acks, unseen),
      (n) => n === unseen.length,
    );
    for (const d of unseen) expect(svc.acks.get(d)).toEqual([{ v: 1, commandId: first(d), status: 'rejected', reason: 'cancelled' }]);
    expect(sim.stats().executions).toBe(running.length);

    await eventually(
      async () => svc.count(svc.results, unseen),
      (n) => n === 2 * unseen.length,
    ); // the repeat re-sends the stored result

    // QoS 1 may deliver a cancel twice: the second gets the stored answer, nothing else happens.
    await svc.cancel(twice, first);
    await eventually(
      async () => svc.count(svc.results, twice),
      (n) => n === twice.length,
    );
    await svc.cancel(twice, first);
    await eventually(
      async () => svc.count(svc.results, twice),
      (n) => n === 2 * twice.length,
    );
    for (const d of twice) expect(svc.results.get(d)).toEqual([0, 1].map(() => ({ v: 1, commandId: first(d), status: 'cancelled' })));
    expect(sim.stats().executions).toBe(running.length);
  });
});
