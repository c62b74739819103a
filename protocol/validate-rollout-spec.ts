/**
 * The rollout workflow's own check of its spec, without zod (see validate-command-request.ts
 * for why). The rollout client validates with zod (rollout-spec.ts); a rollout started
 * directly (another language, the `temporal` CLI) is checked here, so that, say, concurrency 0
 * ends the rollout with a reason instead of waiting forever for a free slot.
 *
 * Missing fields get the zod schema's defaults, except `rampUp` and `adaptive`: rollouts
 * started before they existed have none and must replay as they ran (without them).
 */
import { DEFAULT_TTL_MS, MAX_TTL_MS, MIN_TIMEOUT_MS } from './command-limits';
import { COMMAND_NAME_PATTERN, DEVICE_ID_PATTERN, ROLLOUT_ID_PATTERN, TEMPLATE_NAME_PATTERN, TIME_ZONE_PATTERN } from './id-patterns';
import { deviceQueryProblem } from './device-query';
import type { RolloutSpec, WaveSize } from './rollout-spec';
import { checkCommandOptions, checkOrdering, checkParams, shown, type Validated } from './validate-command-request';

/** Temporal allows 2,000 pending child workflows per workflow execution. */
export const MAX_ROLLOUT_CONCURRENCY = 2_000;
export const DEFAULT_ROLLOUT_CONCURRENCY = 100;
export const MAX_WAVES = 100;
/** Lanes (RolloutSpec.lanes): more than this many spreads the work thinner than it helps. */
export const MAX_ROLLOUT_LANES = 16;

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function int(field: string, v: unknown, min: number, max: number, fallback: number): Validated<number> {
  if (v === undefined) return { ok: true, value: fallback };
  if (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max) return { ok: true, value: v };
  return { ok: false, reason: `${field} must be a whole number from ${min} to ${max}, got ${shown(v)}` };
}

function waveSize(field: string, v: unknown): Validated<WaveSize> {
  if (isObject(v)) {
    const keys = Object.keys(v);
    if (keys.length === 1 && typeof v.count === 'number' && Number.isInteger(v.count) && v.count >= 1) return { ok: true, value: { count: v.count } };
    if (keys.length === 1 && typeof v.percent === 'number' && v.percent > 0 && v.percent <= 100) return { ok: true, value: { percent: v.percent } };
  }
  return { ok: false, reason: `${field} must be {count: N} (a whole number >= 1) or {percent: P} (0 < P <= 100), got ${shown(v)}` };
}

const OUTCOME_THRESHOLDS = ['failed', 'rejected', 'timedOut', 'expired'] as const;
const isShare = (v: unknown) => typeof v === 'number' && v >= 0 && v <= 1;

/** abort.byOutcome: known outcomes only (a misspelt one must not be silently ignored), each a share. */
function checkByOutcome(v: unknown): Validated<RolloutSpec['abort']['byOutcome']> {
  if (v === undefined) return { ok: true, value: undefined };
  if (!isObject(v)) return { ok: false, reason: `abort.byOutcome must be an object, got ${shown(v)}` };
  const out: NonNullable<RolloutSpec['abort']['byOutcome']> = {};
  for (const [k, share] of Object.entries(v)) {
    if (!(OUTCOME_THRESHOLDS as readonly string[]).includes(k))
      return { ok: false, reason: `abort.byOutcome: unknown outcome ${shown(k)}; use ${OUTCOME_THRESHOLDS.join(', ')}` };
    if (!isShare(share)) return { ok: false, reason: `abort.byOutcome.${k} must be a number from 0 to 1, got ${shown(share)}` };
    out[k as (typeof OUTCOME_THRESHOLDS)[number]] = share as number;
  }
  return { ok: true, value: out };
}

function checkRateRamp(v: unknown, ratePerMinute: number | undefined): Validated<RolloutSpec['rateRamp']> {
  if (v === undefined) return { ok: true, value: undefined };
  if (!isObject(v) || Object.keys(v).some((k) => !['factor', 'everySucceeded', 'maxPerMinute'].includes(k))) {
    return { ok: false, reason: `rateRamp must be {factor, everySucceeded, maxPerMinute}, got ${shown(v)}` };
  }
  if (!(typeof v.factor === 'number' && v.factor > 1 && v.factor <= 10))
    return { ok: false, reason: `rateRamp.factor must be a number above 1 and at most 10, got ${shown(v.factor)}` };
  const every = int('rateRamp.everySucceeded', v.everySucceeded, 1, Number.MAX_SAFE_INTEGER, 0);
  if (!every.ok || v.everySucceeded === undefined)
    return { ok: false, reason: `rateRamp.everySucceeded must be a whole number from 1, got ${shown(v.everySucceeded)}` };
  if (!(typeof v.maxPerMinute === 'number' && v.maxPerMinute > 0 && v.maxPerMinute <= 1_000_000))
    return { ok: false, reason: `rateRamp.maxPerMinute must be a number above 0 and at most 1000000, got ${shown(v.maxPerMinute)}` };
  if (ratePerMinute === undefined) return { ok: false, reason: 'rateRamp needs ratePerMinute, the rate it starts from' };
  if (v.maxPerMinute < ratePerMinute)
    return { ok: false, reason: `rateRamp.maxPerMinute (${v.maxPerMinute}) is below the starting ratePerMinute (${ratePerMinute})` };
  return { ok: true, value: { factor: v.factor, everySucceeded: every.value, maxPerMinute: v.maxPerMinute } };
}

