/** p-th percentile (0-100) of the values, nearest-rank; NaN for none. */
export function percentile(values: number[], p: number): number {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1];
}

/** Runs `task(i)` for i in [0, n) with at most `concurrency` at once; returns each latency in ms. */
export async function runConcurrently(n: number, concurrency: number, task: (i: number) => Promise<void>): Promise<{ latencies: number[]; wallMs: number }> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  const lane = async () => {
    while (next < n) {
      const i = next++;
      const t0 = performance.now();
      await task(i);
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, lane));
  return { latencies, wallMs: performance.now() - started };
}

export function summarize(name: string, r: { latencies: number[]; wallMs: number }) {
  return {
    name,
    count: r.latencies.length,
    wallMs: Math.round(r.wallMs),
    perSecond: Math.round((r.latencies.length / r.wallMs) * 1000 * 10) / 10,
    p50Ms: Math.round(percentile(r.latencies, 50) * 10) / 10,
    p99Ms: Math.round(percentile(r.latencies, 99) * 10) / 10,
  };
}
