import type { DeviceAttributes } from '../protocol/messages';
import type { DeviceProfile } from './fleet-profiles';
import { uniformFor } from './seeded-random';

/*
 * What every connection of a simulated fleet shares: its settings, resolved once by
 * FleetSimulator, and the choices derived from them per command. Those are seeded by device
 * and command, not drawn in arrival order, so a run can be repeated and a test can predict
 * them (FleetSimulator.dropsAck).
 */

/** One simulated device: its place in the fleet, what it does, and what it reports. */
export interface SimDevice {
  id: string;
  index: number;
  profile: DeviceProfile;
  bootId: string;
  attributes: DeviceAttributes;
}

/** The fleet's options every connection needs, resolved once by FleetSimulator. */
export interface FleetSettings {
  prefix: string;
  seed: number;
  latencyMs: number;
  slowLatencyMs: number;
  dropAckRate: number;
  quickResultMs: number;
  knownCommands?: Set<string>;
  retentionMs: number;
  publishWindow: number;
  startTimeoutMs: number;
  log: (message: string, details?: Record<string, unknown>) => void;
}

/** How long this device takes to execute this command: uniform in [0.5, 1.5] × its mean (slow devices have their own). */
export function latencyOf(s: FleetSettings, device: SimDevice, commandId: string): number {
  const mean = device.profile.slow ? s.slowLatencyMs : s.latencyMs;
  return Math.round(mean * (0.5 + uniformFor(s.seed, `latency ${device.id} ${commandId}`)));
}

/** Whether this command's first ack is lost (a share of commands, not of devices): the result alone then answers it. */
export function dropsAck(s: Pick<FleetSettings, 'seed' | 'dropAckRate'>, deviceId: string, commandId: string): boolean {
  return s.dropAckRate > 0 && uniformFor(s.seed, `drop-ack ${deviceId} ${commandId}`) < s.dropAckRate;
}
