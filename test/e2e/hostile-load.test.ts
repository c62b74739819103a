import { spawn } from 'node:child_process';
import mqtt, { type MqttClient } from 'mqtt';
import path from 'node:path';
import { emptyTotals, type DeadLetterReason, type DeadLetterTotals } from '../../bridge/dead-letter-record';
import { DeadLetterStore } from '../../bridge/dead-letter-store';
import { DEFAULT_MAX_PAYLOAD_BYTES, REJECT_REASONS } from '../../bridge/parse-device-message';
import type { CommandHandle } from '../../client/dco-client';
import { mulberry32 } from '../../device/seeded-random';
import { deviceTopic } from '../../protocol/topics';
import { MosquittoBroker } from '../../stack/mosquitto-broker';
import { eventually } from '../support/eventually';
import { Harness } from '../support/harness';
import { runCli } from '../support/run-cli';

/**
 * Hostile load: while 50 real commands run on 10 well-behaved devices, more than 10,000
 * random, truncated, oversized, too deep, misdirected and spoofed payloads hit the device
 * topics of a real Mosquitto with authentication. Every real command must still succeed,
 * nothing may restart, and the bridge's dead letters must equal what was sent, per reason.
 */

const SEED = Number(process.env.HOSTILE_SEED ?? 20260204);
const DEVICES = 10;
const GATED = 25; // held open until the flood is over: the spoofs target them
const FREE = 25; // sent and finished while the flood runs

/** How many of each kind the flood sends, and the reason each must end with at the bridge. */
const PLAN = {
  randomBytes: { n: 3_000, reason: 'not-json' },
  truncated: { n: 2_200, reason: 'not-json' },
  tooDeep: { n: 500, reason: 'too-deep' },
  wrongVersion: { n: 800, reason: 'unsupported-version' },
  invalid: { n: 1_500, reason: 'invalid-payload' },
  badTopic: { n: 500, reason: 'bad-topic' },
  unknownCommand: { n: 1_000, reason: 'unknown-command' },
  exactly64KiB: { n: 20, reason: 'unknown-command' }, // at the limit: passes the broker and the size check
  spoofedOwnTopic: { n: 300, reason: 'spoofed' }, // a device's own topic, another device's command
} as const satisfies Record<string, { n: number; reason: DeadLetterReason }>;
/** Refused by the broker: they never reach the bridge. */
const SPOOFED_OTHER_TOPIC = 300; // a device publishing on another device's topic: PUBACK 0x87
const OVERSIZED = 200; // payload > 64 KiB: PUBACK 0x95 (message_size_limit)

