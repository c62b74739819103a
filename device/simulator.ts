import path from 'node:path';
import { DeviceAgent } from './device-agent';
import { simulatedAttributes, simulatedFirmware } from './simulated-attributes';
import { simulatedHandlers } from './simulated-handlers';

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
  failureRate: number;
  rejectRate: number;
  dropAckRate: number;
  /** Protocol rule 5's shortcut (DeviceAgentOptions.quickResultMs); 0 or absent: always ack first. */
  quickResultMs?: number;
  /** Share of devices that stay offline (never connect): commands to them wait, then expire. */
  offlineRate: number;
  /** The firmware every device reports in its status attributes (simulated-attributes.ts); default 1.0.0. */
  firmware?: string;
  random?: () => number;
  onLog?: (message: string, details?: Record<string, unknown>) => void;
}

export function simulatedDeviceIds(count: number, idPrefix: string): string[] {
  const width = String(count).length < 3 ? 3 : String(count).length;
  return Array.from({ length: count }, (_, i) => `${idPrefix}${String(i + 1).padStart(width, '0')}`);
}

/** A fleet of reference device agents in one process, with knobs for misbehaviour. */
export class Simulator {
  readonly agents: DeviceAgent[] = [];
  readonly offline: string[] = [];

  constructor(private readonly o: SimulatorOptions) {}

  async start(): Promise<void> {
    const random = this.o.random ?? Math.random;
    const firmware = simulatedFirmware(this.o.firmware);
    for (const [index, deviceId] of simulatedDeviceIds(this.o.devices, this.o.idPrefix).entries()) {
      if (random() < this.o.offlineRate) {
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
          handlers: simulatedHandlers({ latencyMs: this.o.latencyMs, failureRate: this.o.failureRate, random }),
          quickResultMs: this.o.quickResultMs,
          attributes: simulatedAttributes(index, firmware),
          faults: {
            reject: () => (random() < this.o.rejectRate ? 'simulated-rejection' : undefined),
            dropAck: () => random() < this.o.dropAckRate,
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
