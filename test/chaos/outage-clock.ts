import type { ProcessKind } from './chaos-stack';

/**
 * When each process kind was down, and the stretches during which at least one was: the
 * quantity the command deadlines are sized against (see timing.ts).
 */
export class OutageClock {
  private readonly downSince = new Map<ProcessKind, number>();
  private stretchStart?: number;
  private allUpSince: number;
  private longest = 0;
  private last = 0;
  private degradedTotal = 0;
  readonly longestDownByKind = new Map<ProcessKind, number>();

  constructor(private readonly now: () => number = Date.now) {
    this.allUpSince = now();
  }

  markDown(kind: ProcessKind): void {
    const t = this.now();
    if (this.downSince.has(kind)) return;
    this.downSince.set(kind, t);
    this.stretchStart ??= t;
  }

  markUp(kind: ProcessKind): void {
    const t = this.now();
    const since = this.downSince.get(kind);
    if (since === undefined) return;
    this.downSince.delete(kind);
    this.longestDownByKind.set(kind, Math.max(this.longestDownByKind.get(kind) ?? 0, t - since));
    if (this.downSince.size === 0 && this.stretchStart !== undefined) {
      this.last = t - this.stretchStart;
      this.longest = Math.max(this.longest, this.last);
      this.degradedTotal += t - this.stretchStart;
      this.stretchStart = undefined;
      this.allUpSince = t;
    }
  }

  get down(): ProcessKind[] {
    return [...this.downSince.keys()];
  }

  /** How long the current stretch with something down has lasted (0 when all are up). */
  currentStretchMs(): number {
    return this.stretchStart === undefined ? 0 : this.now() - this.stretchStart;
  }

  /** How long everything has been up (0 while something is down). */
  calmMs(): number {
    return this.stretchStart === undefined ? this.now() - this.allUpSince : 0;
  }

  /** The length of the last stretch that ended. */
  lastStretchMs(): number {
    return this.last;
  }

  /** The longest stretch so far, including one still in progress. */
  longestStretchMs(): number {
    return Math.max(this.longest, this.currentStretchMs());
  }

  degradedTotalMs(): number {
    return this.degradedTotal + this.currentStretchMs();
  }
}
