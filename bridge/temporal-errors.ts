/** gRPC status codes, as the Temporal client reports them (the standard gRPC numbering). */
const status = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

/**
 * What a failed Temporal call means for the message that caused it.
 * - `transient`: Temporal is down, slow or shedding load; the same call may succeed later, so
 *   the bridge retries it (capped backoff, bounded time) before acknowledging the message.
 * - `permanent`: Temporal refused this very call (a limit of the execution was reached, the
 *   request is invalid); retrying can only fail again, so the message is dead-lettered.
 */
export type TemporalErrorClass = 'transient' | 'permanent';

const TRANSIENT = new Set<number>([
  status.UNAVAILABLE,
  status.DEADLINE_EXCEEDED,
  status.RESOURCE_EXHAUSTED,
  status.ABORTED,
  status.INTERNAL,
  status.UNKNOWN,
  status.CANCELLED,
]);

/** The gRPC status code of an error from the Temporal client, if it carries one. */
export function grpcCode(err: unknown): number | undefined {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (typeof e.code === 'number') return e.code;
  }
  return undefined;
}

/**
 * Classifies by gRPC status. No code at all (a connection that could not be made, a timeout
 * of our own) counts as transient. `INVALID_ARGUMENT` is what the server answers when an
 * execution has received its maximum of signals (10,000 by default).
 */
export function classifyTemporalError(err: unknown): TemporalErrorClass {
  const code = grpcCode(err);
  if (code === undefined) return 'transient';
  return TRANSIENT.has(code) ? 'transient' : 'permanent';
}

export function describeTemporalError(err: unknown): string {
  const code = grpcCode(err);
  const name = code !== undefined ? (Object.entries(status).find(([, v]) => v === code)?.[0] ?? String(code)) : undefined;
  const cause = (err as { cause?: { details?: string; message?: string } })?.cause;
  const message = cause?.details ?? cause?.message ?? (err as Error)?.message ?? String(err);
  return name ? `${name}: ${message}` : message;
}
