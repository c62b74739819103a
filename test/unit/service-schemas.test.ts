import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import type { z } from 'zod';
import type { CommandRequest, CommandSnapshot, DeviceMessage, DevicePresence } from '../../protocol/command-contract';
import { COMMAND_TUNING_LIMITS, MAX_TTL_MS } from '../../protocol/command-limits';
import type { LateAnswers } from '../../protocol/late-answers-contract';
import { FINAL_ROLLOUT_STATES, type RolloutInput, type RolloutStatusView } from '../../protocol/rollout-contract';
import { RolloutSpec } from '../../protocol/rollout-spec';
import {
  CommandRequestSchema,
  CommandSnapshotSchema,
  DeviceMessageSchema,
  DevicePresenceSchema,
  LateAnswersSchema,
  ROLLOUT_STATES,
  RolloutInputSchema,
  RolloutStatusSchema,
} from '../../protocol/service-schemas';
import { validateCommandRequest } from '../../protocol/validate-command-request';
import { applyDeviceMessage, invalidRequestRecord, newRecord, recordPublished, startAttempt, transition } from '../../workflows/command-record';
import { addLateAnswer, newLateAnswers } from '../../workflows/late-answers';
import { recordStarted, type NextAction } from '../../workflows/rollout-plan';
import { newProgress } from '../../workflows/rollout-progress';
import { cancel, pause } from '../../workflows/rollout-operator-controls';
import { rolloutStatus } from '../../workflows/rollout-status';

// ---- compile time: the zod schemas and the TypeScript contract describe the same values ---

/** Compiles only when T is `true`. */
const holds = <T extends true>(): T | undefined => undefined;
type Assignable<A, B> = [A] extends [B] ? true : false;
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
/** Every key of one is a key of the other: a field added on one side only does not compile. */
type SameKeys<A, B> = Same<keyof A, keyof B>;
type UndefinedKeys<T> = { [K in keyof T]-?: undefined extends T[K] ? K : never }[keyof T];
/** T as it comes out of JSON: a key whose value may be undefined may be absent instead. */
type AsJson<T> = Omit<T, UndefinedKeys<T>> & Partial<Pick<T, UndefinedKeys<T>>>;

/** `continued` is internal (continue-as-new) and not part of the public input. */
type PublicCommandRequest = Omit<CommandRequest, 'continued'>;
/** `carried` likewise. */
type PublicRolloutInput = Omit<RolloutInput, 'carried'>;

// What a schema accepts is a value of the contract's type; where the schema is not narrower
// than the type (strings the type leaves open), every value of the type is accepted too.
holds<Assignable<z.output<typeof CommandRequestSchema>, CommandRequest>>();
holds<Assignable<PublicCommandRequest, z.input<typeof CommandRequestSchema>>>();
holds<SameKeys<z.output<typeof CommandRequestSchema>, PublicCommandRequest>>();

holds<Same<z.output<typeof CommandSnapshotSchema>, CommandSnapshot>>();
holds<SameKeys<z.output<typeof CommandSnapshotSchema>, CommandSnapshot>>();

holds<Same<z.output<typeof DeviceMessageSchema>, DeviceMessage>>();
holds<Same<z.output<typeof DevicePresenceSchema>, DevicePresence>>();

// LateAnswers and RolloutStatusView type statuses and states as `string`; the schemas list
// the values (enums), so only the first direction holds at compile time. The samples below
// are real values, built by the workflows' own pure code.
holds<Assignable<z.output<typeof LateAnswersSchema>, LateAnswers>>();
holds<SameKeys<z.output<typeof LateAnswersSchema>, LateAnswers>>();
holds<SameKeys<z.output<typeof LateAnswersSchema>['answers'][number], LateAnswers['answers'][number]>>();

holds<Same<z.output<typeof RolloutInputSchema>, PublicRolloutInput>>();
holds<SameKeys<z.output<typeof RolloutInputSchema>, PublicRolloutInput>>();

