import path from 'node:path';
import { DeviceAgent } from './device-agent';
import { simulatedAttributes, simulatedFirmware } from './simulated-attributes';
import { simulatedHandlers } from './simulated-handlers';
import { checkShares, fleetProfiles, type DeviceProfile } from './fleet-profiles';
import { dropsAck } from './fleet-settings';

export interface SimulatorOptions {
  devices: number;
  /** Device IDs are `${idPrefix}${n}` with n zero-padded: sim-001, sim-002, ... */
  idPrefix: string;
  mqttUrl: string;
  username?: string;
  password?: string;
  caFile?: string;
  topicPrefix: string;
  dataDir: string;
  latencyMs: number;
  /** The fleet's misbehaviour, as in FleetSimulatorOptions: exact shares of devices (fleet-profiles.ts), picked by `seed`. */
  failureRate: number;
  rejectRate: number;
  /** Slow devices take 10 × latencyMs. */
  slowRate?: number;
  /** Share of commands (not devices) whose first ack is lost, seeded by device and command; the result still comes. */
  dropAckRate: number;
  seed?: number;
  /** Protocol rule 5's shortcut (DeviceAgentOptions.quickResultMs); 0 or absent: always ack first. */
  quickResultMs?: number;
  /** Share of devices that stay offline (never connect, no status): commands to them wait, then expire. */
  offlineRate: number;
  /** The firmware every device reports in its status attributes (simulated-attributes.ts); default 1.0.0. */
  firmware?: string;
  /** Random source of the execution times. */
  random?: () => number;
  onLog?: (message: string, details?: Record<string, unknown>) => void;
}

export function simulatedDeviceIds(count: number, idPrefix: string): string[] {
  const width = String(count).length < 3 ? 3 : String(count).length;
  return Array.from({ length: count }, (_, i) => `${idPrefix}${String(i + 1).padStart(width, '0')}`);
}

/**
 * A fleet of reference device agents in one process (`dco sim`), with knobs for misbehaviour.
 * The knobs mean what they mean for FleetSimulator (`dco sim --shared`): who fails, rejects, is
 * offline or slow is decided per device, an exact share, by the same seeded profiles; which
 * acks are lost, per command by the same seeded choice.
 */
export class Simulator {
  readonly agents: DeviceAgent[] = [];
  readonly offline: string[] = [];

  readonly deviceIds: readonly string[];
  private readonly profiles: DeviceProfile[];

  constructor(private readonly o: SimulatorOptions) {
    checkShares(o);
    this.deviceIds = simulatedDeviceIds(o.devices, o.idPrefix);
    this.profiles = fleetProfiles(this.deviceIds.length, o);
  }

  /** How this device behaves: the same as FleetSimulator.profile for the same IDs, shares and seed. */
  profile(deviceId: string): DeviceProfile | undefined {
    const i = this.deviceIds.indexOf(deviceId);
    return i < 0 ? undefined : this.profiles[i];
  }

  async start(): Promise<void> {
    const random = this.o.random ?? Math.random;
    const firmware = simulatedFirmware(this.o.firmware);
    const drops = { seed: this.o.seed ?? 1, dropAckRate: this.o.dropAckRate };
    for (const [index, deviceId] of this.deviceIds.entries()) {
      const profile = this.profiles[index];
      if (profile.offline) {
        this.offline.push(deviceId);
        continue;
      }
      this.agents.push(
        new DeviceAgent({
          deviceId,
          mqttUrl: this.o.mqttUrl,
          username: this.o.username,
          password: this.o.password,
          caFile: this.o.caFile,
          topicPrefix: this.o.topicPrefix,
          journalDir: path.join(this.o.dataDir, 'journals'),
          handlers: simulatedHandlers({ latencyMs: this.o.latencyMs * (profile.slow ? 10 : 1), failing: profile.failing, random }),
          quickResultMs: this.o.quickResultMs,
          attributes: simulatedAttributes(index, firmware),
          faults: {
            reject: () => (profile.rejecting ? 'simulated-rejection' : undefined),
            dropAck: (c) => dropsAck(drops, deviceId, c.commandId),
          },
          onLog: this.o.onLog,
        }),
      );
    }
    // Connect in small batches: thousands of simultaneous CONNECTs only queue up at the broker.
    for (let i = 0; i < this.agents.length; i += 50) {
      await Promise.all(this.agents.slice(i, i + 50).map((a) => a.start()));
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.agents.map((a) => a.stop()));
  }
}
