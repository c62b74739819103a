import { mulberry32 } from '../../device/seeded-random';
import { CLUSTER_PROCESS_KINDS, SEPARATE_SERVICES_PROCESS_KINDS, type ChaosStack, type ProcessKind } from './chaos-stack';
import { OutageClock } from './outage-clock';

export interface KillSchedulerOptions {
  seed: number;
  /** Mean time between two kills (each gap is uniform in [0.5, 1.5] × this). */
  killEveryMs: number;
  /**
   * Share of kills followed at once (0.3 to 1.5 s later) by another: two processes going down
   * together, e.g. the broker while the bridge is away and messages wait for it unsaved.
   */
  burstRate: number;
  /** Downtime before the restart begins: uniform in [min, max]. */
  minDowntimeMs: number;
  maxDowntimeMs: number;
  /** Never more than this many processes down (or restarting) at once. */
  maxDown: number;
  /** Bound on a continuous stretch with something down (timing.ts sizes deadlines by it). */
  maxOutageMs: number;
  /** What a restart may take, for deciding whether a kill still fits in the bound. */
  restartAllowanceMs: number;
  /**
   * Everything up for at least this long, and for at least `calmRatio` × the length of the
   * stretch that just ended, before a new stretch of kills may begin: the system gets time to
   * work off what piled up while something was down.
   */
  calmMs: number;
  calmRatio: number;
  log: (line: string) => void;
}

export interface KillStats {
  kills: Record<ProcessKind, number>;
  restarts: Record<ProcessKind, number>;
  /** Processes that died without being killed (restarted too). */
  unexpectedExits: Record<ProcessKind, number>;
  failedRestarts: number;
  /** Time from kill to ready again, per kind: longest. */
  longestDownMs: Record<ProcessKind, number>;
  longestStretchMs: number;
  degradedMs: number;
}

const ALL_KINDS = [...new Set<ProcessKind>([...CLUSTER_PROCESS_KINDS, ...SEPARATE_SERVICES_PROCESS_KINDS])];
const zero = () => Object.fromEntries(ALL_KINDS.map((k) => [k, 0])) as Record<ProcessKind, number>;

/**
 * Kills random processes (seeded), restarts each after a short random downtime, and keeps the
 * rules that make the run's outcome decidable: at most `maxDown` down at once, no stretch with
 * something down longer than `maxOutageMs`, and a calm period between stretches at least half
 * as long as the stretch before (`calmRatio`). The choice of
 * kind is random among the processes that are up and have been killed least so far, so every
 * kind gets its share.
 */
export class KillScheduler {
  readonly clock = new OutageClock();
  private readonly random: () => number;
  private readonly kills = zero();
  private readonly restarts = zero();
  private readonly unexpected = zero();
  private failedRestarts = 0;
  private readonly restarting = new Set<ProcessKind>();
  private readonly pendingRestarts = new Set<Promise<void>>();
  private stopped = false;

  constructor(
    private readonly stack: ChaosStack,
    private readonly o: KillSchedulerOptions,
  ) {
    this.random = mulberry32(o.seed ^ 0x6b111);
    stack.onUnexpectedExit = (kind, how) => {
      this.unexpected[kind]++;
      o.log(`!! ${kind} exited by itself (${how}); restarting it`);
      this.clock.markDown(kind);
      this.track(this.restart(kind, 1_000));
    };
  }

  get totalKills(): number {
    return Object.values(this.kills).reduce((a, b) => a + b, 0);
  }

  stats(): KillStats {
    const longestDownMs = zero();
    for (const k of this.stack.kinds) longestDownMs[k] = this.clock.longestDownByKind.get(k) ?? 0;
    return {
      kills: { ...this.kills },
      restarts: { ...this.restarts },
      unexpectedExits: { ...this.unexpected },
      failedRestarts: this.failedRestarts,
      longestDownMs,
      longestStretchMs: this.clock.longestStretchMs(),
      degradedMs: this.clock.degradedTotalMs(),
    };
  }

