import { readdirSync, readFileSync } from 'node:fs';

/** Peak resident memory (VmHWM) of a process in MB, from /proc; undefined if unavailable. */
export function peakRssMb(pid: number): number | undefined {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('VmHWM:'));
    return line ? Math.round(Number(line.split(/\s+/)[1]) / 1024) : undefined;
  } catch {
    return undefined;
  }
}

/** Fields of /proc/<pid>/stat after the command name: [state, ppid, ...]; undefined once gone. */
function statFields(pid: number): string[] | undefined {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  } catch {
    return undefined;
  }
}

// utime, stime, cutime, cstime are fields 14-17 of /proc/<pid>/stat (11-14 after the command name), in ticks of 1/100 s.
const ownSeconds = (f: string[]) => (Number(f[11]) + Number(f[12])) / 100;
const reapedChildrenSeconds = (f: string[]) => (Number(f[13]) + Number(f[14])) / 100;

/** CPU seconds (user + system) a process has used so far, from /proc; undefined if unavailable. */
export function cpuSeconds(pid: number): number | undefined {
  const f = statFields(pid);
  return f ? ownSeconds(f) : undefined;
}

/**
 * CPU seconds of a process and all its descendants: PostgreSQL runs a process per connection.
 * Each process counts its own time and that of its children it has reaped (cutime, cstime),
 * so a backend that ended between two readings is still counted (by its parent), once.
 */
export function treeCpuSeconds(root: number): number | undefined {
  const stats = new Map<number, string[]>();
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(Number(entry));
    if (!fields) continue;
    stats.set(Number(entry), fields);
    const ppid = Number(fields[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
  }
  if (!stats.has(root)) return undefined;
  let total = 0;
  const queue = [root];
  while (queue.length) {
    const pid = queue.pop()!;
    const f = stats.get(pid)!;
    total += ownSeconds(f) + reapedChildrenSeconds(f);
    queue.push(...(children.get(pid) ?? []));
  }
  return total;
}
