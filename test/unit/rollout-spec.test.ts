import fc from 'fast-check';
import { z } from 'zod';
import {
  DEFAULT_CANARY,
  DEFAULT_WAVES,
  MAX_ROLLOUT_PARAMS_BYTES,
  parseRatePerMinute,
  parseWaves,
  parseWaveSize,
  RolloutId,
  RolloutSpec,
  WaveSize,
} from '../../protocol/rollout-spec';

const minimal = { rolloutId: 'fw-2_3_1', name: 'update-firmware', targets: ['pump-1', 'pump-2', 'pump-3'] };

const problems = (value: unknown): string => {
  const r = RolloutSpec.safeParse(value);
  if (r.success) throw new Error('expected the spec to be rejected');
  return z.prettifyError(r.error);
};

describe('RolloutSpec defaults', () => {
  it('fills every default for a minimal spec', () => {
    const spec = RolloutSpec.parse(minimal);
    expect(spec).toEqual({
      ...minimal,
      params: {},
      options: { ackTimeoutMs: 10_000, resultTimeoutMs: 60_000, maxAttempts: 5, backoff: { initialMs: 1_000, maxMs: 30_000, multiplier: 2, jitter: 0.2 } },
      ttlMs: 600_000,
      canary: { percent: 1 },
      waves: [{ percent: 10 }, { percent: 50 }, { percent: 100 }],
      soakMs: 0,
      approvalAfter: [],
      concurrency: 100,
      abort: { failureShare: 0.1, minFinished: 10, countExpiredAsFailure: false, scope: 'both' },
      rampUp: true,
      adaptive: true,
    });
    expect(spec.ratePerMinute).toBeUndefined();
  });

  it('does not share default arrays between parses', () => {
    const a = RolloutSpec.parse(minimal);
    a.waves.push({ count: 1 });
    a.approvalAfter.push(0);
    const b = RolloutSpec.parse(minimal);
    expect(b.waves).toHaveLength(3);
    expect(b.approvalAfter).toEqual([]);
    expect(DEFAULT_WAVES).toHaveLength(3);
    expect(DEFAULT_CANARY).toEqual({ percent: 1 });
  });

  it('keeps given values and partial options', () => {
    const spec = RolloutSpec.parse({
      ...minimal,
      params: { version: '2.3.1' },
      options: { ackTimeoutMs: 5_000, backoff: { jitter: 0 } },
      ttlMs: 3_600_000,
      canary: { count: 5 },
      waves: [{ count: 50 }, { percent: 100 }],
      soakMs: 60_000,
      approvalAfter: [1, 0, 1],
      concurrency: 2000,
      ratePerMinute: 120,
      abort: { failureShare: 0.05, scope: 'wave' },
    });
    expect(spec.options).toEqual({
      ackTimeoutMs: 5_000,
      resultTimeoutMs: 60_000,
      maxAttempts: 5,
      backoff: { initialMs: 1_000, maxMs: 30_000, multiplier: 2, jitter: 0 },
    });
    expect(spec.approvalAfter).toEqual([0, 1]);
    expect(spec.abort).toEqual({ failureShare: 0.05, minFinished: 10, countExpiredAsFailure: false, scope: 'wave' });
    expect(spec.ratePerMinute).toBe(120);
    expect(spec.canary).toEqual({ count: 5 });
  });
});

