/**
 * Sums of one metric's samples in a Prometheus text exposition, per value of one label. The
 * bench reads counters this way from the worker, the bridge and the Temporal server; it needs
 * sums and nothing of the rest of the format (no histogram buckets, no timestamps).
 */
export function sumByLabel(exposition: string, metric: string, label: string, where: Record<string, string> = {}): Record<string, number> {
  const sums: Record<string, number> = {};
  const sample = new RegExp(`^${metric}\\{([^}]*)\\}\\s+([0-9.eE+-]+|NaN)`);
  for (const line of exposition.split('\n')) {
    const m = sample.exec(line);
    if (!m) continue;
    const labels = m[1];
    if (Object.entries(where).some(([k, v]) => labelValue(labels, k) !== v)) continue;
    const key = labelValue(labels, label) ?? 'unknown';
    const value = Number(m[2]);
    if (Number.isFinite(value)) sums[key] = (sums[key] ?? 0) + value;
  }
  return sums;
}

function labelValue(labels: string, name: string): string | undefined {
  return new RegExp(`(?:^|,)${name}="([^"]*)"`).exec(labels)?.[1];
}

/** A Prometheus endpoint's exposition (`url` ends in /metrics). */
export async function scrape(url: string): Promise<string> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`metrics endpoint ${url} answered ${res.status}`);
  return res.text();
}
