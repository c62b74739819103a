import { z } from 'zod';
import { ORDERING_MODES, PRIORITY_LIMITS } from './command-ordering';
import { BACKOFF_LIMITS as B, COMMAND_OPTION_LIMITS as C, DEFAULT_TTL_MS, MAX_TTL_MS, MIN_TIMEOUT_MS } from './command-limits';

export { DEFAULT_TTL_MS, MAX_TTL_MS, MIN_TIMEOUT_MS };

/**
 * How long a command may take and how hard we try. Durations are milliseconds on the Temporal
 * side; the wire protocol carries absolute ISO timestamps only. The numbers are in
 * command-limits.ts, shared with the workflow's own input check (validate-command-request.ts).
 */
export const BackoffOptions = z.object({
  /** Wait before the second publish. */
  initialMs: z.int().min(B.initialMs.min).max(B.initialMs.max).default(B.initialMs.default),
  /** Upper bound of one wait. */
  maxMs: z.int().min(B.maxMs.min).max(B.maxMs.max).default(B.maxMs.default),
  multiplier: z.number().min(B.multiplier.min).max(B.multiplier.max).default(B.multiplier.default),
  /** Each wait is randomized by ±jitter × wait, so a fleet does not retry in lockstep. */
  jitter: z.number().min(B.jitter.min).max(B.jitter.max).default(B.jitter.default),
});

const TIMER_PRECISION = 'must be at least 1000 ms (1s): Temporal timers are not more precise';

export const CommandOptions = z.object({
  /** Per attempt: how long to wait for the device's ack before publishing again. */
  ackTimeoutMs: z.int().min(C.ackTimeoutMs.min, TIMER_PRECISION).max(C.ackTimeoutMs.max).default(C.ackTimeoutMs.default),
  /** After the ack: how long the device has to report a result. */
  resultTimeoutMs: z.int().min(C.resultTimeoutMs.min, TIMER_PRECISION).max(C.resultTimeoutMs.max).default(C.resultTimeoutMs.default),
  /**
   * Publishes of the same command until the device acknowledges it, counting the first. After the
   * ack, result probes (a publish after max(2 × ackTimeoutMs, 5 s) of silence, then after twice
   * the silence before, up to an hour, until the result deadline: command-plan.ts) are not
   * limited by it, and count in `attempts` too.
   */
  maxAttempts: z.int().min(C.maxAttempts.min).max(C.maxAttempts.max).default(C.maxAttempts.default),
  backoff: BackoffOptions.prefault({}),
});

/** protocol/command-ordering.ts; the workflow's own check is validate-command-request.ts. */
export const CommandOrderingSchema = z
  .object({
    mode: z
      .enum(ORDERING_MODES as ['parallel', 'serial'])
      .describe('parallel: published at once; serial: one serial command at a time per device, in priority then arrival order.'),
    priority: z
      .int()
      .min(PRIORITY_LIMITS.min)
      .max(PRIORITY_LIMITS.max)
      .default(PRIORITY_LIMITS.default)
      .describe('Serial only: a higher one goes before the waiting commands of lower ones.'),
  })
  .describe("How the command shares its device with the device's other commands. Absent: parallel.");

export type BackoffOptions = z.infer<typeof BackoffOptions>;
export type CommandOptions = z.infer<typeof CommandOptions>;
export type CommandOptionsInput = z.input<typeof CommandOptions>;
