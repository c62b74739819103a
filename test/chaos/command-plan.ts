import type { DeviceProfile } from '../../device/fleet-profiles';
import { mulberry32 } from '../../device/seeded-random';

/** What a device's profile says a command to it ends as, if nothing is interrupted. */
export type ExpectedOutcome = 'Succeeded' | 'Failed' | 'Rejected' | 'Expired';

export interface PlannedCommand {
  index: number;
  commandId: string;
  deviceId: string;
  name: string;
  params: Record<string, unknown>;
  /** Milliseconds after the start of the run. */
  sendAtMs: number;
  expected: ExpectedOutcome;
  /** Sent with serial ordering: the device's serial commands run one at a time. */
  serial: boolean;
}

/** Commands the simulated devices execute; anything else is rejected as unknown. */
export const KNOWN_COMMANDS = ['reboot', 'set-config', 'update-firmware', 'ping'] as const;
export const UNKNOWN_COMMAND = 'self-destruct';

export interface PlanOptions {
  runId: string;
  seed: number;
  count: number;
  deviceIds: readonly string[];
  profiles: readonly DeviceProfile[];
  /** Sends are spread evenly over this window. */
  sendWindowMs: number;
  /** Share of commands with a name no device knows (ends Rejected). */
  unknownNameRate: number;
  /** Every n-th device (by index, from the first) gets serial commands only; 0: none. */
  serialEvery?: number;
}

export function expectedOutcome(profile: DeviceProfile, name: string): ExpectedOutcome {
  if (profile.offline) return 'Expired'; // held while the device is offline, until its time to live
  if (profile.rejecting || !(KNOWN_COMMANDS as readonly string[]).includes(name)) return 'Rejected';
  return profile.failing ? 'Failed' : 'Succeeded';
}

/** The same plan for the same seed: which device, which command, when. */
export function planCommands(o: PlanOptions): PlannedCommand[] {
  const random = mulberry32(o.seed ^ 0xc0ffee);
  const plan: PlannedCommand[] = [];
  for (let index = 0; index < o.count; index++) {
    const d = Math.floor(random() * o.deviceIds.length);
    const unknown = random() < o.unknownNameRate;
    const name = unknown ? UNKNOWN_COMMAND : KNOWN_COMMANDS[Math.floor(random() * KNOWN_COMMANDS.length)];
    const deviceId = o.deviceIds[d];
    plan.push({
      index,
      commandId: `${deviceId}.${name}.${o.runId}-${index}`,
      deviceId,
      name,
      params: name === 'set-config' ? { level: index % 7 } : {},
      sendAtMs: Math.round((index * o.sendWindowMs) / Math.max(1, o.count)),
      expected: expectedOutcome(o.profiles[d], name),
      serial: isSerialDevice(d, o.serialEvery),
    });
  }
  return plan;
}

/** Whether the device at this index gets serial commands (chosen by index, so the seeded plan stays the same). */
export function isSerialDevice(index: number, serialEvery: number | undefined): boolean {
  return serialEvery !== undefined && serialEvery > 0 && index % serialEvery === 0;
}
