import { CommandFailure, type CommandHandler } from './device-agent';

export interface SimulationKnobs {
  /** Mean execution time of a command, ms (uniform in [0.5, 1.5] × mean). */
  latencyMs: number;
  /** This device fails every command it runs (fleet-profiles.ts picks such devices, an exact share of the fleet). */
  failing: boolean;
  /** Random source of the execution times, injectable for seeded runs. */
  random: () => number;
}

/**
 * Waits `ms`, or throws as soon as the service cancels the command: simulated work has no
 * effect until it completes, so stopping it is always safe (the agent reports `cancelled`).
 */
export function cancellableWait(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new Error('cancelled before it started'));
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(timer), reject(new Error('cancelled by the service'))), { once: true });
  });
}

/**
 * The commands a simulated device understands. Anything else is rejected as unknown, as a
 * real device would. `fail` always fails and `sleep` takes `params.ms`: handy in demos. A
 * failing device fails every command, after its execution time (the same answer as the fleet
 * simulator's failing devices).
 */
export function simulatedHandlers(k: SimulationKnobs): Record<string, CommandHandler> {
  const failIfFailing = () => {
    if (k.failing) throw new CommandFailure('simulated-failure', 'this simulated device fails every command');
  };
  const work = async (signal: AbortSignal | undefined, ms = k.latencyMs * (0.5 + k.random())) => {
    await cancellableWait(ms, signal);
    failIfFailing();
  };
  return {
    ping: async (_params, ctx) => {
      await work(ctx.signal);
      return { pong: true };
    },
    reboot: async (_params, ctx) => {
      await work(ctx.signal);
      return { rebooted: true };
    },
    'set-config': async (params, ctx) => {
      await work(ctx.signal);
      return { applied: Object.keys(params) };
    },
    'update-firmware': async (params, ctx) => {
      await work(ctx.signal);
      return { version: typeof params.version === 'string' ? params.version : 'unknown' };
    },
    sleep: async (params, ctx) => {
      const ms = typeof params.ms === 'number' && params.ms >= 0 ? Math.min(params.ms, 600_000) : k.latencyMs;
      await cancellableWait(ms, ctx.signal);
      failIfFailing();
      return { sleptMs: ms };
    },
    fail: async () => {
      throw new CommandFailure('requested-failure', 'the `fail` command always fails');
    },
  };
}
