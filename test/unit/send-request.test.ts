import fc from 'fast-check';
import { generateCommandId, MAX_PARAMS_BYTES, MAX_PARAMS_DEPTH, resolveExpiresAt, SendRequest } from '../../client/send-request';
import { DEFAULT_TTL_MS } from '../../protocol/command-options';
import { COMMAND_ID_PATTERN } from '../../protocol/ids';

const NOW = Date.parse('2026-02-04T10:00:00.000Z');
const ID_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-'.split('');
const idArb = (maxLength: number) => fc.string({ unit: fc.constantFrom(...ID_CHARS), minLength: 1, maxLength });
const randomArb = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });
/** Any wall-clock time from 1970 to 2200. */
const nowArb = fc.integer({ min: 0, max: Date.parse('2200-01-01T00:00:00Z') });

const issuesOf = (input: unknown) => {
  const r = SendRequest.safeParse(input);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('generateCommandId', () => {
  it('is {deviceId}.{name}.{time base36}{6 random base36 chars}', () => {
    expect(generateCommandId('pump-7', 'reboot', NOW, () => 0)).toBe(`pump-7.reboot.${NOW.toString(36)}000000`);
    expect(generateCommandId('pump-7', 'reboot', NOW, () => 0.9999999999)).toBe(`pump-7.reboot.${NOW.toString(36)}zzzzzz`);
    expect(NOW.toString(36)).toHaveLength(8);
  });

  it('differs for different random values and different times', () => {
    expect(generateCommandId('d', 'n', NOW, () => 0.1)).not.toBe(generateCommandId('d', 'n', NOW, () => 0.2));
    expect(generateCommandId('d', 'n', NOW, () => 0.1)).not.toBe(generateCommandId('d', 'n', NOW + 1, () => 0.1));
  });

  it('matches COMMAND_ID_PATTERN for typical deviceIds and names', () => {
    fc.assert(
      fc.property(idArb(32), idArb(32), nowArb, randomArb, (deviceId, name, now, r) => {
        const id = generateCommandId(deviceId, name, now, () => r);
        expect(id).toMatch(COMMAND_ID_PATTERN);
        expect(id.startsWith(`${deviceId}.${name}.`)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  // A 64-character deviceId and name would give 144 characters unshortened (a bug found here).
  it('matches COMMAND_ID_PATTERN for the longest deviceId and name', () => {
    const id = generateCommandId('d'.repeat(64), 'n'.repeat(64), NOW, () => 0.5);
    expect(id).toMatch(COMMAND_ID_PATTERN);
  });

  it('matches COMMAND_ID_PATTERN for any valid deviceId and name (property, up to max lengths)', () => {
    fc.assert(
      fc.property(idArb(64), idArb(64), nowArb, randomArb, (deviceId, name, now, r) => {
        expect(generateCommandId(deviceId, name, now, () => r)).toMatch(COMMAND_ID_PATTERN);
      }),
      { numRuns: 500, examples: [['d'.repeat(64), 'n'.repeat(64), NOW, 0.5]] },
    );
  });
});

describe('resolveExpiresAt', () => {
  it('defaults to now + DEFAULT_TTL_MS (10 minutes)', () => {
    expect(DEFAULT_TTL_MS).toBe(600_000);
    expect(resolveExpiresAt({}, NOW)).toBe('2026-02-04T10:10:00.000Z');
  });

  it('uses ttlMs from now', () => {
    expect(resolveExpiresAt({ ttlMs: 30_000 }, NOW)).toBe('2026-02-04T10:00:30.000Z');
  });

  it('uses expiresAt when given, normalized to UTC, and ignores ttlMs', () => {
    expect(resolveExpiresAt({ expiresAt: '2026-02-04T12:30:00+02:00', ttlMs: 30_000 }, NOW)).toBe('2026-02-04T10:30:00.000Z');
    expect(resolveExpiresAt({ expiresAt: '2026-02-04T10:30:00.5Z' }, NOW)).toBe('2026-02-04T10:30:00.500Z');
  });

  it('keeps an expiresAt in the past (the workflow then expires the command)', () => {
    expect(resolveExpiresAt({ expiresAt: '2020-01-01T00:00:00Z' }, NOW)).toBe('2020-01-01T00:00:00.000Z');
  });

  it('property: ttlMs gives exactly now + ttlMs', () => {
    fc.assert(
      fc.property(nowArb, fc.integer({ min: 1_000, max: 30 * 24 * 3600_000 }), (now, ttlMs) => {
        expect(Date.parse(resolveExpiresAt({ ttlMs }, now))).toBe(now + ttlMs);
      }),
    );
  });
});

describe('SendRequest', () => {
  it('fills every default', () => {
    expect(SendRequest.parse({ deviceId: 'pump-7', name: 'reboot' })).toEqual({
      deviceId: 'pump-7',
      name: 'reboot',
      params: {},
      ackTimeoutMs: 10_000,
      resultTimeoutMs: 60_000,
      maxAttempts: 5,
      backoff: { initialMs: 1_000, maxMs: 30_000, multiplier: 2, jitter: 0.2 },
    });
  });

  it('fills backoff defaults field by field', () => {
    expect(SendRequest.parse({ deviceId: 'd', name: 'n', backoff: { initialMs: 50 } }).backoff).toEqual({
      initialMs: 50,
      maxMs: 30_000,
      multiplier: 2,
      jitter: 0.2,
    });
  });

  it('keeps what the caller gives', () => {
    const input = {
      deviceId: 'pump-7',
      name: 'set-speed',
      params: { rpm: 1200 },
      commandId: 'my-id-1',
      ttlMs: 60_000,
      expiresAt: '2026-02-04T10:05:00Z',
      rolloutId: 'r-1',
      ackTimeoutMs: 2_000,
      resultTimeoutMs: 5_000,
      maxAttempts: 3,
      backoff: { initialMs: 500, maxMs: 4_000, multiplier: 1.5, jitter: 0 },
    };
    expect(SendRequest.parse(input)).toEqual(input);
  });

  it.each([
    ['negative ackTimeoutMs', { ackTimeoutMs: -1 }, 'ackTimeoutMs'],
    ['ackTimeoutMs below 1 s', { ackTimeoutMs: 999 }, 'ackTimeoutMs'],
    ['fractional ackTimeoutMs', { ackTimeoutMs: 1500.5 }, 'ackTimeoutMs'],
    ['negative resultTimeoutMs', { resultTimeoutMs: -60_000 }, 'resultTimeoutMs'],
    ['resultTimeoutMs over 30 days', { resultTimeoutMs: 30 * 24 * 3600_000 + 1 }, 'resultTimeoutMs'],
    ['maxAttempts 0', { maxAttempts: 0 }, 'maxAttempts'],
    ['maxAttempts 101', { maxAttempts: 101 }, 'maxAttempts'],
    ['negative backoff.initialMs', { backoff: { initialMs: -1 } }, 'backoff.initialMs'],
    ['backoff.multiplier below 1', { backoff: { multiplier: 0.5 } }, 'backoff.multiplier'],
    ['backoff.jitter above 1', { backoff: { jitter: 1.5 } }, 'backoff.jitter'],
    ['ttlMs below 1 s', { ttlMs: 999 }, 'ttlMs'],
    ['negative ttlMs', { ttlMs: -1_000 }, 'ttlMs'],
    ['expiresAt without offset', { expiresAt: '2026-02-04T10:05:00' }, 'expiresAt'],
    ['a bad deviceId', { deviceId: 'pump/7' }, 'deviceId'],
    ['a deviceId of 65 characters', { deviceId: 'd'.repeat(65) }, 'deviceId'],
    ['a bad name', { name: 're boot' }, 'name'],
    ['a bad commandId', { commandId: 'a#b' }, 'commandId'],
    ['params an array', { params: [1, 2] }, 'params'],
  ])('rejects %s', (_label, patch, path) => {
    const issues = issuesOf({ deviceId: 'pump-7', name: 'reboot', ...patch });
    expect(issues).toHaveLength(1);
    expect(issues[0].startsWith(`${path}: `)).toBe(true);
  });

  it('requires deviceId and name', () => {
    expect(
      issuesOf({})
        .map((i) => i.split(':')[0])
        .sort(),
    ).toEqual(['deviceId', 'name']);
  });

  it(`accepts params of exactly ${MAX_PARAMS_BYTES} bytes of JSON and rejects one byte more`, () => {
    expect(MAX_PARAMS_BYTES).toBe(32_768);
    const overhead = JSON.stringify({ a: '' }).length; // {"a":""}
    const exact = { a: 'x'.repeat(MAX_PARAMS_BYTES - overhead) };
    expect(Buffer.byteLength(JSON.stringify(exact))).toBe(MAX_PARAMS_BYTES);
    expect(issuesOf({ deviceId: 'd', name: 'n', params: exact })).toEqual([]);
    const over = { a: 'x'.repeat(MAX_PARAMS_BYTES - overhead + 1) };
    expect(issuesOf({ deviceId: 'd', name: 'n', params: over })).toEqual([`params: params must be plain JSON of at most ${MAX_PARAMS_BYTES} bytes`]);
  });

  it('counts params in UTF-8 bytes, not characters', () => {
    const overhead = JSON.stringify({ a: '' }).length;
    const chars = Math.floor((MAX_PARAMS_BYTES - overhead) / 2) + 1; // 'é' is 2 bytes
    const params = { a: 'é'.repeat(chars) };
    expect(JSON.stringify(params).length).toBeLessThan(MAX_PARAMS_BYTES);
    expect(issuesOf({ deviceId: 'd', name: 'n', params })).toEqual([`params: params must be plain JSON of at most ${MAX_PARAMS_BYTES} bytes`]);
  });

  // JSON.stringify throws on a BigInt or a cycle; the size check must turn that into an issue.
  it('safeParse never throws, even for params JSON cannot represent', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const params of [{ big: BigInt(1) }, cyclic]) {
      let result: ReturnType<typeof SendRequest.safeParse> | undefined;
      expect(() => {
        result = SendRequest.safeParse({ deviceId: 'd', name: 'n', params });
      }).not.toThrow();
      expect(result?.success).toBe(false);
    }
  });

  it(`accepts params nested ${MAX_PARAMS_DEPTH} levels deep and rejects one level more`, () => {
    expect(MAX_PARAMS_DEPTH).toBe(31); // params sit inside the command message: 32 levels in all
    const depthOf = (v: unknown) =>
      JSON.stringify(v)
        .split('')
        .filter((c) => c === '{' || c === '[').length;
    /** `{p: ...}` nested `levels` deep in all, alternating arrays and objects (both count). */
    const limit = (levels: number) => {
      let v: unknown = {};
      for (let i = 1; i < levels; i++) v = i % 2 ? [v] : { a: v };
      return { p: v };
    };
    expect(depthOf(limit(MAX_PARAMS_DEPTH - 1))).toBe(MAX_PARAMS_DEPTH);
    expect(issuesOf({ deviceId: 'd', name: 'n', params: limit(MAX_PARAMS_DEPTH - 1) })).toEqual([]);
    expect(issuesOf({ deviceId: 'd', name: 'n', params: limit(MAX_PARAMS_DEPTH) })).toEqual([
      `params: params must not nest objects and arrays more than ${MAX_PARAMS_DEPTH} levels deep`,
    ]);
    // Brackets inside strings do not count.
    expect(issuesOf({ deviceId: 'd', name: 'n', params: { s: '[[[[{{{{'.repeat(100) } })).toEqual([]);
    // Far too deep for JSON.stringify itself: still an issue, never an exception.
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(() => SendRequest.safeParse({ deviceId: 'd', name: 'n', params: { deep } })).not.toThrow();
    expect(SendRequest.safeParse({ deviceId: 'd', name: 'n', params: { deep } }).success).toBe(false);
  });
});
