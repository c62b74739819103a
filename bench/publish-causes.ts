/**
 * Publishes by cause, read from a worker's Prometheus endpoint (`dco_command_publishes`, one
 * series per cause and task queue): `first` is one per command; every other cause is a
 * re-publish, and says whether the device was silent (`ack-timeout`), came back
 * (`device-online`, `device-rebooted`) or owed a result (`result-probe`).
 */
export async function publishCauses(metricsAddress: string): Promise<Record<string, number>> {
  const res = await fetch(`http://${metricsAddress}/metrics`);
  if (!res.ok) throw new Error(`metrics endpoint answered ${res.status}`);
  return countByCause(await res.text());
}

/** Sums `dco_command_publishes` samples per `cause` label in a Prometheus text exposition. */
export function countByCause(exposition: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const line of exposition.split('\n')) {
    const m = /^dco_command_publishes(?:_total)?\{([^}]*)\}\s+([0-9.eE+-]+)/.exec(line);
    if (!m) continue;
    const cause = /(?:^|,)cause="([^"]*)"/.exec(m[1])?.[1] ?? 'unknown';
    counts[cause] = (counts[cause] ?? 0) + Number(m[2]);
  }
  return counts;
}

/** A bridge's counters of one kind by outcome (`dco_bridge_messages_total{kind,outcome}`), read from its Prometheus endpoint. */
export async function bridgeOutcomes(metricsAddress: string, kind: string): Promise<Record<string, number>> {
  const res = await fetch(`http://${metricsAddress}/metrics`);
  if (!res.ok) throw new Error(`metrics endpoint answered ${res.status}`);
  return countOutcomes(await res.text(), kind);
}

/** Sums `dco_bridge_messages_total` samples of `kind` per `outcome` label in a Prometheus text exposition. */
export function countOutcomes(exposition: string, kind: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const line of exposition.split('\n')) {
    const m = /^dco_bridge_messages_total\{([^}]*)\}\s+([0-9.eE+-]+)/.exec(line);
    if (!m || /(?:^|,)kind="([^"]*)"/.exec(m[1])?.[1] !== kind) continue;
    const outcome = /(?:^|,)outcome="([^"]*)"/.exec(m[1])?.[1] ?? 'unknown';
    counts[outcome] = (counts[outcome] ?? 0) + Number(m[2]);
  }
  return counts;
}