describe('hostile load: real commands under a flood of bad and spoofed messages', () => {
  let broker: MosquittoBroker;
  let h: Harness;
  let deadLetterDir: string;
  let store: DeadLetterStore;
  const creds: Record<string, { username: string; password: string }> = {};
  const devices = Array.from({ length: DEVICES }, (_, i) => `good-${String(i + 1).padStart(2, '0')}`);
  const spoofers = ['spoofer-1', 'spoofer-2', 'spoofer-3', 'spoofer-4', 'spoofer-5'];

  beforeAll(async () => {
    const base = new Harness(); // only for its temp dir
    broker = await MosquittoBroker.start({ dataDir: path.join(base.dir, 'hostile-broker'), auth: { topicPrefixes: ['+/devices'] } });
    const auth = broker.auth!;
    for (const id of [...devices, ...spoofers]) creds[id] = { username: id, password: auth.addDevice(id) };
    await auth.reloadAndWait();
    deadLetterDir = path.join(base.dir, 'deadletters');
    h = new Harness({ url: broker.url, serviceUrl: broker.serviceUrl, worker: auth.credentialsOf('worker'), bridge: auth.credentialsOf('bridge') });
    store = new DeadLetterStore({ dir: deadLetterDir });
    // No per-device budget here: the flood comes from the gateway account, which may write on any
    // device's topic, and this test counts every message's reason exactly. The budget has its
    // own test (noisy-neighbour.test.ts).
    await h.start({ bridgeOptions: { deadLetters: store, deviceRate: false } });
  });
  afterAll(async () => {
    await h?.stop();
    store?.close();
    await broker?.stop();
  });

  test('every real command succeeds, nothing restarts, dead letters = what was sent per reason', async () => {
    const t0 = Date.now();
    const step = (what: string) =>
      process.env.HOSTILE_DEBUG &&
      process.stderr.write(`[hostile ${((Date.now() - t0) / 1000).toFixed(1)} s] ${what} ${JSON.stringify(h.bridge?.deadLetters.totals())}\n`);
    const random = mulberry32(SEED);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];
    const int = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));
    const topic = (deviceId: string, kind: 'ack' | 'result' | 'status') => deviceTopic(h.topicPrefix, deviceId, kind);
    const anyKind = () => pick(['ack', 'result', 'status'] as const);
    const someDevice = () => (random() < 0.7 ? pick(devices) : `stranger-${int(1, 500)}`);

    // --- watch every long-lived connection: none may drop or reconnect ------------------------
    const events: string[] = [];
    const watch = (name: string, client: MqttClient) => {
      for (const e of ['connect', 'reconnect', 'offline', 'close', 'disconnect'] as const) client.on(e, () => events.push(`${name}:${e}`));
    };
    const bridge = h.bridge!;
    bridge.mqttClients.forEach((client, lane) => watch(`bridge-${lane}`, client));
    watch('worker', h.publisher!.mqtt);
    const brokerPid = broker.process.pid;

    // --- 10 well-behaved devices; gated commands stay open until the flood is over ------------
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    for (const id of devices) {
      const agent = await h.startDevice(
        id,
        {
          work: async (params) => {
            if (params.gated) await gate;
            return { done: true, by: id };
          },
        },
        undefined,
        creds[id],
      );
      watch(id, (agent as unknown as { client: MqttClient }).client);
    }
    const gated: CommandHandle[] = [];
    for (let i = 0; i < GATED; i++) {
      gated.push(await h.client.send({ deviceId: devices[i % DEVICES], name: 'work', params: { gated: true, i }, resultTimeoutMs: 300_000 }));
    }
    await eventually(
      async () => (await Promise.all(gated.map((c) => c.state()))).filter((s) => s.state === 'Acknowledged').length,
      (n) => n === GATED,
      30_000,
    );
    step('gated commands acknowledged');
    const gatedIds = gated.map((c) => c.commandId);
    const ownerOf = new Map(gated.map((c, i) => [c.commandId, devices[i % DEVICES]]));

    // --- the flood, built up front ------------------------------------------------------------
    type Shot = { kind: keyof typeof PLAN; topic: string; payload: Buffer };
    const shots: Shot[] = [];
    const json = (v: unknown) => Buffer.from(JSON.stringify(v));
    const ack = (commandId: string, extra: Record<string, unknown> = {}) => ({ v: 1, commandId, status: 'accepted', ...extra });
    const result = (commandId: string) => ({ v: 1, commandId, status: 'succeeded', output: { n: int(0, 9) } });
    const ghost = () => `ghost-${int(1, 1e9).toString(36)}`;
    const add = (kind: keyof typeof PLAN, t: string, payload: Buffer) => shots.push({ kind, topic: t, payload });

    for (let i = 0; i < PLAN.randomBytes.n; i++) {
      // 0xff is never valid UTF-8, so this is never JSON, whatever follows
      add(
        'randomBytes',
        topic(someDevice(), anyKind()),
        Buffer.concat([Buffer.from([0xff]), Buffer.from(Array.from({ length: int(0, 600) }, () => int(0, 255)))]),
      );
    }
    for (let i = 0; i < PLAN.truncated.n; i++) {
      const whole = JSON.stringify(random() < 0.5 ? ack(pick(gatedIds)) : result(ghost())); // a JSON object: every proper prefix is invalid
      add('truncated', topic(someDevice(), anyKind()), Buffer.from(whole.slice(0, int(0, whole.length - 1))));
    }
    for (let i = 0; i < PLAN.tooDeep.n; i++) {
      const n = int(31, 10_000); // 10,000 objects: 60 KB, still under the broker's limit
      const deep = random() < 0.5 ? '['.repeat(n) + ']'.repeat(n) : '{"a":'.repeat(n) + '0' + '}'.repeat(n);
      const text = `{"v":1,"commandId":"${pick(gatedIds)}","status":"succeeded","output":{"x":${deep}}}`;
      add('tooDeep', topic(pick(devices), 'result'), Buffer.from(text));
    }
    for (let i = 0; i < PLAN.wrongVersion.n; i++) {
      add(
        'wrongVersion',
        topic(someDevice(), pick(['ack', 'result'] as const)),
        json(ack(pick(gatedIds), { v: pick([2, 0, '1', null, 1.5, 'v1', [1], { major: 1 }]) })),
      );
    }
    const invalids: Array<() => [string, Buffer]> = [
      () => [topic(someDevice(), 'ack'), json({ v: 1 })],
      () => [topic(someDevice(), 'ack'), json(ack(pick(gatedIds), { status: 'ok' }))],
      () => [topic(someDevice(), 'result'), json({ v: 1, commandId: 'has/slash', status: 'succeeded' })],
      () => [topic(someDevice(), 'result'), json({ v: 1, commandId: ghost(), status: 'failed', error: { code: '', message: 'x' } })],
      () => [topic(someDevice(), 'status'), json({ v: 1, state: 'asleep', bootId: 'b' })],
      () => [topic(someDevice(), 'status'), json(ack(pick(gatedIds)))], // an ack on the status topic
      () => [topic(someDevice(), anyKind()), json(pick([[1, 2], 'text', 42, null, true]))],
      () => [topic(someDevice(), 'ack'), json(ack('x'.repeat(int(129, 2000))))],
    ];
    for (let i = 0; i < PLAN.invalid.n; i++) {
      const [t, p] = pick(invalids)();
      add('invalid', t, p);
    }
    for (let i = 0; i < PLAN.badTopic.n; i++) {
      const badId = pick([`bad id ${i}`, 'x'.repeat(65), `d!${i}`, `é${i}`, '']);
      add('badTopic', `${h.topicPrefix}/${badId}/${pick(['ack', 'result', 'status'])}`, json(ack(pick(gatedIds))));
    }
    for (let i = 0; i < PLAN.unknownCommand.n; i++) {
      const kind = pick(['ack', 'result'] as const);
      add('unknownCommand', topic(someDevice(), kind), json(kind === 'ack' ? ack(ghost()) : result(ghost())));
    }
    for (let i = 0; i < PLAN.exactly64KiB.n; i++) {
      const head = JSON.stringify(ack(ghost())).slice(0, -1);
      add('exactly64KiB', topic(pick(devices), 'ack'), Buffer.from(head + ' '.repeat(DEFAULT_MAX_PAYLOAD_BYTES - head.length - 1) + '}'));
    }
    expect(shots.filter((s) => s.kind === 'exactly64KiB').every((s) => s.payload.byteLength === DEFAULT_MAX_PAYLOAD_BYTES)).toBe(true);
    // MQTT.js cannot take the broker's answer to a bigger one (PUBACK 0x95 is "invalid" to it): it
    // would wedge the gateway's connection. Oversized payloads go through mosquitto_pub below.
    expect(Math.max(...shots.map((s) => s.payload.byteLength))).toBeLessThanOrEqual(DEFAULT_MAX_PAYLOAD_BYTES);
    // Shuffle, so every kind is spread over the whole flood.
    for (let i = shots.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [shots[i], shots[j]] = [shots[j], shots[i]];
    }

    // --- publishers: the gateway account (any device topic), spoofers (their own accounts) -----
    const connect = (c: { username: string; password: string }, clientId: string, url = broker.url) =>
      mqtt.connectAsync(url, { protocolVersion: 5, clientId, clean: true, reconnectPeriod: 0, ...c });
    // The gateway account has several connections (this one, mosquitto_pub below): the services' listener.
    const gateway = await connect(broker.auth!.credentialsOf('gateway'), `hostile-gateway-${h.id}`, broker.serviceUrl);
    const spoofClients = await Promise.all(spoofers.map((id) => connect(creds[id], `hostile-${id}`)));
    const sent: Record<string, number> = {};
    const refusals = { acl: 0, oversized: 0, unexpected: [] as string[] };

    async function publishAll(
      client: MqttClient,
      items: Array<{ topic: string; payload: Buffer; kind: string }>,
      onError: (err: Error & { code?: number }, kind: string) => void,
    ) {
      const WINDOW = 200;
      for (let i = 0; i < items.length; i += WINDOW) {
        await Promise.all(
          items.slice(i, i + WINDOW).map((s) =>
            client.publishAsync(s.topic, s.payload, { qos: 1 }).then(
              () => (sent[s.kind] = (sent[s.kind] ?? 0) + 1),
              (err) => onError(err, s.kind),
            ),
          ),
        );
      }
    }
    const unexpected = (err: Error, kind: string) => refusals.unexpected.push(`${kind}: ${err.message}`);

    const spoofOwn = Array.from({ length: PLAN.spoofedOwnTopic.n }, (_, i) => {
      const commandId = gatedIds[i % gatedIds.length];
      const kind = random() < 0.5 ? ('ack' as const) : ('result' as const);
      const payload =
        kind === 'ack'
          ? ack(commandId, { status: 'rejected', reason: 'spoofed' })
          : { v: 1, commandId, status: 'failed', error: { code: 'pwned', message: 'spoofed' } };
      return { spoofer: i % spoofers.length, topic: topic(spoofers[i % spoofers.length], kind), payload: json(payload), kind: 'spoofedOwnTopic' };
    });
    const spoofOther = Array.from({ length: SPOOFED_OTHER_TOPIC }, (_, i) => {
      const commandId = pick(gatedIds);
      return {
        spoofer: i % spoofers.length,
        topic: topic(ownerOf.get(commandId)!, pick(['ack', 'result', 'status'] as const)),
        payload: json(ack(commandId)),
        kind: 'spoofedOtherTopic',
      };
    });

    /** Oversized payloads through mosquitto_pub (MQTT.js cannot take the broker's answer, see the notes). */
    const oversized = () =>
      new Promise<void>((resolve, reject) => {
        const gw = broker.auth!.credentialsOf('gateway');
        const url = new URL(broker.serviceUrl);
        const child = spawn(
          'mosquitto_pub',
          [
            '-V',
            'mqttv5',
            '-h',
            url.hostname,
            '-p',
            url.port,
            '-u',
            gw.username,
            '-P',
            gw.password,
            '-i',
            `hostile-oversized-${h.id}`,
            '-q',
            '1',
            '-t',
            topic(devices[0], 'result'),
            '-l',
          ],
          { stdio: ['pipe', 'ignore', 'pipe'] },
        );
        let stderr = '';
        child.stderr.on('data', (d) => (stderr += d));
        child.on('error', reject);
        child.on('exit', (code) => {
          refusals.oversized = (stderr.match(/Publish \d+ failed: Packet too large/g) ?? []).length;
          if (code !== 0) refusals.unexpected.push(`mosquitto_pub exited ${code}: ${stderr.slice(0, 300)}`);
          resolve();
        });
        for (let i = 0; i < OVERSIZED; i++) {
          const size = int(DEFAULT_MAX_PAYLOAD_BYTES + 1, 100_000);
          child.stdin.write((random() < 0.5 ? 'x'.repeat(size) : JSON.stringify(ack(ghost(), { reason: 'y'.repeat(size) }))) + '\n');
        }
        child.stdin.end();
      });

    // --- go: the flood, the spoofers and 25 more real commands, all at once ---------------------
    const before = { ...bridge.counters.toJSON() };
    const outcomeTotal = (c: Record<string, number>) =>
      Object.entries(c)
        .filter(([k]) => /^(rejected:|status$|ack:|result:)/.test(k))
        .reduce((a, [, n]) => a + n, 0);
    const started = Date.now();
    const free: Array<Promise<CommandHandle>> = [];
    const freeSends = (async () => {
      for (let i = 0; i < FREE; i++) {
        free.push(h.client.send({ deviceId: devices[i % DEVICES], name: 'work', params: { i } }));
        await new Promise((r) => setTimeout(r, 150));
      }
    })();
    const progress = setInterval(() => step(`publishing ${JSON.stringify(sent)} ${JSON.stringify(refusals)} gw=${gateway.connected}`), 2_000);
    await Promise.all([
      publishAll(gateway, shots, unexpected),
      ...spoofers.map((_, k) =>
        publishAll(spoofClients[k], [...spoofOwn.filter((s) => s.spoofer === k), ...spoofOther.filter((s) => s.spoofer === k)], (err, kind) =>
          kind === 'spoofedOtherTopic' && err.code === 135 ? refusals.acl++ : unexpected(err, kind),
        ),
      ),
      oversized(),
      freeSends,
    ]);
    clearInterval(progress);
    const published = Date.now();
    step(`published ${JSON.stringify(sent)} ${JSON.stringify(refusals)}`);

    const expected: DeadLetterTotals = emptyTotals();
    for (const [kind, { n, reason }] of Object.entries(PLAN)) {
      expect({ kind, sent: sent[kind] ?? 0 }).toEqual({ kind, sent: n });
      expected[reason] += n;
    }
    expect(refusals.unexpected).toEqual([]);
    expect(refusals.acl).toBe(SPOOFED_OTHER_TOPIC);
    expect(refusals.oversized).toBe(OVERSIZED);

    // The bridge works through its queue: wait until every dead letter is in.
    const letters = bridge.deadLetters;
    expect(letters).toBe(store);
    await eventually(
      async () => letters.total(),
      (n) => n >= Object.values(expected).reduce((a, b) => a + b, 0),
      60_000,
    );
    const drained = Date.now();
    step('drained');
    const handled = outcomeTotal(bridge.counters.toJSON()) - outcomeTotal(before);

    // The free commands finished during the flood; now let the gated ones finish too.
    const freeOutcomes = await Promise.all((await Promise.all(free)).map((c) => c.result()));
    step('free commands done');
    openGate();
    const gatedOutcomes = await Promise.all(gated.map((c) => c.result()));
    const finished = Date.now();

    // --- every real command ended correctly -----------------------------------------------------
    for (const o of [...freeOutcomes, ...gatedOutcomes]) {
      expect({ commandId: o.commandId, state: o.state, output: o.output }).toEqual({
        commandId: o.commandId,
        state: 'Succeeded',
        output: { done: true, by: o.deviceId },
      });
    }
    // The bridge checked each spoof's owner first: none reached its command's history.
    const ignored = gatedOutcomes.flatMap((o) => o.history.filter((e) => e.event === 'ignored-ack' || e.event === 'ignored-result'));
    expect(ignored).toHaveLength(0);

    // --- dead letters: exactly what was sent, per reason; oversized ones never arrived ----------
    // Answers that real devices sent again (to a re-publish) after their command had ended, on
    // a machine slow enough for an ack timeout to pass, are attached to their command as late
    // answers: never dead letters, so the totals are exact.
    expect(letters.totals()).toEqual(expected);
    const lateAnswers = bridge.counters.get('ack:late-recorded') + bridge.counters.get('result:late-recorded');
    expect(letters.totals()['too-large']).toBe(0);
    for (const reason of REJECT_REASONS) {
      expect({ reason, counter: bridge.counters.get(`rejected:${reason}`) - (before[`rejected:${reason}`] ?? 0) }).toEqual({
        reason,
        counter: expected[reason],
      });
    }
    // The record on disk says the same, through the CLI.
    const cli = await runCli(['deadletters', '--json', '--limit', '3', '--dir', deadLetterDir]);
    expect(cli.code).toBe(0);
    const report = JSON.parse(cli.stdout);
    expect(report.totals).toEqual(expected);
    expect(report.latest).toHaveLength(3);

    // --- nothing restarted ----------------------------------------------------------------------
    expect(events).toEqual([]);
    expect(broker.process.running).toBe(true);
    expect(broker.process.pid).toBe(brokerPid);
    expect(h.bridge).toBe(bridge);

    const totalSent = Object.values(sent).reduce((a, b) => a + b, 0) + refusals.acl + refusals.oversized;
    expect(totalSent).toBeGreaterThanOrEqual(10_000);
    const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
    console.log(
      [
        `hostile load (seed ${SEED}): ${totalSent} hostile messages while ${GATED + FREE} real commands ran on ${DEVICES} devices`,
        `  sent per kind: ${JSON.stringify({ ...sent, spoofedOtherTopic: SPOOFED_OTHER_TOPIC, oversized: OVERSIZED })}`,
        `  refused by the broker: ${refusals.acl} not authorized (0x87, another device's topic), ${refusals.oversized} packet too large (0x95, > 64 KiB)`,
        `  dead letters per reason: ${JSON.stringify(letters.totals())}`,
        `  real commands: ${[...freeOutcomes, ...gatedOutcomes].filter((o) => o.state === 'Succeeded').length}/${GATED + FREE} Succeeded; attempts max ${Math.max(...[...freeOutcomes, ...gatedOutcomes].map((o) => o.attempts))}; late answers (attached): ${lateAnswers}`,
        `  time: published in ${secs(published - started)}, bridge drained after ${secs(drained - started)}, all commands done after ${secs(finished - started)}`,
        `  bridge: ${handled} messages handled in ${secs(drained - started)} = ${Math.round(handled / ((drained - started) / 1000))} msg/s (PUBACK after handling, ${bridge.mqttClients.length} lanes; ${bridge.counters.get('signal-retry')} signal retries)`,
      ].join('\n'),
    );
    await gateway.endAsync();
    await Promise.all(spoofClients.map((c) => c.endAsync()));
  });
});
