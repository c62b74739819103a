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

/** Exact shares: a seeded permutation ranks the devices, the first ranks get each trait. */
export function fleetProfiles(n: number, o: FleetShares): DeviceProfile[] {
  const seed = o.seed ?? 1;
  const offline = Math.round((o.offlineRate ?? 0) * n);
  const rejecting = offline + Math.round((o.rejectRate ?? 0) * n);
  const failing = Math.min(n, rejecting + Math.round((o.failureRate ?? 0) * n));
  const slow = Math.round((o.slowRate ?? 0) * n);
  const rank = seededPermutation(n, seed);
  const slowRank = seededPermutation(n, seed ^ 0x5eed);
  return rank.map((r, i) => ({ offline: r < offline, rejecting: r >= offline && r < rejecting, failing: r >= rejecting && r < failing, slow: slowRank[i] < slow }));
}
