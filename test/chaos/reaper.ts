import { readFileSync } from 'node:fs';

/**
 * Every child process a chaos run starts is registered here, so that nothing outlives the run:
 * on a normal end, an error, Ctrl-C or SIGTERM, each is killed with SIGKILL (its whole process
 * group when it has its own). Killing is synchronous, so it also works from an 'exit' handler.
 */
const children = new Map<number, { group: boolean; name: string }>();

export function trackChild(pid: number | undefined, name: string, group: boolean): void {
  if (pid) children.set(pid, { group, name });
}

export function untrackChild(pid: number | undefined): void {
  if (pid) children.delete(pid);
}

/** SIGKILLs every tracked child (and its group); returns how many were still there. */
export function killAllChildren(): number {
  let killed = 0;
  for (const [pid, { group }] of children) {
    try {
      process.kill(group ? -pid : pid, 'SIGKILL');
      killed++;
    } catch {
      // already gone
    }
  }
  children.clear();
  return killed;
}

let installed = false;

/**
 * For a command-line run: kill the children on exit, on Ctrl-C / SIGTERM (then exit 130 / 143)
 * and on an uncaught error (then exit 1). Tests call killAllChildren() themselves.
 */
export function installReaper(onSignal: (signal: NodeJS.Signals) => void = () => {}): void {
  if (installed) return;
  installed = true;
  process.on('exit', () => killAllChildren());
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const) {
    process.on(signal, () => {
      onSignal(signal);
      const n = killAllChildren();
      process.stderr.write(`\n${signal}: stopped ${n} child process(es); exiting\n`);
      process.exit(code);
    });
  }
  // `npm run` does not pass a SIGTERM on to its child: if a parent (npm, the shell) dies, stop too.
  const ancestors = ancestorPids(3);
  const watch = setInterval(() => {
    if (ancestors.some((pid) => !isAlive(pid))) {
      onSignal('SIGTERM');
      const n = killAllChildren();
      process.stderr.write(`\nthe parent process went away: stopped ${n} child process(es); exiting\n`);
      process.exit(143);
    }
  }, 2_000);
  watch.unref();
  const fatal = (err: unknown) => {
    process.stderr.write(`fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    killAllChildren();
    process.exit(1);
  };
  process.on('uncaughtException', fatal);
  process.on('unhandledRejection', fatal);
}

/** This process's parent, grandparent, … (Linux /proc; empty elsewhere), never init. */
function ancestorPids(levels: number): number[] {
  const out: number[] = [];
  let pid = process.ppid;
  for (let i = 0; i < levels && pid > 1; i++) {
    out.push(pid);
    try {
      // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may contain spaces, so split after ')'.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      pid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    } catch {
      break;
    }
  }
  return out;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
