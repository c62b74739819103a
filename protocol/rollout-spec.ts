import { z } from 'zod';
import { CommandOptions, CommandOrderingSchema } from './command-options';
import { DEFAULT_TTL_MS, MAX_PARAMS_BYTES, MAX_PARAMS_DEPTH, MAX_TTL_MS, MIN_TIMEOUT_MS } from './command-limits';
import { jsonTextDepth } from './json-depth';
import { jsonByteLength } from './json-size';
import { DEFAULT_ROLLOUT_CONCURRENCY, MAX_ROLLOUT_CONCURRENCY, MAX_ROLLOUT_LANES, MAX_WAVES } from './validate-rollout-spec';
import { ROLLOUT_ID_PATTERN, TEMPLATE_NAME_PATTERN, TIME_ZONE_PATTERN } from './id-patterns';
import { MAX_WINDOW_MS, MIN_WINDOW_MS, windowAt } from './maintenance-window';
import { CommandName, DeviceId } from './ids';
import { deviceQueryProblem } from './device-query';
import { DEFAULT_SCAN_EVERY_MS, MAX_SCAN_EVERY_MS, MIN_SCAN_EVERY_MS } from './validate-rollout-spec';

/**
 * A fleet rollout: one command sent to many devices in waves (a canary first), with limits on
 * concurrency and rate, and an abort rule. This is the validated definition the rollout
 * workflow receives; the planning logic lives in workflows/rollout-plan.ts.
 */

export { ROLLOUT_ID_PATTERN };
export const RolloutId = z
  .string()
  .regex(ROLLOUT_ID_PATTERN, 'rolloutId must be 1-63 characters of A-Z a-z 0-9 _ - (no ".": it separates rollout and device in command IDs)');
export type RolloutId = z.infer<typeof RolloutId>;

export { DEFAULT_ROLLOUT_CONCURRENCY, MAX_ROLLOUT_CONCURRENCY, MAX_ROLLOUT_LANES, MAX_WAVES };
/** Same bound as a single send (client/send-request.ts): params travel in one MQTT message. */
export const MAX_ROLLOUT_PARAMS_BYTES = MAX_PARAMS_BYTES;
/** Time to live of each command and soak time: at most MAX_TTL_MS (command-limits.ts explains it). */
const MAX_DURATION_MS = MAX_TTL_MS;

/**
 * How far a wave reaches, as a share of the whole fleet or a number of devices. Entries are
 * cumulative: `10%` means "when this wave ends, 10% of the fleet has been reached"; a count
 * likewise means the number of devices reached so far. So `1%, 10%, 50%, 100%` reads as it is
 * meant. Percentages round down (a canary never exceeds what was asked); counts above the
 * fleet size are clamped to it. See planWaves.
 */
export const WaveSize = z.union([z.strictObject({ count: z.int().min(1) }), z.strictObject({ percent: z.number().gt(0).max(100) })], {
  error: 'a wave size is {count: N} (a whole number >= 1) or {percent: P} (0 < P <= 100)',
});
export type WaveSize = z.infer<typeof WaveSize>;

/**
 * Defaults: a 1% canary (at least one device), then 10%, 50% and everything else. Small enough
 * that a bad change hurts few devices, with two widening steps before the whole fleet.
 */
export const DEFAULT_CANARY: WaveSize = { percent: 1 };
export const DEFAULT_WAVES: WaveSize[] = [{ percent: 10 }, { percent: 50 }, { percent: 100 }];

/**
 * When to stop. A scope (the running wave, the whole rollout, or both) aborts when its failure
 * share is strictly above `failureShare`, once `minFinished` of its commands have a verdict.
 * A scope with fewer devices than `minFinished` is judged when all of them have finished: so
 * a 1-device canary is still judged on its one result, and the default can stay at 10 (few
 * enough to stop early, enough that one unlucky device in a large wave is not a verdict).
 */
