/**
 * Runs tasks one after another per key, and concurrently across keys: the bridge's lanes
 * handle messages in parallel, but two messages of one command are forwarded in the order
 * they reached the bridge. Memory: one entry per key with a task pending.
 */
export class PerKeyOrder {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const before = this.tails.get(key) ?? Promise.resolve();
    const result = before.then(task, task);
    const tail = result.catch(() => {});
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  get pending(): number {
    return this.tails.size;
  }
}
