/**
 * PostgreSQL's figures over the dev server's, measured in the same run: > 1 is faster (per
 * second) or costlier (CPU ms). The engine's CPU is Temporal's plus PostgreSQL's.
 */
export function compareBackends(dev: Record<string, unknown>, pg: Record<string, unknown>) {
  type Rollout = { devicesPerSecond: number; cpuMsPerDevice: Record<string, number> };
  type Throughput = { variants: Array<{ name: string; perSecond: number }> };
  const ratio = (a?: number, b?: number) => (a && b ? Math.round((a / b) * 100) / 100 : undefined);
  const engineMs = (r: Rollout) => (r.cpuMsPerDevice.temporal ?? 0) + (r.cpuMsPerDevice.postgres ?? 0);
  const out: Record<string, unknown> = {};
  const [d, p] = [dev.rolloutAllSucceed as Rollout | undefined, pg.rolloutAllSucceed as Rollout | undefined];
  if (d && p) {
    out.rolloutDevicesPerSecond = ratio(p.devicesPerSecond, d.devicesPerSecond);
    out.rolloutEngineCpuMsPerDevice = {
      dev: Math.round(engineMs(d) * 10) / 10,
      postgres: Math.round(engineMs(p) * 10) / 10,
      ratio: ratio(engineMs(p), engineMs(d)),
    };
  }
  const [dt, pt] = [dev.throughput as Throughput | undefined, pg.throughput as Throughput | undefined];
  if (dt && pt)
    out.throughput = Object.fromEntries(dt.variants.map((v) => [v.name, ratio(pt.variants.find((x) => x.name === v.name)?.perSecond, v.perSecond)]));
  return out;
}

/** The rollout's speed over the engine's (issue 17: >= 0.9 on both machines' speeds). */
export function setRatio(rollout: unknown, bareCommandsPerSecond: number): void {
  const r = rollout as { devicesPerSecond: number; rolloutVsBareWorkflow?: number; bareWorkflowPerSecond?: number };
  r.bareWorkflowPerSecond = bareCommandsPerSecond;
  r.rolloutVsBareWorkflow = Math.round((r.devicesPerSecond / bareCommandsPerSecond) * 100) / 100;
}
