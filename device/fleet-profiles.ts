import { seededPermutation } from './seeded-random';

/** How one simulated device behaves, for every command it gets. */
export interface DeviceProfile {
  offline: boolean;
  rejecting: boolean;
  failing: boolean;
  slow: boolean;
}

/** Shares of the fleet (each 0 to 1) given each behaviour, and the seed that picks the devices. */
export interface FleetShares {
  seed?: number;
  offlineRate?: number;
  rejectRate?: number;
  failureRate?: number;
  slowRate?: number;
}

/**
 * RangeError unless each share is between 0 and 1 and offline + reject + failure do not
 * exceed 1 (each device has at most one of these traits; fleetProfiles would silently give
 * the last ones fewer devices).
 */
export function checkShares(o: FleetShares): void {
  for (const [name, v] of Object.entries({ offlineRate: o.offlineRate, rejectRate: o.rejectRate, failureRate: o.failureRate, slowRate: o.slowRate })) {
    if (v !== undefined && !(v >= 0 && v <= 1)) throw new RangeError(`${name} must be between 0 and 1, got ${v}`);
  }
  if ((o.offlineRate ?? 0) + (o.rejectRate ?? 0) + (o.failureRate ?? 0) > 1 + 1e-9) {
    throw new RangeError('offlineRate + rejectRate + failureRate must not exceed 1: each device has at most one of these traits');
  }
}

/**
 * Exact shares: a seeded permutation ranks the devices, the first ranks get each trait. Per
 * device rather than per command, so a share behaves like a real defect (one bad hardware
 * model fails every command it gets) and a test knows in advance how many devices fail:
 * with 10,000 devices and failureRate 0.1, exactly 1,000.
 */
export function fleetProfiles(n: number, o: FleetShares): DeviceProfile[] {
  const seed = o.seed ?? 1;
  const offline = Math.round((o.offlineRate ?? 0) * n);
  const rejecting = offline + Math.round((o.rejectRate ?? 0) * n);
  const failing = Math.min(n, rejecting + Math.round((o.failureRate ?? 0) * n));
  const slow = Math.round((o.slowRate ?? 0) * n);
  const rank = seededPermutation(n, seed);
  const slowRank = seededPermutation(n, seed ^ 0x5eed);
  return rank.map((r, i) => ({
    offline: r < offline,
    rejecting: r >= offline && r < rejecting,
    failing: r >= rejecting && r < failing,
    slow: slowRank[i] < slow,
  }));
}
