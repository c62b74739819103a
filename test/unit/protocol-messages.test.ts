import fc from 'fast-check';
import { COMMAND_ID_PATTERN, COMMAND_NAME_PATTERN, CommandId, CommandName, DEVICE_ID_PATTERN, DeviceId } from '../../protocol/ids';
import { AckMessage, CommandMessage, PROTOCOL_VERSION, ResultMessage, StatusMessage } from '../../protocol/messages';

const T = '2026-02-04T10:00:00.000Z';
const T2 = '2026-02-04T10:10:00.000Z';

const command = { v: 1, commandId: 'pump-7.reboot.1', name: 'reboot', params: { delayS: 5 }, attempt: 1, issuedAt: T, expiresAt: T2 };
const ack = { v: 1, commandId: 'pump-7.reboot.1', status: 'accepted' };
const result = { v: 1, commandId: 'pump-7.reboot.1', status: 'succeeded', output: { uptimeS: 3 } };
const status = { v: 1, state: 'online', bootId: 'boot-42', ts: T };

const ok = (schema: { safeParse(v: unknown): { success: boolean } }, value: unknown) => schema.safeParse(value).success;

describe('PROTOCOL_VERSION', () => {
  it('is 1', () => {
    expect(PROTOCOL_VERSION).toBe(1);
  });
});

describe('CommandMessage', () => {
  it('accepts a complete command and returns it unchanged', () => {
    expect(CommandMessage.parse(command)).toEqual(command);
  });

  it('defaults missing params to {}', () => {
    const { params: _omit, ...withoutParams } = command;
    expect(CommandMessage.parse(withoutParams).params).toEqual({});
  });

  it('accepts timestamps with a numeric offset and any fraction of seconds', () => {
    expect(ok(CommandMessage, { ...command, issuedAt: '2026-02-04T12:00:00+02:00', expiresAt: '2026-02-04T10:00:00.123456Z' })).toBe(true);
  });

  it.each([
    ['v missing', { v: undefined }],
    ['v 2', { v: 2 }],
    ['v "1"', { v: '1' }],
    ['commandId missing', { commandId: undefined }],
    ['commandId with /', { commandId: 'a/b' }],
    ['name empty', { name: '' }],
    ['name with space', { name: 're boot' }],
    ['params null', { params: null }],
    ['params an array', { params: [1] }],
    ['params a string', { params: 'x' }],
    ['attempt 0', { attempt: 0 }],
    ['attempt 1.5', { attempt: 1.5 }],
    ['attempt "1"', { attempt: '1' }],
    ['issuedAt without offset', { issuedAt: '2026-02-04T10:00:00' }],
    ['issuedAt with +0200 offset (no colon)', { issuedAt: '2026-02-04T10:00:00+0200' }],
    ['issuedAt with a space', { issuedAt: '2026-02-04 10:00:00Z' }],
    ['issuedAt as epoch millis', { issuedAt: 1770199200000 }],
    ['expiresAt an impossible date', { expiresAt: '2026-02-30T10:00:00Z' }],
    ['expiresAt missing', { expiresAt: undefined }],
  ])('rejects %s', (_label, patch) => {
    expect(ok(CommandMessage, { ...command, ...patch })).toBe(false);
  });

  it('rejects non-objects', () => {
    for (const v of [null, 1, 'x', [], [command], true]) expect(ok(CommandMessage, v)).toBe(false);
  });
});

describe('AckMessage', () => {
  it('accepts accepted and rejected with an optional reason', () => {
    expect(AckMessage.parse(ack)).toEqual(ack);
    const rejected = { v: 1, commandId: 'c', status: 'rejected', reason: 'expired' };
    expect(AckMessage.parse(rejected)).toEqual(rejected);
  });

  it('limits reason to 1024 characters', () => {
    expect(ok(AckMessage, { ...ack, status: 'rejected', reason: 'r'.repeat(1024) })).toBe(true);
    expect(ok(AckMessage, { ...ack, status: 'rejected', reason: 'r'.repeat(1025) })).toBe(false);
  });

  it.each([
    ['status ok', { status: 'ok' }],
    ['status missing', { status: undefined }],
    ['status uppercase', { status: 'ACCEPTED' }],
    ['reason a number', { reason: 3 }],
    ['v 0', { v: 0 }],
    ['commandId empty', { commandId: '' }],
  ])('rejects %s', (_label, patch) => {
    expect(ok(AckMessage, { ...ack, ...patch })).toBe(false);
  });
});

