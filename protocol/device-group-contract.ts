import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';

/**
 * Named device groups (`dco group`, `dco rollout start --group NAME`), like AWS IoT's thing
 * groups. A group is either
 *  - assigned: devices are put in it by name (`dco group assign`); each member's entity keeps
 *    the label and shows it as the `DeviceGroups` search attribute, so the group is the query
 *    `DeviceGroups = '<name>'` and a continuous rollout of the group reaches devices assigned
 *    later; or
 *  - a query: a saved device query (`--where`), evaluated when used.
 * Each group has a small workflow, `group-<name>`, that keeps its definition (for `list` and
 * `show`); membership lives with the devices, so a group of any size costs the group nothing.
 */

export const GROUP_WORKFLOW_TYPE = 'deviceGroupWorkflow';

export function groupWorkflowId(name: string): string {
  return `group-${name}`;
}

/** Groups one device may be in: bounds what one caller can make an entity keep and index. */
export const MAX_GROUPS_PER_DEVICE = 16;
export const MAX_GROUP_DESCRIPTION_LENGTH = 500;

export interface GroupDefinition {
  description?: string;
  /** A query group's device query; absent for an assigned group. */
  where?: string;
}

export interface GroupView extends GroupDefinition {
  name: string;
  createdAt: string;
  updatedAt: string;
}

/** On the workflow's memo, so `dco group list` is one visibility call. */
export const GROUP_MEMO = 'group';

export const defineGroupUpdate = defineUpdate<GroupView, [GroupDefinition]>('defineGroup');
export const groupQuery = defineQuery<GroupView>('group');
/** Ends the group's workflow (the client checks first that no device is still assigned). */
export const deleteGroupSignal = defineSignal('deleteGroup');

export interface GroupWorkflowInput {
  name: string;
}

/** Sent to a device's entity: put it in these groups, take it out of those. Idempotent. */
export interface DeviceGroupsChange {
  add?: string[];
  remove?: string[];
}
export const deviceGroupsSignal = defineSignal<[DeviceGroupsChange]>('deviceGroups');

/** The device query of an assigned group's members. */
export function assignedGroupQuery(name: string): string {
  return `DeviceGroups = '${name}'`;
}
