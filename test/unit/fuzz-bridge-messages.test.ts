import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import fc from 'fast-check';
import { classifyDeviceMessage, type Classification } from '../../bridge/classify-device-message';
import { DEAD_LETTER_REASONS, type DeadLetterReason } from '../../bridge/dead-letter-record';
import { DeadLetterStore } from '../../bridge/dead-letter-store';
import { MessageRouter } from '../../bridge/message-router';
import { DEFAULT_MAX_PAYLOAD_BYTES, parseDeviceMessage, REJECT_REASONS } from '../../bridge/parse-device-message';
import { createLogger } from '../../config/logger';
import { MAX_JSON_DEPTH } from '../../protocol/json-depth';
import { AckMessage, PendingRequestMessage, ResultMessage, StatusMessage } from '../../protocol/messages';

/**
 * Property-based fuzzing of what the bridge does with an MQTT message: arbitrary topics and
 * bytes, JSON-ish text, deep nesting, huge strings, and valid messages with mutations. Every
 * input gets exactly one outcome; valid messages pass unchanged; anything invalid gets the
 * specific reason its defect calls for.
 */

const P = 'devices';
const ID_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-'.split('');
const idArb = (max: number) => fc.string({ unit: fc.constantFrom(...ID_CHARS), minLength: 1, maxLength: max });
const RUNS = Number(process.env.FUZZ_RUNS ?? 1_000);

type Kind = 'ack' | 'result' | 'status';
const timestampArb = fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString());
/** JSON values shallow enough to stay within the depth limit inside output objects. */
const shallowJson = fc.jsonValue({ maxDepth: 4 });
/** Object keys; `__proto__` is the one key zod drops (tested on its own below). */
const keyArb = fc.string({ maxLength: 20 }).filter((k) => k !== '__proto__');

const ackArb = fc.record(
  {
    v: fc.constant(1 as const),
    commandId: idArb(128),
    status: fc.constantFrom('accepted' as const, 'rejected' as const),
    reason: fc.string({ maxLength: 1024 }),
  },
  { requiredKeys: ['v', 'commandId', 'status'] },
);
const resultArb = fc.record(
  {
    v: fc.constant(1 as const),
    commandId: idArb(128),
    status: fc.constantFrom('succeeded' as const, 'failed' as const),
    output: fc.dictionary(
      keyArb,
      shallowJson.filter((v) => !JSON.stringify(v).includes('"__proto__"')),
      { maxKeys: 5 },
    ),
    error: fc.record({ code: fc.string({ minLength: 1, maxLength: 128 }), message: fc.string({ maxLength: 4096 }) }),
  },
  { requiredKeys: ['v', 'commandId', 'status'] },
);
const statusArb = fc.record(
  {
    v: fc.constant(1 as const),
    state: fc.constantFrom('online' as const, 'offline' as const),
    bootId: fc.string({ minLength: 1, maxLength: 128 }),
    ts: timestampArb,
  },
  { requiredKeys: ['v', 'state', 'bootId'] },
);
const validArb: fc.Arbitrary<{ kind: Kind; deviceId: string; message: Record<string, unknown> }> = fc.oneof(
  fc.record({ kind: fc.constant('ack' as const), deviceId: idArb(64), message: ackArb }),
  fc.record({ kind: fc.constant('result' as const), deviceId: idArb(64), message: resultArb }),
  fc.record({ kind: fc.constant('status' as const), deviceId: idArb(64), message: statusArb }),
);
const schemas = { ack: AckMessage, result: ResultMessage, status: StatusMessage, pending: PendingRequestMessage };
const required: Record<Kind, string[]> = { ack: ['v', 'commandId', 'status'], result: ['v', 'commandId', 'status'], status: ['v', 'state', 'bootId'] };

