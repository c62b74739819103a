import pMap from 'p-map';
import { Client, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { z } from 'zod';
import { signalDeviceEntity } from './signal-device-entity';
import { COMMAND_TASK_QUEUE } from '../protocol/command-contract';
import { DEVICE_WORKFLOW_TYPE, deviceTaskQueue } from '../protocol/device-contract';
import {
  assignedGroupQuery,
  defineGroupUpdate,
  deleteGroupSignal,
  deviceGroupsSignal,
  GROUP_MEMO,
  GROUP_WORKFLOW_TYPE,
  groupQuery,
  groupWorkflowId,
  type GroupDefinition,
  type GroupView,
} from '../protocol/device-group-contract';
import { deviceQueryProblem } from '../protocol/device-query';
import { GROUP_NAME_PATTERN } from '../protocol/id-patterns';
import { DeviceId } from '../protocol/ids';
import type { deviceGroupWorkflow } from '../workflows/device-group-workflow';
import { devicesMatching, entitiesWhere } from './devices-matching';
import { InvalidRequestError } from './errors';

export const GroupName = z.string().regex(GROUP_NAME_PATTERN, 'a group name is 1-63 characters of A-Z a-z 0-9 _ -, starting with a letter or digit');

/** No group by that name. */
export class GroupNotFoundError extends Error {
  constructor(name: string) {
    super(`no group named ${name} (\`dco group list\` shows them; \`dco group create ${name}\` makes one)`);
    this.name = 'GroupNotFoundError';
  }
}

/** What was asked does not fit the group (assigning to a query group, deleting a group with members...): the message says why. */
export class GroupRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GroupRefusedError';
  }
}

const issue = (message: string, path: PropertyKey[] = []): z.core.$ZodIssue => ({ code: 'custom', message, path, input: undefined });

/** Entity signals in flight at once when assigning many devices: steady, and gentle on Temporal. */
const ASSIGN_PARALLELISM = 16;

/** Device groups (protocol/device-group-contract.ts): define, list, assign, resolve to devices. */
export class GroupClient {
  constructor(
    private readonly temporal: Client,
    private readonly taskQueue = COMMAND_TASK_QUEUE,
  ) {}

  private checkName(name: string): void {
    const parsed = GroupName.safeParse(name);
    if (!parsed.success) throw new InvalidRequestError(parsed.error.issues);
  }

