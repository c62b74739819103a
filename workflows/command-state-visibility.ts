import { upsertSearchAttributes } from '@temporalio/workflow';
import type { CommandSnapshot } from '../protocol/command-contract';
import { isTerminal, type CommandState } from '../protocol/command-state';
import { CommandAttemptsAttribute, CommandStateAttribute } from '../protocol/search-attributes';

/**
 * A command's state as operators search it: the CommandState search attribute, upserted only
 * when it differs from what was last upserted (or given at start).
 */
export class CommandStateVisibility {
  /** The CommandState search attribute as last upserted. */
  private visible: CommandState | undefined;
  private pending = false;

  constructor(private readonly current: () => CommandSnapshot) {}

  /** The server already shows `state` (it came with the start request). */
  shown(state: CommandState): void {
    this.visible = state;
  }

  /** Upserts the current state now, if it changed. */
  show(): void {
    const record = this.current();
    if (record.state === this.visible) return;
    this.visible = record.state;
    // The attempts go with the terminal state, in the same upsert (no extra event). Replay
    // compares an upsert's command, not its attributes, so earlier histories replay as before.
    upsertSearchAttributes([
      { key: CommandStateAttribute, value: record.state },
      ...(isTerminal(record.state) ? [{ key: CommandAttemptsAttribute, value: record.attempts }] : []),
    ]);
  }

  /**
   * Lean: upsert once the rest of this activation has run (a microtask, deterministic in the
   * sandbox), so Sent → Acknowledged → Succeeded within one workflow task is a single upsert.
   * A terminal state is shown at once: the workflow may complete in this very activation.
   */
  showSoon(): void {
    if (isTerminal(this.current().state)) return this.show();
    if (this.pending) return;
    this.pending = true;
    void Promise.resolve().then(() => {
      this.pending = false;
      this.show();
    });
  }
}
