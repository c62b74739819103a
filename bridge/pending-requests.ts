/**
 * Paces the `pending` requests of each device: a waking device asks once, but a firmware bug
 * may ask in a loop, and each request that passes costs a visibility list and a signal per
 * open command. One request per device per `minIntervalMs` passes; the rest are counted and
 * dropped (the first one already re-publishes everything the device waits for).
 * Memory is bounded: entries older than the interval are forgotten when the map grows.
 */
export const PENDING_MIN_INTERVAL_MS = 5_000;
const PRUNE_AT = 10_000;

export class PendingRequestPacer {
  private readonly last = new Map<string, number>();

  constructor(
    private readonly minIntervalMs = PENDING_MIN_INTERVAL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** True when this device's request may pass now. */
  admit(deviceId: string): boolean {
    const t = this.now();
    const previous = this.last.get(deviceId);
    if (previous !== undefined && t - previous < this.minIntervalMs) return false;
    if (this.last.size >= PRUNE_AT) {
      for (const [d, at] of this.last) if (t - at >= this.minIntervalMs) this.last.delete(d);
    }
    this.last.set(deviceId, t);
    return true;
  }

  get size(): number {
    return this.last.size;
  }
}
