import type { ChildProcess } from 'node:child_process';

/**
 * Children in process groups of their own (ManagedProcessOptions.ownProcessGroup) do not get
 * the terminal's Ctrl-C, nor die with us. While a supervisor listens for the signal (`dco demo`,
 * `dco up`: they stop everything in order), it is theirs. Before that (a Ctrl-C during start-up)
 * or without one, we do what the shared group used to: end the children, then die of the signal.
 * And whatever way we exit, no child outlives us.
 */
const children = new Set<ChildProcess>();
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
let installed = false;

function endAll(signal: NodeJS.Signals): void {
  for (const child of children) child.kill(signal);
}

function onSignal(signal: NodeJS.Signals): void {
  if (process.listenerCount(signal) > 1) return; // a supervisor stops them in order
  endAll('SIGTERM');
  for (const s of SIGNALS) process.removeListener(s, onSignal);
  process.kill(process.pid, signal); // the default action, now that nobody listens
}

export function guardChild(child: ChildProcess): void {
  children.add(child);
  child.once('exit', () => children.delete(child));
  if (installed) return;
  installed = true;
  process.on('exit', () => endAll('SIGKILL'));
  for (const s of SIGNALS) process.on(s, onSignal);
}
