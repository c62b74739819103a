/**
 * A token bucket per device: each device may send `burst` messages at once and `perSecond`
 * on average. A device past its budget only hurts itself: its messages become dead letters
 * (`rate-limited`) that cost the bridge a few microseconds and Temporal nothing.
 *
 * Why these defaults (DEFAULT_DEVICE_RATE): a well-behaved device sends an ack and a result
 * per command and a status per (re)connect, so even a device running 20 commands at once
 * stays far below 100 messages in a burst and 20 a second. A flood of 10,000 acks in a second
 * is cut to 100 plus 20 a second.
 *
 * Memory is bounded: at most `maxDevices` buckets are kept, the least recently used one is
 * forgotten first (a forgotten device starts again with a full bucket, which is harmless).
 *
 * Several bridges in one shared-subscription group each see only their share of a device's
 * answers (the broker deals them out in turn), so each bridge charges an answer `cost` tokens
 * (the group's size, answerCost): together they let a device through what one bridge would,
 * not that many times over (message-router.ts).
 */
export interface DeviceRate {
  /** Messages a device may send at once. */
  burst: number;
  /** Messages per second, sustained. */
  perSecond: number;
}

export const DEFAULT_DEVICE_RATE: DeviceRate = { burst: 100, perSecond: 20 };

export class DeviceRateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly rate: DeviceRate = DEFAULT_DEVICE_RATE,
    private readonly now: () => number = Date.now,
    private readonly maxDevices = 200_000,
  ) {
    if (!(rate.burst >= 1) || !(rate.perSecond > 0)) throw new Error(`invalid device rate ${JSON.stringify(rate)}: burst >= 1 and perSecond > 0`);
  }

  /** The most one message may cost: a bigger cost could never be paid. */
  get burst(): number {
    return this.rate.burst;
  }

  /** Takes `cost` tokens for `deviceId` (at most the burst); false when the device is over its budget. */
  take(deviceId: string, cost = 1): boolean {
    const t = this.now();
    const bucket = this.buckets.get(deviceId);
    let tokens = this.rate.burst;
    if (bucket) {
      tokens = Math.min(this.rate.burst, bucket.tokens + ((t - bucket.at) / 1000) * this.rate.perSecond);
      this.buckets.delete(deviceId); // re-inserted below: most recently used last
    }
    const allowed = tokens >= cost;
    this.buckets.set(deviceId, { tokens: allowed ? tokens - cost : tokens, at: t });
    if (this.buckets.size > this.maxDevices) this.buckets.delete(this.buckets.keys().next().value!);
    return allowed;
  }
}
