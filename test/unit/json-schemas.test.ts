import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
// ajv is not a direct dependency of ours: it comes with @temporalio/worker (through webpack's
// schema-utils). It is only used here, to check the committed schemas with a real validator.
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { AckMessage, CommandMessage, ResultMessage, StatusMessage } from '../../protocol/messages';
import {
  CommandRequestSchema,
  CommandSnapshotSchema,
  DeviceMessageSchema,
  DevicePresenceSchema,
  LateAnswersSchema,
  RolloutInputSchema,
  RolloutStatusSchema,
} from '../../protocol/service-schemas';
import { JSON_SCHEMA_DIR, renderJsonSchemas, renderServiceJsonSchemas, SERVICE_JSON_SCHEMA_DIR } from '../../scripts/json-schemas';
import { applyDeviceMessage, invalidRequestRecord, newRecord, recordPublished, startAttempt } from '../../workflows/command-record';
import { addLateAnswer, newLateAnswers } from '../../workflows/late-answers';

const HOW_TO_FIX = 'the JSON Schemas in protocol/json-schema/ are out of date: run `npm run gen:schemas` and commit the result';

const rendered = renderJsonSchemas();
const renderedService = renderServiceJsonSchemas();

/** The committed files of one folder are exactly the rendered ones, with the same content. */
function describeCommitted(folder: string, dir: string, files: Record<string, string>, expected: string[]): void {
  describe(`committed JSON Schemas in ${folder}`, () => {
    it('are exactly the files the renderer produces (no missing, no stale)', () => {
      let committed: string[];
      try {
        committed = readdirSync(dir)
          .filter((f) => f.endsWith('.schema.json'))
          .sort();
      } catch {
        committed = []; // the folder is missing
      }
      if (JSON.stringify(committed) !== JSON.stringify(Object.keys(files).sort())) {
        throw new Error(`${HOW_TO_FIX}\n  committed in ${folder}: ${committed.join(', ') || 'none'}\n  expected:  ${Object.keys(files).sort().join(', ')}`);
      }
      expect(committed).toEqual(expected);
    });

    it.each(Object.keys(files))('%s has the content the renderer produces', (name) => {
      let committed: string;
      try {
        committed = readFileSync(path.join(dir, name), 'utf8');
      } catch {
        throw new Error(`${HOW_TO_FIX}\n  ${folder}${name} is missing`);
      }
      if (committed !== files[name]) {
        const a = committed.split('\n');
        const b = files[name].split('\n');
        const line = a.findIndex((l, i) => l !== b[i]);
        throw new Error(`${HOW_TO_FIX}\n  ${folder}${name} differs first at line ${line + 1}:\n    committed: ${a[line]}\n    expected:  ${b[line]}`);
      }
    });
  });
}

describeCommitted('protocol/json-schema/', JSON_SCHEMA_DIR, rendered, [
  'ack.schema.json',
  'cancel.schema.json',
  'command.schema.json',
  'pending.schema.json',
  'result.schema.json',
  'status.schema.json',
]);
describeCommitted('protocol/json-schema/service/', SERVICE_JSON_SCHEMA_DIR, renderedService, [
  'command-request.schema.json',
  'command-snapshot.schema.json',
  'device-message-signal.schema.json',
  'device-presence-signal.schema.json',
  'late-answers.schema.json',
  'rollout-input.schema.json',
  'rollout-status.schema.json',
]);