export const AbortRule = z.object({
  failureShare: z.number().min(0).max(1).default(0.1),
  minFinished: z.int().min(1).default(10),
  /**
   * Expired means the device never took the command before its time to live (usually: it was
   * offline). That says nothing about the change itself, and fleets always have some devices
   * offline, so by default Expired counts neither as failure nor as verdict.
   */
  countExpiredAsFailure: z.boolean().default(false),
  scope: z.enum(['wave', 'overall', 'both']).default('both'),
  /**
   * Thresholds per kind of failure, beside `failureShare` (like AWS IoT Jobs' abort criteria
   * per failure type): a scope also aborts when the share of one kind among its verdicts is
   * strictly above its threshold, judged like `failureShare` (after `minFinished` verdicts).
   * So `{timedOut: 0.2}` stops a rollout whose devices stop answering before their failures
   * add up, and `{rejected: 0}` stops at the first device that refuses the command. For
   * `expired`, expired commands count among the verdicts of that criterion even when
   * `countExpiredAsFailure` is off.
   */
  byOutcome: z
    .strictObject({
      failed: z.number().min(0).max(1),
      rejected: z.number().min(0).max(1),
      timedOut: z.number().min(0).max(1),
      expired: z.number().min(0).max(1),
    })
    .partial()
    .optional(),
});
export type AbortRule = z.infer<typeof AbortRule>;

/**
 * An exponential rate (like AWS IoT Jobs' exponential rollout rate): `ratePerMinute` to start,
 * multiplied by `factor` after each `everySucceeded` succeeded devices (the whole rollout's),
 * up to `maxPerMinute`. A change that works speeds up; one that fails never got fast.
 */
export const RateRamp = z.strictObject({
  factor: z.number().gt(1).max(10),
  everySucceeded: z.int().min(1),
  maxPerMinute: z.number().gt(0).max(1_000_000),
});
export type RateRamp = z.infer<typeof RateRamp>;

function paramsDepth(value: unknown): number {
  try {
    return jsonTextDepth(JSON.stringify(value) ?? '', MAX_PARAMS_DEPTH);
  } catch {
    return 0; // the size check reports values JSON cannot carry
  }
}

function duplicatesOf(ids: readonly string[]): string[] {
  const seen = new Set<string>();
  const dups = new Set<string>();
  for (const id of ids) (seen.has(id) ? dups : seen).add(id);
  return [...dups];
}

/** Bad input should be obvious: duplicates are an error that names them (up to 10). */
/** At least one, except for a continuous rollout (checked with the rest of the spec: RolloutSpec). */
export const RolloutTargets = z.array(DeviceId).superRefine((ids, ctx) => {
  const dups = duplicatesOf(ids);
  if (dups.length === 0) return;
  const more = dups.length > 10 ? `, and ${dups.length - 10} more` : '';
  ctx.addIssue({
    code: 'custom',
    message: `targets must be unique; ${dups.length} device ID${dups.length === 1 ? ' appears' : 's appear'} more than once: ${dups.slice(0, 10).join(', ')}${more}`,
  });
});

/**
 * Which template (`dco template`) a rollout was made from, and its version: recorded in the
 * rollout's spec, so its history says what it was made of. Informational: the rollout runs
 * its own spec, whatever happens to the template afterwards.
 */
export const TemplateRef = z.strictObject({
  name: z.string().regex(TEMPLATE_NAME_PATTERN, 'a template name is 1-63 characters of A-Z a-z 0-9 _ -, starting with a letter or digit'),
  version: z.int().min(1),
});
export type TemplateRef = z.infer<typeof TemplateRef>;

