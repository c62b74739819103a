import { ActivityFailure, ApplicationFailure, isCancellation } from '@temporalio/workflow';

/** The message of a failure's cause when it has one (an activity's own error), else its own. */
export function failureMessage(err: Error): string {
  return (err.cause as Error | undefined)?.message ?? err.message;
}

/**
 * A publish that failed for good, or undefined for anything else (cancellation, bugs). A
 * regular activity's final failure arrives as an ActivityFailure around the activity's
 * ApplicationFailure; a local activity's arrived as the bare ApplicationFailure (SDK 1.24: that
 * is how an expired command once failed its workflow with "command ... expired at ...").
 */
export function publishFailure(err: unknown): { type?: string; message: string } | undefined {
  if (isCancellation(err)) return undefined;
  if (err instanceof ActivityFailure) {
    const type = err.cause instanceof ApplicationFailure ? (err.cause.type ?? undefined) : undefined;
    return { type, message: failureMessage(err) };
  }
  if (err instanceof ApplicationFailure) return { type: err.type ?? undefined, message: err.message };
  return undefined;
}
