import { condition, isCancellation, setHandler, upsertSearchAttributes, CancellationScope } from '@temporalio/workflow';
import type { RolloutInput, RolloutStatusView } from '../protocol/rollout-contract';
import { CommandNameAttribute, RolloutIdAttribute } from '../protocol/search-attributes';
import { validateRolloutSpec } from '../protocol/validate-rollout-spec';
import { maintenanceWindow } from './rollout-activity-proxies';
import { advanceWave, nextAction, recordStarted, windowsToFind, recordDeviceWindow, recordWindow } from './rollout-plan';
import { endReached, untilEndMs } from './rollout-end-time';
import { abortRollout, cancel } from './rollout-operator-controls';
import { refuseInvalidRollout } from './refuse-invalid-rollout';
import { laneCommandsEndedSignal } from './rollout-lane-signals';
import { RolloutRunState } from './rollout-run-state';
import { setOperatorHandlers } from './rollout-operator-handlers';
import { RolloutCommands } from './rollout-commands';
import { ContinuousScan } from './rollout-continuous-scan';
import { groupByZone } from './rollout-zone-grouping';
import { carryOn, historyIsLong } from './rollout-continue-as-new';

/**
 * One command over a fleet, in waves. Each device gets a child command workflow whose ID is
 * derived from the rollout and the device (`command-{rolloutId}.{deviceId}`), so neither a
 * worker restart, nor continue-as-new, nor running the same rollout again can send a device
 * the command twice. All decisions are the pure planner's (rollout-plan.ts); this function only
 * carries them out: start children, wait, and listen to operators.
 */
export async function rolloutWorkflow(input: RolloutInput): Promise<RolloutStatusView> {
  // Started directly (another language, the `temporal` CLI), the spec has not been through
  // zod: check it, so that e.g. concurrency 0 ends the rollout instead of waiting forever.
  const checked = validateRolloutSpec(input?.spec);
  if (!checked.ok) return refuseInvalidRollout(input?.spec, `invalid rollout: ${checked.reason}`);
  const spec = checked.value;
  const run = new RolloutRunState(spec, input.carried);
  const looks = new ContinuousScan(run);
  let draining = false;

  upsertSearchAttributes([
    { key: RolloutIdAttribute, value: spec.rolloutId },
    { key: CommandNameAttribute, value: spec.name },
  ]);
  run.changed(run.progress);

  setOperatorHandlers(run);
  const commands = new RolloutCommands(run);
  setHandler(laneCommandsEndedSignal, (ends) => commands.lanesReported(ends));

  try {
    // Per-device windows: before anything starts, each wave's targets are grouped by the time
    // zone their devices report (once: later runs carry the grouping in their progress).
    if (spec.window?.deviceTimeZone && !run.progress.deviceWindows) await groupByZone(run);
    for (;;) {
      if (run.scan && looks.due()) await looks.look(run.scan, spec.continuous!.query, spec.continuous!.scanEveryMs);
      const ending = endReached(run.progress, Date.now(), spec);
      if (ending) {
        run.changed(cancel(run.progress, ending));
        if (spec.endBehaviour === 'cancel-in-flight') commands.cancelInFlight();
      }
      const action = nextAction(run.progress, Date.now(), spec);
      const seen = run.version;
      // With an end time ahead, no wait lasts past it.
      const endMs = untilEndMs(run.progress, Date.now(), spec);
      // Nor past a continuous rollout's next look.
      const lookMs = run.scan && !run.scan.full ? run.scan.nextAtMs - Date.now() : undefined;
      const untilChanged = (waitMs?: number) => {
        const bounds = [waitMs, endMs, lookMs].filter((ms): ms is number => ms !== undefined);
        return bounds.length === 0 ? condition(() => run.version !== seen) : condition(() => run.version !== seen, Math.max(1, Math.min(...bounds)));
      };
      switch (action.kind) {
        case 'start-more': {
          if (draining || historyIsLong() || commands.lanesFull) {
            draining = true;
            if (run.progress.inFlight.length === 0) await carryOn(run);
            await untilChanged();
            break;
          }
          const started = recordStarted(run.progress, action.count, Date.now(), spec);
          run.changed(started.progress);
          commands.start(started.targets);
          break;
        }
        case 'advance-wave':
          run.changed(advanceWave(run.progress, Date.now(), spec));
          break;
        case 'find-window': {
          const zones = windowsToFind(run.progress, Date.now());
          if (zones.length === 0) {
            const found = await maintenanceWindow({ window: spec.window!, atMs: Date.now() });
            run.changed('invalid' in found ? abortRollout(run.progress, `invalid rollout: ${found.invalid}`) : recordWindow(run.progress, found));
            break;
          }
          // Per-device windows: each zone whose devices wait and whose window is unknown or over.
          for (const zone of zones) {
            const timeZone = run.progress.deviceWindows!.zones[zone];
            const found = await maintenanceWindow({ window: { ...spec.window!, timeZone }, atMs: Date.now() });
            run.changed(
              'invalid' in found
                ? abortRollout(run.progress, `invalid rollout: ${found.invalid} (the window in ${timeZone})`)
                : recordDeviceWindow(run.progress, zone, found),
            );
            if ('invalid' in found) break;
          }
          break;
        }
        case 'wait-rate':
        case 'wait-start':
        case 'wait-window':
        case 'soak':
          await untilChanged(action.untilMs - Date.now());
          break;
        case 'wait-devices':
          // Looks add history while nothing else happens: continue as new between them.
          if (historyIsLong() && run.progress.inFlight.length === 0) await carryOn(run);
          await untilChanged();
          break;
        case 'wait-in-flight':
        case 'await-approval':
        case 'paused':
          await untilChanged();
          break;
        case 'done':
        case 'aborted':
        case 'cancelled':
          return run.status();
      }
    }
  } catch (err) {
    if (!isCancellation(err)) throw err;
    // Cancelled through Temporal: stop starting, let in-flight commands finish, report.
    run.changed(cancel(run.progress, 'rollout workflow cancelled'));
    await CancellationScope.nonCancellable(() => condition(() => run.progress.inFlight.length === 0));
    return run.status();
  }
}
