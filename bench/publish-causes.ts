import { scrape, sumByLabel } from './prometheus-sums';

/**
 * Publishes by cause, read from a worker's Prometheus endpoint (`dco_command_publishes`, one
 * series per cause and task queue): `first` is one per command; every other cause is a
 * re-publish, and says whether the device was silent (`ack-timeout`), came back
 * (`device-online`, `device-rebooted`) or owed a result (`result-probe`).
 */
export async function publishCauses(metricsAddress: string): Promise<Record<string, number>> {
  return countByCause(await scrape(`http://${metricsAddress}/metrics`));
}

/** Sums `dco_command_publishes` samples per `cause` label in a Prometheus text exposition. */
export function countByCause(exposition: string): Record<string, number> {
  // prom-client names the counter dco_command_publishes_total; earlier versions had no suffix.
  return mergeSums(sumByLabel(exposition, 'dco_command_publishes', 'cause'), sumByLabel(exposition, 'dco_command_publishes_total', 'cause'));
}

/** A bridge's counters of one kind by outcome (`dco_bridge_messages_total{kind,outcome}`), read from its Prometheus endpoint. */
export async function bridgeOutcomes(metricsAddress: string, kind: string): Promise<Record<string, number>> {
  return countOutcomes(await scrape(`http://${metricsAddress}/metrics`), kind);
}

/** Sums `dco_bridge_messages_total` samples of `kind` per `outcome` label in a Prometheus text exposition. */
export function countOutcomes(exposition: string, kind: string): Record<string, number> {
  return sumByLabel(exposition, 'dco_bridge_messages_total', 'outcome', { kind });
}

function mergeSums(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const merged = { ...a };
  for (const [k, v] of Object.entries(b)) merged[k] = (merged[k] ?? 0) + v;
  return merged;
}
