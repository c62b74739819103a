import path from 'node:path';
import { FleetSimulator, type FleetSimulatorOptions } from '../../device/fleet-simulator';
import type { Harness } from './harness';

/**
 * Simulated fleets for a test file: each `start` gets its own device IDs, journal folder and
 * client IDs under the harness, and `stopAll` (in afterAll) stops every one.
 */
export function testFleets(h: Harness, defaults: Partial<FleetSimulatorOptions> = {}) {
  const sims: FleetSimulator[] = [];
  let n = 0;
  return {
    async start(devices: number, o: Partial<FleetSimulatorOptions> = {}): Promise<FleetSimulator> {
      const name = `fleet${++n}`;
      const sim = new FleetSimulator({
        mqttUrl: h.env.mqttUrl,
        topicPrefix: h.topicPrefix,
        devices,
        idPrefix: `${h.id}-${name}-`,
        connections: 1,
        latencyMs: 10,
        journalDir: path.join(h.dir, name),
        clientIdPrefix: `${h.id}-${name}`,
        ...defaults,
        ...o,
      });
      await sim.start();
      sims.push(sim);
      return sim;
    },
    stopAll: () => Promise.all(sims.map((s) => s.stop())),
  };
}