describe('renderJsonSchemas()', () => {
  const docs = Object.fromEntries(Object.entries(rendered).map(([k, v]) => [k, JSON.parse(v) as Record<string, unknown>]));

  it('renders draft 2020-12 documents with $id and title, 2-space indent and a trailing newline', () => {
    for (const [name, text] of Object.entries(rendered)) {
      const kind = name.replace('.schema.json', '');
      expect(docs[name].$schema).toBe('https://json-schema.org/draft/2020-12/schema');
      expect(docs[name].$id).toBe(`urn:dco:protocol:v1:${kind}`);
      expect(text).toBe(JSON.stringify(docs[name], null, 2) + '\n');
      expect(text.endsWith('}\n')).toBe(true);
    }
    expect(docs['command.schema.json'].title).toBe('CommandMessage');
    expect(docs['ack.schema.json'].title).toBe('AckMessage');
    expect(docs['result.schema.json'].title).toBe('ResultMessage');
    expect(docs['status.schema.json'].title).toBe('StatusMessage');
  });

  it('is deterministic', () => {
    expect(renderJsonSchemas()).toEqual(rendered);
  });

  it('never forbids unknown fields (receivers ignore them)', () => {
    for (const text of Object.values(rendered)) {
      expect(text).not.toMatch(/"additionalProperties":\s*false/);
    }
    for (const doc of Object.values(docs)) expect(doc.additionalProperties).toBe(true);
    const result = docs['result.schema.json'] as { properties: { error: { additionalProperties: unknown } } };
    expect(result.properties.error.additionalProperties).toBe(true);
  });

  it('describes what a sender may send: command params is optional, with default {}', () => {
    const command = docs['command.schema.json'] as { required: string[]; properties: { params: { default: unknown } } };
    expect(command.required).toEqual(['v', 'commandId', 'name', 'attempt', 'issuedAt', 'expiresAt']);
    expect(command.properties.params.default).toEqual({});
  });
});

describe('the JSON Schemas agree with the zod schemas', () => {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  const validate = (name: string) => ajv.compile(JSON.parse(rendered[name]));
  const t = '2026-02-04T10:00:00.000Z';
  const cases: [string, { safeParse(v: unknown): { success: boolean } }, unknown[], unknown[]][] = [
    [
      'command.schema.json',
      CommandMessage,
      [
        { v: 1, commandId: 'c-1', name: 'reboot', params: {}, attempt: 1, issuedAt: t, expiresAt: t },
        { v: 1, commandId: 'c-1', name: 'reboot', attempt: 3, issuedAt: t, expiresAt: '2026-02-04T12:00:00+02:00', x: 1 },
      ],
      [
        { v: 2, commandId: 'c-1', name: 'reboot', attempt: 1, issuedAt: t, expiresAt: t },
        { v: 1, commandId: 'c/1', name: 'reboot', attempt: 1, issuedAt: t, expiresAt: t },
        { v: 1, commandId: 'c-1', name: 'reboot', attempt: 0, issuedAt: t, expiresAt: t },
        { v: 1, commandId: 'c-1', name: 'reboot', attempt: 1.5, issuedAt: t, expiresAt: t },
        { v: 1, commandId: 'c-1', name: 'reboot', attempt: 1, issuedAt: 'yesterday', expiresAt: t },
        { v: 1, commandId: 'c-1', name: 'reboot', params: [], attempt: 1, issuedAt: t, expiresAt: t },
        { v: 1, commandId: 'c-1', attempt: 1, issuedAt: t, expiresAt: t },
      ],
    ],
    [
      'ack.schema.json',
      AckMessage,
      [
        { v: 1, commandId: 'c-1', status: 'accepted' },
        { v: 1, commandId: 'c-1', status: 'rejected', reason: 'expired', extra: { a: 1 } },
      ],
      [
        { v: 1, commandId: 'c-1', status: 'ok' },
        { v: 1, commandId: 'c-1', status: 'rejected', reason: 'x'.repeat(1025) },
        { commandId: 'c-1', status: 'accepted' },
      ],
    ],
    [
      'result.schema.json',
      ResultMessage,
      [
        { v: 1, commandId: 'c-1', status: 'succeeded', output: { uptime: 5 } },
        { v: 1, commandId: 'c-1', status: 'failed', error: { code: 'E_IO', message: 'disk full', detail: 1 } },
      ],
      [
        { v: 1, commandId: 'c-1', status: 'done' },
        { v: 1, commandId: 'c-1', status: 'failed', error: { code: '', message: 'x' } },
        { v: 1, commandId: 'c-1', status: 'failed', error: { code: 'E' } },
        { v: 1, commandId: 'c-1', status: 'succeeded', output: 'fine' },
      ],
    ],
    [
      'status.schema.json',
      StatusMessage,
      [
        { v: 1, state: 'online', bootId: 'b1', ts: t },
        { v: 1, state: 'offline', bootId: 'b1', firmware: '1.2.3' },
      ],
      [
        { v: 1, state: 'sleeping', bootId: 'b1' },
        { v: 1, state: 'online', bootId: '' },
        { v: 1, state: 'online', bootId: 'b1', ts: 'now' },
        { v: 1, state: 'online' },
      ],
    ],
  ];

  it.each(cases)('%s accepts and rejects the same examples as zod', (name, zodSchema, valid, invalid) => {
    const check = validate(name);
    for (const example of valid) {
      expect(zodSchema.safeParse(example).success).toBe(true);
      expect({ example, valid: check(example) }).toEqual({ example, valid: true });
    }
    for (const example of invalid) {
      expect(zodSchema.safeParse(example).success).toBe(false);
      expect({ example, valid: check(example) }).toEqual({ example, valid: false });
    }
  });
});

