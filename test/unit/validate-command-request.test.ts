import fc from 'fast-check';
import { z } from 'zod';
import { SendRequest } from '../../client/send-request';
import { MAX_TTL_MS } from '../../protocol/command-limits';
import { ISO_TIMESTAMP_PATTERN } from '../../protocol/iso-timestamp';
import { validateCommandRequest } from '../../protocol/validate-command-request';

const NOW = Date.parse('2026-02-04T10:00:00.000Z');
const inMinutes = (m: number) => new Date(NOW + m * 60_000).toISOString();

const valid = {
  commandId: 'pump-7.reboot.1',
  deviceId: 'pump-7',
  name: 'reboot',
  params: { level: 3 },
  expiresAt: inMinutes(10),
  options: { ackTimeoutMs: 10_000, resultTimeoutMs: 60_000, maxAttempts: 5, backoff: { initialMs: 1_000, maxMs: 30_000, multiplier: 2, jitter: 0.2 } },
};

function nested(depth: number): Record<string, unknown> {
  let v: Record<string, unknown> = {};
  for (let i = 1; i < depth; i++) v = { a: v };
  return v;
}

const reasonOf = (input: unknown) => {
  const r = validateCommandRequest(input, NOW);
  if (r.ok) throw new Error('expected the request to be refused');
  return r.reason;
};

