import { z } from 'zod';
import { COMMAND_TUNING_LIMITS as T, EXPIRES_AT_CLOCK_SKEW_MS, MAX_PARAMS_BYTES, MAX_PARAMS_DEPTH, MAX_TTL_MS } from './command-limits';
import { CommandOptions, CommandOrderingSchema } from './command-options';
import { COMMAND_STATES } from './command-state';
import { CommandId, CommandName, DeviceId } from './ids';
import { jsonTextDepth } from './json-depth';
import { jsonByteLength } from './json-size';
import { MAX_LATE_ANSWERS_KEPT } from './late-answers-contract';
import { AckMessage, CommandError, ResultMessage, StatusMessage } from './messages';
import { RolloutId, RolloutSpec } from './rollout-spec';

/**
 * The Temporal side of the service as zod schemas: what a service in any language sends to and
 * gets from the command, rollout and late-answers workflows (docs/service-api.md). The
 * TypeScript contract is in command-contract.ts, rollout-contract.ts and
 * late-answers-contract.ts; test/unit/service-schemas.test.ts checks that the two agree, and
 * that CommandRequestSchema accepts exactly what the workflow's own check accepts
 * (validate-command-request.ts). scripts/json-schemas.ts renders these into
 * protocol/json-schema/service/.
 *
 * Not for workflow code: the workflow bundle stays free of zod (workflows/ never imports this
 * file; the workflow checks its input with validate-command-request.ts).
 */

/** Major version of this contract, part of the JSON Schemas' `$id` (`urn:dco:service:v1:...`). */
export const SERVICE_API_VERSION = 1 as const;

const DAY_MS = 24 * 3600_000;

const IsoTimestamp = z.iso.datetime({ offset: true });
/** Free-form JSON object: command parameters and command output. */
const JsonObject = z.record(z.string(), z.unknown());

function paramsDepth(value: unknown): number {
  try {
    return jsonTextDepth(JSON.stringify(value) ?? '', MAX_PARAMS_DEPTH);
  } catch {
    return 0; // the size check reports values JSON cannot carry
  }
}

// ---- commandWorkflow ---------------------------------------------------------------------

export const CommandParamsSchema = JsonObject.default({})
  .refine((p) => jsonByteLength(p) <= MAX_PARAMS_BYTES, `params must be plain JSON of at most ${MAX_PARAMS_BYTES} bytes`)
  .refine((p) => paramsDepth(p) <= MAX_PARAMS_DEPTH, `params must not nest objects and arrays more than ${MAX_PARAMS_DEPTH} levels deep`)
  .describe(
    `Arguments for the device: any JSON object, at most ${MAX_PARAMS_BYTES} bytes as JSON (UTF-8) and nested at most ` +
      `${MAX_PARAMS_DEPTH} levels deep (not expressible in JSON Schema; the workflow checks it).`,
  );

export const CommandTuningSchema = z
  .object({
    presenceRecheckMs: z
      .int()
      .min(T.presenceRecheckMs.min)
      .max(T.presenceRecheckMs.max)
      .default(T.presenceRecheckMs.default)
      .describe('While the device is offline, ask again this often (ms) whether it is back.'),
    maxHistoryEvents: z
      .int()
      .min(T.maxHistoryEvents.min)
      .max(T.maxHistoryEvents.max)
      .default(T.maxHistoryEvents.default)
      .describe('A run continues as new once its history has this many events.'),
  })
  .describe('Rarely needed knobs (tests, operators). Leave it out.');

export { CommandOrderingSchema };

/**
 * `expiresAt` no later than "now" + MAX_TTL_MS, with the same allowance for clock skew as the
 * workflow, which compares with its start time instead of the clock (a schema has no start
 * time). So this schema and the workflow agree for a command started now.
 */
const ExpiresAt = IsoTimestamp.refine(
  (at) => Date.parse(at) <= Date.now() + MAX_TTL_MS + EXPIRES_AT_CLOCK_SKEW_MS,
  `expiresAt must be at most ${MAX_TTL_MS / DAY_MS} days after the command starts (MAX_TTL_MS)`,
).describe(
  'Absolute deadline: RFC 3339 with seconds and an offset (2026-02-04T10:00:00Z, 2026-02-04T12:00:00.5+02:00). ' +
    `At most ${MAX_TTL_MS / DAY_MS} days (MAX_TTL_MS) after the workflow starts, with ${EXPIRES_AT_CLOCK_SKEW_MS / 60_000} minutes ` +
    'allowed for clock skew (not expressible in JSON Schema; a later one ends the command Rejected, "invalid request: expiresAt must be at most ..."). ' +
    'A past one is valid: the command ends Expired without being published.',
);

