/** The workflow's clock as an ISO timestamp (deterministic: Date in workflow code is the task's time). */
export function now(): string {
  return new Date().toISOString();
}
