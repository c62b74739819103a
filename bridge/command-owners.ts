import type { Client } from '@temporalio/client';
import { commandWorkflowId } from '../protocol/command-contract';
import { CommandStateAttribute, DeviceIdAttribute, RolloutIdAttribute } from '../protocol/search-attributes';

/** What the bridge knows about a command before it signals anything. */
export type CommandLookup =
  /** Running, for this device. */
  | { kind: 'open'; owner: string }
  /** Ended; `state` is its terminal command state as Temporal shows it. */
  | { kind: 'closed'; owner: string; state?: string; rolloutId?: string }
  /** No command has this ID. */
  | { kind: 'unknown' }
  /** Temporal could not say (down, or the command's DeviceId is not visible yet). */
  | { kind: 'unavailable' };

/**
 * Which device each command belongs to, and whether it is still running, so that the bridge
 * checks an answer's owner *before* it signals: an answer on one device's topic for another
 * device's command ("spoofed") never reaches, and never grows, the other command's history.
 *
 * Learned two ways. Mostly from the command itself: the worker publishes it on its device's
 * commands topic, which only the worker may write (the broker's ACL), and the bridge reads it
 * too (`published`), so the device's answer finds its owner known and costs Temporal nothing
 * before the signal. Otherwise (a command published while the bridge was away, a copy the
 * bridge missed) with one DescribeWorkflowExecution, as before: the bench showed that describe
 * as one of the two describes per command in a rollout, each a current-run lookup and a
 * state read on the server's database.
 *
 * Remembered: owners for the `capacity` most recently used commands (a commandId is never
 * reused, workflow ID reuse policy REJECT_DUPLICATE, so an owner never goes stale), closed
 * commands the same way (they never reopen), and unknown IDs for `unknownTtlMs` (a flood of
 * made-up IDs costs one describe per ID, then nothing).
 */
export class CommandOwners {
  private readonly known = new Map<string, CommandLookup & { kind: 'open' | 'closed' }>();
  private readonly unknown = new Map<string, number>();

  private readonly capacity: number;
  private readonly unknownTtlMs: number;
  private readonly now: () => number;
  private readonly onDescribe: () => void;

  constructor(
    private readonly temporal: Pick<Client, 'workflow'>,
    o: {
      /** Commands remembered (default 50,000). */
      capacity?: number;
      /** How long an unknown ID is remembered as unknown (default 30 s). */
      unknownTtlMs?: number;
      now?: () => number;
      /** Called once per DescribeWorkflowExecution (a counter: how often the owner had to be asked). */
      onDescribe?: () => void;
    } = {},
  ) {
    this.capacity = o.capacity ?? 50_000;
    this.unknownTtlMs = o.unknownTtlMs ?? 30_000;
    this.now = o.now ?? Date.now;
    this.onDescribe = o.onDescribe ?? (() => {});
  }

  /**
   * The worker published `commandId` on `owner`'s commands topic: it is running, for that
   * device. A command the bridge already knows stays as it is (closed commands never reopen);
   * one published for two different devices is forgotten, so that Temporal is asked (only the
   * worker may publish commands, so this means a broker without ACLs, where anyone may).
   */
  published(commandId: string, owner: string): void {
    const known = this.known.get(commandId);
    if (known === undefined) {
      this.unknown.delete(commandId);
      this.remember(commandId, { kind: 'open', owner });
    } else if (known.owner !== owner) {
      this.known.delete(commandId);
    }
  }

  async lookup(commandId: string): Promise<CommandLookup> {
    const known = this.known.get(commandId);
    if (known) {
      this.remember(commandId, known); // most recently used last
      return known;
    }
    const unknownUntil = this.unknown.get(commandId);
    if (unknownUntil !== undefined) {
      if (unknownUntil > this.now()) return { kind: 'unknown' };
      this.unknown.delete(commandId);
    }
    let description;
    try {
      this.onDescribe();
      description = await this.temporal.workflow.getHandle(commandWorkflowId(commandId)).describe();
    } catch (err) {
      if ((err as Error)?.name === 'WorkflowNotFoundError') {
        this.unknown.set(commandId, this.now() + this.unknownTtlMs);
        if (this.unknown.size > this.capacity) this.unknown.delete(this.unknown.keys().next().value!);
        return { kind: 'unknown' };
      }
      return { kind: 'unavailable' };
    }
    const owner = description.typedSearchAttributes.get(DeviceIdAttribute);
    if (owner === undefined) return { kind: 'unavailable' }; // started without it; the workflow upserts it in its first task
    if (description.status.name === 'RUNNING') {
      const open = { kind: 'open' as const, owner };
      this.remember(commandId, open);
      return open;
    }
    const rolloutId = description.typedSearchAttributes.get(RolloutIdAttribute);
    const closed = { kind: 'closed' as const, owner, state: description.typedSearchAttributes.get(CommandStateAttribute), ...(rolloutId ? { rolloutId } : {}) };
    this.remember(commandId, closed);
    return closed;
  }

  /**
   * The command was found closed by a later call (a signal answered NotFound): asks Temporal
   * again, for the state it ended in; without an answer, remembers it closed with no state.
   */
  async lookupClosed(commandId: string, owner: string): Promise<CommandLookup & { kind: 'closed' }> {
    this.known.delete(commandId);
    const found = await this.lookup(commandId);
    if (found.kind === 'closed') return found;
    const closed = { kind: 'closed' as const, owner };
    this.remember(commandId, closed);
    return closed;
  }

  private remember(commandId: string, entry: CommandLookup & { kind: 'open' | 'closed' }): void {
    this.known.delete(commandId);
    this.known.set(commandId, entry);
    if (this.known.size > this.capacity) this.known.delete(this.known.keys().next().value!);
  }

  get size(): number {
    return this.known.size;
  }
}
