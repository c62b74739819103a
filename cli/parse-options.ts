import { InvalidArgumentError } from 'commander';
import ms from 'ms';
import { ISO_TIMESTAMP_PATTERN } from '../protocol/iso-timestamp';

/** `30s`, `5m`, `1h`, `250ms`, or a plain number of milliseconds; must be positive. */
export function parseDuration(value: string): number {
  const n = /^\d+$/.test(value) ? Number(value) : (ms as (v: string) => number | undefined)(value);
  if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0) {
    throw new InvalidArgumentError(`expected a positive duration such as 30s, 5m or 1500ms, got "${value}"`);
  }
  return Math.round(n);
}

export function parsePositiveInt(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError(`expected a whole number >= 1, got "${value}"`);
  return Number(value);
}

/** A serial command's priority (protocol/command-ordering.ts). */
export function parsePriority(value: string): number {
  if (!/^\d$/.test(value)) throw new InvalidArgumentError(`expected a priority from 0 to 9, got "${value}"`);
  return Number(value);
}

export function parsePort(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 65535) throw new InvalidArgumentError(`expected a TCP port (1-65535), got "${value}"`);
  return n;
}

/** A share between 0 and 1, e.g. 0.1 (a `%` suffix is accepted: 10%). */
export function parseRate(value: string): number {
  const n = value.endsWith('%') ? Number(value.slice(0, -1)) / 100 : Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError(`expected a share between 0 and 1 (or 0%-100%), got "${value}"`);
  return n;
}

const OUTCOME_KEYS = { failed: 'failed', rejected: 'rejected', 'timed-out': 'timedOut', expired: 'expired' } as const;

/** `--abort-on timed-out=20%,rejected=0` → abort thresholds per outcome (AbortRule.byOutcome). */
export function parseAbortOn(value: string): Partial<Record<(typeof OUTCOME_KEYS)[keyof typeof OUTCOME_KEYS], number>> {
  const out: Partial<Record<(typeof OUTCOME_KEYS)[keyof typeof OUTCOME_KEYS], number>> = {};
  for (const part of value.split(',')) {
    const [name, share, extra] = part.split('=').map((s) => s.trim());
    const key = OUTCOME_KEYS[name as keyof typeof OUTCOME_KEYS];
    if (!key || share === undefined || extra !== undefined) {
      throw new InvalidArgumentError(
        `expected outcome=share pairs such as timed-out=20%,rejected=0 (outcomes: ${Object.keys(OUTCOME_KEYS).join(', ')}), got "${part}"`,
      );
    }
    out[key] = parseRate(share);
  }
  return out;
}

/** A number above 1 and at most 10, for a rate ramp's factor. */
export function parseFactor(value: string): number {
  const n = Number(value.replace(/x$/i, ''));
  if (!Number.isFinite(n) || n <= 1 || n > 10) throw new InvalidArgumentError(`expected a factor above 1 and at most 10, such as 2 or 1.5, got "${value}"`);
  return n;
}

/** A JSON object, for command params. */
export function parseJsonObject(value: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (err) {
    throw new InvalidArgumentError(`not valid JSON (${(err as Error).message}): ${value.slice(0, 100)}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new InvalidArgumentError('expected a JSON object, e.g. \'{"level": 3}\'');
  }
  return parsed as Record<string, unknown>;
}

/** An RFC 3339 timestamp with seconds and an offset, as the protocol carries it. */
export function parseTimestamp(value: string): string {
  if (!ISO_TIMESTAMP_PATTERN.test(value)) {
    throw new InvalidArgumentError(`expected an ISO-8601 date with seconds and an offset, such as 2026-02-04T10:00:00Z, got "${value}"`);
  }
  return value;
}
