import {
  ActivityFailure,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
  CancellationScope,
} from '@temporalio/workflow';
import { ApplicationFailure } from '@temporalio/common';
import { commandWorkflowId } from '../protocol/command-contract';
import type { AdaptiveSample } from './adaptive-concurrency';
import type { CommandState } from '../protocol/command-state';
import {
  approveRolloutUpdate,
  cancelRolloutSignal,
  pauseRolloutSignal,
  resumeRolloutSignal,
  rolloutStatusQuery,
  type ContinuousScanState,
  type RolloutActivities,
  type RolloutInput,
  type RolloutStatusView,
} from '../protocol/rollout-contract';
import { CommandNameAttribute, RolloutIdAttribute } from '../protocol/search-attributes';
import { validateRolloutSpec } from '../protocol/validate-rollout-spec';
import { timeZonesOf } from './device-zone-lookup';
import { groupTargetsByZone, sortByZone } from './rollout-device-windows';
import { rolloutCommandId } from './rollout-command-ids';
import {
  advanceWave,
  newProgress,
  nextAction,
  recordFinished,
  recordStarted,
  windowsToFind,
  recordDeviceWindow,
  recordWindow,
  type RolloutProgress,
} from './rollout-plan';
import { endReached, untilEndMs } from './rollout-end-time';
import { addTargets } from './rollout-joined-targets';
import { approvalProblem, approve, abortRollout, cancel, pause, resume } from './rollout-operator-controls';
import { rolloutStatus } from './rollout-status';
import { describeRollout, MILESTONE_STATES } from './rollout-description';
import { refuseInvalidRollout } from './refuse-invalid-rollout';
import { rolloutCommandRequest, runRolloutCommand, type RolloutCommandTemplate } from './rollout-command-start';
import { laneCommandsEndedSignal, wellFormedLaneEnds } from './rollout-lane-signals';
import { RolloutLanes } from './rollout-lanes';

/** Maintenance windows: a pure computation, so a local activity, retried briefly. */
const { maintenanceWindow } = proxyLocalActivities<RolloutActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '1 second', maximumAttempts: 5 },
});

/**
 * A continuous rollout's looks: a few tries, then the look is skipped and the next one (whose
 * window starts at the last successful look) covers it. A query Temporal refuses is not retried.
 */
const { devicesChangedSince } = proxyActivities<RolloutActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '10 seconds', maximumAttempts: 4, nonRetryableErrorTypes: ['InvalidDeviceQuery'] },
});

/**
 * Looks ask for changes since the previous look's start less this margin: visibility may show
 * a change a moment late, and a device seen twice is added once (the rollout knows its targets).
 * The first look reaches further back, past the time the client spent resolving the targets.
 */
const LOOK_BACK_MS = 30_000;
const FIRST_LOOK_BACK_MS = 5 * 60_000;

/**
 * A continuous rollout carries its whole target list over continue-as-new, in one payload:
 * it stops adding devices past this many bytes of IDs (about 40,000 devices), well under
 * Temporal's 2 MB payload limit, and says so in its status.
 */
const MAX_TARGET_BYTES = 1_000_000;

/**
 * Keeps each run's history well below Temporal's limits. A run stops starting commands when
 * Temporal suggests continue-as-new (or at this many events), lets its in-flight commands
 * finish, and continues as a new run with the same progress.
 */
