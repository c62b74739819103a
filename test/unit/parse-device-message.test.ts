import fc from 'fast-check';
import { DEFAULT_MAX_PAYLOAD_BYTES, parseDeviceMessage, type ParseOutcome } from '../../bridge/parse-device-message';

const P = 'devices';
const T = '2026-02-04T10:00:00.000Z';
const bytes = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value), 'utf8');
const reasonOf = (o: ParseOutcome) => (o.ok ? 'ok' : o.reason);

const ack = { v: 1, commandId: 'c-1', status: 'accepted' };
const result = { v: 1, commandId: 'c-1', status: 'failed', error: { code: 'E_IO', message: 'disk full' } };
const status = { v: 1, state: 'online', bootId: 'boot-1', ts: T };

describe('parseDeviceMessage: valid messages', () => {
  it('parses an ack, taking the deviceId from the topic', () => {
    expect(parseDeviceMessage(P, 'devices/pump-7/ack', bytes(ack))).toEqual({ ok: true, deviceId: 'pump-7', kind: 'ack', message: ack });
  });

  it('parses a result', () => {
    expect(parseDeviceMessage(P, 'devices/pump-7/result', bytes(result))).toEqual({
      ok: true,
      deviceId: 'pump-7',
      kind: 'result',
      message: result,
    });
  });

  it('parses a status', () => {
    expect(parseDeviceMessage(P, 'devices/pump-7/status', bytes(status))).toEqual({
      ok: true,
      deviceId: 'pump-7',
      kind: 'status',
      message: status,
    });
  });

  it('works with a multi-level prefix', () => {
    const o = parseDeviceMessage('site1/devices', 'site1/devices/pump-7/ack', bytes(ack));
    expect(o).toEqual({ ok: true, deviceId: 'pump-7', kind: 'ack', message: ack });
  });

  it('strips unknown fields', () => {
    const o = parseDeviceMessage(P, 'devices/pump-7/ack', bytes({ ...ack, deviceId: 'someone-else', extra: [1] }));
    expect(o).toEqual({ ok: true, deviceId: 'pump-7', kind: 'ack', message: ack });
  });

  it('accepts whitespace around the JSON', () => {
    expect(reasonOf(parseDeviceMessage(P, 'devices/pump-7/ack', bytes(`  \n${JSON.stringify(ack)}\n`)))).toBe('ok');
  });

  it('accepts a payload of exactly maxPayloadBytes', () => {
    const base = JSON.stringify({ ...ack, reason: '' });
    const padded = JSON.stringify({ ...ack, reason: 'x'.repeat(100 - base.length) });
    expect(Buffer.byteLength(padded)).toBe(100);
    expect(reasonOf(parseDeviceMessage(P, 'devices/pump-7/ack', bytes(padded), 100))).toBe('ok');
  });

  it('accepts a Uint8Array that is not a Buffer', () => {
    const u8 = new Uint8Array(bytes(ack));
    expect(reasonOf(parseDeviceMessage(P, 'devices/pump-7/ack', u8))).toBe('ok');
  });
});

