import { existsSync, readFileSync, statSync } from 'node:fs';

/**
 * The logs of the processes we start are appended to across restarts: a start remembers the
 * size before it (logSize) and reads only what came after (logSince, logTail), so an error
 * shows this start's last words, not an earlier run's.
 */
export function logSize(file: string): number {
  return existsSync(file) ? statSync(file).size : 0;
}

export function logSince(file: string, offset: number): string {
  return existsSync(file) ? readFileSync(file).subarray(offset).toString('utf8') : '';
}

/** The last `lines` lines written since `offset`, for an error message. */
export function logTail(file: string, offset: number, lines = 10): string {
  return logSince(file, offset).trim().split('\n').slice(-lines).join('\n');
}