holds<Assignable<z.output<typeof RolloutStatusSchema>, AsJson<RolloutStatusView>>>();
holds<SameKeys<z.output<typeof RolloutStatusSchema>, RolloutStatusView>>();
holds<SameKeys<z.output<typeof RolloutStatusSchema>['waves'][number], RolloutStatusView['waves'][number]>>();
holds<SameKeys<z.output<typeof RolloutStatusSchema>['overall'], RolloutStatusView['overall']>>();
// The rollout states are the planner's steps, no more, no fewer.
holds<Same<(typeof ROLLOUT_STATES)[number], NextAction['kind']>>();

// ---- run time: real values parse, and nothing is stripped (no field the schema lacks) -------

const NOW = Date.parse('2026-02-04T10:00:00.000Z');
const at = (s: number) => new Date(NOW + s * 1000).toISOString();

const request: CommandRequest = {
  commandId: 'pump-7.reboot.1',
  deviceId: 'pump-7',
  name: 'reboot',
  params: { level: 3 },
  expiresAt: at(600),
  options: { ackTimeoutMs: 10_000, resultTimeoutMs: 60_000, maxAttempts: 5, backoff: { initialMs: 1_000, maxMs: 30_000, multiplier: 2, jitter: 0.2 } },
};

const ack = (status: 'accepted' | 'rejected', reason?: string): DeviceMessage => ({
  kind: 'ack',
  deviceId: 'pump-7',
  receivedAt: at(2),
  message: { v: 1, commandId: request.commandId, status, ...(reason ? { reason } : {}) },
});
const result = (status: 'succeeded' | 'failed'): DeviceMessage => ({
  kind: 'result',
  deviceId: 'pump-7',
  receivedAt: at(3),
  message:
    status === 'succeeded'
      ? { v: 1, commandId: request.commandId, status, output: { uptimeS: 0 } }
      : { v: 1, commandId: request.commandId, status, error: { code: 'E_IO', message: 'flash write failed' } },
});

/** What Temporal hands a caller: the value after a JSON round trip. */
const viaJson = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

/** Parses, and strips nothing but `extra` (fields the value has beyond its type). */
function expectParsedUnchanged(schema: z.ZodType, value: unknown, extra: string[] = []): void {
  const parsed = schema.safeParse(value);
  expect({ value, issues: parsed.success ? [] : parsed.error.issues }).toEqual({ value, issues: [] });
  const expected = Object.fromEntries(Object.entries(value as object).filter(([k]) => !extra.includes(k)));
  expect(parsed.data).toEqual(expected);
}

/**
 * newRecord spreads the whole request into the record (as commandWorkflow calls it), so the
 * snapshot of a command also carries the request's `options` (and `tuning`): fields beyond
 * CommandSnapshot, allowed by the schema (readers ignore unknown fields), not part of the contract.
 */
const SNAPSHOT_EXTRAS = ['options', 'tuning'];

