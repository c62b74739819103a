import { readdirSync, readFileSync } from 'node:fs';

/** Peak resident memory (VmHWM) of a process in MB, from /proc; undefined if unavailable. */
export function peakRssMb(pid: number): number | undefined {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmHWM:'));
    return line ? Math.round(Number(line.split(/\s+/)[1]) / 1024) : undefined;
  } catch {
    return undefined;
  }
}

/** CPU seconds (user + system) a process has used so far, from /proc; undefined if unavailable. */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    // utime and stime are fields 14 and 15 of /proc/<pid>/stat (11 and 12 after the command name).
    return (Number(fields[11]) + Number(fields[12])) / 100;
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

/**
 * CPU seconds of a process and all its descendants: PostgreSQL runs a process per connection.
 * Each process counts its own time and that of its children it has reaped (cutime, cstime),
 * so a backend that ended between two readings is still counted (by its parent), once.
 */
export function treeCpuSeconds(root: number): number | undefined {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(Number(entry));
    if (!fields) continue;
    const ppid = Number(fields[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
  }
  if (!statFields(root)) return undefined;
  let total = 0;
  const queue = [root];
  while (queue.length) {
    const pid = queue.pop()!;
    const f = statFields(pid);
    // utime, stime, cutime, cstime: fields 14-17 of /proc/<pid>/stat (11-14 after the command name).
    if (f) total += (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / 100;
    queue.push(...(children.get(pid) ?? []));
  }
  return total;
}
