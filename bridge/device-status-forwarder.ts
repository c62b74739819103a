import type { Client } from '@temporalio/client';
import type { Logger } from '../config/logger';
import { COMMAND_TASK_QUEUE } from '../protocol/command-contract';
import { deviceStatusSignal, deviceTaskQueue, deviceWorkflowId, DEVICE_WORKFLOW_TYPE, type DeviceStatusReport } from '../protocol/device-contract';
import { DeviceIdAttribute } from '../protocol/search-attributes';
import type { BridgeCounters } from './bridge-counters';
import { STATUS_CHECK_BATCH, type EntityStatusCheck } from './entity-status-check';
import { classifyTemporalError, describeTemporalError } from './temporal-errors';

export interface DeviceStatusForwarderOptions {
  /** Status reports sent to device entities per second at most (default 20). */
  perSecond?: number;
  /** Signal-with-start calls in flight at once (default 2). */
  concurrency?: number;
  /**
   * Retained statuses (read at a subscribe: a bridge start or reconnect) forwarded per second
   * at most, when no live change waits (default a tenth of perSecond, at least 1).
   */
  backfillPerSecond?: number;
  /** Task queue of the worker that runs the device entities (default deviceTaskQueue(COMMAND_TASK_QUEUE)). */
  taskQueue?: string;
  /**
   * Which retained statuses the entities already show (entity-status-check.ts): those are not
   * forwarded, and the others, checked to be news, go at `perSecond`. Without it every retained
   * status is forwarded, at `backfillPerSecond`.
   */
  check?: EntityStatusCheck;
}

export const DEFAULT_DEVICE_STATUS_RATE = 20;

/** How long a check waits for more retained statuses before it asks about a batch that is not full. */
const CHECK_GATHER_MS = 100;

/**
 * Hands each change of a device's status, and each request of a device for its pending
 * commands (`asked`), to its entity (`device-<deviceId>`, signal-with-start:
 * the first status creates it), off the path of acks and results and at a bounded rate: a
 * reconnect storm of 10,000 devices, or a bridge start that reads 10,000 retained statuses,
 * is then a backlog drained at `perSecond`, not 10,000 calls competing with the answers that
 * commands wait for. The newest report per device wins (one entry however fast a device
 * flaps), and a status that repeats what was last forwarded (same state, boot and attributes)
 * costs nothing.
 *
 * Retained statuses wait in a queue of their own, drained only when no live change waits: a
 * bridge restart re-reads every device's retained status, which mostly repeats what the
 * entities know, so it must not cost the fleet's entities a task each, nor delay the live
 * changes behind it. With a `check`, they are first checked against the entities, 500 per
 * visibility query, one query at a time: those the entity already shows cost nothing more, the
 * others (a new device, a change while no bridge ran) are news and go at the live rate. A
 * check that fails leaves its statuses to be forwarded, at a tenth of the rate, as without one.
 *
 * Not durable, and it need not be: what a lost report would have said is still the device's
 * retained status, which the broker sends again at the bridge's next subscribe.
 */
export class DeviceStatusForwarder {
  /** Live changes, newest per device, forwarded first. */
  private readonly pending = new Map<string, DeviceStatusReport>();
  /** Retained statuses read at a subscribe, forwarded when no live change waits (at the backfill rate). */
  private readonly backfill = new Map<string, DeviceStatusReport>();
  /** Retained statuses waiting for the check against their entities. */
  private readonly unchecked = new Map<string, DeviceStatusReport>();
  /** Retained statuses the check found to be news: forwarded after live changes, at the live rate. */
  private readonly news = new Map<string, DeviceStatusReport>();
  private checking?: Promise<void>;
  /** What was last forwarded per device, to skip repeats (a heartbeat, a redelivery). */
  private readonly forwarded = new Map<string, string>();
  private running?: Promise<void>;
  private stopped = false;
  private readonly gapMs: number;
  private readonly concurrency: number;
  private nextAt = 0;
  private readonly backfillGapMs: number;
  private nextBackfillAt = 0;