  /** Creates the group, or changes its description or query. A group with assigned devices cannot become a query group. */
  async define(name: string, def: GroupDefinition): Promise<GroupView> {
    this.checkName(name);
    const problem = def.where === undefined ? undefined : deviceQueryProblem(def.where);
    if (problem) throw new InvalidRequestError([issue(problem, ['where'])]);
    if (def.where !== undefined) {
      const members = await this.temporal.workflow.count(`WorkflowType = '${DEVICE_WORKFLOW_TYPE}' AND ${assignedGroupQuery(name)}`);
      if (members.count > 0)
        throw new GroupRefusedError(
          `group ${name} has ${members.count} assigned devices; a group is either assigned devices or a query (\`dco group unassign ${name} --all\` first)`,
        );
    }
    const handle = await this.temporal.workflow.start(GROUP_WORKFLOW_TYPE, {
      workflowId: groupWorkflowId(name),
      taskQueue: this.taskQueue,
      args: [{ name }],
      workflowIdConflictPolicy: 'USE_EXISTING',
      staticSummary: `device group ${name}`,
    });
    try {
      return await handle.executeUpdate(defineGroupUpdate, { args: [def] });
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) throw new InvalidRequestError([issue(err.cause?.message ?? err.message)]);
      throw err;
    }
  }

  async get(name: string): Promise<GroupView> {
    this.checkName(name);
    const handle = this.temporal.workflow.getHandle<typeof deviceGroupWorkflow>(groupWorkflowId(name));
    try {
      const { status } = await handle.describe();
      if (status.name !== 'RUNNING') throw new GroupNotFoundError(name);
      const view = await handle.query(groupQuery);
      if (!view.createdAt) throw new GroupNotFoundError(name);
      return view;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw new GroupNotFoundError(name);
      throw err;
    }
  }

  /** Every group, by name, from visibility (the memo). */
  async list(): Promise<GroupView[]> {
    const out: GroupView[] = [];
    for await (const wf of this.temporal.workflow.list({ query: `WorkflowType = '${GROUP_WORKFLOW_TYPE}' AND ExecutionStatus = 'Running'` })) {
      const view = wf.memo?.[GROUP_MEMO] as GroupView | undefined;
      if (view) out.push(view);
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  /** The device query of a group: its own for a query group, `DeviceGroups = '<name>'` for an assigned one. */
  async queryOf(name: string): Promise<string> {
    const view = await this.get(name);
    return view.where ?? assignedGroupQuery(name);
  }

  /** The group's devices now, sorted (from visibility: it may lag a moment). */
  async members(name: string): Promise<string[]> {
    return devicesMatching(this.temporal, await this.queryOf(name));
  }

  /**
   * How many devices the group has now: one visibility count, from the group's listed view (no
   * query to the group itself, so a group whose workflow cannot answer does not stop a listing).
   */
  async memberCount(view: Pick<GroupView, 'name' | 'where'>): Promise<number> {
    const { count } = await this.temporal.workflow.count(entitiesWhere(view.where ?? assignedGroupQuery(view.name)));
    return count;
  }

  /**
   * Puts devices in an assigned group: each device's entity keeps the label (created if the
   * device never reported). Idempotent. `onProgress` after each device.
   */
  async assign(name: string, deviceIds: readonly string[], onProgress?: (done: number) => void): Promise<void> {
    await this.changeMembers(name, deviceIds, { add: [name] }, onProgress);
  }

  /** Takes devices out of an assigned group; `'all'` takes out every member. */
  async unassign(name: string, deviceIds: readonly string[] | 'all', onProgress?: (done: number) => void): Promise<string[]> {
    const ids = deviceIds === 'all' ? await devicesMatching(this.temporal, assignedGroupQuery(name)) : deviceIds;
    await this.changeMembers(name, ids, { remove: [name] }, onProgress);
    return [...ids];
  }

  /** Ends the group, and returns once it has ended. Refused while devices are assigned to it (their labels would outlive it). */
  async delete(name: string): Promise<void> {
    const view = await this.get(name);
    if (!view.where) {
      const members = await this.temporal.workflow.count(`WorkflowType = '${DEVICE_WORKFLOW_TYPE}' AND ${assignedGroupQuery(name)}`);
      if (members.count > 0)
        throw new GroupRefusedError(`group ${name} still has ${members.count} assigned devices: \`dco group unassign ${name} --all\` first`);
    }
    const handle = this.temporal.workflow.getHandle(groupWorkflowId(name));
    await handle.signal(deleteGroupSignal);
    await handle.result(); // gone once this returns: `get` and `list` no longer see it
  }

  private async changeMembers(
    name: string,
    deviceIds: readonly string[],
    change: { add?: string[]; remove?: string[] },
    onProgress?: (done: number) => void,
  ): Promise<void> {
    const view = await this.get(name);
    if (view.where) throw new GroupRefusedError(`group ${name} is a query (\`${view.where}\`): its devices are those that match, not assigned ones`);
    const bad = deviceIds.filter((d) => !DeviceId.safeParse(d).success);
    if (bad.length)
      throw new InvalidRequestError([
        issue(`not device IDs: ${bad.slice(0, 10).join(', ')}${bad.length > 10 ? ` and ${bad.length - 10} more` : ''}`, ['deviceIds']),
      ]);
    let done = 0;
    // The first failure stops starting more (stopOnError) and is what the caller sees.
    await pMap(
      deviceIds,
      async (deviceId) => {
        await signalDeviceEntity(this.temporal, deviceId, deviceTaskQueue(this.taskQueue), deviceGroupsSignal, change);
        onProgress?.(++done);
      },
      { concurrency: ASSIGN_PARALLELISM },
    );
  }
}
