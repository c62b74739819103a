import { scrape, sumByLabel } from './prometheus-sums';

/**
 * Where the Temporal server's time goes, as its own counters say (its Prometheus endpoint):
 * requests to the frontend by operation (what our worker, bridge and clients ask), database
 * requests and the seconds spent in them (the dev server's SQLite has one connection, so its
 * time there is the bottleneck), visibility writes, and the history service's background
 * tasks (transfer, timer, visibility). Read before and after a rollout, and divided by its
 * devices, they show what one device command costs the engine, operation by operation.
 */
export interface TemporalOperationCounts {
  frontendRequests: Record<string, number>;
  persistenceRequests: Record<string, number>;
  persistenceSeconds: Record<string, number>;
  visibilityRequests: Record<string, number>;
  historyTasks: Record<string, number>;
}

export function temporalOperationCounts(exposition: string): TemporalOperationCounts {
  return {
    frontendRequests: sumByLabel(exposition, 'service_requests', 'operation', { service_name: 'frontend' }),
    persistenceRequests: sumByLabel(exposition, 'persistence_requests', 'operation'),
    persistenceSeconds: sumByLabel(exposition, 'persistence_latency_sum', 'operation'),
    visibilityRequests: sumByLabel(exposition, 'visibility_persistence_requests', 'operation'),
    historyTasks: sumByLabel(exposition, 'task_requests', 'operation'),
  };
}

export async function readTemporalOperations(metricsUrl: string): Promise<TemporalOperationCounts> {
  return temporalOperationCounts(await scrape(metricsUrl));
}

/** Per device, in each group the operations that add up to at least this share of its total; the rest as `other`. */
const SHOWN_SHARE = 0.95;

/**
 * What happened between two readings, per device, largest first. Persistence seconds become
 * milliseconds per device. Operations below 0.01 per device are left out of each group.
 */
export function operationsPerDevice(before: TemporalOperationCounts, after: TemporalOperationCounts, devices: number) {
  const group = (a: Record<string, number>, b: Record<string, number>, scale = 1) => {
    const deltas = Object.entries(b)
      .map(([op, v]) => [op, ((v - (a[op] ?? 0)) * scale) / Math.max(1, devices)] as const)
      .filter(([, v]) => v >= 0.01)
      .sort((x, y) => y[1] - x[1]);
    const total = deltas.reduce((n, [, v]) => n + v, 0);
    const shown: Record<string, number> = {};
    let sum = 0;
    for (const [op, v] of deltas) {
      if (sum >= total * SHOWN_SHARE) break;
      shown[op] = round(v);
      sum += v;
    }
    if (total - sum >= 0.01) shown.other = round(total - sum);
    return { total: round(total), ...shown };
  };
  return {
    frontendRequests: group(before.frontendRequests, after.frontendRequests),
    persistenceRequests: group(before.persistenceRequests, after.persistenceRequests),
    persistenceMs: group(before.persistenceSeconds, after.persistenceSeconds, 1000),
    visibilityRequests: group(before.visibilityRequests, after.visibilityRequests),
    historyTasks: group(before.historyTasks, after.historyTasks),
  };
}

const round = (v: number) => Math.round(v * 100) / 100;
