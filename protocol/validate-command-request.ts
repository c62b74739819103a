/**
 * The command workflow's own check of its input, without zod (the workflow bundle stays free
 * of it). DcoClient validates with zod before it starts a workflow, but services in other
 * languages, the `temporal` CLI and the rollout workflow start `commandWorkflow` directly:
 * whatever they send, the workflow must end in a command state, never wedge or fail.
 *
 * The same numbers as the zod schemas (command-limits.ts, id-patterns.ts, json-depth.ts); a
 * unit test runs both on the same samples so they cannot drift apart. Errors are values.
 */
import type { CommandContinuation, CommandRequest, CommandTuning } from './command-contract';
import {
  BACKOFF_LIMITS,
  COMMAND_OPTION_LIMITS,
  COMMAND_TUNING_LIMITS,
  EXPIRES_AT_CLOCK_SKEW_MS,
  MAX_PARAMS_BYTES,
  MAX_PARAMS_DEPTH,
  MAX_TTL_MS,
} from './command-limits';
import type { BackoffOptions, CommandOptions } from './command-options';
import { ORDERING_MODES, PRIORITY_LIMITS, type CommandOrdering } from './command-ordering';
import { COMMAND_ID_PATTERN, COMMAND_NAME_PATTERN, DEVICE_ID_PATTERN, ROLLOUT_ID_PATTERN } from './id-patterns';
import { ISO_TIMESTAMP_PATTERN } from './iso-timestamp';
import { jsonTextDepth } from './json-depth';
import { utf8Length } from './json-size';

export type Validated<T> = { ok: true; value: T } | { ok: false; reason: string };

const DAY_MS = 24 * 3600_000;