describe('RolloutSpec rejects', () => {
  it.each([
    ['rolloutId with a dot (it would make command IDs ambiguous)', { rolloutId: 'fw-2.3' }, 'no "."'],
    ['rolloutId of 64 characters', { rolloutId: 'r'.repeat(64) }, 'rolloutId must be 1-63'],
    ['empty rolloutId', { rolloutId: '' }, 'rolloutId must be 1-63'],
    ['rolloutId with /', { rolloutId: 'a/b' }, 'rolloutId must be 1-63'],
    ['command name with a space', { name: 're boot' }, 'command name must be'],
    ['params that are an array', { params: [1] }, 'params'],
    ['no targets', { targets: [] }, 'a rollout needs at least one target device (only a continuous rollout may start with none'],
    ['an invalid deviceId', { targets: ['ok', 'not ok'] }, 'deviceId must be'],
    ['canary of 0 devices', { canary: { count: 0 } }, 'canary'],
    ['canary of 0%', { canary: { percent: 0 } }, 'canary'],
    ['canary of 101%', { canary: { percent: 101 } }, 'canary'],
    ['a wave with both count and percent', { waves: [{ count: 1, percent: 5 }] }, 'a wave size is {count: N}'],
    ['a fractional count', { waves: [{ count: 1.5 }] }, 'waves[0]'],
    ['no wave after the canary', { waves: [] }, 'at least one wave after the canary'],
    ['101 waves', { waves: Array.from({ length: 101 }, () => ({ percent: 100 })) }, 'waves'],
    ['concurrency 0', { concurrency: 0 }, 'concurrency'],
    ['concurrency above the 2000 pending children of Temporal', { concurrency: 2001 }, 'concurrency'],
    ['rate 0', { ratePerMinute: 0 }, 'ratePerMinute'],
    ['negative soak', { soakMs: -1 }, 'soakMs'],
    ['ttl below one second', { ttlMs: 999 }, 'ttlMs'],
    ['failure share above 1', { abort: { failureShare: 1.5 } }, 'abort.failureShare'],
    ['minFinished 0', { abort: { minFinished: 0 } }, 'abort.minFinished'],
    ['an unknown scope', { abort: { scope: 'fleet' } }, 'abort.scope'],
    ['ack timeout below 1 s', { options: { ackTimeoutMs: 500 } }, 'must be at least 1000 ms'],
    [
      'an approval gate after the last wave',
      { waves: [{ percent: 10 }, { percent: 100 }], approvalAfter: [2] },
      'approvalAfter 2: a gate may follow wave 0 (the canary) to 1; wave 2 is the last',
    ],
    ['a negative approval index', { approvalAfter: [-1] }, 'approvalAfter'],
  ])('%s', (_label, patch, message) => {
    expect(problems({ ...minimal, ...patch })).toContain(message);
  });

  it('params above 32 KiB, counted in UTF-8 bytes', () => {
    // "é" is 2 bytes: 16,384 of them are 32 KiB of characters and more in bytes.
    const overhead = JSON.stringify({ s: '' }).length;
    const fits = { s: 'a'.repeat(MAX_ROLLOUT_PARAMS_BYTES - overhead) };
    expect(RolloutSpec.safeParse({ ...minimal, params: fits }).success).toBe(true);
    expect(problems({ ...minimal, params: { s: 'a'.repeat(MAX_ROLLOUT_PARAMS_BYTES - overhead + 1) } })).toContain('at most 32768 bytes');
    expect(problems({ ...minimal, params: { s: 'é'.repeat((MAX_ROLLOUT_PARAMS_BYTES - overhead) / 2 + 1) } })).toContain('at most 32768 bytes');
    expect(RolloutSpec.safeParse({ ...minimal, params: { s: 'é'.repeat((MAX_ROLLOUT_PARAMS_BYTES - overhead) / 2) } }).success).toBe(true);
    expect(RolloutSpec.safeParse({ ...minimal, params: { s: '😀'.repeat((MAX_ROLLOUT_PARAMS_BYTES - overhead) / 4) } }).success).toBe(true);
    expect(RolloutSpec.safeParse({ ...minimal, params: { s: '😀'.repeat((MAX_ROLLOUT_PARAMS_BYTES - overhead) / 4 + 1) } }).success).toBe(false);
  });

  it('params JSON cannot carry', () => {
    expect(problems({ ...minimal, params: { n: BigInt(1) } })).toContain('params must be plain JSON');
  });
});

