import fc from 'fast-check';
import { paramsProblems } from '../../client/template-params';
import { RolloutTemplate, rolloutSpecFromTemplate } from '../../protocol/rollout-template';
import { RolloutSpec } from '../../protocol/rollout-spec';
import { MAX_TEMPLATE_BYTES, MAX_TEMPLATE_VERSIONS_KEPT } from '../../protocol/template-contract';
import { addRequestProblem, addVersion, newTemplateView } from '../../workflows/template-versions';

const problems = (body: unknown) => {
  const r = RolloutTemplate.safeParse(body);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('a template body (RolloutTemplate)', () => {
  test('needs only the command; takes the rollout fields that are not per run', () => {
    expect(problems({ name: 'reboot' })).toEqual([]);
    expect(
      problems({
        name: 'reboot',
        concurrency: 5,
        canary: { count: 2 },
        waves: [{ percent: 100 }],
        ttlMs: 60_000,
        window: { cron: '0 2 * * *', durationMs: 3_600_000, timeZone: 'Europe/Berlin' },
      }),
    ).toEqual([]);
  });

  test('refuses per-run fields, unknown fields, and a missing command', () => {
    for (const key of ['rolloutId', 'targets', 'startAt', 'endAt', 'endBehaviour', 'template', 'concurency']) {
      expect(problems({ name: 'reboot', [key]: 'x' })).toContain(`: Unrecognized key: "${key}"`);
    }
    expect(problems({ concurrency: 3 })[0]).toMatch(/^name: /);
  });

  test('applies the rules that span fields, as a rollout would', () => {
    expect(problems({ name: 'reboot', rateRamp: { factor: 2, everySucceeded: 5, maxPerMinute: 100 } })).toEqual([
      'rateRamp: rateRamp needs ratePerMinute, the rate it starts from',
    ]);
    expect(problems({ name: 'reboot', waves: [{ percent: 100 }], approvalAfter: [1] })[0]).toContain('approvalAfter 1: a gate may follow wave 0');
  });

  test(`is at most ${MAX_TEMPLATE_BYTES} bytes`, () => {
    expect(problems({ name: 'reboot', description: 'x', params: { blob: 'x'.repeat(MAX_TEMPLATE_BYTES) } }).join()).toContain(
      `at most ${MAX_TEMPLATE_BYTES} bytes`,
    );
  });
});

describe('a rollout made from a template (rolloutSpecFromTemplate)', () => {
  const body = {
    name: 'fw',
    description: 'd',
    paramsSchema: { type: 'object' },
    params: { a: 1, b: 1 },
    concurrency: 4,
    abort: { failureShare: 0.2, minFinished: 3, byOutcome: { rejected: 0 } },
  };
  const ref = { name: 'fw-t', version: 7 };

  test('the run gives ID and targets, its params win over the defaults, its overrides over the fields, abort field by field; the template is recorded, its description and schema are not', () => {
    const spec = rolloutSpecFromTemplate(ref, body, {
      rolloutId: 'r1',
      targets: ['d1', 'd2'],
      params: { b: 2 },
      overrides: { concurrency: 9, abort: { minFinished: 1 } },
    });
    expect(spec).toEqual({
      name: 'fw',
      params: { a: 1, b: 2 },
      concurrency: 9,
      abort: { failureShare: 0.2, minFinished: 1, byOutcome: { rejected: 0 } },
      rolloutId: 'r1',
      targets: ['d1', 'd2'],
      template: ref,
    });
    expect(RolloutSpec.safeParse(spec).success).toBe(true);
  });

  test('without overrides the spec is the template as written (the rollout fills in its own defaults)', () => {
    const parsed = RolloutSpec.parse(rolloutSpecFromTemplate(ref, { name: 'fw' }, { rolloutId: 'r1', targets: ['d1'] }));
    const plain = RolloutSpec.parse({ name: 'fw', rolloutId: 'r1', targets: ['d1'] });
    expect(parsed).toEqual({ ...plain, template: ref });
  });
});

describe("the template workflow's versions (template-versions)", () => {
  test('refuses what it must not keep, with the reason', () => {
    expect(addRequestProblem({ body: { name: 'fw' } })).toBeUndefined();
    expect(addRequestProblem(null)).toBe('the request must be {body, note?}');
    expect(addRequestProblem({ body: [] })).toBe('body must be a JSON object (a rollout template)');
    expect(addRequestProblem({ body: { name: 'a b' } })).toContain('body.name must be the command name');
    expect(addRequestProblem({ body: { name: 'fw', x: 'y'.repeat(MAX_TEMPLATE_BYTES) } })).toContain(`a template is at most ${MAX_TEMPLATE_BYTES}`);
    expect(addRequestProblem({ body: { name: 'fw' }, note: 'n'.repeat(201) })).toContain('note must be text of at most 200');
  });

  test(`numbers versions from 1, adds nothing for a repeat of the latest, keeps the last ${MAX_TEMPLATE_VERSIONS_KEPT}`, () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 60 }), (concurrencies) => {
        let view = newTemplateView('t');
        let expected = 0;
        let last: number | undefined;
        for (const c of concurrencies) {
          const { view: next, result } = addVersion(view, { body: { name: 'fw', concurrency: c } }, '2026-12-06T00:00:00Z');
          if (c !== last) expected++;
          expect(result).toEqual({ version: expected, unchanged: c === last });
          last = c;
          view = next;
        }
        expect(view.latestVersion).toBe(expected);
        expect(view.versions.map((v) => v.version)).toEqual(
          Array.from({ length: Math.min(expected, MAX_TEMPLATE_VERSIONS_KEPT) }, (_, i) => expected - Math.min(expected, MAX_TEMPLATE_VERSIONS_KEPT) + i + 1),
        );
      }),
    );
  });
});

describe('params against a template params schema (template-params)', () => {
  const schema = {
    type: 'object',
    properties: { level: { type: 'integer', maximum: 5 }, url: { type: 'string', format: 'uri' } },
    required: ['level'],
    additionalProperties: false,
  };
  test('lists every problem, one line each, and none when the params match', () => {
    expect(paramsProblems(schema, { level: 3, url: 'https://x.example/a' })).toEqual([]);
    expect(paramsProblems(schema, { url: 'nope', extra: 1 })).toEqual([
      "params: must have required property 'level'",
      'params: must NOT have additional properties (extra)',
      'params/url: must match format "uri"',
    ]);
  });
  test('a schema with a misspelt keyword, or the same $id twice in one process, is handled', () => {
    expect(paramsProblems({ type: 'object', maxProperties: 'x' }, {})[0]).toContain('paramsSchema is not a usable JSON Schema');
    const withId = { $id: 'https://dco.example/p', type: 'object' };
    expect(paramsProblems(withId, {})).toEqual([]);
    expect(paramsProblems(withId, {})).toEqual([]);
  });
});

describe('the example template in docs/examples', () => {
  test('is a valid template, and its params schema takes the README example params', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const example = require('../../docs/examples/firmware-update.template.json') as { paramsSchema: Record<string, unknown>; params: Record<string, unknown> };
    expect(problems(example)).toEqual([]);
    expect(paramsProblems(example.paramsSchema, { ...example.params, version: '2.1', url: 'https://fw.example/2.1.bin' })).toEqual([]);
    expect(paramsProblems(example.paramsSchema, { ...example.params, version: 'latest' })).toEqual([
      "params: must have required property 'url'",
      'params/version: must match pattern "^[0-9]+\\.[0-9]+(\\.[0-9]+)?$"',
    ]);
  });
});