describe('real values of the contract match the service schemas', () => {
  const tuned: CommandRequest = { ...request, rolloutId: 'fw-2', tuning: { maxHistoryEvents: 100 } };
  const created = newRecord(request, at(0));
  const sent = recordPublished(startAttempt(created, 1), at(1));
  const acknowledged = applyDeviceMessage(sent, ack('accepted'), at(2));

  it.each([
    ['Created', created],
    ['Sent', sent],
    ['Acknowledged', acknowledged],
    ['Succeeded', applyDeviceMessage(acknowledged, result('succeeded'), at(3))],
    ['Failed', applyDeviceMessage(acknowledged, result('failed'), at(3))],
    ['Rejected by the device', applyDeviceMessage(sent, ack('rejected', 'busy'), at(2))],
    ['Expired', applyDeviceMessage(sent, ack('rejected', 'expired'), at(2))],
    ['TimedOut', transition(sent, 'TimedOut', at(60), 'no-ack', 'no ack after 5 attempts')],
    ['of a rollout, with tuning', newRecord(tuned, at(0))],
    // Identifiers are plain strings in the snapshot because of this one: the record of input
    // the workflow refused keeps what it can of the input, however malformed.
    ['Rejected as invalid', invalidRequestRecord({ commandId: 'a/b c', deviceId: 7, expiresAt: 'tomorrow' }, 'invalid request: ...', at(0), 'a/b c')],
    ['Rejected as invalid, not even an object', invalidRequestRecord('hello', 'invalid request: ...', at(0), 'x')],
  ])('CommandSnapshot: %s', (_state, snapshot) => {
    expectParsedUnchanged(CommandSnapshotSchema, viaJson(snapshot), SNAPSHOT_EXTRAS);
  });

  it.each([
    ['ack accepted', ack('accepted')],
    ['ack rejected', ack('rejected', 'expired')],
    ['result succeeded', result('succeeded')],
    ['result failed', result('failed')],
  ])('DeviceMessage: %s', (_kind, message) => {
    expectParsedUnchanged(DeviceMessageSchema, message);
  });

  it('DevicePresence', () => {
    const presence: DevicePresence = { deviceId: 'pump-7', state: 'online', bootId: '3f6c1e2a', observedAt: at(0) };
    expectParsedUnchanged(DevicePresenceSchema, presence);
    expectParsedUnchanged(DevicePresenceSchema, { ...presence, state: 'offline' });
  });

  it('LateAnswers, as the late answers workflow builds them', () => {
    const empty = newLateAnswers({ commandId: request.commandId, deviceId: 'pump-7', endedAs: 'TimedOut' });
    expectParsedUnchanged(LateAnswersSchema, empty);
    const acked = addLateAnswer(empty, ack('accepted'));
    expectParsedUnchanged(LateAnswersSchema, acked);
    expectParsedUnchanged(LateAnswersSchema, addLateAnswer(addLateAnswer(acked, ack('accepted')), result('succeeded')));
    expectParsedUnchanged(LateAnswersSchema, addLateAnswer(acked, result('failed')));
  });

  it('RolloutInput, as RolloutClient starts it', () => {
    const spec = RolloutSpec.parse({ rolloutId: 'fw-2', name: 'update-firmware', targets: ['pump-1', 'pump-2'], approvalAfter: [0], ratePerMinute: 60 });
    const input: PublicRolloutInput = { spec };
    expectParsedUnchanged(RolloutInputSchema, viaJson(input));
  });

  it('RolloutStatusView, as the rollout workflow reports it', () => {
    const spec = RolloutSpec.parse({ rolloutId: 'fw-2', name: 'update-firmware', targets: ['a', 'b', 'c', 'd'], approvalAfter: [0] });
    const view = (p: ReturnType<typeof newProgress>): RolloutStatusView => ({
      ...rolloutStatus(p, NOW, spec),
      rolloutId: spec.rolloutId,
      command: spec.name,
      targets: spec.targets.length,
      generation: 0,
    });
    const fresh = newProgress(4, spec, NOW);
    const started = recordStarted(fresh, 1, NOW, spec).progress;
    for (const v of [view(fresh), view(started), view(pause(started, 'by ops')), view(cancel(started, 'by ops'))]) {
      expectParsedUnchanged(RolloutStatusSchema, viaJson(v));
    }
    // What rolloutWorkflow returns for a spec it refuses (refuseInvalidRollout).
    const zero = { pending: 0, inFlight: 0, succeeded: 0, failed: 0, rejected: 0, timedOut: 0, expired: 0, cancelled: 0 };
    const refused: RolloutStatusView = {
      rolloutId: 'bad',
      command: '',
      targets: 0,
      state: 'aborted',
      currentWave: undefined,
      waves: [],
      overall: zero,
      abortReason: 'invalid rollout: concurrency must be ...',
      generation: 0,
    };
    expectParsedUnchanged(RolloutStatusSchema, viaJson(refused));
  });

  it('the final rollout states are rollout states', () => {
    expect(ROLLOUT_STATES).toEqual(expect.arrayContaining([...FINAL_ROLLOUT_STATES]));
  });
});

