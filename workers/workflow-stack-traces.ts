/**
 * Whether the workflow threads record a stack trace for every promise workflow code creates.
 *
 * The Temporal SDK does so for the stack trace query (the Web UI's "Stack Trace" tab,
 * `temporal workflow stack`), whether anyone asks or not: for each promise it compiles a small
 * function to find the workflow, captures an Error stack and maps every frame through the
 * bundle's source map. That was about a quarter of the worker's CPU for a device command
 * (`npm run bench`; docs/operations.md, "The worker's share"), and the SDK has no option for it
 * (sdk-typescript#1587). Our patch of the SDK (patches/, applied by `npm ci`) reads
 * TEMPORAL_WORKFLOW_STACK_TRACES: `off` leaves the hook out, as the SDK itself does where Node
 * has no promise hooks; the stack trace query then answers that stack traces are disabled.
 *
 * A command says where it waits without it: its current details (the Web UI's summary) and its
 * `CommandState`. Turn traces on for a worker that is being debugged.
 */
export const WORKFLOW_STACK_TRACES_ENV = 'TEMPORAL_WORKFLOW_STACK_TRACES';

/**
 * Sets the switch for the workflow threads this process starts from now on: they copy the
 * environment when they are created (Worker.create), so call it before creating workers.
 */
export function setWorkflowStackTraces(enabled: boolean, env: NodeJS.ProcessEnv = process.env): void {
  env[WORKFLOW_STACK_TRACES_ENV] = enabled ? 'on' : 'off';
}