describe('renderServiceJsonSchemas()', () => {
  const docs = Object.fromEntries(Object.entries(renderedService).map(([k, v]) => [k, JSON.parse(v) as Record<string, unknown>]));

  it('renders draft 2020-12 documents with $id urn:dco:service:v1:<name>, title and description', () => {
    for (const [name, text] of Object.entries(renderedService)) {
      expect(docs[name].$schema).toBe('https://json-schema.org/draft/2020-12/schema');
      expect(docs[name].$id).toBe(`urn:dco:service:v1:${name.replace('.schema.json', '')}`);
      expect(docs[name].description).toEqual(expect.any(String));
      expect(text).toBe(JSON.stringify(docs[name], null, 2) + '\n');
    }
    expect(Object.fromEntries(Object.entries(docs).map(([k, d]) => [k, d.title]))).toEqual({
      'command-request.schema.json': 'CommandRequest',
      'command-snapshot.schema.json': 'CommandSnapshot',
      'device-message-signal.schema.json': 'DeviceMessage',
      'device-presence-signal.schema.json': 'DevicePresence',
      'late-answers.schema.json': 'LateAnswers',
      'rollout-input.schema.json': 'RolloutInput',
      'rollout-status.schema.json': 'RolloutStatus',
    });
  });

  it('is deterministic, and leaves the wire schemas as they were', () => {
    expect(renderServiceJsonSchemas()).toEqual(renderedService);
    for (const name of Object.keys(renderedService)) expect(rendered).not.toHaveProperty(name);
  });

  it('allows unknown fields everywhere except in a wave size ({count} or {percent}), the abort thresholds per outcome, the rate ramp, the maintenance window, the template reference and the continuous look (strict in the workflow too: a misspelt field must not be ignored)', () => {
    for (const [name, text] of Object.entries(renderedService)) {
      const strict = text.match(/"additionalProperties":\s*false/g)?.length ?? 0;
      // canary (2 alternatives), the items of waves (2 alternatives), abort.byOutcome, rateRamp, window
      expect({ name, strict }).toEqual({ name, strict: name === 'rollout-input.schema.json' ? 9 : 0 });
    }
    expect(docs['command-request.schema.json'].additionalProperties).toBe(true);
    expect(docs['command-snapshot.schema.json'].additionalProperties).toBe(true);
  });

  it('the command request: what a caller must send, the defaults it may leave out, no internal field', () => {
    const request = docs['command-request.schema.json'] as {
      required: string[];
      properties: Record<
        string,
        { default?: unknown; description?: string; properties?: Record<string, { default?: unknown; minimum?: number; maximum?: number }> }
      >;
    };
    expect(request.required).toEqual(['commandId', 'deviceId', 'name', 'expiresAt']);
    expect(Object.keys(request.properties)).toEqual(['commandId', 'deviceId', 'name', 'params', 'expiresAt', 'options', 'rolloutId', 'tuning', 'ordering']);
    expect(request.properties.params.default).toEqual({});
    expect(request.properties.options.default).toEqual({});
    expect(request.properties.tuning.properties).toMatchObject({
      presenceRecheckMs: { default: 120_000, minimum: 1_000, maximum: 86_400_000 },
      maxHistoryEvents: { default: 10_000, minimum: 30, maximum: 40_000 },
    });
    expect(request.properties.expiresAt.description).toMatch(/At most 30 days \(MAX_TTL_MS\) after the workflow starts/);
  });
});

