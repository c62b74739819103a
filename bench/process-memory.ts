import { readFileSync } from 'node:fs';

/** Peak resident memory (VmHWM) of a process in MB, from /proc; undefined if unavailable. */
export function peakRssMb(pid: number): number | undefined {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmHWM:'));
    return line ? Math.round(Number(line.split(/\s+/)[1]) / 1024) : undefined;
  } catch {
    return undefined;
  }
}