/** The fields of a rollout spec, before the checks that span several of them (RolloutSpec). Templates pick theirs from here. */
export const RolloutSpecFields = z.object({
  rolloutId: RolloutId,
  name: CommandName,
  params: z
    .record(z.string(), z.unknown())
    .default({})
    .refine((p) => jsonByteLength(p) <= MAX_ROLLOUT_PARAMS_BYTES, `params must be plain JSON of at most ${MAX_ROLLOUT_PARAMS_BYTES} bytes`)
    .refine((p) => paramsDepth(p) <= MAX_PARAMS_DEPTH, `params must not nest objects and arrays more than ${MAX_PARAMS_DEPTH} levels deep`),
  options: CommandOptions.prefault({}),
  /** Each device command's ordering (serial: after the device's serial commands ahead of it). Absent: parallel. */
  ordering: CommandOrderingSchema.optional(),
  /** Time to live of each device command, counted from when that command starts. */
  ttlMs: z.int().min(MIN_TIMEOUT_MS).max(MAX_DURATION_MS).default(DEFAULT_TTL_MS),
  /** The devices, in the order they are reached. Resolved before the rollout starts (file, list or presence). */
  targets: RolloutTargets,
  canary: WaveSize.default(() => ({ ...DEFAULT_CANARY })),
  /** After the canary; the last wave always takes every remaining device, whatever its size says. */
  waves: z
    .array(WaveSize)
    .min(1, 'at least one wave after the canary (the last one takes all remaining devices; write it as 100%)')
    .max(MAX_WAVES)
    .default(() => DEFAULT_WAVES.map((w) => ({ ...w }))),
  /** Wait after a wave has finished before the next one starts. */
  soakMs: z.int().min(0).max(MAX_DURATION_MS).default(0),
  /** Waves followed by a manual approval gate: 0 is the canary, k is `waves[k - 1]`. Sorted, unique. */
  approvalAfter: z.array(z.int().min(0)).default(() => []),
  /** Device commands in flight at once. */
  concurrency: z.int().min(1).max(MAX_ROLLOUT_CONCURRENCY).default(DEFAULT_ROLLOUT_CONCURRENCY),
  /** Started commands per minute (over time; up to one second's worth may start at once). None: no limit. */
  ratePerMinute: z.number().gt(0).max(1_000_000).optional(),
  /**
   * Schedule: no command starts before `startAt`; at `endAt` the rollout stops starting new
   * commands (`endBehaviour: 'stop-starting'`, the default: those in flight finish) or also
   * cancels those in flight (`'cancel-in-flight'`: each device is asked to stop its command,
   * as `dco cancel` does). Either ends the rollout `cancelled`, with the reason. ISO 8601
   * times with an offset (`2026-12-24T22:00:00+01:00`, or `Z`).
   */
  startAt: z.iso
    .datetime({ offset: true, error: 'startAt must be an ISO 8601 time with an offset, e.g. 2026-12-24T22:00:00+01:00 or 2026-12-24T21:00:00Z' })
    .optional(),
  endAt: z.iso
    .datetime({ offset: true, error: 'endAt must be an ISO 8601 time with an offset, e.g. 2026-12-24T23:00:00+01:00 or 2026-12-24T22:00:00Z' })
    .optional(),
  endBehaviour: z.enum(['stop-starting', 'cancel-in-flight']).optional(),
  /**
   * A recurring maintenance window (protocol/maintenance-window.ts): commands start only while
   * it is open; those already started finish whenever they do. E.g. every night at 02:00 in
   * Berlin for 3 hours: `{cron: '0 2 * * *', durationMs: 10800000, timeZone: 'Europe/Berlin'}`.
   * With `deviceTimeZone: true` the window is each device's own: the cron expression is read
   * in the time zone the device reports (its `timeZone` attribute), and `timeZone` is for the
   * devices that report none. A device waits for its own window; the others go on.
   */
  window: z
    .strictObject({
      cron: z.string().min(1).max(100),
      durationMs: z.int().min(MIN_WINDOW_MS).max(MAX_WINDOW_MS),
      timeZone: z.string().regex(TIME_ZONE_PATTERN, 'window.timeZone must be an IANA time zone such as Europe/Berlin'),
      deviceTimeZone: z.boolean().optional(),
    })
    .optional(),
  /** With `ratePerMinute` as the starting rate: speed up as devices succeed. */
  rateRamp: RateRamp.optional(),
  abort: AbortRule.prefault({}),
  /**
   * Slow start: each wave first sends to as many devices as the abort rule needs for a
   * verdict (`abort.minFinished`) and waits for all of them; then it allows twice as many in
   * flight as have finished in it, up to `concurrency`. A bad change then stops after
   * `minFinished` devices, not after a whole `concurrency` of them; the cost is a few round
   * trips per wave.
   */
  rampUp: z.boolean().default(true),
  /**
   * Adaptive concurrency: the number in flight follows how fast device commands come back
   * (AIMD on the time from start to ack; workflows/adaptive-concurrency.ts), with
   * `concurrency` as its ceiling, so a slow machine or a busy Temporal does not turn queueing
   * into ack timeouts and re-publishes.
   */
  adaptive: z.boolean().default(true),
  /**
   * How many lane workflows start the device commands (workflows/rollout-lane-workflow.ts);
   * without it (or 1) the rollout starts them itself. Every start and end of a command is a
   * write to the workflow that started it, and one workflow takes one write at a time: lanes
   * spread them (half the start retries, a fifth of the rollout's history). They pay off where
   * that one workflow is the bottleneck (PostgreSQL with slow commits), not where the CPU is;
   * the dev server does a little better without ("Rollout lanes" in docs/operations.md).
   */
  lanes: z.int().min(1).max(MAX_ROLLOUT_LANES).optional(),
  template: TemplateRef.optional(),
  /**
   * A continuous rollout (like AWS IoT continuous jobs): besides its targets, every
   * `scanEveryMs` it looks for devices that newly match `query` (new devices, or changed
   * attributes: protocol/device-query.ts) and sends them the command too, in its last wave,
   * under the same limits, window and abort rule. It ends at `endAt` (`done`, once those in
   * flight finish), or when cancelled; without `endAt` it runs until cancelled.
   */
  continuous: z
    .strictObject({
      query: z.string().superRefine((q, ctx) => {
        const problem = deviceQueryProblem(q);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      }),
      scanEveryMs: z.int().min(MIN_SCAN_EVERY_MS).max(MAX_SCAN_EVERY_MS).default(DEFAULT_SCAN_EVERY_MS),
    })
    .optional(),
});

