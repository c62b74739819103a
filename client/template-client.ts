import { Client, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { z } from 'zod';
import { COMMAND_TASK_QUEUE } from '../protocol/command-contract';
import { RolloutTemplate, rolloutSpecFromTemplate, TemplateName, type TemplateRun } from '../protocol/rollout-template';
import type { RolloutSpecInput } from '../protocol/rollout-spec';
import {
  addTemplateVersionUpdate,
  TEMPLATE_WORKFLOW_TYPE,
  templateQuery,
  templateWorkflowId,
  type AddTemplateVersionResult,
  type TemplateMemo,
  type TemplateVersion,
  type TemplateView,
} from '../protocol/template-contract';
import type { rolloutTemplateWorkflow } from '../workflows/rollout-template-workflow';
import { InvalidRequestError } from './errors';
import { compileParamsSchema, paramsProblems } from './template-params';

/** No template by that name, or not that version of it (the message says which versions exist). */
export class TemplateNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateNotFoundError';
  }
}

const custom = (message: string, path: PropertyKey[] = []): z.core.$ZodIssue => ({ code: 'custom', message, path, input: undefined });

export interface TemplateSummary extends TemplateMemo {
  name: string;
}

/** Rollout templates: named, versioned rollout definitions (protocol/template-contract.ts). */
export class TemplateClient {
  constructor(
    private readonly temporal: Client,
    private readonly taskQueue = COMMAND_TASK_QUEUE,
  ) {}

  /**
   * Stores `body` as the template's next version (the first one creates the template). Checked
   * first, whole: the rollout fields, the rules across them, and the params schema with the
   * template's default params. The same body as the latest version adds nothing.
   */
  async add(name: string, body: unknown, note?: string): Promise<AddTemplateVersionResult> {
    const checkedName = TemplateName.safeParse(name);
    if (!checkedName.success) throw new InvalidRequestError(checkedName.error.issues);
    const parsed = RolloutTemplate.safeParse(body);
    if (!parsed.success) throw new InvalidRequestError(parsed.error.issues);
    const given = body as RolloutTemplate;
    if (given.paramsSchema) {
      const compiled = compileParamsSchema(given.paramsSchema);
      if (!compiled.ok) throw new InvalidRequestError([custom(compiled.reason, ['paramsSchema'])]);
    }
    const handle = await this.temporal.workflow.start(TEMPLATE_WORKFLOW_TYPE, {
      workflowId: templateWorkflowId(name),
      taskQueue: this.taskQueue,
      args: [{ name }],
      workflowIdConflictPolicy: 'USE_EXISTING',
      staticSummary: `rollout template ${name}`,
    });
    try {
      // The body as given, not zod's output: defaults stay the rollout's, not frozen into the template.
      return await handle.executeUpdate(addTemplateVersionUpdate, {
        args: [{ body: given as Record<string, unknown>, ...(note !== undefined ? { note } : {}) }],
      });
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) throw new InvalidRequestError([custom(err.cause?.message ?? err.message)]);
      throw err;
    }
  }

  /** Every template with at least one version, by name: one visibility listing (the memo). */
  async list(): Promise<TemplateSummary[]> {
    const out: TemplateSummary[] = [];
    const query = `WorkflowType = '${TEMPLATE_WORKFLOW_TYPE}' AND ExecutionStatus = 'Running'`;
    for await (const wf of this.temporal.workflow.list({ query })) {
      const memo = wf.memo?.template as TemplateMemo | undefined;
      if (memo && memo.latestVersion > 0) out.push({ name: wf.workflowId.replace(/^template-/, ''), ...memo });
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  /** All kept versions of a template, oldest first. */
  async versions(name: string): Promise<TemplateView> {
    const checkedName = TemplateName.safeParse(name);
    if (!checkedName.success) throw new InvalidRequestError(checkedName.error.issues);
    try {
      const view = await this.temporal.workflow.getHandle<typeof rolloutTemplateWorkflow>(templateWorkflowId(name)).query(templateQuery);
      if (view.latestVersion === 0)
        throw new TemplateNotFoundError(`template ${name} has no version yet: add one with \`dco template add ${name} --file FILE\``);
      return view;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw new TemplateNotFoundError(`no template named ${name} (\`dco template list\` shows them)`);
      throw err;
    }
  }

  /** One version of a template: the latest when `version` is not given. */
  async show(name: string, version?: number): Promise<TemplateVersion & { name: string; latestVersion: number }> {
    const view = await this.versions(name);
    const wanted = version ?? view.latestVersion;
    const found = view.versions.find((v) => v.version === wanted);
    if (!found) {
      const kept = view.versions.map((v) => v.version);
      const why = wanted > view.latestVersion ? `its latest is ${view.latestVersion}` : `only versions ${kept[0]}-${kept[kept.length - 1]} are kept`;
      throw new TemplateNotFoundError(`template ${name} has no version ${wanted}: ${why}`);
    }
    return { name, latestVersion: view.latestVersion, ...found };
  }

  /**
   * The rollout spec for one run of a template (the latest version unless `version` is given):
   * `RolloutClient.start` takes it as it is. Params are merged over the template's defaults and
   * checked against its params schema; the template's name and version are recorded in it.
   */
  async rolloutSpec(name: string, run: TemplateRun, version?: number): Promise<RolloutSpecInput> {
    const found = await this.show(name, version);
    const body = found.body as RolloutTemplate;
    const spec = rolloutSpecFromTemplate({ name, version: found.version }, body, run);
    if (body.paramsSchema) {
      const problems = paramsProblems(body.paramsSchema, spec.params ?? {});
      if (problems.length) {
        throw new InvalidRequestError(
          problems.map((p) =>
            custom(`${p} (template ${name} version ${found.version} says what its params must be: \`dco template show ${name}\`)`, ['params']),
          ),
        );
      }
    }
    return spec;
  }
}