/** An ISO 8601 time with an offset, as zod's `z.iso.datetime({ offset: true })` accepts. */
const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function checkSchedule(s: Obj): Validated<Pick<RolloutSpec, 'startAt' | 'endAt' | 'endBehaviour'>> {
  for (const field of ['startAt', 'endAt'] as const) {
    const v = s[field];
    if (v !== undefined && !(typeof v === 'string' && ISO_WITH_OFFSET.test(v) && !Number.isNaN(Date.parse(v)))) {
      return { ok: false, reason: `${field} must be an ISO 8601 time with an offset, e.g. 2026-12-24T22:00:00+01:00, got ${shown(v)}` };
    }
  }
  const { startAt, endAt, endBehaviour } = s as { startAt?: string; endAt?: string; endBehaviour?: unknown };
  if (startAt && endAt && Date.parse(endAt) <= Date.parse(startAt)) return { ok: false, reason: `endAt (${endAt}) must be after startAt (${startAt})` };
  if (endBehaviour !== undefined && endBehaviour !== 'stop-starting' && endBehaviour !== 'cancel-in-flight') {
    return { ok: false, reason: `endBehaviour must be stop-starting or cancel-in-flight, got ${shown(endBehaviour)}` };
  }
  if (endBehaviour !== undefined && !endAt) return { ok: false, reason: 'endBehaviour needs endAt, the time it applies at' };
  return { ok: true, value: { ...(startAt ? { startAt } : {}), ...(endAt ? { endAt } : {}), ...(endBehaviour ? { endBehaviour } : {}) } };
}

/**
 * The window's shape only: whether its cron expression and time zone mean anything is checked
 * where windows are computed (an activity: time-zone rules are not workflow code).
 */
function checkWindowShape(v: unknown): Validated<RolloutSpec['window']> {
  if (v === undefined) return { ok: true, value: undefined };
  if (!isObject(v) || Object.keys(v).some((k) => !['cron', 'durationMs', 'timeZone', 'deviceTimeZone'].includes(k)))
    return { ok: false, reason: `window must be {cron, durationMs, timeZone, deviceTimeZone?}, got ${shown(v)}` };
  if (typeof v.cron !== 'string' || v.cron.length < 1 || v.cron.length > 100)
    return { ok: false, reason: `window.cron must be a cron expression (5 fields, or 6 with seconds), got ${shown(v.cron)}` };
  const duration = int('window.durationMs', v.durationMs, 1_000, 7 * 24 * 3_600_000, -1);
  if (!duration.ok || duration.value < 0)
    return { ok: false, reason: `window.durationMs must be a whole number from 1000 to 604800000, got ${shown(v.durationMs)}` };
  if (typeof v.timeZone !== 'string' || !TIME_ZONE_PATTERN.test(v.timeZone))
    return { ok: false, reason: `window.timeZone must be an IANA time zone such as Europe/Berlin, got ${shown(v.timeZone)}` };
  if (v.deviceTimeZone !== undefined && typeof v.deviceTimeZone !== 'boolean')
    return { ok: false, reason: `window.deviceTimeZone must be true or false, got ${shown(v.deviceTimeZone)}` };
  return {
    ok: true,
    value: { cron: v.cron, durationMs: duration.value, timeZone: v.timeZone, ...(v.deviceTimeZone !== undefined ? { deviceTimeZone: v.deviceTimeZone } : {}) },
  };
}

/**
 * A continuous rollout's look for newly matching devices: at least every second (a look is one
 * visibility listing of what changed since the last, plus an activity), at most once a day;
 * by default once a minute, so a device that starts matching waits about a minute.
 */
export const MIN_SCAN_EVERY_MS = 1_000;
export const MAX_SCAN_EVERY_MS = 86_400_000;
export const DEFAULT_SCAN_EVERY_MS = 60_000;