export const RolloutSpec = RolloutSpecFields.superRefine((s, ctx) => {
  if (s.targets.length === 0 && !s.continuous) {
    ctx.addIssue({
      code: 'custom',
      path: ['targets'],
      message: 'a rollout needs at least one target device (only a continuous rollout may start with none: it waits for devices that start matching)',
    });
  }
  if (s.window) {
    const checked = windowAt(s.window, 0);
    if (!checked.ok) ctx.addIssue({ code: 'custom', path: ['window'], message: checked.reason });
  }
  if (s.startAt && s.endAt && Date.parse(s.endAt) <= Date.parse(s.startAt)) {
    ctx.addIssue({ code: 'custom', path: ['endAt'], message: `endAt (${s.endAt}) must be after startAt (${s.startAt})` });
  }
  if (s.endBehaviour && !s.endAt) ctx.addIssue({ code: 'custom', path: ['endBehaviour'], message: 'endBehaviour needs endAt, the time it applies at' });
  if (s.rateRamp && s.ratePerMinute === undefined) {
    ctx.addIssue({ code: 'custom', path: ['rateRamp'], message: 'rateRamp needs ratePerMinute, the rate it starts from' });
  } else if (s.rateRamp && s.rateRamp.maxPerMinute < s.ratePerMinute!) {
    ctx.addIssue({
      code: 'custom',
      path: ['rateRamp', 'maxPerMinute'],
      message: `rateRamp.maxPerMinute (${s.rateRamp.maxPerMinute}) is below the starting ratePerMinute (${s.ratePerMinute})`,
    });
  }
  for (const k of s.approvalAfter) {
    if (k >= s.waves.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['approvalAfter'],
        message: `approvalAfter ${k}: a gate may follow wave 0 (the canary) to ${s.waves.length - 1}; wave ${s.waves.length} is the last and nothing follows it`,
      });
    }
  }
}).transform((s) => ({ ...s, approvalAfter: [...new Set(s.approvalAfter)].sort((a, b) => a - b) }));

export type RolloutSpec = z.infer<typeof RolloutSpec>;
export type RolloutSpecInput = z.input<typeof RolloutSpec>;

// ---- CLI strings -------------------------------------------------------------------------

/** `5%` → `{percent: 5}`, `20` → `{count: 20}`. Throws an Error that says what was expected. */
export function parseWaveSize(text: string): WaveSize {
  const t = text.trim();
  const expected = `expected a number of devices such as 20 or a share of the fleet such as 5%, got "${text}"`;
  let candidate: unknown;
  if (/^\d+(\.\d+)?%$/.test(t)) candidate = { percent: Number(t.slice(0, -1)) };
  else if (/^\d+$/.test(t)) candidate = { count: Number(t) };
  else throw new Error(expected);
  const parsed = WaveSize.safeParse(candidate);
  if (!parsed.success) throw new Error(`${expected} (${parsed.error.issues[0]?.message ?? 'out of range'})`);
  return parsed.data;
}

/** `10%,50%,100%` → three wave sizes. */
export function parseWaves(text: string): WaveSize[] {
  const parts = text.split(',');
  if (parts.some((p) => p.trim() === '')) throw new Error(`expected a comma-separated list such as 10%,50%,100%, got "${text}"`);
  return parts.map(parseWaveSize);
}

/** `120/min`, `2/s`, `600/h` or a plain number (per minute) → devices per minute. */
export function parseRatePerMinute(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(?:\/(s|sec|min|m|h))?$/.exec(text.trim());
  const perMinute = m ? Number(m[1]) * ({ s: 60, sec: 60, min: 1, m: 1, h: 1 / 60 }[m[2] ?? 'min'] ?? NaN) : NaN;
  if (!(perMinute > 0) || perMinute > 1_000_000) throw new Error(`expected a positive rate such as 120/min, 2/s or 600/h, got "${text}"`);
  return perMinute;
}
