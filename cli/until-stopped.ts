/** Resolves on Ctrl-C (SIGINT) or SIGTERM: how long-running commands wait for their end. */
export function untilStopped(): Promise<void> {
  return new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
}
