/**
 * Drops repeats of the same answer in the bridge, before they cost a Temporal signal.
 *
 * QoS 1 and our own re-publishes make every answer arrive more than once, so a few repeats are
 * normal and are forwarded (the workflow records them and changes nothing). Past
 * `maxRepeats` copies of one (command, kind, status) the answer can tell the workflow nothing
 * new, and forwarding it would only grow the command's history towards Temporal's limits
 * (10,000 signals, 51,200 events per execution): a firmware bug or a hostile device sending
 * the same ack 10,000 times then costs one small map entry.
 *
 * Bounded: the `capacity` most recently seen answers are remembered.
 */
export const DEFAULT_MAX_REPEATS = 3;

export class DuplicateGuard {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly maxRepeats = DEFAULT_MAX_REPEATS,
    private readonly capacity = 100_000,
  ) {}

  /** Counts this copy; true while it is among the first `maxRepeats` of its kind. */
  admit(commandId: string, kind: string, status: string): boolean {
    const key = `${commandId}\u0000${kind}\u0000${status}`;
    const n = (this.seen.get(key) ?? 0) + 1;
    this.seen.delete(key);
    this.seen.set(key, n);
    if (this.seen.size > this.capacity) this.seen.delete(this.seen.keys().next().value!);
    return n <= this.maxRepeats;
  }
}