/**
 * The input of `commandWorkflow` (CommandRequest without `continued`, which only the workflow
 * itself sets when it continues as new). Unknown fields are ignored.
 */
export const CommandRequestSchema = z.object({
  commandId: CommandId.describe('Identity and dedupe key of the command; the workflow ID is command-<commandId>.'),
  deviceId: DeviceId,
  name: CommandName.describe('What the device should do, e.g. reboot.'),
  params: CommandParamsSchema,
  expiresAt: ExpiresAt,
  options: CommandOptions.prefault({}).describe('Timeouts and retries; every field has a default.'),
  rolloutId: RolloutId.optional().describe('Set when the command belongs to a rollout; also set the RolloutId search attribute.'),
  tuning: CommandTuningSchema.optional(),
  ordering: CommandOrderingSchema.optional(),
});

export const CommandStateSchema = z.enum(COMMAND_STATES);

export const HistoryEntrySchema = z.object({
  at: IsoTimestamp,
  event: z.string().describe('What happened, e.g. published, ack-accepted, duplicate-ack.'),
  state: CommandStateSchema.describe('The state after this entry.'),
  attempt: z.int().min(0),
  reason: z.string().optional(),
});

/**
 * The `snapshot` query and the workflow's result. Identifiers are plain strings here: the
 * snapshot of a command refused as `invalid request` carries what the input had (possibly
 * empty or malformed), so that it still says which command it was about.
 */
export const CommandSnapshotSchema = z.object({
  commandId: z.string(),
  deviceId: z.string(),
  name: z.string(),
  params: JsonObject,
  rolloutId: z.string().optional(),
  state: CommandStateSchema,
  attempts: z.int().min(0).describe('Publishes so far (the attempt number of the last publish).'),
  createdAt: IsoTimestamp,
  expiresAt: z.string().describe('As requested (an RFC 3339 timestamp, unless the request was refused as invalid).'),
  reason: z.string().optional().describe('Why the command is in its state: a rejection reason, "invalid request: ...", a timeout.'),
  output: JsonObject.optional().describe('What the device reported with its result.'),
  error: CommandError.optional().describe("The device's error (Failed)."),
  history: z.array(HistoryEntrySchema).describe('The oldest entry (created) and the newest ones; bounded.'),
  historyDropped: z.int().min(0).describe('History entries dropped to keep the record bounded.'),
});

const DeviceMessageFields = {
  deviceId: DeviceId.describe('The device whose topic the message came on (not taken from the payload).'),
  receivedAt: IsoTimestamp.describe('When the bridge received it.'),
};

/** The `deviceMessage` signal: an ack or result the bridge forwards from a device topic. */
export const DeviceMessageSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('ack'), ...DeviceMessageFields, message: AckMessage }),
  z.object({ kind: z.literal('result'), ...DeviceMessageFields, message: ResultMessage }),
]);

/** The `devicePresence` signal: the bridge saw a device come online or reboot. */
export const DevicePresenceSchema = z.object({
  deviceId: DeviceId,
  state: StatusMessage.shape.state,
  bootId: StatusMessage.shape.bootId.describe('A new bootId means the device restarted.'),
  observedAt: IsoTimestamp.describe('When this was observed (by the bridge or the worker).'),
  asked: z.boolean().optional().describe('The device asked for its pending commands (its pending topic): publish again now.'),
});

// ---- lateAnswersWorkflow -----------------------------------------------------------------

/** The statuses an ack or result can carry (messages.ts). */
const ANSWER_STATUSES = [...AckMessage.shape.status.options, ...ResultMessage.shape.status.options] as const;

export const LateAnswerSchema = z.object({
  kind: z.enum(['ack', 'result']),
  status: z.enum(ANSWER_STATUSES),
  receivedAt: IsoTimestamp,
  reason: z.string().optional(),
  output: JsonObject.optional(),
  error: CommandError.optional(),
});

