import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';
import type { Logger } from './logger';

const LEVELS: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/**
 * Sends the Temporal SDK's own logs (worker, core) to our structured logger, and, with
 * `metricsAddress` (host:port), serves the SDK's metrics and our workflow metrics
 * (dco_commands_finished, dco_command_ack_latency, ...) for Prometheus. Once per process.
 */
export function installTemporalRuntime(logger: Logger, level: LogLevel = 'INFO', metricsAddress?: string): void {
  Runtime.install({
    ...(metricsAddress ? { telemetryOptions: { metrics: { prometheus: { bindAddress: metricsAddress } } } } : {}),
    logger: new DefaultLogger(level, (entry) => {
      logger[LEVELS[entry.level]]({ sdk: true, ...entry.meta }, entry.message);
    }),
  });
}
