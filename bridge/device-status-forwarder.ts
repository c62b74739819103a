import type { Client } from '@temporalio/client';
import type { Logger } from '../config/logger';
import { COMMAND_TASK_QUEUE } from '../protocol/command-contract';
import { deviceStatusSignal, deviceTaskQueue, deviceWorkflowId, DEVICE_WORKFLOW_TYPE, type DeviceStatusReport } from '../protocol/device-contract';
import { DeviceIdAttribute } from '../protocol/search-attributes';
import type { BridgeCounters } from './bridge-counters';
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
}

export const DEFAULT_DEVICE_STATUS_RATE = 20;

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
 * Retained statuses wait in a queue of their own, drained only when no live change waits
 * and at a tenth of the rate: a bridge restart re-reads every device's retained status, which
 * mostly repeats what the entities know, so it must not cost the fleet's entities a task each
 * at full speed, nor delay the live changes behind it.
 *
 * Not durable, and it need not be: what a lost report would have said is still the device's
 * retained status, which the broker sends again at the bridge's next subscribe.
 */
export class DeviceStatusForwarder {
  /** Live changes, newest per device, forwarded first. */
  private readonly pending = new Map<string, DeviceStatusReport>();
  /** Retained statuses read at a subscribe, forwarded when no live change waits. */
  private readonly backfill = new Map<string, DeviceStatusReport>();
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
      if (this.backfill.has(next.deviceId)) this.counters.add('device-status:coalesced');
      else if (this.forwarded.get(next.deviceId) === digest(next)) return void this.counters.add('device-status:unchanged');
      this.backfill.delete(next.deviceId);
      this.backfill.set(next.deviceId, next);
      this.running ??= this.loop().finally(() => (this.running = undefined));
      return;
    }
    // A live change replaces the retained copy waiting for the same device.
    const stale = this.backfill.get(next.deviceId);
    if (stale) {
      this.backfill.delete(next.deviceId);
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

  /** Reports waiting to be forwarded, live and retained. */
  get backlog(): number {
    return this.pending.size + this.backfill.size;
  }

  /** Resolves when every recorded report was attempted (tests, clean shutdown). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.pending.clear();
    this.backfill.clear();
    await this.running;
  }

  private async loop(): Promise<void> {
    const inFlight = new Set<Promise<void>>();
    while ((this.backlog > 0 || inFlight.size > 0) && !this.stopped) {
      if (this.backlog === 0 || inFlight.size >= this.concurrency) {
        await Promise.race(inFlight);
        continue;
      }
      const live = this.pending.size > 0;
      const now = Date.now();
      const wait = Math.max(this.nextAt, live ? 0 : this.nextBackfillAt) - now;
      if (wait > 0) {
        // At most one gap: a live change that arrives meanwhile is not held behind a backfill wait.
        await new Promise((r) => setTimeout(r, Math.min(wait, this.gapMs)));
        continue; // stop() may have emptied the queues meanwhile
      }
      this.nextAt = Math.max(now, this.nextAt) + this.gapMs;
      if (!live) this.nextBackfillAt = Math.max(now, this.nextBackfillAt) + this.backfillGapMs;
      const queue = live ? this.pending : this.backfill;
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
      this.logger.warn({ deviceId: report.deviceId, err: describeTemporalError(err) }, transient ? 'could not forward a device status; trying again' : 'Temporal refused a device status');
      // Again later, unless a newer report came meanwhile (it carries what this one said).
      if (!transient || this.stopped || this.handOverToNewer(report)) return;
      await new Promise((r) => setTimeout(r, 1000));
      if (!this.stopped && !this.handOverToNewer(report) && !this.backfill.has(report.deviceId)) this.pending.set(report.deviceId, report);
    }
  }
}

function digest(r: DeviceStatusReport): string {
  return JSON.stringify([r.state, r.bootId, r.attributes ?? null]);
}
