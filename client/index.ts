/**
 * The client of dco for services (the `@dco/client` package, built by scripts/pack-client.ts): send
 * device commands and run rollouts through Temporal, typed and validated. One entry point,
 * `DcoClient`, with the rollouts as `client.rollouts` (like the Temporal SDK's `Client`).
 */
export { DcoClient, CommandHandle, type DcoClientOptions } from './dco-client';
export { CommandConflictError, InvalidRequestError } from './errors';
export { RolloutClient, RolloutHandle, ApprovalRefusedError, NothingToRetryError, RolloutStillRunningError, isFinal } from './rollout-client';
export { GroupClient, GroupNotFoundError, GroupRefusedError } from './group-client';
export type { GroupDefinition, GroupView } from '../protocol/device-group-contract';
export { TemplateClient, TemplateNotFoundError, type TemplateSummary } from './template-client';
export type { RolloutTemplate, TemplateRun } from '../protocol/rollout-template';
export type { TemplateVersion, TemplateView } from '../protocol/template-contract';
export { REPORT_STATES, type ReportState, type RolloutReportRow } from './rollout-report';
export type { SendRequestInput } from './send-request';
export type { CommandSnapshot, HistoryEntry } from '../protocol/command-contract';
export type { CommandState } from '../protocol/command-state';
export type { RolloutSpecInput } from '../protocol/rollout-spec';
export type { RolloutStatusView } from '../protocol/rollout-contract';