describe('parseDeviceMessage: rejections', () => {
  it.each([
    ['the commands topic (service -> device)', 'devices/pump-7/commands'],
    ['the cancel topic (service -> device)', 'devices/pump-7/cancel'],
    ['another prefix', 'other/pump-7/ack'],
    ['an invalid deviceId', 'devices/pump 7/ack'],
    ['a deviceId of 65 characters', `devices/${'d'.repeat(65)}/ack`],
    ['an extra level', 'devices/pump-7/ack/x'],
    ['an unknown kind', 'devices/pump-7/telemetry'],
    ['a missing level', 'devices/ack'],
    ['an empty topic', ''],
  ])('bad-topic: %s', (_label, topic) => {
    const o = parseDeviceMessage(P, topic, bytes(ack));
    expect(o).toEqual({ ok: false, reason: 'bad-topic', detail: `not a device-to-service topic: ${topic}` });
  });

  it('bad-topic detail is truncated to 200 characters of the topic', () => {
    const topic = 'x'.repeat(1000);
    const o = parseDeviceMessage(P, topic, bytes(ack));
    expect(o.ok).toBe(false);
    expect(!o.ok && o.detail).toBe(`not a device-to-service topic: ${'x'.repeat(200)}`);
  });

  it('bad-topic is decided before the payload is looked at', () => {
    expect(reasonOf(parseDeviceMessage(P, 'devices/pump-7/commands', Buffer.alloc(DEFAULT_MAX_PAYLOAD_BYTES + 1)))).toBe('bad-topic');
  });

  it('too-large: one byte over the limit, before parsing', () => {
    const payload = bytes({ ...ack, reason: 'x'.repeat(200) });
    const o = parseDeviceMessage(P, 'devices/pump-7/ack', payload, payload.byteLength - 1);
    expect(o).toEqual({ ok: false, reason: 'too-large', detail: `${payload.byteLength} bytes > ${payload.byteLength - 1}` });
  });

  it('too-large: the default limit is 64 KiB', () => {
    expect(DEFAULT_MAX_PAYLOAD_BYTES).toBe(65_536);
    const o = parseDeviceMessage(P, 'devices/pump-7/result', Buffer.alloc(65_537, 0x20));
    expect(o).toEqual({ ok: false, reason: 'too-large', detail: '65537 bytes > 65536' });
    // At the limit it is parsed (and here fails as not-json: only spaces).
    expect(reasonOf(parseDeviceMessage(P, 'devices/pump-7/result', Buffer.alloc(65_536, 0x20)))).toBe('not-json');
  });

  it.each([
    ['empty payload', ''],
    ['truncated JSON', '{"v":1,"commandId":'],
    ['plain text', 'accepted'],
    ['single quotes', "{'v':1}"],
    ['trailing comma', '{"v":1,}'],
    ['a byte order mark', '\uFEFF' + JSON.stringify(ack)],
  ])('not-json: %s', (_label, text) => {
    const o = parseDeviceMessage(P, 'devices/pump-7/ack', bytes(text));
    expect(reasonOf(o)).toBe('not-json');
    expect(!o.ok && o.detail.length).toBeLessThanOrEqual(200);
  });

  it.each([
    ['v 2', 2, 'v=2'],
    ['v "1"', '1', 'v="1"'],
    ['v null', null, 'v=null'],
    ['v "1.0"', '1.0', 'v="1.0"'],
    ['v an object', { major: 1 }, 'v={"major":1}'],
  ])('unsupported-version: %s', (_label, v, detail) => {
    expect(parseDeviceMessage(P, 'devices/pump-7/ack', bytes({ ...ack, v }))).toEqual({ ok: false, reason: 'unsupported-version', detail });
  });

  it('unsupported-version wins over an invalid payload (a newer device may send other fields)', () => {
    const o = parseDeviceMessage(P, 'devices/pump-7/result', bytes({ v: 2, id: 'c-1', outcome: 'ok' }));
    expect(reasonOf(o)).toBe('unsupported-version');
  });

  it.each([
    ['a missing v', { commandId: 'c-1', status: 'accepted' }],
    ['an unknown ack status', { ...ack, status: 'ok' }],
    ['a bad commandId', { ...ack, commandId: 'a/b' }],
    ['a JSON array', [ack]],
    ['a JSON string', 'accepted'],
    ['a JSON number', 1],
    ['JSON null', null],
  ])('invalid-payload: ack with %s', (_label, payload) => {
    const o = parseDeviceMessage(P, 'devices/pump-7/ack', bytes(JSON.stringify(payload)));
    expect(reasonOf(o)).toBe('invalid-payload');
    expect(!o.ok && o.detail.length).toBeGreaterThan(0);
    expect(!o.ok && o.detail.length).toBeLessThanOrEqual(500);
  });

  it('too-deep: valid JSON nested more than 32 levels, counting the message object', () => {
    // message (1) > output (2) > 29 × "a" (31) > {} (32)
    const atLimit = { ...result, output: JSON.parse('{"a":' + '{"a":'.repeat(29) + '{}' + '}'.repeat(29) + '}') };
    expect(reasonOf(parseDeviceMessage(P, 'devices/pump-7/result', bytes(atLimit)))).toBe('ok');
    const over = { ...result, output: JSON.parse('{"a":' + '{"a":'.repeat(30) + '{}' + '}'.repeat(30) + '}') };
    expect(parseDeviceMessage(P, 'devices/pump-7/result', bytes(over))).toEqual({
      ok: false,
      reason: 'too-deep',
      detail: 'JSON nested more than 32 levels deep',
    });
    // Brackets in strings do not count; escaped quotes do not end a string.
    const tricky = { ...ack, reason: '\\"[[[[' + '{'.repeat(100) };
    expect(reasonOf(parseDeviceMessage(P, 'devices/pump-7/ack', bytes(tricky)))).toBe('ok');
  });

  it('too-deep: 64 KiB of brackets (enough to crash JSON.stringify later) is rejected, not parsed further', () => {
    const half = 30_000;
    const payload = '{"v":1,"commandId":"c-1","status":"succeeded","output":{"x":' + '['.repeat(half) + ']'.repeat(half) + '}}';
    expect(Buffer.byteLength(payload)).toBeLessThanOrEqual(DEFAULT_MAX_PAYLOAD_BYTES);
    expect(() => JSON.stringify(JSON.parse(payload))).toThrow(/call stack/); // what the limit protects the signal from
    expect(reasonOf(parseDeviceMessage(P, 'devices/pump-7/result', bytes(payload)))).toBe('too-deep');
  });

  it('a custom depth limit', () => {
    expect(reasonOf(parseDeviceMessage(P, 'devices/pump-7/ack', bytes(ack), DEFAULT_MAX_PAYLOAD_BYTES, 1))).toBe('ok');
    expect(reasonOf(parseDeviceMessage(P, 'devices/pump-7/ack', bytes({ ...ack, x: {} }), DEFAULT_MAX_PAYLOAD_BYTES, 1))).toBe('too-deep');
  });

  it('not-json wins over too-deep: a truncated deep document is not JSON', () => {
    expect(reasonOf(parseDeviceMessage(P, 'devices/pump-7/ack', bytes('['.repeat(100))))).toBe('not-json');
  });

  it('validates against the schema of the topic kind: an ack on the result topic is invalid', () => {
    expect(reasonOf(parseDeviceMessage(P, 'devices/pump-7/result', bytes(ack)))).toBe('invalid-payload');
    expect(reasonOf(parseDeviceMessage(P, 'devices/pump-7/status', bytes(result)))).toBe('invalid-payload');
    expect(reasonOf(parseDeviceMessage(P, 'devices/pump-7/ack', bytes(status)))).toBe('invalid-payload');
  });

  it('invalid-payload detail names the failing field', () => {
    const o = parseDeviceMessage(P, 'devices/pump-7/status', bytes({ ...status, state: 'sleeping' }));
    expect(o.ok).toBe(false);
    expect(!o.ok && o.detail).toContain('state');
  });
});