describe('validateCommandRequest (the workflow checks its own input, without zod)', () => {
  it('accepts what DcoClient sends, unchanged', () => {
    expect(validateCommandRequest(valid, NOW)).toEqual({ ok: true, value: valid });
    expect(validateCommandRequest({ ...valid, rolloutId: 'fw-1' }, NOW)).toEqual({ ok: true, value: { ...valid, rolloutId: 'fw-1' } });
  });

  it('gives missing options and params the client defaults', () => {
    const { options: _o, params: _p, ...bare } = valid;
    const r = validateCommandRequest(bare, NOW);
    expect(r).toEqual({ ok: true, value: { ...bare, params: {}, options: valid.options } });
    const partial = validateCommandRequest({ ...valid, options: { maxAttempts: 2, backoff: { jitter: 0 } } }, NOW);
    expect(partial.ok && partial.value.options).toEqual({ ...valid.options, maxAttempts: 2, backoff: { ...valid.options.backoff, jitter: 0 } });
  });

  it('accepts a past expiresAt (the command then ends Expired) and one exactly MAX_TTL_MS ahead', () => {
    expect(validateCommandRequest({ ...valid, expiresAt: inMinutes(-5) }, NOW).ok).toBe(true);
    expect(validateCommandRequest({ ...valid, expiresAt: new Date(NOW + MAX_TTL_MS).toISOString() }, NOW).ok).toBe(true);
  });

  it.each([
    ['not an object', 'hello', /^the input must be one JSON object/],
    ['an array', [valid], /^the input must be one JSON object/],
    ['no commandId', { ...valid, commandId: undefined }, /^commandId must be 1-128 characters/],
    ['deviceId with +', { ...valid, deviceId: 'pump+7' }, /^deviceId must be 1-64 characters .*no MQTT wildcards \+ # or \/.*got "pump\+7"/],
    ['deviceId with #', { ...valid, deviceId: '#' }, /^deviceId must be/],
    ['deviceId with /', { ...valid, deviceId: 'a/b' }, /^deviceId must be/],
    ['deviceId a number', { ...valid, deviceId: 7 }, /^deviceId must be .*got 7$/],
    ['name with a space', { ...valid, name: 're boot' }, /^name must be/],
    ['rolloutId with a dot', { ...valid, rolloutId: 'a.b' }, /^rolloutId must be/],
    ['expiresAt not a date', { ...valid, expiresAt: 'next tuesday' }, /^expiresAt must be an ISO-8601 date/],
    ['expiresAt without offset', { ...valid, expiresAt: '2026-02-04T10:10:00' }, /^expiresAt must be an ISO-8601 date/],
    ['expiresAt February 30', { ...valid, expiresAt: '2026-02-30T10:00:00Z' }, /^expiresAt must be an ISO-8601 date/],
    ['expiresAt a number', { ...valid, expiresAt: NOW + 60_000 }, /^expiresAt must be an ISO-8601 date/],
    ['expiresAt in year 9999', { ...valid, expiresAt: '9999-12-31T23:59:59Z' }, /^expiresAt must be at most 30 days after the command starts/],
    ['options null', { ...valid, options: null }, /^options must be an object, got null/],
    ['options a string', { ...valid, options: 'fast' }, /^options must be an object/],
    ['negative maxAttempts', { ...valid, options: { ...valid.options, maxAttempts: -1 } }, /^options.maxAttempts must be a whole number from 1 to 100, got -1/],
    ['maxAttempts 0', { ...valid, options: { ...valid.options, maxAttempts: 0 } }, /^options.maxAttempts must be/],
    ['fractional maxAttempts', { ...valid, options: { ...valid.options, maxAttempts: 1.5 } }, /^options.maxAttempts must be a whole number/],
    ['ackTimeoutMs under a second', { ...valid, options: { ...valid.options, ackTimeoutMs: 10 } }, /^options.ackTimeoutMs must be a whole number from 1000/],
    ['resultTimeoutMs as text', { ...valid, options: { ...valid.options, resultTimeoutMs: '60s' } }, /^options.resultTimeoutMs must be/],
    ['backoff jitter above 1', { ...valid, options: { ...valid.options, backoff: { jitter: 2 } } }, /^options.backoff.jitter must be a number from 0 to 1/],
    ['backoff an array', { ...valid, options: { ...valid.options, backoff: [] } }, /^options.backoff must be an object/],
    ['params an array', { ...valid, params: [1] }, /^params must be a JSON object/],
    ['params null', { ...valid, params: null }, /^params must be a JSON object/],
    ['params too deep', { ...valid, params: nested(32) }, /^params must not nest objects and arrays more than 31 levels deep/],
    ['params too big', { ...valid, params: { s: 'x'.repeat(33_000) } }, /^params must be plain JSON of at most 32768 bytes/],
    ['ordering a string', { ...valid, ordering: 'serial' }, /^ordering must be an object/],
    ['ordering mode unknown', { ...valid, ordering: { mode: 'fifo' } }, /^ordering.mode must be one of parallel, serial, got "fifo"/],
    ['priority 10', { ...valid, ordering: { mode: 'serial', priority: 10 } }, /^ordering.priority must be a whole number from 0 to 9, got 10/],
  ])('refuses %s with a reason', (_kind, input, reason) => {
    expect(reasonOf(input)).toMatch(reason);
  });

  it('keeps an ordering, with the default priority', () => {
    const r = validateCommandRequest({ ...valid, ordering: { mode: 'serial' } }, NOW);
    expect(r.ok && r.value.ordering).toEqual({ mode: 'serial', priority: 0 });
    const absent = validateCommandRequest(valid, NOW);
    expect(absent.ok && 'ordering' in absent.value).toBe(false);
  });

  it('keeps reasons short whatever the bad value', () => {
    expect(reasonOf({ ...valid, deviceId: 'x'.repeat(10_000) }).length).toBeLessThan(300);
  });
});

/**
 * The zod client schema (SendRequest, what DcoClient checks) and the workflow's check must say
 * the same about the same request, or one of them lets through what the other refuses.
 */
describe('the zod client schema and the workflow check agree', () => {
  /** The DcoClient input that produces this workflow input. */
  const asSendInput = (r: Record<string, unknown>) => {
    const { options, ...rest } = r;
    return { ...rest, ...(options as object | undefined) };
  };
  const zodVerdict = (r: Record<string, unknown>) => {
    const realNow = Date.now;
    Date.now = () => NOW; // the client compares expiresAt with its clock
    try {
      return SendRequest.safeParse(asSendInput(r));
    } finally {
      Date.now = realNow;
    }
  };
  const agree = (r: Record<string, unknown>) => {
    const zod = zodVerdict(r);
    const plain = validateCommandRequest(r, NOW);
    expect({ sample: r, ok: plain.ok, reason: plain.ok ? undefined : plain.reason }).toEqual({
      sample: r,
      ok: zod.success,
      reason: zod.success ? undefined : expect.any(String),
    });
    if (zod.success && plain.ok) {
      const { ackTimeoutMs, resultTimeoutMs, maxAttempts, backoff, params } = zod.data;
      expect(plain.value.options).toEqual({ ackTimeoutMs, resultTimeoutMs, maxAttempts, backoff });
      expect(plain.value.params).toEqual(params);
      expect(plain.value.ordering).toEqual(zod.data.ordering);
    }
  };

  const samples: Array<[string, Record<string, unknown>]> = [
    ['serial, default priority', { ...valid, ordering: { mode: 'serial' } }],
    ['serial, priority 9', { ...valid, ordering: { mode: 'serial', priority: 9 } }],
    ['parallel', { ...valid, ordering: { mode: 'parallel' } }],
    ['priority -1', { ...valid, ordering: { mode: 'serial', priority: -1 } }],
    ['priority 2.5', { ...valid, ordering: { mode: 'serial', priority: 2.5 } }],
    ['ordering without a mode', { ...valid, ordering: { priority: 1 } }],
    ['ordering null', { ...valid, ordering: null }],
    ['valid', valid],
    ['no options', { ...valid, options: undefined }],
    ['no params', { ...valid, params: undefined }],
    ['partial backoff', { ...valid, options: { backoff: { initialMs: 50 } } }],
    [
      'largest options',
      {
        ...valid,
        options: {
          ackTimeoutMs: 7 * 86_400_000,
          resultTimeoutMs: 30 * 86_400_000,
          maxAttempts: 100,
          backoff: { initialMs: 86_400_000, maxMs: 86_400_000, multiplier: 10, jitter: 1 },
        },
      },
    ],
    [
      'smallest options',
      { ...valid, options: { ackTimeoutMs: 1_000, resultTimeoutMs: 1_000, maxAttempts: 1, backoff: { initialMs: 0, maxMs: 0, multiplier: 1, jitter: 0 } } },
    ],
    ['expiresAt with offset', { ...valid, expiresAt: '2026-02-04T12:00:00+02:00' }],
    ['expiresAt leap day', { ...valid, expiresAt: '2026-02-29T10:00:00Z' }],
    ['expiresAt past', { ...valid, expiresAt: '2020-01-01T00:00:00Z' }],
    ['expiresAt at MAX_TTL_MS', { ...valid, expiresAt: new Date(NOW + MAX_TTL_MS).toISOString() }],
    ['expiresAt 31 days', { ...valid, expiresAt: new Date(NOW + 31 * 86_400_000).toISOString() }],
    ['expiresAt 9999', { ...valid, expiresAt: '9999-12-31T23:59:59Z' }],
    ['expiresAt bad', { ...valid, expiresAt: 'tomorrow' }],
    ['expiresAt no seconds', { ...valid, expiresAt: '2026-02-04T10:10Z' }],
    ['expiresAt +0200', { ...valid, expiresAt: '2026-02-04T12:00:00+0200' }],
    ['deviceId +', { ...valid, deviceId: 'a+b' }],
    ['deviceId #', { ...valid, deviceId: 'a#' }],
    ['deviceId /', { ...valid, deviceId: 'a/b' }],
    ['deviceId 65 chars', { ...valid, deviceId: 'd'.repeat(65) }],
    ['deviceId 64 chars', { ...valid, deviceId: 'd'.repeat(64) }],
    ['commandId 129 chars', { ...valid, commandId: 'c'.repeat(129) }],
    ['name empty', { ...valid, name: '' }],
    ['rolloutId ok', { ...valid, rolloutId: 'fw_2-3' }],
    ['rolloutId with dot', { ...valid, rolloutId: 'fw.2' }],
    ['negative maxAttempts', { ...valid, options: { maxAttempts: -1 } }],
    ['maxAttempts 101', { ...valid, options: { maxAttempts: 101 } }],
    ['maxAttempts 2.5', { ...valid, options: { maxAttempts: 2.5 } }],
    ['ackTimeoutMs 999', { ...valid, options: { ackTimeoutMs: 999 } }],
    ['resultTimeoutMs over 30 days', { ...valid, options: { resultTimeoutMs: 30 * 86_400_000 + 1 } }],
    ['multiplier 0.5', { ...valid, options: { backoff: { multiplier: 0.5 } } }],
    ['jitter 1.5', { ...valid, options: { backoff: { jitter: 1.5 } } }],
    ['initialMs fractional', { ...valid, options: { backoff: { initialMs: 0.5 } } }],
    ['params 31 deep', { ...valid, params: nested(31) }],
    ['params 32 deep', { ...valid, params: nested(32) }],
    ['params array', { ...valid, params: [] }],
    ['params exactly 32768 bytes', { ...valid, params: { a: 'x'.repeat(32_768 - 8) } }],
    ['params 32769 bytes', { ...valid, params: { a: 'x'.repeat(32_768 - 7) } }],
    ['params multibyte over', { ...valid, params: { a: 'é'.repeat(16_381) } }],
  ];
  it.each(samples)('%s', (_name, sample) => agree(sample));

  it('on random options', () => {
    const value = fc.oneof(
      fc.integer({ min: -10, max: 40 * 86_400_000 }),
      fc.double({ noNaN: false }),
      fc.constantFrom(0, 1, 100, 1_000, 999, 101, '5', null, true),
    );
    const maybe = (arb: fc.Arbitrary<unknown>) => fc.option(arb, { nil: undefined });
    fc.assert(
      fc.property(
        fc.record({
          ackTimeoutMs: maybe(value),
          resultTimeoutMs: maybe(value),
          maxAttempts: maybe(fc.oneof(value, fc.integer({ min: -2, max: 102 }))),
          backoff: maybe(
            fc.record({
              initialMs: maybe(value),
              maxMs: maybe(value),
              multiplier: maybe(fc.double({ min: 0, max: 11 })),
              jitter: maybe(fc.double({ min: -0.5, max: 1.5 })),
            }),
          ),
        }),
        (options) => agree({ ...valid, options: JSON.parse(JSON.stringify(options)) }),
      ),
      { numRuns: 300 },
    );
  });

  it("ISO_TIMESTAMP_PATTERN is zod's z.iso.datetime({ offset: true })", () => {
    const zod = z.iso.datetime({ offset: true });
    fc.assert(
      fc.property(
        fc.oneof(
          fc.date({ min: new Date('0001-01-01'), max: new Date('9999-12-31'), noInvalidDate: true }).map((d) => d.toISOString()),
          fc.stringMatching(/^\d{4}-[01]\d-[0-3]\dT[0-2]\d:[0-6]\d(:[0-6]\d(\.\d{1,4})?)?(Z|[+-][0-2]\d:?[0-6]\d)?$/),
        ),
        (text) => expect(ISO_TIMESTAMP_PATTERN.test(text)).toBe(zod.safeParse(text).success),
      ),
      { numRuns: 2_000 },
    );
  });
});
