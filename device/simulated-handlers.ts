import { CommandFailure, type CommandHandler } from './device-agent';

export interface SimulationKnobs {
  /** Mean execution time of a command, ms (uniform in [0.5, 1.5] × mean). */
  latencyMs: number;
  /** Share of executions that report failure. */
  failureRate: number;
  /** Random source, injectable for seeded runs. */
  random: () => number;
}

/**
 * The commands a simulated device understands. Anything else is rejected as unknown, as a
 * real device would. `fail` always fails and `sleep` takes `params.ms`: handy in demos.
 */
export function simulatedHandlers(k: SimulationKnobs): Record<string, CommandHandler> {
  const work = async (ms = k.latencyMs * (0.5 + k.random())) => {
    await new Promise((r) => setTimeout(r, ms));
    if (k.random() < k.failureRate) throw new CommandFailure('simulated-failure', 'the simulation chose to fail this execution');
  };
  return {
    ping: async () => {
      await work();
      return { pong: true };
    },
    reboot: async () => {
      await work();
      return { rebooted: true };
    },
    'set-config': async (params) => {
      await work();
      return { applied: Object.keys(params) };
    },
    'update-firmware': async (params) => {
      await work();
      return { version: typeof params.version === 'string' ? params.version : 'unknown' };
    },
    sleep: async (params) => {
      const ms = typeof params.ms === 'number' && params.ms >= 0 ? Math.min(params.ms, 600_000) : k.latencyMs;
      await new Promise((r) => setTimeout(r, ms));
      return { sleptMs: ms };
    },
    fail: async () => {
      throw new CommandFailure('requested-failure', 'the `fail` command always fails');
    },
  };
}
