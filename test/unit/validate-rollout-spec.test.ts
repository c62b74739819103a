import { MAX_TTL_MS } from '../../protocol/command-limits';
import { RolloutSpec } from '../../protocol/rollout-spec';
import { validateRolloutSpec } from '../../protocol/validate-rollout-spec';

function nested(depth: number): Record<string, unknown> {
  let v: Record<string, unknown> = {};
  for (let i = 1; i < depth; i++) v = { a: v };
  return v;
}

describe('validateRolloutSpec (the rollout workflow checks its spec, without zod)', () => {
  const minimal = { rolloutId: 'fw-2_3_1', name: 'update-firmware', targets: ['pump-1', 'pump-2', 'pump-3'] };

  it('fills the same defaults as the zod schema, except rampUp and adaptive (absent stays absent, for replay)', () => {
    const r = validateRolloutSpec(minimal);
    const { rampUp: _r, adaptive: _a, ...zodDefaults } = RolloutSpec.parse(minimal);
    expect(r).toEqual({ ok: true, value: zodDefaults });
    expect(validateRolloutSpec(RolloutSpec.parse(minimal))).toEqual({ ok: true, value: RolloutSpec.parse(minimal) });
    // Rate ramps and thresholds per outcome come through as zod gives them.
    const shaped = RolloutSpec.parse({
      ...minimal,
      ratePerMinute: 60,
      rateRamp: { factor: 2, everySucceeded: 5, maxPerMinute: 600 },
      abort: { byOutcome: { timedOut: 0.2, rejected: 0 } },
    });
    expect(validateRolloutSpec(shaped)).toEqual({ ok: true, value: shaped });
    const scheduled = RolloutSpec.parse({
      ...minimal,
      startAt: '2026-12-24T22:00:00+01:00',
      endAt: '2026-12-24T23:00:00.5+01:00',
      endBehaviour: 'cancel-in-flight',
    });
    expect(validateRolloutSpec(scheduled)).toEqual({ ok: true, value: scheduled });
    const windowed = RolloutSpec.parse({ ...minimal, window: { cron: '0 2 * * 1-5', durationMs: 10_800_000, timeZone: 'Europe/Berlin' } });
    expect(validateRolloutSpec(windowed)).toEqual({ ok: true, value: windowed });
    const perDevice = RolloutSpec.parse({ ...minimal, window: { cron: '0 2 * * *', durationMs: 10_800_000, timeZone: 'UTC', deviceTimeZone: true } });
    expect(validateRolloutSpec(perDevice)).toEqual({ ok: true, value: perDevice });
    const made = RolloutSpec.parse({ ...minimal, template: { name: 'fw', version: 3 }, continuous: { query: "DeviceModel = 'pump-x'" } });
    expect(made.continuous).toEqual({ query: "DeviceModel = 'pump-x'", scanEveryMs: 60_000 });
    expect(validateRolloutSpec(made)).toEqual({ ok: true, value: made });
    expect(validateRolloutSpec({ ...minimal, continuous: { query: "DeviceSite = 'x'" } })).toMatchObject({
      ok: true,
      value: { continuous: { query: "DeviceSite = 'x'", scanEveryMs: 60_000 } },
    });
    const laned = RolloutSpec.parse({ ...minimal, lanes: 4 });
    expect(validateRolloutSpec(laned)).toEqual({ ok: true, value: laned });
    // Only a continuous rollout may start with no device.
    expect(validateRolloutSpec({ ...minimal, targets: [], continuous: { query: "DeviceSite = 'x'" } })).toMatchObject({ ok: true, value: { targets: [] } });
    expect(validateRolloutSpec({ ...minimal, targets: [] })).toEqual({
      ok: false,
      reason: 'targets must be a non-empty list of device IDs (empty only for a continuous rollout)',
    });
  });

  it.each([
    ['concurrency 0', { ...minimal, concurrency: 0 }, /^concurrency must be a whole number from 1 to 2000, got 0/],
    ['17 lanes', { ...minimal, lanes: 17 }, /^lanes must be a whole number from 1 to 16, got 17/],
    ['half a lane', { ...minimal, lanes: 1.5 }, /^lanes must be a whole number from 1 to 16, got 1.5/],
    ['params too deep', { ...minimal, params: nested(32) }, /^params must not nest/],
    ['params too big', { ...minimal, params: { s: 'x'.repeat(33_000) } }, /^params must be plain JSON of at most 32768 bytes/],
    ['no targets', { ...minimal, targets: [] }, /^targets must be a non-empty list/],
    ['duplicate targets', { ...minimal, targets: ['a', 'a'] }, /^targets must be unique; a appears/],
    ['bad target', { ...minimal, targets: ['a/b'] }, /^targets: "a\/b" is not a device ID/],
    ['ttl above 30 days', { ...minimal, ttlMs: MAX_TTL_MS + 1 }, /^ttlMs must be a whole number/],
    ['bad options', { ...minimal, options: { maxAttempts: 0 } }, /^options.maxAttempts must be/],
    ['gate after the last wave', { ...minimal, approvalAfter: [3] }, /^approvalAfter must be a whole number from 0 to 2/],
    ['bad wave', { ...minimal, waves: [{ percent: 0 }] }, /^waves\[0\] must be/],
    ['not an object', null, /^the spec must be a JSON object/],
    [
      'a misspelt outcome threshold',
      { ...minimal, abort: { byOutcome: { timeout: 0.1 } } },
      /^abort.byOutcome: unknown outcome "timeout"; use failed, rejected, timedOut, expired/,
    ],
    ['an outcome threshold above 1', { ...minimal, abort: { byOutcome: { rejected: 2 } } }, /^abort.byOutcome.rejected must be a number from 0 to 1/],
    ['a rate ramp without a rate', { ...minimal, rateRamp: { factor: 2, everySucceeded: 5, maxPerMinute: 100 } }, /^rateRamp needs ratePerMinute/],
    [
      'a rate ramp below its start',
      { ...minimal, ratePerMinute: 200, rateRamp: { factor: 2, everySucceeded: 5, maxPerMinute: 100 } },
      /^rateRamp.maxPerMinute \(100\) is below/,
    ],
    ['a start time without an offset', { ...minimal, startAt: '2026-12-24T22:00:00' }, /^startAt must be an ISO 8601 time with an offset/],
    [
      'an end before the start',
      { ...minimal, startAt: '2026-12-24T22:00:00Z', endAt: '2026-12-24T21:00:00Z' },
      /^endAt \(2026-12-24T21:00:00Z\) must be after startAt/,
    ],
    ['an end behaviour without an end', { ...minimal, endBehaviour: 'cancel-in-flight' }, /^endBehaviour needs endAt/],
    [
      'a window with an unknown field',
      { ...minimal, window: { cron: '0 2 * * *', durationMs: 3_600_000, timeZone: 'UTC', tz: 'x' } },
      /^window must be \{cron, durationMs, timeZone, deviceTimeZone\?\}/,
    ],
    [
      'a per-device window that is not a boolean',
      { ...minimal, window: { cron: '0 2 * * *', durationMs: 3_600_000, timeZone: 'UTC', deviceTimeZone: 'yes' } },
      /^window.deviceTimeZone must be true or false/,
    ],
    [
      'a window of no time',
      { ...minimal, window: { cron: '0 2 * * *', durationMs: 0, timeZone: 'UTC' } },
      /^window.durationMs must be a whole number from 1000/,
    ],
    [
      'a window in no time zone',
      { ...minimal, window: { cron: '0 2 * * *', durationMs: 3_600_000, timeZone: 'Berlin time' } },
      /^window.timeZone must be an IANA time zone/,
    ],
    ['a template reference with more fields', { ...minimal, template: { name: 'fw', version: 1, by: 'me' } }, /^template must be \{name, version\}/],
    ['a template reference of version 0', { ...minimal, template: { name: 'fw', version: 0 } }, /^template must be \{name, version\}/],
    [
      'a continuous query that escapes its parentheses',
      { ...minimal, continuous: { query: "DeviceSite = 'a') OR (DeviceSite = 'b'" } },
      /^continuous.query: the device query closes a parenthesis it did not open/,
    ],
    ['an empty continuous query', { ...minimal, continuous: { query: ' ' } }, /^continuous.query: the device query is empty/],
    [
      'looks more often than every second',
      { ...minimal, continuous: { query: "DeviceSite = 'a'", scanEveryMs: 500 } },
      /^continuous.scanEveryMs must be a whole number from 1000/,
    ],
    [
      'a continuous rollout with an unknown field',
      { ...minimal, continuous: { query: "DeviceSite = 'a'", every: 5 } },
      /^continuous must be \{query, scanEveryMs\?\}/,
    ],
    [
      'a rate ramp factor of 1',
      { ...minimal, ratePerMinute: 60, rateRamp: { factor: 1, everySucceeded: 5, maxPerMinute: 100 } },
      /^rateRamp.factor must be a number above 1/,
    ],
  ])('refuses %s with a reason, as zod does', (_kind, spec, reason) => {
    const r = validateRolloutSpec(spec);
    expect(r.ok ? 'accepted' : r.reason).toMatch(reason);
    expect(RolloutSpec.safeParse(spec).success).toBe(false);
  });
});