function checkContinuous(v: unknown): Validated<{ query: string; scanEveryMs: number } | undefined> {
  if (v === undefined) return { ok: true, value: undefined };
  if (!isObject(v) || Object.keys(v).some((k) => k !== 'query' && k !== 'scanEveryMs'))
    return { ok: false, reason: `continuous must be {query, scanEveryMs?}, got ${shown(v)}` };
  const problem = deviceQueryProblem(v.query);
  if (problem) return { ok: false, reason: `continuous.query: ${problem}` };
  const every = int('continuous.scanEveryMs', v.scanEveryMs, MIN_SCAN_EVERY_MS, MAX_SCAN_EVERY_MS, DEFAULT_SCAN_EVERY_MS);
  if (!every.ok) return every;
  return { ok: true, value: { query: v.query as string, scanEveryMs: every.value } };
}

/** `template`: which template the rollout was made from (informational), or none. */
function checkTemplateRef(v: unknown): Validated<{ name: string; version: number } | undefined> {
  if (v === undefined) return { ok: true, value: undefined };
  if (
    !isObject(v) ||
    Object.keys(v).some((k) => k !== 'name' && k !== 'version') ||
    typeof v.name !== 'string' ||
    !TEMPLATE_NAME_PATTERN.test(v.name) ||
    !Number.isInteger(v.version) ||
    (v.version as number) < 1
  ) {
    return { ok: false, reason: `template must be {name, version} (a template name and a version from 1), got ${shown(v)}` };
  }
  return { ok: true, value: { name: v.name, version: v.version as number } };
}