// ---- CommandRequestSchema accepts exactly what commandWorkflow accepts --------------------

/**
 * A service in another language validates against the CommandRequest schema; the workflow
 * checks its input itself (validate-command-request.ts, without zod). Both must say the same
 * about the same input, or the schema promises what the workflow refuses (or the reverse).
 *
 * Differences that cannot agree, and are left out of the samples:
 * - `continued`: the workflow checks it (a forged one is refused); the public schema does not
 *   have it (callers never send it), so zod ignores it like any unknown field. The test below
 *   states the difference.
 * - MAX_TTL_MS is counted from the workflow's start time there and from the clock here. The
 *   two agree for a command that starts now: the clock is frozen at the same instant for both.
 * - Values JSON cannot carry (undefined in arrays, NaN, BigInt, functions): a foreign caller's
 *   input arrives as JSON, so only JSON values are sampled.
 */
describe("CommandRequestSchema and the workflow's own check agree", () => {
  const raw = viaJson(request) as unknown as Record<string, unknown>;
  const withClock = <T>(fn: () => T): T => {
    const realNow = Date.now;
    Date.now = () => NOW;
    try {
      return fn();
    } finally {
      Date.now = realNow;
    }
  };
  const agree = (sample: unknown) => {
    const zod = withClock(() => CommandRequestSchema.safeParse(sample));
    const plain = withClock(() => validateCommandRequest(sample, Date.now()));
    expect({ sample, ok: plain.ok, reason: plain.ok ? undefined : plain.reason }).toEqual({
      sample,
      ok: zod.success,
      reason: zod.success ? undefined : expect.stringMatching(/ must /),
    });
    // Both fill in the same defaults and drop the same unknown fields.
    if (zod.success && plain.ok) {
      const { continued: _c, ...checked } = plain.value;
      expect(zod.data).toEqual(checked);
    }
  };

  function nested(depth: number): Record<string, unknown> {
    let v: Record<string, unknown> = {};
    for (let i = 1; i < depth; i++) v = { a: v };
    return v;
  }

  const { options: _o, params: _p, ...bare } = raw;
  const samples: Array<[string, unknown]> = [
    ['valid', raw],
    ['only the required fields', bare],
    ['unknown fields', { ...raw, priority: 'high', options: { ...(raw.options as object), colour: 'red' } }],
    ['partial options', { ...raw, options: { maxAttempts: 2, backoff: { jitter: 0 } } }],
    ['options null', { ...raw, options: null }],
    ['options a string', { ...raw, options: 'fast' }],
    ['options an array', { ...raw, options: [] }],
    ['maxAttempts 0', { ...raw, options: { maxAttempts: 0 } }],
    ['maxAttempts 101', { ...raw, options: { maxAttempts: 101 } }],
    ['maxAttempts 2.5', { ...raw, options: { maxAttempts: 2.5 } }],
    ['maxAttempts as text', { ...raw, options: { maxAttempts: '5' } }],
    ['ackTimeoutMs 999', { ...raw, options: { ackTimeoutMs: 999 } }],
    ['resultTimeoutMs over 30 days', { ...raw, options: { resultTimeoutMs: 30 * 86_400_000 + 1 } }],
    ['backoff null', { ...raw, options: { backoff: null } }],
    ['jitter 1.5', { ...raw, options: { backoff: { jitter: 1.5 } } }],
    ['multiplier 0.5', { ...raw, options: { backoff: { multiplier: 0.5 } } }],
    ['not an object', 'hello'],
    ['null', null],
    ['an array', [raw]],
    ['no commandId', { ...raw, commandId: undefined }],
    ['commandId a number', { ...raw, commandId: 7 }],
    ['commandId 128 chars', { ...raw, commandId: 'c'.repeat(128) }],
    ['commandId 129 chars', { ...raw, commandId: 'c'.repeat(129) }],
    ['deviceId with +', { ...raw, deviceId: 'a+b' }],
    ['deviceId with #', { ...raw, deviceId: '#' }],
    ['deviceId with /', { ...raw, deviceId: 'a/b' }],
    ['deviceId 65 chars', { ...raw, deviceId: 'd'.repeat(65) }],
    ['name empty', { ...raw, name: '' }],
    ['name with a space', { ...raw, name: 're boot' }],
    ['rolloutId', { ...raw, rolloutId: 'fw_2-3' }],
    ['rolloutId with a dot', { ...raw, rolloutId: 'fw.2' }],
    ['rolloutId 64 chars', { ...raw, rolloutId: 'r'.repeat(64) }],
    ['rolloutId null', { ...raw, rolloutId: null }],
    ['expiresAt with offset', { ...raw, expiresAt: '2026-02-04T12:00:00+02:00' }],
    ['expiresAt with fractions', { ...raw, expiresAt: '2026-02-04T10:10:00.123456Z' }],
    ['expiresAt in the past', { ...raw, expiresAt: '2020-01-01T00:00:00Z' }],
    ['expiresAt at MAX_TTL_MS', { ...raw, expiresAt: new Date(NOW + MAX_TTL_MS).toISOString() }],
    ['expiresAt MAX_TTL_MS + 4 min (clock skew)', { ...raw, expiresAt: new Date(NOW + MAX_TTL_MS + 4 * 60_000).toISOString() }],
    ['expiresAt MAX_TTL_MS + 6 min', { ...raw, expiresAt: new Date(NOW + MAX_TTL_MS + 6 * 60_000).toISOString() }],
    ['expiresAt in year 9999', { ...raw, expiresAt: '9999-12-31T23:59:59Z' }],
    ['expiresAt February 30', { ...raw, expiresAt: '2026-02-30T10:00:00Z' }],
    ['expiresAt without offset', { ...raw, expiresAt: '2026-02-04T10:10:00' }],
    ['expiresAt without seconds', { ...raw, expiresAt: '2026-02-04T10:10Z' }],
    ['expiresAt +0200', { ...raw, expiresAt: '2026-02-04T12:00:00+0200' }],
    ['expiresAt a number', { ...raw, expiresAt: NOW + 60_000 }],
    ['expiresAt missing', { ...raw, expiresAt: undefined }],
    ['params missing', { ...raw, params: undefined }],
    ['params null', { ...raw, params: null }],
    ['params an array', { ...raw, params: [1] }],
    ['params a string', { ...raw, params: 'x' }],
    ['params 31 deep', { ...raw, params: nested(31) }],
    ['params 32 deep', { ...raw, params: nested(32) }],
    ['params exactly 32768 bytes', { ...raw, params: { a: 'x'.repeat(32_768 - 8) } }],
    ['params 32769 bytes', { ...raw, params: { a: 'x'.repeat(32_768 - 7) } }],
    ['params multibyte, too big', { ...raw, params: { a: 'é'.repeat(16_381) } }],
    ['tuning empty', { ...raw, tuning: {} }],
    ['tuning smallest', { ...raw, tuning: { presenceRecheckMs: 1_000, maxHistoryEvents: 30 } }],
    ['tuning largest', { ...raw, tuning: { presenceRecheckMs: 86_400_000, maxHistoryEvents: 40_000 } }],
    ['tuning presenceRecheckMs 999', { ...raw, tuning: { presenceRecheckMs: 999 } }],
    ['tuning maxHistoryEvents 29', { ...raw, tuning: { maxHistoryEvents: 29 } }],
    ['tuning maxHistoryEvents 40001', { ...raw, tuning: { maxHistoryEvents: 40_001 } }],
    ['tuning fractional', { ...raw, tuning: { presenceRecheckMs: 1_500.5 } }],
    ['tuning null', { ...raw, tuning: null }],
    ['tuning a number', { ...raw, tuning: 5 }],
    // A well-formed continuation is accepted by both (zod ignores it; see above).
    ['continued, well-formed', { ...raw, continued: { record: newRecord(request, at(0)), runs: 1, unanswered: 0, presenceRepublishes: 0 } }],
  ];
  it.each(samples)('%s', (_name, sample) => agree(sample));

  it('on random options and tuning', () => {
    const value = fc.oneof(
      fc.integer({ min: -10, max: 40 * 86_400_000 }),
      fc.double({ noNaN: true, noDefaultInfinity: true, min: -1, max: 2e9 }),
      fc.constantFrom(0, 1, 29, 30, 100, 999, 1_000, 40_000, 40_001, 86_400_000, '5', null, true),
    );
    const maybe = (arb: fc.Arbitrary<unknown>) => fc.option(arb, { nil: undefined });
    fc.assert(
      fc.property(
        fc.record({
          ackTimeoutMs: maybe(value),
          resultTimeoutMs: maybe(value),
          maxAttempts: maybe(fc.oneof(value, fc.integer({ min: -2, max: 102 }))),
          backoff: maybe(
            fc.record({
              initialMs: maybe(value),
              multiplier: maybe(fc.double({ min: 0, max: 11, noNaN: true })),
              jitter: maybe(fc.double({ min: -0.5, max: 1.5, noNaN: true })),
            }),
          ),
        }),
        maybe(fc.record({ presenceRecheckMs: maybe(value), maxHistoryEvents: maybe(value) })),
        (options, tuning) => agree(viaJson({ ...raw, options, tuning })),
      ),
      { numRuns: 300 },
    );
  });

  it('differs on `continued` only as documented: the workflow refuses a forged one, the public schema has no such field', () => {
    const forged = { ...raw, continued: { record: { ...newRecord(request, at(0)), deviceId: 'other' }, runs: 1, unanswered: 0, presenceRepublishes: 0 } };
    expect(validateCommandRequest(forged, NOW)).toEqual({ ok: false, reason: expect.stringMatching(/^continued is set only by the command workflow/) });
    const parsed = withClock(() => CommandRequestSchema.safeParse(forged));
    expect(parsed.success).toBe(true);
    expect(parsed.data).not.toHaveProperty('continued');
    expect(Object.keys(CommandRequestSchema.shape)).not.toContain('continued');
  });

  it('gives tuning the defaults of COMMAND_TUNING_LIMITS', () => {
    const parsed = withClock(() => CommandRequestSchema.parse({ ...raw, tuning: {} }));
    expect(parsed.tuning).toEqual({
      presenceRecheckMs: COMMAND_TUNING_LIMITS.presenceRecheckMs.default,
      maxHistoryEvents: COMMAND_TUNING_LIMITS.maxHistoryEvents.default,
    });
  });
});

