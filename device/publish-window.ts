/**
 * A limit on unacknowledged QoS 1 publishes, so that thousands of simulated devices announcing
 * themselves at once queue here instead of flooding the broker. A freed slot is handed straight
 * to the next waiter, so the limit holds.
 */
export class PublishWindow {
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}
