/**
 * Limits and defaults of a command, as plain constants. They live apart from the zod schemas
 * (command-options.ts, client/send-request.ts) so that the workflow can check its own input
 * with the very same numbers (protocol/validate-command-request.ts) without bundling zod into
 * every workflow sandbox.
 */

import { MAX_JSON_DEPTH } from './json-depth';

const SECOND = 1_000;
const HOUR = 3600 * SECOND;
const DAY = 24 * HOUR;

/** Default time to live when the caller gives neither ttl nor expiresAt. */
export const DEFAULT_TTL_MS = 10 * 60_000;

/**
 * The longest time to live a command may have: 30 days, from any entry (DcoClient, the CLI, a
 * rollout, or a service in another language starting `commandWorkflow` directly).
 *
 * Why a bound at all: the MQTT v5 Message Expiry Interval is a 4-byte unsigned number of
 * seconds (at most 4,294,967,295, about 136 years). A larger value cannot be encoded; MQTT.js
 * then destroys the connection and re-sends the queued packet at every reconnect, so one
 * command with `expiresAt` 9999-12-31 stopped every other command of that worker.
 *
 * Why 30 days: a command runs (a workflow with its timers) until it ends or expires, and a
 * device must journal every commandId until well after its `expiresAt` (docs/protocol.md,
 * device rule 1); a month bounds both and covers devices that are offline for weeks. It is
 * also the longest result timeout. Far below the MQTT limit, so the expiry always encodes.
 */
export const MAX_TTL_MS = 30 * DAY;

/**
 * Clocks of callers and of the Temporal server differ a little. A command whose `expiresAt`
 * a client computed as "now + MAX_TTL_MS" must not be refused by the workflow because the
 * workflow started a few seconds later by another clock: it allows this much more.
 */
export const EXPIRES_AT_CLOCK_SKEW_MS = 5 * 60_000;

/**
 * Temporal's timers fire with about one second of granularity on the dev server, so shorter
 * timeouts would only pretend to be precise.
 */
export const MIN_TIMEOUT_MS = SECOND;

/**
 * The service never publishes a command with less than this left before its `expiresAt`: a copy
 * that cannot reach a device in time only adds a message that must be rejected.
 */
export const MIN_PUBLISH_LEFT_MS = SECOND;

/**
 * After `expiresAt`, a command that was published waits this much longer for an answer already
 * on its way (the device took it just before expiry) before it ends `Expired`: an ack sent at
 * expiresAt - 0.1 s must not end the command as "will not execute".
 */
export const EXPIRY_GRACE_MS = 5 * SECOND;

/**
 * The ack and result deadlines measure the device, not our queues: an answer the device sent in
 * time may still wait in the bridge's lanes or behind other workflow tasks when the deadline's
 * timer fires. Before a command ends `TimedOut` it waits this much longer for such an answer, and
 * keeps the device's real outcome if one comes (its `receivedAt`, the bridge's receive time, tells
 * whether the device or our queues were late). Bounded, and spent only on the way to TimedOut.
 */
export const DELIVERY_GRACE_MS = 5 * SECOND;

/**
 * Re-publishes a command makes because its device came online or rebooted. They use no
 * attempt (the ack timeout's re-publishes are bounded by maxAttempts), so a device in a boot
 * loop would otherwise get a copy at every boot; past this many, reboots are only noted once.
 */
export const MAX_PRESENCE_REPUBLISHES = 10;

/** Ranges and defaults of CommandOptions (the zod schema and the workflow use these). */
export const COMMAND_OPTION_LIMITS = {
  /** Per attempt: how long to wait for the device's ack before publishing again. */
  ackTimeoutMs: { min: MIN_TIMEOUT_MS, max: 7 * DAY, default: 10 * SECOND },
  /** After the ack: how long the device has to report a result. */
  resultTimeoutMs: { min: MIN_TIMEOUT_MS, max: 30 * DAY, default: 60 * SECOND },
  /** Publishes of the same command, counting the first. */
  maxAttempts: { min: 1, max: 100, default: 5 },
} as const;

export const BACKOFF_LIMITS = {
  /** Wait before the second publish. */
  initialMs: { min: 0, max: DAY, default: SECOND },
  /** Upper bound of one wait. */
  maxMs: { min: 0, max: DAY, default: 30 * SECOND },
  multiplier: { min: 1, max: 10, default: 2 },
  /** Each wait is randomized by ±jitter × wait, so a fleet does not retry in lockstep. */
  jitter: { min: 0, max: 1, default: 0.2 },
} as const;

/** Params travel in one MQTT message; keep well under the broker's message size limit (64 KiB). */
export const MAX_PARAMS_BYTES = 32 * 1024;
/**
 * Params are one level inside the command message, whose nesting the wire protocol caps at
 * MAX_JSON_DEPTH (a device may refuse deeper JSON, as the bridge does).
 */
export const MAX_PARAMS_DEPTH = MAX_JSON_DEPTH - 1;

/**
 * The command workflow continues as new once a run's history reaches this many events (or
 * Temporal suggests it), carrying its whole record: far below Temporal's limit of 51,200
 * events, so a command can wait offline for its full MAX_TTL_MS (a presence re-check costs
 * about 6 events) or take result probes for weeks.
 */
export const COMMAND_TUNING_LIMITS = {
  presenceRecheckMs: { min: SECOND, max: DAY, default: 2 * 60 * SECOND },
  maxHistoryEvents: { min: 30, max: 40_000, default: 10_000 },
} as const;
