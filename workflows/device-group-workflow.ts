import { condition, continueAsNew, setCurrentDetails, setHandler, upsertMemo, workflowInfo, allHandlersFinished } from '@temporalio/workflow';
import {
  defineGroupUpdate,
  deleteGroupSignal,
  GROUP_MEMO,
  groupQuery,
  MAX_GROUP_DESCRIPTION_LENGTH,
  type GroupView,
  type GroupWorkflowInput,
} from '../protocol/device-group-contract';
import { deviceQueryProblem } from '../protocol/device-query';

/** Definitions change rarely; a run holds this many events before it continues as new. */
const MAX_EVENTS_PER_RUN = 2_000;

/**
 * `group-<name>`: a device group's definition (device-group-contract.ts), for `dco group list`
 * and `show` and for rollouts that target the group. It runs until the group is deleted.
 */
export async function deviceGroupWorkflow(input: GroupWorkflowInput & { carried?: GroupView }): Promise<GroupView | undefined> {
  let view: GroupView | undefined = input.carried;
  let deleted = false;
  setHandler(groupQuery, () => view ?? { name: input.name, createdAt: '', updatedAt: '' });
  setHandler(
    defineGroupUpdate,
    (def) => {
      const now = new Date().toISOString();
      view = {
        name: input.name,
        ...(def.description ? { description: def.description } : {}),
        ...(def.where ? { where: def.where } : {}),
        createdAt: view?.createdAt ?? now,
        updatedAt: now,
      };
      upsertMemo({ [GROUP_MEMO]: view });
      setCurrentDetails(describe(view));
      return view;
    },
    {
      validator: (def) => {
        if (typeof def !== 'object' || def === null) throw new Error('a group definition is {description?, where?}');
        if (def.description !== undefined && (typeof def.description !== 'string' || def.description.length > MAX_GROUP_DESCRIPTION_LENGTH)) {
          throw new Error(`description must be text of at most ${MAX_GROUP_DESCRIPTION_LENGTH} characters`);
        }
        const problem = def.where === undefined ? undefined : deviceQueryProblem(def.where);
        if (problem) throw new Error(`where: ${problem}`);
      },
    },
  );
  setHandler(deleteGroupSignal, () => void (deleted = true));
  if (view) setCurrentDetails(describe(view));
  await condition(() => deleted || workflowInfo().continueAsNewSuggested || workflowInfo().historyLength >= MAX_EVENTS_PER_RUN);
  await condition(allHandlersFinished);
  if (deleted) return view;
  return continueAsNew<typeof deviceGroupWorkflow>({ name: input.name, ...(view ? { carried: view } : {}) });
}

function describe(v: GroupView): string {
  const kind = v.where ? `devices matching \`${v.where}\`` : `devices assigned to it (\`DeviceGroups = '${v.name}'\`)`;
  return `Group ${v.name}: ${kind}.${v.description ? ` ${v.description}` : ''} Defined ${v.createdAt}, changed ${v.updatedAt}.`;
}
