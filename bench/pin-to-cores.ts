import { execFileSync } from 'node:child_process';
import { say } from './say';

/** Pins every thread of a process to the given cores (taskset from util-linux). */
export function pinToCores(pid: number, cores: string): void {
  try {
    execFileSync('taskset', ['-a', '-p', '-c', cores, String(pid)], { stdio: 'ignore' });
  } catch (err) {
    say(`   could not pin pid ${pid} to cores ${cores}: ${(err as Error).message}`);
  }
}
