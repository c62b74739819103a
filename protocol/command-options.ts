import { z } from 'zod';

/**
 * How long a command may take and how hard we try. Durations are milliseconds on the Temporal
 * side; the wire protocol carries absolute ISO timestamps only.
 */
export const BackoffOptions = z.object({
  /** Wait before the second publish. */
  initialMs: z.int().min(0).max(24 * 3600_000).default(1_000),
  /** Upper bound of one wait. */
  maxMs: z.int().min(0).max(24 * 3600_000).default(30_000),
  multiplier: z.number().min(1).max(10).default(2),
  /** Each wait is randomized by ±jitter × wait, so a fleet does not retry in lockstep. */
  jitter: z.number().min(0).max(1).default(0.2),
});

/**
 * Temporal's timers fire with about one second of granularity on the dev server, so shorter
 * timeouts would only pretend to be precise.
 */
export const MIN_TIMEOUT_MS = 1_000;

export const CommandOptions = z.object({
  /** Per attempt: how long to wait for the device's ack before publishing again. */
  ackTimeoutMs: z.int().min(MIN_TIMEOUT_MS, 'must be at least 1000 ms (1s): Temporal timers are not more precise').max(7 * 24 * 3600_000).default(10_000),
  /** After the ack: how long the device has to report a result. */
  resultTimeoutMs: z.int().min(MIN_TIMEOUT_MS, 'must be at least 1000 ms (1s): Temporal timers are not more precise').max(30 * 24 * 3600_000).default(60_000),
  /** Publishes of the same command, counting the first. */
  maxAttempts: z.int().min(1).max(100).default(5),
  backoff: BackoffOptions.prefault({}),
});

export type BackoffOptions = z.infer<typeof BackoffOptions>;
export type CommandOptions = z.infer<typeof CommandOptions>;
export type CommandOptionsInput = z.input<typeof CommandOptions>;

/** Default time to live when the caller gives neither ttl nor expiresAt. */
export const DEFAULT_TTL_MS = 10 * 60_000;