describe('RolloutSpec targets', () => {
  it('names a single duplicate', () => {
    expect(problems({ ...minimal, targets: ['a', 'b', 'a'] })).toContain('targets must be unique; 1 device ID appears more than once: a');
  });

  it('lists up to 10 duplicates and says how many more', () => {
    const ids = Array.from({ length: 13 }, (_, i) => `d${i}`);
    const message = problems({ ...minimal, targets: [...ids, ...ids, 'd0'] });
    expect(message).toContain('13 device IDs appear more than once: d0, d1, d2, d3, d4, d5, d6, d7, d8, d9, and 3 more');
    expect(message).not.toContain('d10');
  });

  it('accepts 100,000 unique targets and keeps their order', () => {
    const targets = Array.from({ length: 100_000 }, (_, i) => `dev-${(99_999 - i).toString(36)}`);
    const spec = RolloutSpec.parse({ ...minimal, targets });
    expect(spec.targets).toHaveLength(100_000);
    expect(spec.targets[0]).toBe(targets[0]);
    expect(spec.targets[99_999]).toBe('dev-0');
  });

  it('property: a list is accepted exactly when it has no duplicates', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g'), { minLength: 1, maxLength: 10 }), (targets) => {
        const unique = new Set(targets).size === targets.length;
        expect(RolloutSpec.safeParse({ ...minimal, targets }).success).toBe(unique);
      }),
    );
  });
});

describe('RolloutId', () => {
  it('property: accepts exactly 1-63 characters of A-Z a-z 0-9 _ -', () => {
    const char = fc.constantFrom(...'abcXYZ059_-./ +#é');
    fc.assert(
      fc.property(
        fc.array(char, { maxLength: 70 }).map((cs) => cs.join('')),
        (id) => {
          const expected = id.length >= 1 && id.length <= 63 && /^[A-Za-z0-9_-]*$/.test(id);
          expect(RolloutId.safeParse(id).success).toBe(expected);
        },
      ),
    );
  });
});

describe('parseWaveSize', () => {
  it.each([
    ['5%', { percent: 5 }],
    ['0.5%', { percent: 0.5 }],
    ['100%', { percent: 100 }],
    [' 20 ', { count: 20 }],
    ['1', { count: 1 }],
  ])('%s', (text, expected) => {
    expect(parseWaveSize(text)).toEqual(expected);
  });

  it.each(['0', '0%', '101%', '-5', '5 %', '%', '', 'ten', '1.5', '1e3', '5%%'])('rejects "%s" with a message that says what is expected', (text) => {
    expect(() => parseWaveSize(text)).toThrow(/expected a number of devices such as 20 or a share of the fleet such as 5%/);
  });

  it('property: what it returns is a valid WaveSize', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.integer({ min: 1, max: 1e6 }).map(String),
          fc.integer({ min: 1, max: 100 }).map((n) => `${n}%`),
        ),
        (text) => {
          expect(WaveSize.safeParse(parseWaveSize(text)).success).toBe(true);
        },
      ),
    );
  });
});

describe('parseWaves', () => {
  it('parses a list', () => {
    expect(parseWaves('10%,50%,100%')).toEqual([{ percent: 10 }, { percent: 50 }, { percent: 100 }]);
    expect(parseWaves('100, 25%')).toEqual([{ count: 100 }, { percent: 25 }]);
  });

  it.each(['', '10%,', ',10%', '10%,,50%', '10%,x'])('rejects "%s"', (text) => {
    expect(() => parseWaves(text)).toThrow(/expected/);
  });
});

describe('parseRatePerMinute', () => {
  it.each([
    ['120/min', 120],
    ['120', 120],
    ['2/s', 120],
    ['600/h', 10],
    ['0.5/min', 0.5],
  ])('%s', (text, expected) => {
    expect(parseRatePerMinute(text)).toBe(expected);
  });

  it.each(['0', '0/min', '-1', '5/day', 'fast', '', '2000000/min'])('rejects "%s"', (text) => {
    expect(() => parseRatePerMinute(text)).toThrow(/expected a positive rate such as 120\/min/);
  });
});