const bytes = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v), 'utf8');
const topicOf = (deviceId: string, kind: string) => `${P}/${deviceId}/${kind}`;
/** What the receiver must see for a message that passed: exactly its JSON. */
const roundTrip = (v: unknown) => JSON.parse(JSON.stringify(v));

function nest(levels: number, arrays: boolean): unknown {
  let v: unknown = 0;
  for (let i = 0; i < levels; i++) v = arrays && i % 2 ? [v] : { n: v };
  return v;
}

// --- arbitrary input: anything a client can publish on anything the bridge may receive --------

const anyTopicArb = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.tuple(idArb(64), fc.constantFrom('ack', 'result', 'status', 'commands')).map(([d, k]) => topicOf(d, k)),
  fc.tuple(fc.string({ maxLength: 80 }), fc.constantFrom('ack', 'result', 'status', '+', '#', '')).map(([d, k]) => topicOf(d, k)),
  fc.tuple(idArb(64), fc.constantFrom('ack', 'result')).map(([d, k]) => `${P}/${d}/${k}/extra`),
);
const jsonishArb = fc
  .array(
    fc.constantFrom(
      '{',
      '}',
      '[',
      ']',
      '"',
      ':',
      ',',
      '\\',
      'v',
      '1',
      'null',
      'true',
      ' ',
      '"v":1',
      '"commandId":"c"',
      '"status":"accepted"',
      '\u00e9',
      '\uFEFF',
    ),
    { maxLength: 200 },
  )
  .map((parts) => parts.join(''));
const anyPayloadArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 3_000 }),
  jsonishArb.map(bytes),
  fc.jsonValue().map((v) => bytes(JSON.stringify(v) ?? 'null')),
  fc.string({ unit: 'grapheme', maxLength: 500 }).map(bytes),
  fc
    .tuple(fc.integer({ min: 1, max: 3_000 }), fc.boolean())
    .map(([d, arrays]) => bytes({ v: 1, commandId: 'c-1', status: 'succeeded', output: { deep: nest(d, arrays) } })),
  fc.integer({ min: 1, max: 40_000 }).map((n) => bytes('['.repeat(n) + ']'.repeat(n))),
  fc.integer({ min: 60_000, max: 70_000 }).map((n) => bytes({ v: 1, commandId: 'c-1', status: 'accepted', reason: 'x'.repeat(n) })),
  validArb.map((m) => bytes(m.message)),
);

function checkOne(c: Classification, topic: string, payload: Uint8Array): void {
  if (c.outcome === 'accepted') {
    expect(['ack', 'result', 'status']).toContain(c.parsed.kind);
    expect(topic).toBe(topicOf(c.parsed.deviceId, c.parsed.kind));
    expect(payload.byteLength).toBeLessThanOrEqual(DEFAULT_MAX_PAYLOAD_BYTES);
    return;
  }
  expect(c.outcome).toBe('dead-letter');
  const l = c.letter;
  expect(REJECT_REASONS).toContain(l.reason);
  expect(l.detail.length).toBeGreaterThan(0);
  expect(l.payloadBytes).toBe(payload.byteLength);
  expect(topic.startsWith(l.topic)).toBe(true);
  const kept = l.payloadEncoding === 'utf8' ? Buffer.from(l.payload, 'utf8') : Buffer.from(l.payload, 'base64');
  expect(Buffer.from(payload).subarray(0, kept.byteLength).equals(kept)).toBe(true);
  expect(() => JSON.stringify(l)).not.toThrow();
}

describe('classifyDeviceMessage: arbitrary input', () => {
  it('never throws, and gives every input exactly one outcome (accepted, or a dead letter with a known reason)', () => {
    fc.assert(
      fc.property(anyTopicArb, anyPayloadArb, (topic, payload) => {
        let c: Classification | undefined;
        expect(() => (c = classifyDeviceMessage(P, topic, payload))).not.toThrow();
        checkOne(c!, topic, payload);
        // The same answer as the parser it wraps, and deterministic.
        const p = parseDeviceMessage(P, topic, payload);
        expect(c!.outcome === 'accepted' ? 'ok' : c!.letter.reason).toBe(p.ok ? 'ok' : p.reason);
        expect(classifyDeviceMessage(P, topic, payload)).toEqual({
          ...c!,
          ...(c!.outcome === 'dead-letter' ? { letter: { ...c!.letter, receivedAt: expect.any(String) } } : {}),
        });
      }),
      { numRuns: RUNS * 3 },
    );
  });
});

