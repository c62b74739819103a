import type { CommandSnapshot } from '../../protocol/command-contract';

/** The sequence of states a command went through, without the notes recorded in between. */
export function statePath(c: CommandSnapshot): string[] {
  return c.history.map((e) => e.state).filter((s, i, all) => i === 0 || all[i - 1] !== s);
}
