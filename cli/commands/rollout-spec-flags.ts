import type { TemplateRun } from '../../protocol/rollout-template';
import type { RolloutSpecInput } from '../../protocol/rollout-spec';
import { UsageError } from '../usage-error';

/** `--window` with `--window-duration` (and `--window-tz`, default UTC; `--window-device-tz`), or none of them. */
function windowOf(opts: { window?: string; windowDuration?: number; windowTz?: string; windowDeviceTz?: boolean }): { window?: RolloutSpecInput['window'] } {
  if (opts.window === undefined) {
    if (opts.windowDuration !== undefined || opts.windowTz !== undefined || opts.windowDeviceTz)
      throw new UsageError('--window-duration, --window-tz and --window-device-tz go with --window <cron>');
    return {};
  }
  if (opts.windowDuration === undefined) throw new UsageError('--window needs --window-duration, how long each window stays open (e.g. 3h)');
  return {
    window: { cron: opts.window, durationMs: opts.windowDuration, timeZone: opts.windowTz ?? 'UTC', ...(opts.windowDeviceTz ? { deviceTimeZone: true } : {}) },
  };
}

/** `--rate-factor`, `--rate-every`, `--rate-max`: all three, with --rate, or none. */
function rateRampOf(opts: { rate?: number; rateFactor?: number; rateEvery?: number; rateMax?: number }): { rateRamp?: RolloutSpecInput['rateRamp'] } {
  const given = [opts.rateFactor, opts.rateEvery, opts.rateMax].filter((v) => v !== undefined).length;
  if (given === 0) return {};
  if (given < 3 || opts.rate === undefined)
    throw new UsageError('an exponential rate needs --rate (where it starts), --rate-factor, --rate-every and --rate-max');
  return { rateRamp: { factor: opts.rateFactor!, everySucceeded: opts.rateEvery!, maxPerMinute: opts.rateMax! } };
}

/** The spec fields the flags give (no ID, targets, command or params): a whole spec without a template, overrides with one. */
export function specFlags(opts: Record<string, any>): NonNullable<TemplateRun['overrides']> {
  const abort = {
    ...(opts.abortAt !== undefined ? { failureShare: opts.abortAt } : {}),
    ...(opts.minFinished ? { minFinished: opts.minFinished } : {}),
    ...(opts.abortOn ? { byOutcome: opts.abortOn } : {}),
  };
  return {
    ...(opts.canary ? { canary: opts.canary } : {}),
    ...(opts.waves ? { waves: opts.waves } : {}),
    ...(opts.soak ? { soakMs: opts.soak } : {}),
    ...(opts.concurrency ? { concurrency: opts.concurrency } : {}),
    ...(opts.serial ? { ordering: { mode: 'serial' as const, priority: opts.priority ?? 0 } } : {}),
    ...(opts.rate ? { ratePerMinute: opts.rate } : {}),
    ...(opts.ttl ? { ttlMs: opts.ttl } : {}),
    ...(opts.approveAfterCanary ? { approvalAfter: [0] } : {}),
    ...(opts.rampUp === false ? { rampUp: false } : {}),
    ...(opts.adaptive === false ? { adaptive: false } : {}),
    ...(opts.lanes && opts.lanes > 1 ? { lanes: opts.lanes } : {}),
    ...(Object.keys(abort).length ? { abort } : {}),
    ...rateRampOf(opts),
    ...(opts.startAt ? { startAt: opts.startAt } : {}),
    ...(opts.endAt ? { endAt: opts.endAt } : {}),
    ...(opts.endCancelsInFlight ? { endBehaviour: 'cancel-in-flight' as const } : {}),
    ...windowOf(opts),
  };
}
