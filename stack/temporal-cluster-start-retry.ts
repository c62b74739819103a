/** Tries at a server start before its failure is the caller's. */
export const START_ATTEMPTS = 3;

/**
 * Whether a server start that failed is worth another try, from the new lines of its logs:
 * - a port we picked, taken before the server bound it (a clash on a port the caller chose is
 *   theirs to see);
 * - separate services on a fresh database: each process writes the cluster's first metadata
 *   record, and all but one lose and exit (a version mismatch error, or the write simply not
 *   applied: "Failed to apply cluster metadata"). The record is there for the
 *   next try, so that one cannot lose again.
 */
export function startWorthRetrying(log: string, callerPorts: readonly number[]): boolean {
  const clash = /address already in use/i.test(log) && !callerPorts.some((port) => log.includes(`:${port}`));
  return clash || /SaveClusterMetadata encountered version mismatch|Failed to apply cluster metadata/.test(log);
}
