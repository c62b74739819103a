import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
// ajv is not a direct dependency of ours: it comes with @temporalio/worker (through webpack's
// schema-utils). It is only used here, to check the committed schemas with a real validator.
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { AckMessage, CommandMessage, ResultMessage, StatusMessage } from '../../protocol/messages';
import { JSON_SCHEMA_DIR, renderJsonSchemas } from '../../scripts/json-schemas';

const HOW_TO_FIX = 'the JSON Schemas in protocol/json-schema/ are out of date: run `npm run gen:schemas` and commit the result';

const rendered = renderJsonSchemas();

describe('committed JSON Schemas', () => {
  it('are exactly the files renderJsonSchemas() produces (no missing, no stale)', () => {
    const committed = readdirSync(JSON_SCHEMA_DIR)
      .filter((f) => f.endsWith('.schema.json'))
      .sort();
    if (JSON.stringify(committed) !== JSON.stringify(Object.keys(rendered).sort())) {
      throw new Error(`${HOW_TO_FIX}\n  committed: ${committed.join(', ')}\n  expected:  ${Object.keys(rendered).sort().join(', ')}`);
    }
    expect(committed).toEqual(['ack.schema.json', 'command.schema.json', 'result.schema.json', 'status.schema.json']);
  });

  it.each(Object.keys(rendered))('%s has the content renderJsonSchemas() produces', (name) => {
    const committed = readFileSync(path.join(JSON_SCHEMA_DIR, name), 'utf8');
    if (committed !== rendered[name]) {
      const a = committed.split('\n');
      const b = rendered[name].split('\n');
      const line = a.findIndex((l, i) => l !== b[i]);
      throw new Error(
        `${HOW_TO_FIX}\n  ${name} differs first at line ${line + 1}:\n    committed: ${a[line]}\n    expected:  ${b[line]}`,
      );
    }
  });
});

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