  constructor(
    private readonly temporal: Pick<Client, 'workflow'>,
    private readonly counters: BridgeCounters,
    private readonly logger: Logger,
    private readonly o: DeviceStatusForwarderOptions = {},
  ) {
    const perSecond = o.perSecond ?? DEFAULT_DEVICE_STATUS_RATE;
    if (!(perSecond > 0)) throw new Error(`device status rate must be a positive number, not ${perSecond}`);
    this.gapMs = 1000 / perSecond;
    const backfill = o.backfillPerSecond ?? Math.max(1, perSecond / 10);
    if (!(backfill > 0)) throw new Error(`device status backfill rate must be a positive number, not ${backfill}`);
    this.backfillGapMs = 1000 / backfill;
    this.concurrency = Math.max(1, o.concurrency ?? 2);
  }

  /** `retained`: the status was read at a subscribe (the broker's copy), not published now. */
  report(next: DeviceStatusReport, retained = false): void {
    if (this.stopped) return;
    if (retained) {
      // A live change already waiting is at least as new.
      if (this.pending.has(next.deviceId)) return void this.counters.add('device-status:coalesced');
      if (this.dropRetained(next.deviceId)) this.counters.add('device-status:coalesced');
      else if (this.forwarded.get(next.deviceId) === digest(next)) return void this.counters.add('device-status:unchanged');
      if (this.o.check) {
        this.unchecked.set(next.deviceId, next);
        this.checking ??= this.checkLoop(this.o.check).finally(() => (this.checking = undefined));
        return;
      }
      this.backfill.set(next.deviceId, next);
      this.running ??= this.loop().finally(() => (this.running = undefined));
      return;
    }
    // A live change replaces the retained copy waiting for the same device.
    const stale = this.retainedCopy(next.deviceId);
    if (stale) {
      this.dropRetained(next.deviceId);
      this.counters.add('device-status:coalesced');
      if (!next.attributes && stale.attributes) next = { ...next, attributes: stale.attributes };
    }
    const queued = this.pending.get(next.deviceId);
    if (queued) {
      this.counters.add('device-status:coalesced');
      // No attributes means "keep the last ones": do not lose those of the report it replaces.
      if (!next.attributes && queued.attributes) next = { ...next, attributes: queued.attributes };
      // Nor the device's request for its pending commands.
      if (queued.asked && !next.asked) next = { ...next, asked: true };
      this.pending.delete(next.deviceId);
    } else if (!next.asked && this.forwarded.get(next.deviceId) === digest(next)) {
      this.counters.add('device-status:unchanged');
      return;
    }
    this.pending.set(next.deviceId, next);
    this.running ??= this.loop().finally(() => (this.running = undefined));
  }

  /** Reports waiting to be forwarded, live and retained (checked or not). */
  get backlog(): number {
    return this.pending.size + this.news.size + this.backfill.size + this.unchecked.size;
  }

  /** Resolves when every recorded report was checked and attempted (tests, clean shutdown). */
  async idle(): Promise<void> {
    while (this.running || this.checking) await (this.checking ?? this.running);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.pending.clear();
    this.news.clear();
    this.backfill.clear();
    this.unchecked.clear();
    await Promise.all([this.running, this.checking]);
  }

  /** The retained status waiting for this device, in whichever stage. */
  private retainedCopy(deviceId: string): DeviceStatusReport | undefined {
    return this.unchecked.get(deviceId) ?? this.news.get(deviceId) ?? this.backfill.get(deviceId);
  }

  /** Drops the retained status waiting for this device; true if there was one. */
  private dropRetained(deviceId: string): boolean {
    return [this.unchecked, this.news, this.backfill].map((queue) => queue.delete(deviceId)).some(Boolean);
  }