describe('ResultMessage', () => {
  it('accepts succeeded with output and failed with error', () => {
    expect(ResultMessage.parse(result)).toEqual(result);
    const failed = { v: 1, commandId: 'c', status: 'failed', error: { code: 'E_IO', message: 'disk full' } };
    expect(ResultMessage.parse(failed)).toEqual(failed);
    expect(ResultMessage.parse({ v: 1, commandId: 'c', status: 'failed' })).toEqual({ v: 1, commandId: 'c', status: 'failed' });
  });

  it('limits error.code to 1-128 and error.message to 4096 characters', () => {
    const withError = (code: string, message: string) => ({ ...result, status: 'failed', error: { code, message } });
    expect(ok(ResultMessage, withError('c'.repeat(128), 'm'.repeat(4096)))).toBe(true);
    expect(ok(ResultMessage, withError('', 'm'))).toBe(false);
    expect(ok(ResultMessage, withError('c'.repeat(129), 'm'))).toBe(false);
    expect(ok(ResultMessage, withError('c', 'm'.repeat(4097)))).toBe(false);
    expect(ok(ResultMessage, withError('c', ''))).toBe(true);
  });

  it.each([
    ['status done', { status: 'done' }],
    ['output an array', { output: [1] }],
    ['output a string', { output: 'fine' }],
    ['error a string', { error: 'boom' }],
    ['error without message', { error: { code: 'E' } }],
  ])('rejects %s', (_label, patch) => {
    expect(ok(ResultMessage, { ...result, ...patch })).toBe(false);
  });
});

describe('StatusMessage', () => {
  it('accepts online and offline, ts optional', () => {
    expect(StatusMessage.parse(status)).toEqual(status);
    expect(StatusMessage.parse({ v: 1, state: 'offline', bootId: 'b' })).toEqual({ v: 1, state: 'offline', bootId: 'b' });
  });

  it('limits bootId to 1-128 characters (any characters)', () => {
    expect(ok(StatusMessage, { ...status, bootId: 'b'.repeat(128) })).toBe(true);
    expect(ok(StatusMessage, { ...status, bootId: 'b'.repeat(129) })).toBe(false);
    expect(ok(StatusMessage, { ...status, bootId: '' })).toBe(false);
    expect(ok(StatusMessage, { ...status, bootId: 'a b/c+#' })).toBe(true);
  });

  it.each([
    ['state sleeping', { state: 'sleeping' }],
    ['state missing', { state: undefined }],
    ['bootId a number', { bootId: 7 }],
    ['ts not a timestamp', { ts: 'now' }],
  ])('rejects %s', (_label, patch) => {
    expect(ok(StatusMessage, { ...status, ...patch })).toBe(false);
  });
});

