/** Counts of what the bridge did with each message, by outcome; exposed to logs and tests. */
export class BridgeCounters {
  private readonly counts = new Map<string, number>();
  private readonly listeners: Array<(outcome: string, n: number) => void> = [];

  add(outcome: string, n = 1): void {
    this.counts.set(outcome, (this.counts.get(outcome) ?? 0) + n);
    for (const listener of this.listeners) listener(outcome, n);
  }

  /** Called on every add, e.g. to mirror the counts as Prometheus metrics. */
  onAdd(listener: (outcome: string, n: number) => void): void {
    this.listeners.push(listener);
  }

  get(outcome: string): number {
    return this.counts.get(outcome) ?? 0;
  }

  toJSON(): Record<string, number> {
    return Object.fromEntries([...this.counts.entries()].sort(([a], [b]) => a.localeCompare(b)));
  }
}