  /** Kills until `untilMs` (wall clock), then waits for every restart to finish. */
  async run(untilMs: number): Promise<void> {
    let burst = false;
    while (!this.stopped && Date.now() < untilMs) {
      const gap = burst ? 300 + this.random() * 1_200 : this.o.killEveryMs * (0.5 + this.random());
      await sleep(Math.min(untilMs - Date.now(), gap));
      // Wait until a kill is allowed by the rules, or the time is up.
      while (!this.stopped && Date.now() < untilMs && !this.allowed()) await sleep(250);
      if (this.stopped || Date.now() >= untilMs) break;
      const kind = this.choose();
      if (!kind) continue;
      await this.killAndRestart(kind);
      burst = !burst && this.random() < this.o.burstRate;
    }
    await this.settle();
  }

  /** Stops killing (restarts in progress still finish: call settle()). */
  stop(): void {
    this.stopped = true;
  }

  /** Waits until every restart has finished and every kind is up. */
  async settle(): Promise<void> {
    while (this.pendingRestarts.size) await Promise.all([...this.pendingRestarts]);
    for (const kind of this.stack.kinds) {
      if (!this.stack.isUp(kind)) {
        this.clock.markDown(kind);
        await this.restart(kind, 0);
      }
    }
  }

  private allowed(): boolean {
    const down = this.clock.down.length;
    if (down >= this.o.maxDown) return false;
    const worstKillCost = this.o.maxDowntimeMs + this.o.restartAllowanceMs;
    if (down === 0) {
      const calm = Math.max(this.o.calmMs, this.o.calmRatio * this.clock.lastStretchMs());
      return this.clock.calmMs() >= calm && worstKillCost <= this.o.maxOutageMs;
    }
    return this.clock.currentStretchMs() + worstKillCost <= this.o.maxOutageMs;
  }

  private choose(): ProcessKind | undefined {
    const up = this.stack.kinds.filter((k) => this.stack.isUp(k) && !this.restarting.has(k));
    if (!up.length) return undefined;
    const least = Math.min(...up.map((k) => this.kills[k]));
    const candidates = up.filter((k) => this.kills[k] === least);
    return candidates[Math.floor(this.random() * candidates.length)];
  }

  private async killAndRestart(kind: ProcessKind): Promise<void> {
    const downtime = Math.round(this.o.minDowntimeMs + this.random() * (this.o.maxDowntimeMs - this.o.minDowntimeMs));
    this.restarting.add(kind);
    this.clock.markDown(kind);
    this.kills[kind]++;
    await this.stack.kill(kind);
    this.o.log(`kill -9 ${kind} (#${this.kills[kind]}); back in ${downtime} ms; down now: ${this.clock.down.join(', ')}`);
    this.track(this.restart(kind, downtime));
  }

  private track(p: Promise<void>): void {
    this.pendingRestarts.add(p);
    void p.finally(() => this.pendingRestarts.delete(p));
  }

  /** Starts `kind` after `delayMs`, retrying until it is up. */
  private async restart(kind: ProcessKind, delayMs: number): Promise<void> {
    this.restarting.add(kind);
    await sleep(delayMs);
    for (let attempt = 1; ; attempt++) {
      const started = Date.now();
      try {
        if (!this.stack.isUp(kind)) await this.stack.start(kind);
        this.restarts[kind]++;
        this.clock.markUp(kind);
        this.restarting.delete(kind);
        this.o.log(`${kind} is back (start took ${Date.now() - started} ms)`);
        return;
      } catch (err) {
        this.failedRestarts++;
        this.o.log(`!! restart of ${kind} failed (attempt ${attempt}): ${(err as Error).message}`);
        await sleep(Math.min(10_000, 1_000 * attempt));
      }
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.max(0, ms)));
}
