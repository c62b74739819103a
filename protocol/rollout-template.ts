import { z } from 'zod';
import { TEMPLATE_NAME_PATTERN } from './id-patterns';
import { CommandName } from './ids';
import { jsonByteLength } from './json-size';
import { RolloutSpec, RolloutSpecFields, type RolloutSpecInput } from './rollout-spec';
import { MAX_TEMPLATE_BYTES } from './template-contract';

/**
 * A rollout template's body: a rollout spec without what belongs to one run (its ID, its
 * targets, its start and end times), plus a description and a JSON Schema for the command's
 * parameters. `name` (the command) is required; everything else falls back to the rollout's
 * defaults when a rollout is made from it, and any flag given at that time wins.
 */

export const TemplateName = z.string().regex(TEMPLATE_NAME_PATTERN, 'a template name is 1-63 characters of A-Z a-z 0-9 _ -, starting with a letter or digit');

/** Per run, never in a template: which devices (a list, or a continuous query), when, and under which ID. */
const PER_RUN = { rolloutId: true, targets: true, startAt: true, endAt: true, endBehaviour: true, template: true, continuous: true } as const;

export const RolloutTemplate = RolloutSpecFields.omit(PER_RUN)
  .partial()
  .extend({
    name: CommandName,
    description: z.string().max(500).optional(),
    /** A JSON Schema (draft 2020-12) the run's params must match, defaults included; checked by the client. */
    paramsSchema: z.record(z.string(), z.unknown()).optional(),
  })
  .strict()
  .superRefine((body, ctx) => {
    if (jsonByteLength(body) > MAX_TEMPLATE_BYTES) ctx.addIssue({ code: 'custom', message: `a template is at most ${MAX_TEMPLATE_BYTES} bytes of JSON` });
    // Rules that span fields (a rate ramp needs a rate, approval gates within the waves...):
    // checked on a spec made of the body, with a placeholder ID and target.
    const trial = RolloutSpec.safeParse(specFields(body, { rolloutId: 'template-check', targets: ['template-check'] }));
    if (!trial.success) for (const issue of trial.error.issues) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
  });
export type RolloutTemplate = z.input<typeof RolloutTemplate>;

/** What a run of a template adds: its ID and targets, params over the template's, and any field to override. */
export interface TemplateRun {
  rolloutId: string;
  targets: string[];
  params?: Record<string, unknown>;
  overrides?: Partial<Omit<RolloutSpecInput, 'rolloutId' | 'targets' | 'name' | 'params' | 'template'>>;
}

function specFields(body: RolloutTemplate, run: TemplateRun): RolloutSpecInput {
  const { description: _description, paramsSchema: _schema, params, abort, ...fields } = body;
  const overrides = run.overrides ?? {};
  const mergedAbort = abort || overrides.abort ? { ...abort, ...overrides.abort, byOutcome: overrides.abort?.byOutcome ?? abort?.byOutcome } : undefined;
  if (mergedAbort && mergedAbort.byOutcome === undefined) delete mergedAbort.byOutcome;
  return {
    ...fields,
    ...overrides,
    ...(mergedAbort ? { abort: mergedAbort } : {}),
    params: { ...params, ...run.params },
    rolloutId: run.rolloutId,
    targets: run.targets,
  } as RolloutSpecInput;
}

/**
 * The rollout spec (input) of one run of a template version: the template's fields, then the
 * run's overrides (a field given wins; `abort` is merged field by field), params merged over
 * the template's defaults, and the template's name and version recorded in the spec.
 */
export function rolloutSpecFromTemplate(ref: { name: string; version: number }, body: RolloutTemplate, run: TemplateRun): RolloutSpecInput {
  return { ...specFields(body, run), template: { name: ref.name, version: ref.version } };
}