  /** Checks retained statuses against their entities, a batch at a time, and queues the news. */
  private async checkLoop(check: EntityStatusCheck): Promise<void> {
    while (this.unchecked.size > 0 && !this.stopped) {
      // A subscribe delivers the retained statuses as a burst: gather it into full batches.
      if (this.unchecked.size < STATUS_CHECK_BATCH) await new Promise((r) => setTimeout(r, CHECK_GATHER_MS));
      if (this.stopped) return;
      const batch = [...this.unchecked.values()].slice(0, STATUS_CHECK_BATCH);
      let known: Set<string> | undefined;
      try {
        known = await check(batch);
      } catch (err) {
        this.counters.add('device-status:check-failed');
        this.logger.warn(
          { statuses: batch.length, err: describeTemporalError(err) },
          'could not check retained statuses against their entities; forwarding them at the backfill rate',
        );
      }
      for (const report of batch) {
        // Checked as it was taken: a newer report (live, or a retained copy again) replaced it meanwhile.
        if (this.unchecked.get(report.deviceId) !== report) continue;
        this.unchecked.delete(report.deviceId);
        if (known?.has(report.deviceId)) {
          this.forwarded.set(report.deviceId, digest(report));
          this.counters.add('device-status:known');
        } else (known ? this.news : this.backfill).set(report.deviceId, report);
      }
      if (this.news.size + this.backfill.size > 0) this.running ??= this.loop().finally(() => (this.running = undefined));
    }
  }

  private async loop(): Promise<void> {
    const inFlight = new Set<Promise<void>>();
    const ready = () => this.pending.size + this.news.size + this.backfill.size;
    while ((ready() > 0 || inFlight.size > 0) && !this.stopped) {
      if (ready() === 0 || inFlight.size >= this.concurrency) {
        await Promise.race(inFlight);
        continue;
      }
      // Live changes first, then checked news (both at the live rate), then unchecked retained statuses (at the backfill rate).
      const live = this.pending.size > 0 || this.news.size > 0;
      const now = Date.now();
      const wait = Math.max(this.nextAt, live ? 0 : this.nextBackfillAt) - now;
      if (wait > 0) {
        // At most one gap: a live change that arrives meanwhile is not held behind a backfill wait.
        await new Promise((r) => setTimeout(r, Math.min(wait, this.gapMs)));
        continue; // stop() may have emptied the queues meanwhile
      }
      this.nextAt = Math.max(now, this.nextAt) + this.gapMs;
      if (!live) this.nextBackfillAt = Math.max(now, this.nextBackfillAt) + this.backfillGapMs;
      const queue = this.pending.size > 0 ? this.pending : this.news.size > 0 ? this.news : this.backfill;
      const [deviceId, report] = queue.entries().next().value as [string, DeviceStatusReport];
      queue.delete(deviceId);
      const call = this.forward(report).finally(() => inFlight.delete(call));
      inFlight.add(call);
    }
    await Promise.all(inFlight);
  }

  /**
   * A report that failed, and a newer one of the same device waits: the newer one says what it
   * said, and is given its request for pending commands, if any. False when none waits.
   */
  private handOverToNewer(report: DeviceStatusReport): boolean {
    const newer = this.pending.get(report.deviceId);
    if (!newer) return false;
    if (report.asked && !newer.asked) this.pending.set(report.deviceId, { ...newer, asked: true });
    return true;
  }

  private async forward(report: DeviceStatusReport): Promise<void> {
    try {
      await this.temporal.workflow.signalWithStart(DEVICE_WORKFLOW_TYPE, {
        workflowId: deviceWorkflowId(report.deviceId),
        taskQueue: this.o.taskQueue ?? deviceTaskQueue(COMMAND_TASK_QUEUE),
        args: [{ deviceId: report.deviceId }],
        signal: deviceStatusSignal,
        signalArgs: [report],
        typedSearchAttributes: [{ key: DeviceIdAttribute, value: report.deviceId }],
      });
      this.forwarded.set(report.deviceId, digest(report));
      this.counters.add('device-status:forwarded');
    } catch (err) {
      const transient = classifyTemporalError(err) === 'transient';
      this.counters.add(transient ? 'device-status:retry' : 'device-status:refused');
      this.logger.warn(
        { deviceId: report.deviceId, err: describeTemporalError(err) },
        transient ? 'could not forward a device status; trying again' : 'Temporal refused a device status',
      );
      // Again later, unless a newer report came meanwhile (it carries what this one said).
      if (!transient || this.stopped || this.handOverToNewer(report)) return;
      await new Promise((r) => setTimeout(r, 1000));
      if (!this.stopped && !this.handOverToNewer(report) && !this.retainedCopy(report.deviceId)) this.pending.set(report.deviceId, report);
    }
  }
}

function digest(r: DeviceStatusReport): string {
  return JSON.stringify([r.state, r.bootId, r.attributes ?? null]);
}