const MAX_EVENTS_PER_RUN = 8_000;

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
  const generation = input.carried?.generation ?? 0;
  let progress = (input.carried?.progress as RolloutProgress | undefined) ?? newProgress(spec.targets.length, spec, Date.now());
  /** The targets; a continuous rollout appends the devices its looks find (and carries them over continue-as-new). */
  const targets = [...spec.targets];
  const known = new Set(targets);
  let targetBytes = targets.reduce((n, t) => n + t.length + 3, 0);
  let scan: ContinuousScanState | undefined = spec.continuous
    ? (input.carried?.scan ?? { sinceMs: Date.now() - FIRST_LOOK_BACK_MS, nextAtMs: Date.now() + spec.continuous.scanEveryMs, joined: 0 })
    : undefined;
  /** Bumped by every signal, update and finished command: waits re-evaluate on any change. */
  let version = 0;
  let draining = false;
  let lastDetails = '';

  const status = (): RolloutStatusView => ({
    ...rolloutStatus(progress, Date.now(), spec),
    rolloutId: spec.rolloutId,
    command: spec.name,
    targets: targets.length,
    generation,
    ...(spec.continuous && scan
      ? {
          continuous: {
            query: spec.continuous.query,
            joined: scan.joined,
            ...(scan.lastScanAtMs !== undefined ? { lastScanAt: new Date(scan.lastScanAtMs).toISOString() } : {}),
            ...(scan.full ? { full: true } : {}),
          },
        }
      : {}),
  });
  let lastLogged = '';
  const changed = (next: RolloutProgress) => {
    progress = next;
    version++;
    const s = status();
    const details = describeRollout(s);
    if (details !== lastDetails) {
      lastDetails = details;
      setCurrentDetails(details);
    }
    // A log line when a wave starts and when the rollout waits for people or ends (not per
    // device: the commands log those; not per planner step: too many).
    const state = MILESTONE_STATES.has(s.state) ? s.state : 'running';
    const milestone = `${state} ${s.currentWave ?? '-'}`;
    if (milestone !== lastLogged) {
      lastLogged = milestone;
      log.info(`rollout ${state}`, {
        rolloutId: spec.rolloutId,
        command: spec.name,
        state,
        wave: s.currentWave,
        generation,
        overall: s.overall,
        ...(s.abortReason ? { reason: s.abortReason } : s.pauseReason ? { reason: s.pauseReason } : s.cancelReason ? { reason: s.cancelReason } : {}),
      });
    }
  };

  upsertSearchAttributes([
    { key: RolloutIdAttribute, value: spec.rolloutId },
    { key: CommandNameAttribute, value: spec.name },
  ]);
  changed(progress);

  setHandler(rolloutStatusQuery, status);
  setHandler(pauseRolloutSignal, (reason) => changed(pause(progress, reason || undefined)));
  setHandler(resumeRolloutSignal, () => changed(resume(progress)));
  setHandler(cancelRolloutSignal, (reason) => changed(cancel(progress, reason || undefined)));
  setHandler(
    approveRolloutUpdate,
    (waveIndex) => {
      changed(approve(progress, waveIndex ?? progress.current));
      return status();
    },
    {
      validator: (waveIndex) => {
        const problem = approvalProblem(progress, waveIndex ?? progress.current);
        if (problem) throw new Error(problem);
      },
    },
  );

  const finished = (target: number, state: CommandState, sample?: AdaptiveSample) => {
    lanes?.ended(target);
    changed(recordFinished(progress, target, state, Date.now(), spec, sample));
  };

  const command: RolloutCommandTemplate = {
    rolloutId: spec.rolloutId,
    name: spec.name,
    params: spec.params,
    options: spec.options,
    ...(spec.ordering ? { ordering: spec.ordering } : {}),
  };
  /** Starts the device command for target `t` itself (not through a lane) and counts its end. */
  const run = async (t: number, expiresAt = new Date(Date.now() + spec.ttlMs).toISOString(), startedAtMs = Date.now()): Promise<void> => {
    const end = await runRolloutCommand(rolloutCommandRequest(command, targets[t], expiresAt), startedAtMs);
    finished(t, end.state, end.sample);
  };
  /** RolloutSpec.lanes: lanes start the commands and report their ends in batches. */
  const lanes =
    spec.lanes && spec.lanes > 1
      ? new RolloutLanes({
          count: spec.lanes,
          generation,
          command,
          orphaned: (commands) => commands.forEach((c) => void run(c.target, c.expiresAt, c.startedAtMs)),
        })
      : undefined;
  // Only well-formed reports about commands a lane runs count (rollout-lane-signals.ts says why).
  setHandler(laneCommandsEndedSignal, (ends) => {
    for (const e of wellFormedLaneEnds(ends)) if (lanes?.holds(e.target)) finished(e.target, e.state, e.sample);
  });

  /** RolloutSpec.endBehaviour 'cancel-in-flight': each device command in flight is cancelled (its device is asked to stop it). */
  const cancelInFlight = () => {
    for (const t of progress.inFlight) {
      const commandId = rolloutCommandId(spec.rolloutId, targets[t]);
      getExternalWorkflowHandle(commandWorkflowId(commandId))
        .cancel()
        .catch((err: Error) => log.warn("could not cancel a command at the rollout's end time", { rolloutId: spec.rolloutId, commandId, error: err.message }));
    }
  };

  const historyIsLong = () => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > MAX_EVENTS_PER_RUN;
  const carryOn = () =>
    continueAsNew<typeof rolloutWorkflow>({ spec: { ...spec, targets }, carried: { progress, generation: generation + 1, ...(scan ? { scan } : {}) } });

  /** Reads the targets' time zones and groups each wave's targets by zone; aborts with the reason if they cannot be read. */
  const groupByZone = async (): Promise<void> => {
    try {
      const zones = await timeZonesOf(targets, spec.window!.timeZone);
      const grouped = groupTargetsByZone(targets, zones, progress.waves);
      targets.splice(0, targets.length, ...grouped.targets);
      changed({ ...progress, deviceWindows: grouped.deviceWindows });
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      changed(
        abortRollout(
          progress,
          `the devices' time zones could not be read (per-device maintenance windows): ${(err.cause as Error | undefined)?.message ?? err.message}`,
        ),
      );
    }
  };

  /** A continuous rollout looks for devices when a look is due, until it ends. */
  const lookDue = () =>
    scan !== undefined &&
    !scan.full &&
    !progress.cancelled &&
    !progress.aborted &&
    Date.now() >= scan.nextAtMs &&
    !(spec.endAt && Date.now() >= Date.parse(spec.endAt));

  /** One look: every page of devices that match and changed since the last look; the new ones join the last wave. */
  const look = async (s: ContinuousScanState, query: string, everyMs: number): Promise<void> => {
    const startedAtMs = Date.now();
    let joined = 0;
    let full = false;
    let pageToken: string | undefined;
    try {
      do {
        const page = await devicesChangedSince({ query, sinceMs: s.sinceMs, ...(pageToken ? { pageToken } : {}) });
        let fresh: string[] = [];
        let bytes = targetBytes;
        for (const id of new Set(page.deviceIds)) {
          if (known.has(id)) continue;
          if (bytes + id.length + 3 > MAX_TARGET_BYTES) {
            full = true;
            break;
          }
          fresh.push(id);
          bytes += id.length + 3;
        }
        // Per-device windows: the new devices' zones first (a failed lookup skips the look
        // before anything changed), and they join grouped by zone.
        let zones: string[] | undefined;
        if (fresh.length && progress.deviceWindows) ({ ids: fresh, zones } = sortByZone(fresh, await timeZonesOf(fresh, spec.window!.timeZone)));
        for (const id of fresh) known.add(id);
        targetBytes = bytes;
        targets.push(...fresh);
        joined += fresh.length;
        if (fresh.length) changed(addTargets(progress, fresh.length, zones));
        pageToken = full ? undefined : page.nextPageToken;
      } while (pageToken);
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      const cause = err.cause as Error | undefined;
      if (cause?.name === 'InvalidDeviceQuery' || (cause instanceof ApplicationFailure && cause.type === 'InvalidDeviceQuery')) {
        scan = { ...s, joined: s.joined + joined };
        changed(abortRollout(progress, `invalid rollout: continuous.query: ${cause.message}`));
        return;
      }
      // Temporal's visibility failed four times: skip this look; the next one covers its window.
      log.warn('a continuous rollout could not look for devices; the next look covers this one', {
        rolloutId: spec.rolloutId,
        error: cause?.message ?? err.message,
      });
      scan = { ...s, joined: s.joined + joined, nextAtMs: startedAtMs + everyMs };
      changed(progress);
      return;
    }
    if (full) log.warn('a continuous rollout reached its target list limit and stops adding devices', { rolloutId: spec.rolloutId, targets: targets.length });
    scan = {
      sinceMs: startedAtMs - LOOK_BACK_MS,
      nextAtMs: startedAtMs + everyMs,
      joined: s.joined + joined,
      lastScanAtMs: startedAtMs,
      ...(full ? { full: true } : {}),
    };
    changed(progress);
  };

  try {
    // Per-device windows: before anything starts, each wave's targets are grouped by the time
    // zone their devices report (once: later runs carry the grouping in their progress).
    if (spec.window?.deviceTimeZone && !progress.deviceWindows) await groupByZone();
    for (;;) {
      if (scan && lookDue()) await look(scan, spec.continuous!.query, spec.continuous!.scanEveryMs);
      const ending = endReached(progress, Date.now(), spec);
      if (ending) {
        changed(cancel(progress, ending));
        if (spec.endBehaviour === 'cancel-in-flight') cancelInFlight();
      }
      const action = nextAction(progress, Date.now(), spec);
      const seen = version;
      // With an end time ahead, no wait lasts past it.
      const endMs = untilEndMs(progress, Date.now(), spec);
      // Nor past a continuous rollout's next look.
      const lookMs = scan && !scan.full ? scan.nextAtMs - Date.now() : undefined;
      const untilChanged = (waitMs?: number) => {
        const bounds = [waitMs, endMs, lookMs].filter((ms): ms is number => ms !== undefined);
        return bounds.length === 0 ? condition(() => version !== seen) : condition(() => version !== seen, Math.max(1, Math.min(...bounds)));
      };
      switch (action.kind) {
        case 'start-more': {
          if (draining || historyIsLong() || lanes?.full) {
            draining = true;
            if (progress.inFlight.length === 0) await carryOn();
            await untilChanged();
            break;
          }
          const started = recordStarted(progress, action.count, Date.now(), spec);
          changed(started.progress);
          if (lanes) {
            const expiresAt = new Date(Date.now() + spec.ttlMs).toISOString();
            lanes.dispatch(started.targets.map((target) => ({ target, deviceId: targets[target], expiresAt, startedAtMs: Date.now() })));
          } else for (const t of started.targets) void run(t);
          break;
        }
        case 'advance-wave':
          changed(advanceWave(progress, Date.now(), spec));
          break;
        case 'find-window': {
          const zones = windowsToFind(progress, Date.now());
          if (zones.length === 0) {
            const found = await maintenanceWindow({ window: spec.window!, atMs: Date.now() });
            changed('invalid' in found ? abortRollout(progress, `invalid rollout: ${found.invalid}`) : recordWindow(progress, found));
            break;
          }
          // Per-device windows: each zone whose devices wait and whose window is unknown or over.
          for (const zone of zones) {
            const timeZone = progress.deviceWindows!.zones[zone];
            const found = await maintenanceWindow({ window: { ...spec.window!, timeZone }, atMs: Date.now() });
            changed(
              'invalid' in found
                ? abortRollout(progress, `invalid rollout: ${found.invalid} (the window in ${timeZone})`)
                : recordDeviceWindow(progress, zone, found),
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
          if (historyIsLong() && progress.inFlight.length === 0) await carryOn();
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
          return status();
      }
    }
  } catch (err) {
    if (!isCancellation(err)) throw err;
    // Cancelled through Temporal: stop starting, let in-flight commands finish, report.
    changed(cancel(progress, 'rollout workflow cancelled'));
    await CancellationScope.nonCancellable(() => condition(() => progress.inFlight.length === 0));
    return status();
  }
}