/** A short, safe rendering of a bad value for a reason text. */
export function shown(value: unknown): string {
  if (value === undefined) return 'nothing';
  let text: string;
  try {
    text = typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  } catch {
    text = typeof value;
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkId(field: string, value: unknown, pattern: RegExp, rule: string): string | undefined {
  if (typeof value === 'string' && pattern.test(value)) return undefined;
  return `${field} must be ${rule}, got ${shown(value)}`;
}

const ID_RULE = (max: number) => `1-${max} characters of A-Z a-z 0-9 . _ - (no MQTT wildcards + # or /, no spaces)`;

/** A JSON object within MAX_PARAMS_BYTES and MAX_PARAMS_DEPTH; undefined (absent) is `{}`. */
export function checkParams(value: unknown): Validated<Record<string, unknown>> {
  if (value === undefined) return { ok: true, value: {} };
  if (!isPlainObject(value)) return { ok: false, reason: `params must be a JSON object, got ${shown(value)}` };
  let text: string;
  try {
    text = JSON.stringify(value);
  } catch {
    return { ok: false, reason: 'params must be plain JSON' };
  }
  // Depth first: it is bounded by the text length, and a deep value is the likelier attack.
  if (jsonTextDepth(text, MAX_PARAMS_DEPTH) > MAX_PARAMS_DEPTH) {
    return { ok: false, reason: `params must not nest objects and arrays more than ${MAX_PARAMS_DEPTH} levels deep` };
  }
  const bytes = utf8Length(text);
  if (bytes > MAX_PARAMS_BYTES) return { ok: false, reason: `params must be plain JSON of at most ${MAX_PARAMS_BYTES} bytes, got ${bytes}` };
  return { ok: true, value };
}

type Range = { readonly min: number; readonly max: number; readonly default: number };

function checkNumber(field: string, value: unknown, range: Range, integer: boolean): Validated<number> {
  if (value === undefined) return { ok: true, value: range.default };
  const fine = typeof value === 'number' && Number.isFinite(value) && (!integer || Number.isInteger(value)) && value >= range.min && value <= range.max;
  if (fine) return { ok: true, value };
  const kind = integer ? 'a whole number' : 'a number';
  return { ok: false, reason: `${field} must be ${kind} from ${range.min} to ${range.max}, got ${shown(value)}` };
}

/** Backoff options; absent fields (or an absent object) get the client's defaults. */
export function checkBackoff(value: unknown, field = 'options.backoff'): Validated<BackoffOptions> {
  if (value === undefined) value = {};
  if (!isPlainObject(value)) return { ok: false, reason: `${field} must be an object, got ${shown(value)}` };
  const out: Record<string, number> = {};
  for (const key of ['initialMs', 'maxMs', 'multiplier', 'jitter'] as const) {
    const r = checkNumber(`${field}.${key}`, value[key], BACKOFF_LIMITS[key], key === 'initialMs' || key === 'maxMs');
    if (!r.ok) return r;
    out[key] = r.value;
  }
  return { ok: true, value: out as BackoffOptions };
}

/** Command options; absent fields (or absent options) get the client's defaults. */
export function checkCommandOptions(value: unknown, field = 'options'): Validated<CommandOptions> {
  if (value === undefined) value = {};
  if (!isPlainObject(value)) return { ok: false, reason: `${field} must be an object, got ${shown(value)}` };
  const out: Record<string, unknown> = {};
  for (const key of ['ackTimeoutMs', 'resultTimeoutMs', 'maxAttempts'] as const) {
    const r = checkNumber(`${field}.${key}`, value[key], COMMAND_OPTION_LIMITS[key], true);
    if (!r.ok) return r;
    out[key] = r.value;
  }
  const backoff = checkBackoff(value.backoff, `${field}.backoff`);
  if (!backoff.ok) return backoff;
  out.backoff = backoff.value;
  return { ok: true, value: out as CommandOptions };
}

/** Tuning knobs; absent fields (or absent tuning) get the defaults. */
export function checkTuning(value: unknown, field = 'tuning'): Validated<Required<CommandTuning>> {
  if (value === undefined) value = {};
  if (!isPlainObject(value)) return { ok: false, reason: `${field} must be an object, got ${shown(value)}` };
  const out: Record<string, number> = {};
  for (const key of ['presenceRecheckMs', 'maxHistoryEvents'] as const) {
    const r = checkNumber(`${field}.${key}`, value[key], COMMAND_TUNING_LIMITS[key], true);
    if (!r.ok) return r;
    out[key] = r.value;
  }
  return { ok: true, value: out as Required<CommandTuning> };
}

/** Ordering; absent is parallel (left out of the request, as before ordering existed). */
export function checkOrdering(value: unknown, field = 'ordering'): Validated<CommandOrdering> {
  if (!isPlainObject(value)) return { ok: false, reason: `${field} must be an object, got ${shown(value)}` };
  if (!ORDERING_MODES.includes(value.mode as CommandOrdering['mode'])) {
    return { ok: false, reason: `${field}.mode must be one of ${ORDERING_MODES.join(', ')}, got ${shown(value.mode)}` };
  }
  const priority = checkNumber(`${field}.priority`, value.priority, PRIORITY_LIMITS, true);
  if (!priority.ok) return priority;
  return { ok: true, value: { mode: value.mode as CommandOrdering['mode'], priority: priority.value } };
}

/**
 * The state a previous run handed over. Only the workflow writes it; checked enough that a
 * forged one cannot make the command another device's or crash the run.
 */
export function checkContinuation(value: unknown, commandId: string, deviceId: string): Validated<CommandContinuation | undefined> {
  if (value === undefined) return { ok: true, value: undefined };
  const rule = 'continued is set only by the command workflow itself when it continues as new';
  if (!isPlainObject(value) || !isPlainObject(value.record) || !Array.isArray(value.record.history)) return { ok: false, reason: rule };
  if (value.record.commandId !== commandId || value.record.deviceId !== deviceId) return { ok: false, reason: `${rule} (its record is another command's)` };
  if (typeof value.runs !== 'number' || typeof value.unanswered !== 'number' || typeof value.presenceRepublishes !== 'number')
    return { ok: false, reason: rule };
  return { ok: true, value: value as unknown as CommandContinuation };
}

/**
 * An ISO-8601 timestamp (RFC 3339: seconds and an offset, as the wire protocol requires) no
 * later than `startedAtMs` + MAX_TTL_MS (plus a little clock skew). A past one is valid: the
 * command then ends `Expired` without being published.
 */
export function checkExpiresAt(value: unknown, startedAtMs: number): Validated<string> {
  if (typeof value !== 'string' || !ISO_TIMESTAMP_PATTERN.test(value) || Number.isNaN(Date.parse(value))) {
    return { ok: false, reason: `expiresAt must be an ISO-8601 date with seconds and an offset, e.g. 2026-02-04T10:00:00Z, got ${shown(value)}` };
  }
  if (Date.parse(value) > startedAtMs + MAX_TTL_MS + EXPIRES_AT_CLOCK_SKEW_MS) {
    return { ok: false, reason: `expiresAt must be at most ${MAX_TTL_MS / DAY_MS} days after the command starts (MAX_TTL_MS), got ${value}` };
  }
  return { ok: true, value };
}

/**
 * Checks a command workflow input and fills in defaults. `startedAtMs` is when the workflow
 * started (deterministic: the workflow passes its start time). The first problem found is the
 * reason, phrased for people: `<field> must be <rule>, got <value>`.
 */
export function validateCommandRequest(input: unknown, startedAtMs: number): Validated<CommandRequest> {
  if (!isPlainObject(input)) return { ok: false, reason: `the input must be one JSON object (a CommandRequest), got ${shown(input)}` };
  const problem =
    checkId('commandId', input.commandId, COMMAND_ID_PATTERN, ID_RULE(128)) ??
    checkId('deviceId', input.deviceId, DEVICE_ID_PATTERN, ID_RULE(64)) ??
    checkId('name', input.name, COMMAND_NAME_PATTERN, ID_RULE(64)) ??
    (input.rolloutId === undefined ? undefined : checkId('rolloutId', input.rolloutId, ROLLOUT_ID_PATTERN, '1-63 characters of A-Z a-z 0-9 _ -'));
  if (problem) return { ok: false, reason: problem };
  const expiresAt = checkExpiresAt(input.expiresAt, startedAtMs);
  if (!expiresAt.ok) return expiresAt;
  const options = checkCommandOptions(input.options);
  if (!options.ok) return options;
  const params = checkParams(input.params);
  if (!params.ok) return params;
  const tuning = input.tuning === undefined ? undefined : checkTuning(input.tuning);
  if (tuning && !tuning.ok) return tuning;
  const ordering = input.ordering === undefined ? undefined : checkOrdering(input.ordering);
  if (ordering && !ordering.ok) return ordering;
  const continued = checkContinuation(input.continued, input.commandId as string, input.deviceId as string);
  if (!continued.ok) return continued;
  const request: CommandRequest = {
    commandId: input.commandId as string,
    deviceId: input.deviceId as string,
    name: input.name as string,
    params: params.value,
    expiresAt: expiresAt.value,
    options: options.value,
    ...(input.rolloutId !== undefined ? { rolloutId: input.rolloutId as string } : {}),
    ...(tuning ? { tuning: tuning.value } : {}),
    ...(ordering ? { ordering: ordering.value } : {}),
    ...(continued.value ? { continued: continued.value } : {}),
  };
  return { ok: true, value: request };
}