/** Checks a rollout spec and fills in defaults; the first problem is the reason. */
export function validateRolloutSpec(input: unknown): Validated<RolloutSpec> {
  if (!isObject(input)) return { ok: false, reason: `the spec must be a JSON object, got ${shown(input)}` };
  const s = input;
  if (typeof s.rolloutId !== 'string' || !ROLLOUT_ID_PATTERN.test(s.rolloutId)) {
    return { ok: false, reason: `rolloutId must be 1-63 characters of A-Z a-z 0-9 _ -, got ${shown(s.rolloutId)}` };
  }
  if (typeof s.name !== 'string' || !COMMAND_NAME_PATTERN.test(s.name)) {
    return { ok: false, reason: `name must be 1-64 characters of A-Z a-z 0-9 . _ -, got ${shown(s.name)}` };
  }
  // A continuous rollout may start with no device: it waits for devices that start matching.
  if (!Array.isArray(s.targets) || (s.targets.length === 0 && (s.continuous === undefined || s.continuous === null)))
    return { ok: false, reason: 'targets must be a non-empty list of device IDs (empty only for a continuous rollout)' };
  const seen = new Set<string>();
  for (const t of s.targets) {
    if (typeof t !== 'string' || !DEVICE_ID_PATTERN.test(t))
      return { ok: false, reason: `targets: ${shown(t)} is not a device ID (1-64 characters of A-Z a-z 0-9 . _ -)` };
    if (seen.has(t)) return { ok: false, reason: `targets must be unique; ${t} appears more than once` };
    seen.add(t);
  }
  const params = checkParams(s.params);
  if (!params.ok) return params;
  const options = checkCommandOptions(s.options);
  if (!options.ok) return options;
  const ordering = s.ordering === undefined ? undefined : checkOrdering(s.ordering);
  if (ordering && !ordering.ok) return ordering;
  const ttlMs = int('ttlMs', s.ttlMs, MIN_TIMEOUT_MS, MAX_TTL_MS, DEFAULT_TTL_MS);
  if (!ttlMs.ok) return ttlMs;
  const concurrency = int('concurrency', s.concurrency, 1, MAX_ROLLOUT_CONCURRENCY, DEFAULT_ROLLOUT_CONCURRENCY);
  if (!concurrency.ok) return concurrency;
  const soakMs = int('soakMs', s.soakMs, 0, MAX_TTL_MS, 0);
  if (!soakMs.ok) return soakMs;
  const canary = s.canary === undefined ? { ok: true as const, value: { percent: 1 } } : waveSize('canary', s.canary);
  if (!canary.ok) return canary;
  const rawWaves = s.waves === undefined ? [{ percent: 10 }, { percent: 50 }, { percent: 100 }] : s.waves;
  if (!Array.isArray(rawWaves) || rawWaves.length < 1 || rawWaves.length > MAX_WAVES) {
    return { ok: false, reason: `waves must be a list of 1 to ${MAX_WAVES} wave sizes, got ${shown(rawWaves)}` };
  }
  const waves: WaveSize[] = [];
  for (const [i, w] of rawWaves.entries()) {
    const r = waveSize(`waves[${i}]`, w);
    if (!r.ok) return r;
    waves.push(r.value);
  }
  const rawGates = s.approvalAfter ?? [];
  if (!Array.isArray(rawGates)) return { ok: false, reason: `approvalAfter must be a list of wave numbers, got ${shown(rawGates)}` };
  for (const k of rawGates) {
    const r = int('approvalAfter', k, 0, waves.length - 1, 0);
    if (!r.ok) return r;
  }
  if (s.ratePerMinute !== undefined && !(typeof s.ratePerMinute === 'number' && s.ratePerMinute > 0 && s.ratePerMinute <= 1_000_000)) {
    return { ok: false, reason: `ratePerMinute must be a number above 0 and at most 1000000, got ${shown(s.ratePerMinute)}` };
  }
  const a = s.abort ?? {};
  if (!isObject(a)) return { ok: false, reason: `abort must be an object, got ${shown(a)}` };
  if (a.failureShare !== undefined && !(typeof a.failureShare === 'number' && a.failureShare >= 0 && a.failureShare <= 1)) {
    return { ok: false, reason: `abort.failureShare must be a number from 0 to 1, got ${shown(a.failureShare)}` };
  }
  const minFinished = int('abort.minFinished', a.minFinished, 1, Number.MAX_SAFE_INTEGER, 10);
  if (!minFinished.ok) return minFinished;
  if (a.countExpiredAsFailure !== undefined && typeof a.countExpiredAsFailure !== 'boolean') {
    return { ok: false, reason: `abort.countExpiredAsFailure must be true or false, got ${shown(a.countExpiredAsFailure)}` };
  }
  const scope = a.scope ?? 'both';
  if (scope !== 'wave' && scope !== 'overall' && scope !== 'both')
    return { ok: false, reason: `abort.scope must be wave, overall or both, got ${shown(scope)}` };
  const byOutcome = checkByOutcome(a.byOutcome);
  if (!byOutcome.ok) return byOutcome;
  const rateRamp = checkRateRamp(s.rateRamp, s.ratePerMinute as number | undefined);
  if (!rateRamp.ok) return rateRamp;
  const schedule = checkSchedule(s);
  if (!schedule.ok) return schedule;
  const window = checkWindowShape(s.window);
  if (!window.ok) return window;
  if (s.rampUp !== undefined && typeof s.rampUp !== 'boolean') return { ok: false, reason: `rampUp must be true or false, got ${shown(s.rampUp)}` };
  if (s.adaptive !== undefined && typeof s.adaptive !== 'boolean') return { ok: false, reason: `adaptive must be true or false, got ${shown(s.adaptive)}` };
  const lanes = s.lanes === undefined ? undefined : int('lanes', s.lanes, 1, MAX_ROLLOUT_LANES, 1);
  if (lanes && !lanes.ok) return lanes;
  const template = checkTemplateRef(s.template);
  if (!template.ok) return template;
  const continuous = checkContinuous(s.continuous);
  if (!continuous.ok) return continuous;
  const spec: RolloutSpec = {
    rolloutId: s.rolloutId,
    name: s.name,
    params: params.value,
    options: options.value,
    ...(ordering ? { ordering: ordering.value } : {}),
    ttlMs: ttlMs.value,
    targets: s.targets as string[],
    canary: canary.value,
    waves,
    soakMs: soakMs.value,
    approvalAfter: [...new Set(rawGates as number[])].sort((x, y) => x - y),
    concurrency: concurrency.value,
    ...(s.ratePerMinute !== undefined ? { ratePerMinute: s.ratePerMinute as number } : {}),
    ...(rateRamp.value ? { rateRamp: rateRamp.value } : {}),
    ...schedule.value,
    ...(window.value ? { window: window.value } : {}),
    abort: {
      failureShare: (a.failureShare as number | undefined) ?? 0.1,
      minFinished: minFinished.value,
      countExpiredAsFailure: (a.countExpiredAsFailure as boolean | undefined) ?? false,
      scope,
      ...(byOutcome.value ? { byOutcome: byOutcome.value } : {}),
    },
    ...(s.rampUp !== undefined ? { rampUp: s.rampUp } : {}),
    ...(s.adaptive !== undefined ? { adaptive: s.adaptive } : {}),
    ...(lanes ? { lanes: lanes.value } : {}),
    ...(template.value ? { template: template.value } : {}),
    ...(continuous.value ? { continuous: continuous.value } : {}),
  } as RolloutSpec;
  return { ok: true, value: spec };
}
