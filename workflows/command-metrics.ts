import { metricMeter } from '@temporalio/workflow';
import type { CommandState } from '../protocol/command-state';

/**
 * Command metrics, emitted from the workflow through the SDK's metric meter: they reach the
 * worker's Prometheus endpoint (Runtime telemetry) and are not emitted again during replay.
 */
const finished = metricMeter.createCounter('dco_commands_finished', 'commands', 'Commands that reached a terminal state, by state');
const ackLatency = metricMeter.createHistogram('dco_command_ack_latency', 'int', 'ms', "First publish to the device's ack");
const resultLatency = metricMeter.createHistogram('dco_command_result_latency', 'int', 'ms', "Ack to the device's result");
const publishes = metricMeter.createCounter(
  'dco_command_publishes',
  'publishes',
  'Commands published to devices, by cause: first, or why it was published again',
);

/**
 * Why a command was published. Everything but `first` is a re-publish, and each has one cause,
 * so a bench or a dashboard can tell a silent device (`ack-timeout`), a device that came back
 * (`device-online`, `device-rebooted`) and a missing result (`result-probe`) apart.
 */
export type PublishCause = 'first' | 'ack-timeout' | 'device-online' | 'device-rebooted' | 'device-asked' | 'result-probe';

export function recordPublish(cause: PublishCause): void {
  publishes.add(1, { cause });
}

export function recordFinished(state: CommandState, name: string): void {
  finished.add(1, { state, command: name });
}

export function recordAckLatency(ms: number): void {
  if (ms >= 0) ackLatency.record(Math.round(ms));
}

export function recordResultLatency(ms: number): void {
  if (ms >= 0) resultLatency.record(Math.round(ms));
}