describe('unknown fields', () => {
  // zod 4's z.object() default is "strip": unknown keys are accepted and removed from the output.
  it.each([
    ['CommandMessage', CommandMessage, command],
    ['AckMessage', AckMessage, ack],
    ['ResultMessage', ResultMessage, result],
    ['StatusMessage', StatusMessage, status],
  ] as const)('%s accepts unknown fields and strips them', (_name, schema, valid) => {
    const parsed = (schema as typeof AckMessage).safeParse({ ...valid, futureField: { nested: true }, x: 1 });
    expect(parsed.success).toBe(true);
    expect(parsed.data).toEqual(valid);
    expect(Object.keys(parsed.data!)).not.toContain('futureField');
  });

  it('also strips unknown fields of a nested error object', () => {
    const parsed = ResultMessage.parse({ ...result, status: 'failed', error: { code: 'E', message: 'm', retryable: true } });
    expect(parsed.error).toEqual({ code: 'E', message: 'm' });
  });

  it('keeps every key of the free-form params and output objects', () => {
    expect(CommandMessage.parse({ ...command, params: { a: 1, b: { c: [null] } } }).params).toEqual({ a: 1, b: { c: [null] } });
    expect(ResultMessage.parse({ ...result, output: { anything: 'goes' } }).output).toEqual({ anything: 'goes' });
  });

  it('drops a "__proto__" key of a free-form object instead of changing its prototype', () => {
    const parsed = ResultMessage.parse(JSON.parse('{"v":1,"commandId":"c","status":"succeeded","output":{"__proto__":{"polluted":1},"b":2}}'));
    expect(parsed.output).toEqual({ b: 2 });
    expect((parsed.output as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('identifiers', () => {
  const cases = [
    { name: 'deviceId', schema: DeviceId, pattern: DEVICE_ID_PATTERN, max: 64 },
    { name: 'commandId', schema: CommandId, pattern: COMMAND_ID_PATTERN, max: 128 },
    { name: 'command name', schema: CommandName, pattern: COMMAND_NAME_PATTERN, max: 64 },
  ];

  describe.each(cases)('$name', ({ schema, pattern, max }) => {
    it(`accepts 1 to ${max} characters and rejects ${max + 1} and 0`, () => {
      expect(ok(schema, 'a')).toBe(true);
      expect(ok(schema, 'a'.repeat(max))).toBe(true);
      expect(ok(schema, 'a'.repeat(max + 1))).toBe(false);
      expect(ok(schema, '')).toBe(false);
      expect(pattern.test('a'.repeat(max))).toBe(true);
      expect(pattern.test('a'.repeat(max + 1))).toBe(false);
    });

    it('accepts letters, digits, dot, underscore and dash', () => {
      expect(ok(schema, 'AZaz09._-')).toBe(true);
      expect(ok(schema, '.')).toBe(true);
      expect(ok(schema, '-')).toBe(true);
    });

    it.each(['a/b', 'a+b', 'a#b', 'a b', '+', '#', '/', ' a', 'a\n', '\na', 'a\tb', 'é', 'a:b', 'a*b', '$SYS', 'a\u0000b'])('rejects %j', (bad) => {
      expect(ok(schema, bad)).toBe(false);
      expect(pattern.test(bad)).toBe(false);
    });

    it('rejects non-strings', () => {
      for (const v of [1, null, undefined, ['a'], { a: 1 }]) expect(ok(schema, v)).toBe(false);
    });
  });

  it('the schema agrees with the pattern for arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 140 }), (s) => {
        expect(ok(DeviceId, s)).toBe(DEVICE_ID_PATTERN.test(s));
        expect(ok(CommandId, s)).toBe(COMMAND_ID_PATTERN.test(s));
        expect(ok(CommandName, s)).toBe(COMMAND_NAME_PATTERN.test(s));
      }),
    );
  });
});

// ---- property tests ----

const ID_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-'.split('');
const idArb = (maxLength: number) => fc.string({ unit: fc.constantFrom(...ID_CHARS), minLength: 1, maxLength });
const timestampArb = fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2199-12-31T23:59:59Z'), noInvalidDate: true }).map((d) => d.toISOString());
/** `__proto__` is dropped by the parser on purpose (see above), so it is not a round-trip key. */
const jsonObjectArb = fc.dictionary(
  fc.string({ maxLength: 10 }).filter((k) => k !== '__proto__'),
  fc.jsonValue({ maxDepth: 3 }),
  { maxKeys: 5 },
);

const commandArb = fc.record({
  v: fc.constant(1 as const),
  commandId: idArb(128),
  name: idArb(64),
  params: jsonObjectArb,
  attempt: fc.integer({ min: 1, max: 1_000_000 }),
  issuedAt: timestampArb,
  expiresAt: timestampArb,
});
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
    output: jsonObjectArb,
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

describe('properties', () => {
  it.each([
    ['CommandMessage', CommandMessage, commandArb],
    ['AckMessage', AckMessage, ackArb],
    ['ResultMessage', ResultMessage, resultArb],
    ['StatusMessage', StatusMessage, statusArb],
  ] as [string, typeof AckMessage, fc.Arbitrary<unknown>][])('every valid %s survives a JSON round trip and parses to what was sent', (_name, schema, arb) => {
    fc.assert(
      fc.property(arb, (message) => {
        const wire = JSON.stringify(message);
        const parsed = schema.safeParse(JSON.parse(wire));
        expect(parsed.success).toBe(true);
        expect(parsed.data).toEqual(JSON.parse(wire));
      }),
      { numRuns: 200 },
    );
  });

  it('safeParse never throws on arbitrary JSON or arbitrary values', () => {
    const schemas = [CommandMessage, AckMessage, ResultMessage, StatusMessage];
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), fc.anything()), (value) => {
        for (const schema of schemas) {
          const r = schema.safeParse(value);
          expect(typeof r.success).toBe('boolean');
        }
      }),
      { numRuns: 500 },
    );
  });

  it('safeParse never throws on valid messages with one field replaced by arbitrary JSON', () => {
    fc.assert(
      fc.property(
        commandArb,
        fc.constantFrom('v', 'commandId', 'name', 'params', 'attempt', 'issuedAt', 'expiresAt'),
        fc.jsonValue(),
        (message, key, value) => {
          const mutated = { ...message, [key]: value };
          const r = CommandMessage.safeParse(mutated);
          // The mutation is invalid unless the new value happens to be valid for that field.
          if (r.success && !JSON.stringify(value ?? null).includes('"__proto__"'))
            expect(r.data[key as keyof typeof r.data]).toEqual(key === 'params' && value === undefined ? {} : value);
        },
      ),
      { numRuns: 300 },
    );
  });
});
