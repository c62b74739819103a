import type { DcoClient } from '../../client/dco-client';
import type { PlannedCommand } from './command-plan';
import type { ChaosTiming } from './timing';

/**
 * Sends the planned commands on schedule, each with its own commandId, retrying until Temporal
 * takes it: Temporal may be down at the moment of sending, and a retried start with the same
 * commandId never starts a second command (the client's start is idempotent).
 */
export class CommandSender {
  private sent = 0;
  private retries = 0;
  private inFlight = 0;
  private stopped = false;
  private finished!: Promise<void>;

  constructor(
    private readonly client: DcoClient,
    private readonly plan: readonly PlannedCommand[],
    private readonly timing: ChaosTiming,
    private readonly maxInFlight = 16,
    private readonly attemptTimeoutMs = 10_000,
  ) {}

  get sentCount(): number {
    return this.sent;
  }

  get retryCount(): number {
    return this.retries;
  }

  /** Starts sending; `startMs` is the wall-clock origin of the plan's `sendAtMs`. */
  start(startMs: number): void {
    this.finished = (async () => {
      const all: Promise<void>[] = [];
      for (const c of this.plan) {
        const wait = startMs + c.sendAtMs - Date.now();
        if (wait > 0) await sleep(wait);
        while (this.inFlight >= this.maxInFlight) await sleep(50);
        if (this.stopped) break;
        this.inFlight++;
        all.push(this.sendOne(c).finally(() => this.inFlight--));
      }
      await Promise.all(all);
    })();
  }

  /** Resolves once every command was accepted by Temporal. */
  done(): Promise<void> {
    return this.finished;
  }

  stop(): void {
    this.stopped = true;
  }

  private async sendOne(c: PlannedCommand): Promise<void> {
    const t = this.timing;
    for (let attempt = 1; !this.stopped; attempt++) {
      try {
        await withTimeout(
          this.client.send({
            commandId: c.commandId,
            deviceId: c.deviceId,
            name: c.name,
            params: c.params,
            ttlMs: t.ttlMs,
            ackTimeoutMs: t.ackTimeoutMs,
            resultTimeoutMs: t.resultTimeoutMs,
            maxAttempts: t.maxAttempts,
            backoff: t.backoff,
            ...(c.serial ? { ordering: { mode: 'serial' as const, priority: 0 } } : {}),
          }),
          this.attemptTimeoutMs,
        );
        this.sent++;
        return;
      } catch {
        this.retries++;
        await sleep(Math.min(2_000, 250 * attempt));
      }
    }
  }
}

export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.max(0, ms)));
}