/** The `lateAnswers` query and the result of `late-<commandId>`. */
export const LateAnswersSchema = z.object({
  commandId: CommandId,
  deviceId: DeviceId,
  endedAs: z.string().optional().describe("The command's state (the CommandState search attribute) when the first late answer came."),
  lateOutcome: z
    .enum(['none', ...ANSWER_STATUSES])
    .describe('The status of the first late result, else of the first late ack (accepted: received; executed is not known yet).'),
  answers: z.array(LateAnswerSchema).max(MAX_LATE_ANSWERS_KEPT).describe('Distinct answers (kind and status) in the order they came.'),
  repeats: z.int().min(0).describe('Copies not kept: repeats of a kept answer, or beyond the bound.'),
});

// ---- rolloutWorkflow ---------------------------------------------------------------------

/**
 * The input of `rolloutWorkflow` (RolloutInput without `carried`, which only the workflow sets
 * when it continues as new).
 */
export const RolloutInputSchema = z.object({
  spec: RolloutSpec.describe(
    'The rollout. Defaults are those RolloutClient fills in, with one exception for a spec started directly: ' +
      'without rampUp (or adaptive) it runs without ramp-up (or adaptive concurrency): rollouts started before they existed must replay as they ran, so send rampUp: true and adaptive: true to get them. ' +
      'Not expressible in JSON Schema: targets must be unique, approvalAfter entries must be below the number of waves, params size and depth.',
  ),
});

/**
 * Where a rollout stands (RolloutStatusView.state): the planner's next step
 * (workflows/rollout-plan.ts, NextAction; the unit test checks that the lists match).
 */
export const ROLLOUT_STATES = [
  'start-more',
  'wait-in-flight',
  'wait-rate',
  'wait-start',
  'find-window',
  'wait-window',
  'soak',
  'await-approval',
  'advance-wave',
  'wait-devices',
  'paused',
  'done',
  'aborted',
  'cancelled',
] as const;

const Count = z.int().min(0);
export const RolloutCountsSchema = z.object({
  pending: Count,
  inFlight: Count,
  succeeded: Count,
  failed: Count,
  rejected: Count,
  timedOut: Count,
  expired: Count,
  cancelled: Count,
});

/** The `rolloutStatus` query, the `approve` update's result and the workflow's result. */
export const RolloutStatusSchema = z.object({
  rolloutId: z.string(),
  command: z.string(),
  targets: Count,
  state: z
    .enum(ROLLOUT_STATES)
    .describe(
      'Running: start-more, advance-wave, wait-in-flight, wait-rate, soak; wait-devices (a continuous rollout that reached every device so far, looking for more). Scheduled: wait-start (before spec.startAt), find-window and wait-window (spec.window). Waiting for people: await-approval, paused. Final: done, aborted, cancelled.',
    ),
  currentWave: z.string().optional().describe('Name of the current wave (canary, wave-1, ...); absent when there is none.'),
  waves: z.array(
    z.object({
      name: z.string(),
      start: Count.describe('First target index of the wave.'),
      end: Count.describe("Target index after the wave's last one."),
      approvalAfter: z.boolean(),
      approved: z.boolean(),
      counts: RolloutCountsSchema,
    }),
  ),
  overall: RolloutCountsSchema,
  pauseReason: z.string().optional(),
  abortReason: z.string().optional().describe('Why it aborted, e.g. a failure share above the abort rule, or "invalid rollout: ...".'),
  cancelReason: z.string().optional(),
  generation: Count.describe('Continue-as-new generations so far.'),
  concurrency: z
    .object({ limit: Count, min: Count, max: Count, decreases: Count })
    .optional()
    .describe(
      'Adaptive concurrency (spec.adaptive): the limit in flight now (at most spec.concurrency), the lowest and highest so far, and how often it was decreased.',
    ),
  ratePerMinute: z
    .number()
    .positive()
    .optional()
    .describe('The rate limit now, started commands per minute (it grows with spec.rateRamp); absent without a rate limit.'),
  continuous: z
    .object({ query: z.string(), joined: Count, lastScanAt: z.iso.datetime().optional(), full: z.boolean().optional() })
    .optional()
    .describe(
      'A continuous rollout (spec.continuous): its query, how many devices it added after the start, when it last looked for more, and full: true once its target list reached its size limit (it stops looking).',
    ),
  timeZones: z
    .array(z.object({ timeZone: z.string(), pending: Count, opensAt: z.iso.datetime().optional(), closesAt: z.iso.datetime().optional() }))
    .optional()
    .describe(
      'Per-device maintenance windows (spec.window.deviceTimeZone): each time zone with devices not started yet (the 50 with the most), how many, and its window open now or next, once computed.',
    ),
});
