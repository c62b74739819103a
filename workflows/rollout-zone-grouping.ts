import { ActivityFailure } from '@temporalio/workflow';
import { timeZonesOf } from './device-zone-lookup';
import { groupTargetsByZone } from './rollout-device-windows';
import { abortRollout } from './rollout-operator-controls';
import type { RolloutRunState } from './rollout-run-state';

/**
 * Per-device windows (RolloutSpec.window.deviceTimeZone): reads the targets' time zones and
 * groups each wave's targets by zone; aborts with the reason if they cannot be read.
 */
export async function groupByZone(run: Pick<RolloutRunState, 'spec' | 'targets' | 'progress' | 'changed'>): Promise<void> {
  const { spec, targets } = run;
  try {
    const zones = await timeZonesOf(targets, spec.window!.timeZone);
    const grouped = groupTargetsByZone(targets, zones, run.progress.waves);
    targets.splice(0, targets.length, ...grouped.targets);
    run.changed({ ...run.progress, deviceWindows: grouped.deviceWindows });
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    run.changed(
      abortRollout(
        run.progress,
        `the devices' time zones could not be read (per-device maintenance windows): ${(err.cause as Error | undefined)?.message ?? err.message}`,
      ),
    );
  }
}