describe('classifyDeviceMessage: valid messages and their mutations', () => {
  it('accepts every valid message unchanged, from the device the topic names', () => {
    fc.assert(
      fc.property(validArb, ({ kind, deviceId, message }) => {
        const c = classifyDeviceMessage(P, topicOf(deviceId, kind), bytes(message));
        expect(c).toEqual({ outcome: 'accepted', parsed: { ok: true, deviceId, kind, message: roundTrip(message) } });
      }),
      { numRuns: RUNS },
    );
  });

  it('drops a `__proto__` key instead of making it a prototype (no prototype pollution)', () => {
    const text = '{"v":1,"commandId":"c","status":"succeeded","output":{"__proto__":{"polluted":1},"a":{"__proto__":[1]}}}';
    const c = classifyDeviceMessage(P, 'devices/d/result', bytes(text));
    expect(c.outcome).toBe('accepted');
    const output = (c as { parsed: { message: { output: Record<string, unknown> } } }).parsed.message.output;
    expect(JSON.stringify(output)).toBe('{"a":{"__proto__":[1]}}'); // only the top level of a record is rebuilt
    expect((output as { polluted?: unknown }).polluted).toBeUndefined();
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
  });

  it('ignores unknown fields (forward compatibility): still accepted, the known fields unchanged', () => {
    fc.assert(
      fc.property(
        validArb,
        fc.dictionary(
          fc.string({ minLength: 1, maxLength: 10 }).map((k) => `x-${k}`),
          shallowJson,
          { minKeys: 1, maxKeys: 5 },
        ),
        ({ kind, deviceId, message }, extra) => {
          const c = classifyDeviceMessage(P, topicOf(deviceId, kind), bytes({ ...extra, ...message }));
          expect(c).toEqual({ outcome: 'accepted', parsed: { ok: true, deviceId, kind, message: roundTrip(message) } });
        },
      ),
      { numRuns: RUNS },
    );
  });

  /** A defect and the reason it must produce; applied to a valid message. */
  type Mutation = {
    name: string;
    expected: DeadLetterReason;
    apply: (m: { kind: Kind; deviceId: string; message: Record<string, unknown> }) => [string, Uint8Array];
  };
  const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
    fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }).map((at): Mutation => ({
      name: 'truncated',
      expected: 'not-json',
      apply: ({ kind, deviceId, message }) => {
        const b = bytes(message);
        return [topicOf(deviceId, kind), b.subarray(0, Math.floor(at * b.byteLength))];
      },
    })),
    fc.constant<Mutation>({
      name: 'byte order mark',
      expected: 'not-json',
      apply: ({ kind, deviceId, message }) => [topicOf(deviceId, kind), bytes('\uFEFF' + JSON.stringify(message))],
    }),
    fc.uint8Array({ minLength: 1, maxLength: 50 }).map((junk): Mutation => ({
      name: 'trailing garbage',
      expected: 'not-json',
      apply: ({ kind, deviceId, message }) => [topicOf(deviceId, kind), Buffer.concat([bytes(message), Buffer.from([0x7d]), junk])],
    })),
    fc.integer({ min: 1, max: 5_000 }).map((over): Mutation => ({
      name: 'oversized',
      expected: 'too-large',
      apply: ({ kind, deviceId, message }) => [topicOf(deviceId, kind), bytes({ ...message, pad: 'p'.repeat(DEFAULT_MAX_PAYLOAD_BYTES + over) })],
    })),
    fc.tuple(fc.integer({ min: MAX_JSON_DEPTH, max: 2_000 }), fc.boolean()).map(([levels, arrays]): Mutation => ({
      name: `nested ${levels}`,
      expected: 'too-deep',
      apply: ({ kind, deviceId, message }) => [topicOf(deviceId, kind), bytes({ ...message, extra: nest(levels, arrays) })],
    })),
    fc
      .jsonValue({ maxDepth: 3 })
      .filter((v) => v !== 1)
      .map((v): Mutation => ({
        name: `v=${JSON.stringify(v)}`,
        expected: 'unsupported-version',
        apply: ({ kind, deviceId, message }) => [topicOf(deviceId, kind), bytes({ ...message, v })],
      })),
    fc.nat().map((i): Mutation => ({
      name: 'a required field missing',
      expected: 'invalid-payload',
      apply: ({ kind, deviceId, message }) => {
        const field = required[kind][i % required[kind].length];
        const { [field]: _gone, ...rest } = message;
        return [topicOf(deviceId, kind), bytes(rest)];
      },
    })),
    fc.tuple(fc.nat(), fc.oneof(fc.integer(), fc.constant(null), fc.constant([]), fc.constant({}), fc.boolean())).map(([i, bad]): Mutation => ({
      name: `a required field = ${JSON.stringify(bad)}`,
      expected: 'invalid-payload',
      apply: ({ kind, deviceId, message }) => {
        const field = required[kind].filter((f) => f !== 'v')[i % (required[kind].length - 1)];
        return [topicOf(deviceId, kind), bytes({ ...message, [field]: bad })];
      },
    })),
    fc.constantFrom<Mutation>(
      { name: 'on the commands topic', expected: 'bad-topic', apply: ({ deviceId, message }) => [topicOf(deviceId, 'commands'), bytes(message)] },
      { name: 'an invalid deviceId', expected: 'bad-topic', apply: ({ kind, deviceId, message }) => [topicOf(`${deviceId} x`, kind), bytes(message)] },
      { name: 'a deviceId of 65 characters', expected: 'bad-topic', apply: ({ kind, message }) => [topicOf('d'.repeat(65), kind), bytes(message)] },
      { name: 'an extra topic level', expected: 'bad-topic', apply: ({ kind, deviceId, message }) => [`${topicOf(deviceId, kind)}/x`, bytes(message)] },
      { name: 'another prefix', expected: 'bad-topic', apply: ({ kind, deviceId, message }) => [`other/${deviceId}/${kind}`, bytes(message)] },
      {
        name: 'bad topic and oversized (the topic is decided first)',
        expected: 'bad-topic',
        apply: ({ deviceId, message }) => [topicOf(deviceId, 'commands'), bytes({ ...message, pad: 'p'.repeat(DEFAULT_MAX_PAYLOAD_BYTES) })],
      },
      {
        name: 'oversized and deep (size is decided before parsing)',
        expected: 'too-large',
        apply: ({ kind, deviceId, message }) => [
          topicOf(deviceId, kind),
          bytes({ ...message, extra: nest(100, true), pad: 'p'.repeat(DEFAULT_MAX_PAYLOAD_BYTES) }),
        ],
      },
      {
        name: 'deep with another version (depth is decided first)',
        expected: 'too-deep',
        apply: ({ kind, deviceId, message }) => [topicOf(deviceId, kind), bytes({ ...message, v: 2, extra: nest(40, false) })],
      },
      {
        name: 'on the topic of another kind',
        expected: 'invalid-payload',
        apply: ({ kind, deviceId, message }) => [topicOf(deviceId, kind === 'status' ? 'ack' : 'status'), bytes(message)],
      },
    ),
  );

  it('rejects each defect with its specific reason', () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(validArb, mutationArb, (valid, mutation) => {
        const [topic, payload] = mutation.apply(valid);
        const c = classifyDeviceMessage(P, topic, payload);
        checkOne(c, topic, payload);
        expect({ mutation: mutation.name, reason: c.outcome === 'dead-letter' ? c.letter.reason : 'accepted' }).toEqual({
          mutation: mutation.name,
          reason: mutation.expected,
        });
        seen.add(mutation.expected);
      }),
      { numRuns: RUNS * 2 },
    );
    expect([...seen].sort()).toEqual([...REJECT_REASONS].sort()); // every reason was exercised
  });

  it('the result of an accepted message always satisfies its schema again (idempotent validation)', () => {
    fc.assert(
      fc.property(anyTopicArb, anyPayloadArb, (topic, payload) => {
        const c = classifyDeviceMessage(P, topic, payload);
        if (c.outcome === 'accepted') expect(schemas[c.parsed.kind].parse(c.parsed.message)).toEqual(c.parsed.message);
      }),
      { numRuns: RUNS },
    );
  });
});

