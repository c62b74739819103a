import { defineQuery, defineUpdate } from '@temporalio/workflow';

/**
 * Rollout templates (`dco template add|list|show`, `dco rollout start --template`): named,
 * versioned campaign definitions kept by one long-running workflow per name, so they are as
 * durable as the rollouts themselves and need no other store. The body's shape is checked by
 * the client (protocol/rollout-template.ts, zod); the workflow only bounds what it keeps.
 */

export const TEMPLATE_WORKFLOW_TYPE = 'rolloutTemplateWorkflow';

export function templateWorkflowId(name: string): string {
  return `template-${name}`;
}

/** A body is a rollout spec without its targets: a few hundred bytes usually; this bounds what one caller can make the workflow keep. */
export const MAX_TEMPLATE_BYTES = 64 * 1024;
/**
 * Versions whose body the workflow keeps (older ones are listed as dropped). A rollout made from
 * a template records the whole spec in its own history, so dropping an old body loses nothing
 * about what was sent; it bounds the workflow's state at 20 x 64 KB.
 */
export const MAX_TEMPLATE_VERSIONS_KEPT = 20;
/** A version's note: a line of why (like a commit message's subject). */
export const MAX_TEMPLATE_NOTE_LENGTH = 200;

export interface TemplateVersion {
  version: number;
  /** ISO time the version was added (workflow time). */
  addedAt: string;
  note?: string;
  /** As given by its author (defaults not filled in), checked against RolloutTemplate when added. */
  body: Record<string, unknown>;
}

/** What `templateQuery` returns: the kept versions, oldest first. */
export interface TemplateView {
  name: string;
  latestVersion: number;
  versions: TemplateVersion[];
}

/** On the workflow's memo, so `dco template list` needs one visibility call and no query per template. */
export interface TemplateMemo {
  command: string;
  latestVersion: number;
  description?: string;
  updatedAt: string;
}

export interface AddTemplateVersionRequest {
  body: Record<string, unknown>;
  note?: string;
}

/** `unchanged`: the body equals the latest version's, so no version was added (a retried add is harmless). */
export interface AddTemplateVersionResult {
  version: number;
  unchanged: boolean;
}

export const addTemplateVersionUpdate = defineUpdate<AddTemplateVersionResult, [AddTemplateVersionRequest]>('addTemplateVersion');
export const templateQuery = defineQuery<TemplateView>('template');

export interface TemplateWorkflowInput {
  name: string;
  /** Continue-as-new: the versions so far. */
  carried?: TemplateView;
}
