import { ActivityFailure, log } from '@temporalio/workflow';
import { ApplicationFailure } from '@temporalio/common';
import type { ContinuousScanState } from '../protocol/rollout-contract';
import type { RolloutSpec } from '../protocol/rollout-spec';
import { devicesChangedSince } from './rollout-activity-proxies';
import { timeZonesOf } from './device-zone-lookup';
import { sortByZone } from './rollout-device-windows';
import { addTargets } from './rollout-joined-targets';
import { abortRollout } from './rollout-operator-controls';
import type { RolloutRunState } from './rollout-run-state';

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

/** Where a continuous rollout's looks stand on its first run: the first look is due one interval after the start. */
export function firstScan(continuous: NonNullable<RolloutSpec['continuous']>): ContinuousScanState {
  return { sinceMs: Date.now() - FIRST_LOOK_BACK_MS, nextAtMs: Date.now() + continuous.scanEveryMs, joined: 0 };
}

/**
 * RolloutSpec.continuous: the looks for devices that started matching the query. The devices
 * a look finds join the run's targets (and its last wave); where the looks stand is the run's
 * `scan`, which the run carries over continue-as-new.
 */
export class ContinuousScan {
  private readonly known: Set<string>;
  private targetBytes: number;

  constructor(private readonly run: Pick<RolloutRunState, 'spec' | 'targets' | 'progress' | 'scan' | 'changed'>) {
    this.known = new Set(run.targets);
    this.targetBytes = run.targets.reduce((n, t) => n + t.length + 3, 0);
  }

  /** A continuous rollout looks for devices when a look is due, until it ends. */
  due(): boolean {
    const { spec, scan, progress } = this.run;
    return (
      scan !== undefined &&
      !scan.full &&
      !progress.cancelled &&
      !progress.aborted &&
      Date.now() >= scan.nextAtMs &&
      !(spec.endAt && Date.now() >= Date.parse(spec.endAt))
    );
  }

  /** One look: every page of devices that match and changed since the last look; the new ones join the last wave. */
  async look(s: ContinuousScanState, query: string, everyMs: number): Promise<void> {
    const { run } = this;
    const startedAtMs = Date.now();
    let joined = 0;
    let full = false;
    let pageToken: string | undefined;
    try {
      do {
        const page = await devicesChangedSince({ query, sinceMs: s.sinceMs, ...(pageToken ? { pageToken } : {}) });
        let fresh: string[] = [];
        let bytes = this.targetBytes;
        for (const id of new Set(page.deviceIds)) {
          if (this.known.has(id)) continue;
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
        if (fresh.length && run.progress.deviceWindows) ({ ids: fresh, zones } = sortByZone(fresh, await timeZonesOf(fresh, run.spec.window!.timeZone)));
        for (const id of fresh) this.known.add(id);
        this.targetBytes = bytes;
        run.targets.push(...fresh);
        joined += fresh.length;
        if (fresh.length) run.changed(addTargets(run.progress, fresh.length, zones));
        pageToken = full ? undefined : page.nextPageToken;
      } while (pageToken);
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      const cause = err.cause as Error | undefined;
      if (cause?.name === 'InvalidDeviceQuery' || (cause instanceof ApplicationFailure && cause.type === 'InvalidDeviceQuery')) {
        run.scan = { ...s, joined: s.joined + joined };
        run.changed(abortRollout(run.progress, `invalid rollout: continuous.query: ${cause.message}`));
        return;
      }
      // Temporal's visibility failed four times: skip this look; the next one covers its window.
      log.warn('a continuous rollout could not look for devices; the next look covers this one', {
        rolloutId: run.spec.rolloutId,
        error: cause?.message ?? err.message,
      });
      run.scan = { ...s, joined: s.joined + joined, nextAtMs: startedAtMs + everyMs };
      run.changed(run.progress);
      return;
    }
    if (full)
      log.warn('a continuous rollout reached its target list limit and stops adding devices', { rolloutId: run.spec.rolloutId, targets: run.targets.length });
    run.scan = {
      sinceMs: startedAtMs - LOOK_BACK_MS,
      nextAtMs: startedAtMs + everyMs,
      joined: s.joined + joined,
      lastScanAtMs: startedAtMs,
      ...(full ? { full: true } : {}),
    };
    run.changed(run.progress);
  }
}