// ---- workflow code stays zod-free -------------------------------------------------------

describe('protocol/service-schemas.ts', () => {
  const ROOT = path.resolve(__dirname, '..', '..');

  /** Files that workflows/index.ts loads at run time (type-only imports are erased). */
  function runtimeClosure(entry: string): Set<string> {
    const seen = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const source = readFileSync(file, 'utf8');
      for (const m of source.matchAll(/^\s*(import|export)\s+(type\s+)?(?:[^'";]*?\s+from\s+)?['"](\.{1,2}\/[^'"]+)['"]/gm)) {
        if (m[2]) continue;
        visit(path.resolve(path.dirname(file), `${m[3]}.ts`));
      }
    };
    visit(entry);
    return seen;
  }

  it('is not loaded by workflow code (the workflow bundle stays free of zod)', () => {
    const loaded = [...runtimeClosure(path.join(ROOT, 'workflows', 'index.ts'))].map((f) => path.relative(ROOT, f));
    expect(loaded).toEqual(expect.arrayContaining(['workflows/command-workflow.ts', 'protocol/validate-command-request.ts']));
    expect(loaded).not.toContain('protocol/service-schemas.ts');
    for (const file of loaded)
      expect({ file, zod: /from ['"]zod['"]/.test(readFileSync(path.join(ROOT, file), 'utf8').replace(/import type[^;]+;/g, '')) }).toEqual({
        file,
        zod: false,
      });
  });
});
