import { metricMeter } from '@temporalio/workflow';
import type { CommandState } from '../protocol/command-state';

/**
 * Command metrics, emitted from the workflow through the SDK's metric meter: they reach the
 * worker's Prometheus endpoint (Runtime telemetry) and are not emitted again during replay.
 */
const finished = metricMeter.createCounter('dco_commands_finished', 'commands', 'Commands that reached a terminal state, by state');
const ackLatency = metricMeter.createHistogram('dco_command_ack_latency', 'int', 'ms', 'First publish to the device\'s ack');
const resultLatency = metricMeter.createHistogram('dco_command_result_latency', 'int', 'ms', 'Ack to the device\'s result');

export function recordFinished(state: CommandState, name: string): void {
  finished.add(1, { state, command: name });
}

export function recordAckLatency(ms: number): void {
  if (ms >= 0) ackLatency.record(Math.round(ms));
}

export function recordResultLatency(ms: number): void {
  if (ms >= 0) resultLatency.record(Math.round(ms));
}
