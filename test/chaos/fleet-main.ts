/**
 * The simulated devices of a chaos run, as their own process (so they can be killed with
 * SIGKILL and started again): one reference DeviceAgent per device (client ID
 * `device-<deviceId>`, persistent session, Last Will, append-only journal on disk), with the
 * seeded profiles of device/fleet-simulator.ts. Restarted with the same configuration, every
 * device comes back with the same client ID and journal and a new bootId.
 *
 * Configuration: the JSON of FleetProcessConfig in the environment variable DCO_CHAOS_FLEET.
 */
import { appendFileSync } from 'node:fs';
import path from 'node:path';
import { FleetSimulator } from '../../device/fleet-simulator';
import { KNOWN_COMMANDS } from './command-plan';
import { untilStopped } from '../../cli/until-stopped';

export interface FleetProcessConfig {
  devices: number;
  idPrefix: string;
  mqttUrl: string;
  username?: string;
  password?: string;
  journalDir: string;
  seed: number;
  latencyMs: number;
  slowLatencyMs: number;
  slowRate: number;
  offlineRate: number;
  rejectRate: number;
  failureRate: number;
}

export const FLEET_READY = 'chaos fleet ready';
/** In the journal directory: one JSON line per command a device started while it executed others. */
export const CONCURRENT_EXECUTIONS_FILE = 'concurrent-executions.jsonl';
export const FLEET_CONFIG_ENV = 'DCO_CHAOS_FLEET';

async function main(): Promise<void> {
  const c = JSON.parse(process.env[FLEET_CONFIG_ENV] ?? '') as FleetProcessConfig;
  const log = (message: string, details?: Record<string, unknown>) =>
    process.stderr.write(JSON.stringify({ time: new Date().toISOString(), msg: message, ...details }) + '\n');
  const fleet = new FleetSimulator({
    devices: c.devices,
    idPrefix: c.idPrefix,
    mqttUrl: c.mqttUrl,
    username: c.username,
    password: c.password,
    mode: 'per-device',
    journalDir: c.journalDir,
    seed: c.seed,
    latencyMs: c.latencyMs,
    slowLatencyMs: c.slowLatencyMs,
    slowRate: c.slowRate,
    offlineRate: c.offlineRate,
    rejectRate: c.rejectRate,
    failureRate: c.failureRate,
    knownCommands: KNOWN_COMMANDS,
    offlineStatus: 'offline',
    onLog: log,
    // Appended at once (sync): the process may be killed right after.
    onConcurrentExecution: (deviceId, started, running) =>
      appendFileSync(path.join(c.journalDir, CONCURRENT_EXECUTIONS_FILE), JSON.stringify({ deviceId, started, running }) + '\n'),
  });
  const started = Date.now();
  await fleet.start();
  log(FLEET_READY, { devices: c.devices, ms: Date.now() - started });
  // Held open until stopped: a broker kill must not end the devices (they reconnect).
  await untilStopped();
  await fleet.stop();
  process.exit(0);
}

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`chaos fleet failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
