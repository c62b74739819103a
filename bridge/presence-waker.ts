import type { Client } from '@temporalio/client';
import type { Logger } from '../config/logger';
import { COMMAND_WORKFLOW_TYPE, devicePresenceSignal, type DevicePresence } from '../protocol/command-contract';
import { DeviceIdAttribute } from '../protocol/search-attributes';
import type { BridgeCounters } from './bridge-counters';

export interface PresenceWakerOptions {
  /** Devices looked up in one visibility list call (`DeviceId IN (...)`). */
  batchSize?: number;
  /**
   * Visibility list calls per second at most. The dev server allows 100 visibility calls per
   * second per namespace (`frontend.namespaceRPS.visibility`), shared with `dco get`, the Web
   * UI and rollouts: a whole fleet reconnecting must not take them all.
   */
  listsPerSecond?: number;
  /** Presence signals in flight at once. */
  signalConcurrency?: number;
}

/**
 * Wakes the open commands of devices that came online or rebooted, off the path of acks and
 * results: `wake()` only records the device (the newest presence per device wins, so a device
 * flapping a hundred times a second is one entry), and a single loop works through them in
 * batches, one visibility call per batch, at a bounded rate. A reconnect storm of 10,000
 * devices is then 100 list calls spread over 20 s instead of 10,000 at once.
 *
 * Not durable: a wake-up lost with a bridge crash is a delay, not a loss, because a command
 * waiting for an offline device re-checks presence by itself (PRESENCE_RECHECK_MS).
 */
export class PresenceWaker {
  private readonly pending = new Map<string, DevicePresence>();
  private running?: Promise<void>;
  private stopped = false;
  private nextListAt = 0;
  private readonly batchSize: number;
  private readonly minListGapMs: number;
  private readonly signalConcurrency: number;

  constructor(
    private readonly temporal: Pick<Client, 'workflow'>,
    private readonly counters: BridgeCounters,
    private readonly logger: Logger,
    o: PresenceWakerOptions = {},
  ) {
    this.batchSize = o.batchSize ?? 100;
    this.minListGapMs = 1000 / (o.listsPerSecond ?? 5);
    this.signalConcurrency = o.signalConcurrency ?? 8;
  }

  wake(presence: DevicePresence): void {
    if (this.stopped) return;
    const waiting = this.pending.get(presence.deviceId);
    if (waiting) this.counters.add('presence:coalesced');
    this.pending.delete(presence.deviceId);
    // A device's own request for its pending commands survives a presence change after it.
    this.pending.set(presence.deviceId, waiting?.asked && !presence.asked ? { ...presence, asked: true } : presence);
    this.running ??= this.loop().finally(() => (this.running = undefined));
  }

  /** Devices waiting for their wake-up. */
  get backlog(): number {
    return this.pending.size;
  }

  /** Resolves when every recorded wake-up was attempted (tests, clean shutdown). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.pending.clear();
    await this.running;
  }

  private async loop(): Promise<void> {
    while (this.pending.size > 0 && !this.stopped) {
      const wait = this.nextListAt - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      this.nextListAt = Date.now() + this.minListGapMs;
      const batch = [...this.pending.values()].slice(0, this.batchSize);
      for (const p of batch) this.pending.delete(p.deviceId);
      await this.wakeBatch(batch);
    }
  }

  private async wakeBatch(batch: DevicePresence[]): Promise<void> {
    const byDevice = new Map(batch.map((p) => [p.deviceId, p]));
    // Device IDs come from parsed topics (letters, digits, . _ -): safe inside quotes.
    const ids = batch.map((p) => `'${p.deviceId}'`).join(', ');
    const query = `WorkflowType = '${COMMAND_WORKFLOW_TYPE}' AND ExecutionStatus = 'Running' AND DeviceId IN (${ids})`;
    const targets: Array<{ workflowId: string; presence: DevicePresence }> = [];
    try {
      this.counters.add('presence:list');
      for await (const execution of this.temporal.workflow.list({ query })) {
        const deviceId = execution.typedSearchAttributes?.get(DeviceIdAttribute);
        const presence = deviceId !== undefined ? byDevice.get(deviceId) : undefined;
        if (presence) targets.push({ workflowId: execution.workflowId, presence });
      }
    } catch (err) {
      this.counters.add('presence:list-failed');
      this.logger.warn({ err: String(err), devices: batch.length }, 'could not list the open commands of devices that came online; their commands re-check presence themselves');
      return;
    }
    let next = 0;
    const worker = async () => {
      while (next < targets.length) {
        const { workflowId, presence } = targets[next++];
        await this.temporal.workflow.getHandle(workflowId).signal(devicePresenceSignal, presence).then(
          () => this.counters.add('presence:signalled'),
          () => this.counters.add('presence:signal-failed'), // closed meanwhile, or Temporal down: the workflow re-checks presence itself
        );
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.signalConcurrency, targets.length) }, worker));
  }
}
