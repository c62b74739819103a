import { allHandlersFinished, condition, continueAsNew, setCurrentDetails, setHandler, upsertMemo, workflowInfo } from '@temporalio/workflow';
import { addTemplateVersionUpdate, templateQuery, type TemplateMemo, type TemplateView, type TemplateWorkflowInput } from '../protocol/template-contract';
import { addRequestProblem, addVersion, newTemplateView } from './template-versions';

/**
 * Continue-as-new well before Temporal's limits: each added version is an update (a handful of
 * events), so a run holds a few hundred versions' worth of history; the kept bodies carry over.
 */
const MAX_EVENTS_PER_RUN = 2_000;

/**
 * `template-<name>`: one rollout template's versions, kept for as long as it runs (forever, like
 * a device entity). Versions are added by an update, so the caller learns the version number it
 * made; the memo names the command and the latest version for `dco template list`.
 */
export async function rolloutTemplateWorkflow(input: TemplateWorkflowInput): Promise<void> {
  let view: TemplateView = input.carried ?? newTemplateView(input.name);
  setHandler(templateQuery, () => view);
  setHandler(
    addTemplateVersionUpdate,
    (req) => {
      const { view: next, result } = addVersion(view, req, new Date().toISOString());
      if (!result.unchanged) {
        view = next;
        show(view);
      }
      return result;
    },
    {
      validator: (req) => {
        const problem = addRequestProblem(req);
        if (problem) throw new Error(`template ${view.name}: ${problem}`);
      },
    },
  );
  show(view);
  await condition(() => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength >= MAX_EVENTS_PER_RUN);
  await condition(allHandlersFinished);
  await continueAsNew<typeof rolloutTemplateWorkflow>({ name: view.name, carried: view });
}

function show(view: TemplateView): void {
  const latest = view.versions[view.versions.length - 1];
  if (!latest) {
    setCurrentDetails(`Template ${view.name}: no version yet.`);
    return;
  }
  const memo: TemplateMemo = {
    command: String(latest.body.name),
    latestVersion: view.latestVersion,
    updatedAt: latest.addedAt,
    ...(typeof latest.body.description === 'string' ? { description: latest.body.description } : {}),
  };
  upsertMemo({ template: memo });
  setCurrentDetails(
    `Template ${view.name}, version ${view.latestVersion} (added ${latest.addedAt}${latest.note ? `: ${latest.note}` : ''}): ` +
      `command \`${memo.command}\`. Versions kept: ${view.versions.map((v) => v.version).join(', ')}.`,
  );
}