describe('parseDeviceMessage: properties', () => {
  const topicArb = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 300 }),
    fc.constantFrom('devices/pump-7/ack', 'devices/pump-7/result', 'devices/pump-7/status', 'devices/pump-7/commands'),
    fc.tuple(fc.string({ maxLength: 70 }), fc.constantFrom('ack', 'result', 'status', 'commands', '+', '#')).map(([d, k]) => `devices/${d}/${k}`),
  );
  const payloadArb = fc.oneof(
    fc.uint8Array({ maxLength: 2_000 }),
    fc.jsonValue().map((v) => bytes(JSON.stringify(v) ?? 'null')),
    fc
      .record(
        { v: fc.oneof(fc.constant(1), fc.jsonValue()), commandId: fc.string(), status: fc.string(), state: fc.string(), bootId: fc.string() },
        { requiredKeys: [] },
      )
      .map((o) => bytes(o)),
  );

  it('never throws for arbitrary bytes on arbitrary topics, and always answers ok or a known reason', () => {
    fc.assert(
      fc.property(topicArb, payloadArb, fc.integer({ min: 0, max: 4_096 }), (topic, payload, max) => {
        const o = parseDeviceMessage(P, topic, payload, max);
        if (o.ok) {
          expect(['ack', 'result', 'status']).toContain(o.kind);
          expect(topic).toBe(`devices/${o.deviceId}/${o.kind}`);
          expect(payload.byteLength).toBeLessThanOrEqual(max);
        } else {
          expect(['bad-topic', 'too-large', 'not-json', 'too-deep', 'unsupported-version', 'invalid-payload']).toContain(o.reason);
          expect(typeof o.detail).toBe('string');
        }
      }),
      { numRuns: 2_000 },
    );
  });

  it('a message from the commands topic is never accepted', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'abc-._'.split('')), minLength: 1, maxLength: 10 }), payloadArb, (deviceId, payload) => {
        expect(reasonOf(parseDeviceMessage(P, `devices/${deviceId}/commands`, payload))).toBe('bad-topic');
      }),
    );
  });
});