// --- the bridge's whole message handling, with a fake Temporal ------------------------------

describe('MessageRouter (fake Temporal): arbitrary and hostile input', () => {
  /** Open commands and the device each belongs to. */
  const owners = new Map<string, string>([
    ['cmd-a', 'dev-a'],
    ['cmd-b', 'dev-b'],
  ]);
  const signals: Array<{ workflowId: string; deviceId: string }> = [];
  const temporal = {
    workflow: {
      getHandle: (workflowId: string) => {
        const commandId = workflowId.replace(/^command-/, '');
        const exists = () => {
          if (!owners.has(commandId)) throw new WorkflowNotFoundError('workflow not found', workflowId, undefined);
        };
        return {
          signal: async (_def: unknown, message: { deviceId: string }) => {
            exists();
            signals.push({ workflowId, deviceId: message.deviceId });
          },
          describe: async () => {
            exists();
            return {
              status: { name: 'RUNNING' },
              typedSearchAttributes: { get: (key: { name: string }) => (key.name === 'DeviceId' ? owners.get(commandId) : undefined) },
            };
          },
        };
      },
      list: () => (async function* () {})(),
      // Statuses go to the device entities; their fate is not what this property is about.
      signalWithStart: async () => ({}),
    },
  } as unknown as Client;

  const deadLetters = new DeadLetterStore({ memoryEntries: 5 });
  // No rate limit and no repeat cap here: this property is about the outcome of each message
  // on its own (both limits have tests of their own).
  const bridge = new MessageRouter({ topicPrefix: P, temporal, logger: createLogger('fuzz', 'silent'), deadLetters, deviceRate: false, maxRepeats: Infinity });
  const handle = (topic: string, payload: Buffer) => bridge.route(topic, payload, false);
  afterAll(() => bridge.stop());

  /** The counters that name a message's outcome (others, like presence:*, count side actions). */
  const OUTCOME = /^(rejected:.+|status|ack:.+|result:.+)$/;
  const outcomeCounts = () => Object.fromEntries(Object.entries(bridge.counters.toJSON()).filter(([k]) => OUTCOME.test(k)));

  const answerArb = fc.record({
    kind: fc.constantFrom('ack' as const, 'result' as const),
    commandId: fc.constantFrom('cmd-a', 'cmd-b', 'cmd-unknown', 'cmd-closed'),
    topicDevice: fc.constantFrom('dev-a', 'dev-b', 'dev-c'),
  });
  const inputArb = fc.oneof(
    { weight: 3, arbitrary: fc.tuple(anyTopicArb, anyPayloadArb).map(([topic, payload]) => ({ topic, payload: Buffer.from(payload), answer: undefined })) },
    {
      weight: 2,
      arbitrary: answerArb.map((a) => ({
        topic: topicOf(a.topicDevice, a.kind),
        payload: bytes(a.kind === 'ack' ? { v: 1, commandId: a.commandId, status: 'accepted' } : { v: 1, commandId: a.commandId, status: 'succeeded' }),
        answer: a,
      })),
    },
  );

  it('never throws; each message has exactly one outcome; a dead letter exactly when rejected, unknown or spoofed', async () => {
    await fc.assert(
      fc.asyncProperty(inputArb, async ({ topic, payload, answer }) => {
        const counts = outcomeCounts();
        const letters = deadLetters.total();
        const signalled = signals.length;
        await expect(handle(topic, payload)).resolves.toBeUndefined();
        const after = outcomeCounts();
        const changed = Object.keys(after).filter((k) => after[k] !== (counts[k] ?? 0));
        expect(changed).toHaveLength(1);
        expect(after[changed[0]]).toBe((counts[changed[0]] ?? 0) + 1);
        const [family, outcome] = changed[0].split(':');
        const lettered = family === 'rejected' || (DEAD_LETTER_REASONS as readonly string[]).includes(outcome);
        expect(deadLetters.total()).toBe(letters + (lettered ? 1 : 0));
        if (lettered) {
          const last = deadLetters.latest(1)[0];
          expect(last.reason).toBe(family === 'rejected' ? outcome : outcome);
          expect(DEAD_LETTER_REASONS).toContain(last.reason);
        }
        // Only a known command's own device gets a signal: the owner is checked first.
        expect(signals.length).toBe(signalled + (outcome === 'signalled' ? 1 : 0));
        if (answer) {
          const expected = !owners.has(answer.commandId) ? 'unknown-command' : owners.get(answer.commandId) === answer.topicDevice ? 'signalled' : 'spoofed';
          expect(changed[0]).toBe(`${answer.kind}:${expected}`);
        }
      }),
      { numRuns: RUNS },
    );
    // Everything above was counted per reason, and the reasons add up.
    const totals = deadLetters.totals();
    expect(Object.values(totals).reduce((a, b) => a + b, 0)).toBe(deadLetters.total());
    expect(totals.spoofed).toBe(bridge.counters.get('ack:spoofed') + bridge.counters.get('result:spoofed'));
    expect(totals['unknown-command']).toBe(bridge.counters.get('ack:unknown-command') + bridge.counters.get('result:unknown-command'));
    for (const r of REJECT_REASONS) expect(totals[r]).toBe(bridge.counters.get(`rejected:${r}`));
  });

  it("asks Temporal for a command's device once, then remembers it", async () => {
    let describes = 0;
    const counting = {
      workflow: {
        getHandle: () => ({
          signal: async () => {},
          describe: async () => {
            describes++;
            return { status: { name: 'RUNNING' }, typedSearchAttributes: { get: (key: { name: string }) => (key.name === 'DeviceId' ? 'dev-a' : undefined) } };
          },
        }),
        list: () => (async function* () {})(),
      },
    } as unknown as Client;
    const b = new MessageRouter({ topicPrefix: P, temporal: counting, logger: createLogger('fuzz', 'silent'), maxRepeats: Infinity });
    const h = (topic: string, payload: Buffer) => b.route(topic, payload, false);
    for (let i = 0; i < 5; i++) await h(topicOf('dev-a', 'ack'), bytes({ v: 1, commandId: 'c-1', status: 'accepted' }));
    for (let i = 0; i < 5; i++) await h(topicOf('dev-z', 'result'), bytes({ v: 1, commandId: 'c-1', status: 'succeeded' }));
    expect(describes).toBe(1);
    expect(b.counters.toJSON()).toEqual({ 'ack:signalled': 5, 'result:spoofed': 5, 'owner:described': 1 });
    expect(b.deadLetters.totals().spoofed).toBe(5);
    expect(b.deadLetters.latest(1)[0]).toMatchObject({ reason: 'spoofed', deviceId: 'dev-z', commandId: 'c-1', topic: 'devices/dev-z/result' });
  });
});
