import type { BridgeCounters } from './bridge-counters';
import type { MessageRouter } from './message-router';

/**
 * Device messages that came at QoS 0, on one lane. The protocol asks devices for QoS 1, but
 * some firmware sends its answers at QoS 0; before this the bridge dropped them unseen (MQTT.js
 * hands QoS 0 messages only to 'message' listeners), so the command timed out and was sent
 * again although the device had answered.
 *
 * QoS 0 has no flow control: the broker sends as fast as the device publishes, and the bridge
 * cannot slow it with a late acknowledgement as it does for QoS 1. So they are routed one at a
 * time per lane, in arrival order, with at most MAX_WAITING waiting; past that they are
 * dropped and counted (`qos0:dropped`), which QoS 0 allows (at most once). A device flooding at
 * QoS 0 then loses its own messages without holding up anyone's QoS 1 answers, which go
 * through the lane's acknowledgement path, not this queue.
 */
export class Qos0Backlog {
  static readonly MAX_WAITING = 1_000;
  private tail: Promise<void> = Promise.resolve();
  private waiting = 0;

  constructor(
    private readonly router: Pick<MessageRouter, 'route'>,
    private readonly counters: BridgeCounters,
  ) {}

  add(topic: string, payload: Buffer, retained: boolean): void {
    if (this.waiting >= Qos0Backlog.MAX_WAITING) return this.counters.add('qos0:dropped');
    this.waiting++;
    this.counters.add('qos0:received');
    // route() never throws: the chain never breaks.
    this.tail = this.tail.then(async () => {
      try {
        await this.router.route(topic, payload, retained);
      } finally {
        this.waiting--;
      }
    });
  }

  /** Resolves once everything added so far has been routed (tests). */
  drained(): Promise<void> {
    return this.tail;
  }
}