describe('the service JSON Schemas agree with the zod schemas', () => {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  // Compiled once each: ajv keeps schemas by $id.
  const validate = (name: string) => ajv.getSchema(JSON.parse(renderedService[name]).$id) ?? ajv.compile(JSON.parse(renderedService[name]));
  // CommandRequestSchema compares expiresAt with the clock (at most MAX_TTL_MS ahead).
  const soon = new Date(Date.now() + 600_000).toISOString();
  const t = '2026-02-04T10:00:00.000Z';
  const request = { commandId: 'pump-7.reboot.1', deviceId: 'pump-7', name: 'reboot', expiresAt: soon };
  const created = newRecord({ ...request, params: {} }, t);
  const acknowledged = applyDeviceMessage(
    recordPublished(startAttempt(created, 1), t),
    { kind: 'ack', deviceId: 'pump-7', receivedAt: t, message: { v: 1, commandId: request.commandId, status: 'accepted' } },
    t,
  );
  const ackSignal = { kind: 'ack', deviceId: 'pump-7', receivedAt: t, message: { v: 1, commandId: 'c-1', status: 'accepted' } } as const;
  const resultSignal = {
    kind: 'result',
    deviceId: 'pump-7',
    receivedAt: t,
    message: { v: 1, commandId: 'c-1', status: 'failed', error: { code: 'E_IO', message: 'x' } },
  } as const;
  const late = addLateAnswer(newLateAnswers({ commandId: 'c-1', deviceId: 'pump-7', endedAs: 'TimedOut' }), resultSignal);
  const counts = { pending: 1, inFlight: 0, succeeded: 0, failed: 0, rejected: 0, timedOut: 0, expired: 0, cancelled: 0 };
  const status = {
    rolloutId: 'fw-2',
    command: 'update-firmware',
    targets: 1,
    state: 'await-approval',
    currentWave: 'canary',
    waves: [{ name: 'canary', start: 0, end: 1, approvalAfter: true, approved: false, counts }],
    overall: counts,
    generation: 0,
  };
  const spec = { rolloutId: 'fw-2', name: 'update-firmware', targets: ['pump-1', 'pump-2'] };

  const cases: [string, { safeParse(v: unknown): { success: boolean } }, unknown[], unknown[]][] = [
    [
      'command-request.schema.json',
      CommandRequestSchema,
      [
        request,
        {
          ...request,
          params: { level: 3 },
          options: { maxAttempts: 2, backoff: { jitter: 0 } },
          rolloutId: 'fw-2',
          tuning: { maxHistoryEvents: 100 },
          extra: 1,
        },
        { ...request, expiresAt: '2020-01-01T00:00:00+02:00' },
      ],
      [
        { ...request, deviceId: 'a/b' },
        { ...request, commandId: '' },
        { ...request, rolloutId: 'fw.2' },
        { ...request, expiresAt: 'tomorrow' },
        { ...request, expiresAt: '2026-02-04T10:10:00' },
        { ...request, params: [] },
        { ...request, options: null },
        { ...request, options: { maxAttempts: 0 } },
        { ...request, options: { backoff: { jitter: 2 } } },
        { ...request, tuning: { maxHistoryEvents: 29 } },
        { ...request, tuning: { presenceRecheckMs: 1.5 } },
        { commandId: 'c-1', deviceId: 'pump-7', name: 'reboot' },
      ],
    ],
    [
      'command-snapshot.schema.json',
      CommandSnapshotSchema,
      [created, acknowledged, invalidRequestRecord({ deviceId: 'a/b' }, 'invalid request: ...', t, 'x')].map((r) => JSON.parse(JSON.stringify(r))),
      [
        { ...created, state: 'Done' },
        { ...created, attempts: -1 },
        { ...created, createdAt: 'yesterday' },
        { ...created, history: [{ at: t, event: 'created', state: 'Created' }] },
        { ...created, error: { code: 'E' } },
        (({ history: _h, ...rest }) => rest)(created),
      ],
    ],
    [
      'device-message-signal.schema.json',
      DeviceMessageSchema,
      [ackSignal, resultSignal, { ...ackSignal, extra: 1 }],
      [
        { ...ackSignal, kind: 'status' },
        { ...ackSignal, message: resultSignal.message },
        { ...resultSignal, message: ackSignal.message },
        { ...ackSignal, deviceId: 'a/b' },
        { ...ackSignal, receivedAt: undefined },
        { ...ackSignal, message: { ...ackSignal.message, v: 2 } },
      ],
    ],
    [
      'device-presence-signal.schema.json',
      DevicePresenceSchema,
      [
        { deviceId: 'pump-7', state: 'online', bootId: 'b1', observedAt: t },
        { deviceId: 'pump-7', state: 'offline', bootId: 'b1', observedAt: '2026-02-04T12:00:00+02:00' },
      ],
      [
        { deviceId: 'pump-7', state: 'sleeping', bootId: 'b1', observedAt: t },
        { deviceId: 'pump-7', state: 'online', bootId: '', observedAt: t },
        { deviceId: 'pump-7', state: 'online', bootId: 'b1' },
      ],
    ],
    [
      'late-answers.schema.json',
      LateAnswersSchema,
      [late, newLateAnswers({ commandId: 'c-1', deviceId: 'pump-7' })],
      [
        { ...late, lateOutcome: 'maybe' },
        { ...late, repeats: -1 },
        { ...late, answers: Array.from({ length: 9 }, () => late.answers[0]) },
        { ...late, answers: [{ ...late.answers[0], kind: 'status' }] },
      ],
    ],
    [
      'rollout-input.schema.json',
      RolloutInputSchema,
      [
        { spec },
        {
          spec: {
            ...spec,
            canary: { count: 1 },
            waves: [{ percent: 50 }, { percent: 100 }],
            approvalAfter: [0, 1],
            concurrency: 10,
            ratePerMinute: 60,
            rampUp: false,
            abort: { failureShare: 0.2 },
          },
        },
      ],
      [
        {},
        { spec: { ...spec, concurrency: 0 } },
        { spec: { ...spec, targets: ['a/b'] } },
        { spec: { ...spec, rolloutId: 'fw.2' } },
        { spec: { ...spec, canary: { percent: 0 } } },
        { spec: { ...spec, canary: { count: 1, percent: 5 } } },
        { spec: { ...spec, waves: [] } },
        { spec: { ...spec, ttlMs: 999 } },
        { spec: { ...spec, abort: { scope: 'fleet' } } },
      ],
    ],
    [
      'rollout-status.schema.json',
      RolloutStatusSchema,
      [status, (({ currentWave: _c, ...rest }) => ({ ...rest, state: 'done' }))(status)],
      [
        { ...status, state: 'running' },
        { ...status, overall: { ...counts, failed: -1 } },
        (({ overall: _o, ...rest }) => rest)(status),
        { ...status, waves: [{ name: 'canary' }] },
      ],
    ],
  ];

  it.each(cases)('%s accepts and rejects the same examples as zod', (name, zodSchema, valid, invalid) => {
    const check = validate(name);
    for (const example of valid) {
      expect({ example, zod: zodSchema.safeParse(example).success }).toEqual({ example, zod: true });
      expect({ example, valid: check(example) }).toEqual({ example, valid: true });
    }
    for (const example of invalid) {
      expect({ example, zod: zodSchema.safeParse(example).success }).toEqual({ example, zod: false });
      expect({ example, valid: check(example) }).toEqual({ example, valid: false });
    }
  });

  /** The rules JSON Schema cannot express; their descriptions say them, zod and the workflows check them. */
  it.each([
    ['command-request.schema.json', 'expiresAt more than MAX_TTL_MS ahead', CommandRequestSchema, { ...request, expiresAt: '9999-12-31T23:59:59Z' }],
    ['command-request.schema.json', 'params too big', CommandRequestSchema, { ...request, params: { s: 'x'.repeat(33_000) } }],
    ['command-request.schema.json', 'params too deep', CommandRequestSchema, { ...request, params: JSON.parse('{"a":'.repeat(31) + '{}' + '}'.repeat(31)) }],
    ['rollout-input.schema.json', 'duplicate targets', RolloutInputSchema, { spec: { ...spec, targets: ['a', 'a'] } }],
    ['rollout-input.schema.json', 'no targets without continuous', RolloutInputSchema, { spec: { ...spec, targets: [] } }],
    ['rollout-input.schema.json', 'a gate after the last wave', RolloutInputSchema, { spec: { ...spec, approvalAfter: [3] } }],
  ])('%s cannot say: %s', (name, _rule, zodSchema, example) => {
    expect(zodSchema.safeParse(example).success).toBe(false);
    expect(validate(name)(example)).toBe(true);
  });
});
