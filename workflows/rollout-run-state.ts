import { log, setCurrentDetails } from '@temporalio/workflow';
import type { ContinuousScanState, RolloutInput, RolloutStatusView } from '../protocol/rollout-contract';
import type { RolloutSpec } from '../protocol/rollout-spec';
import { firstScan } from './rollout-continuous-scan';
import { describeRollout, MILESTONE_STATES } from './rollout-description';
import { newProgress, type RolloutProgress } from './rollout-progress';
import { rolloutStatus } from './rollout-status';

/**
 * What one run of the rollout workflow holds: the planner's progress, the targets and a
 * continuous rollout's looks (all carried over continue-as-new), and how each change shows:
 * the status, the Web UI's current details and a log line per milestone.
 */
export class RolloutRunState {
  /** Continue-as-new generations before this run. */
  readonly generation: number;
  progress: RolloutProgress;
  /** The targets; a continuous rollout appends the devices its looks find (and carries them over continue-as-new). */
  readonly targets: string[];
  scan: ContinuousScanState | undefined;
  /** Bumped by every signal, update and finished command: waits re-evaluate on any change. */
  version = 0;
  private lastDetails = '';
  private lastLogged = '';

  /** `spec` is the checked one (validateRolloutSpec); `carried` what the previous run carried over, if any. */
  constructor(
    readonly spec: RolloutSpec,
    carried: RolloutInput['carried'],
  ) {
    this.generation = carried?.generation ?? 0;
    this.progress = (carried?.progress as RolloutProgress | undefined) ?? newProgress(spec.targets.length, spec, Date.now());
    this.targets = [...spec.targets];
    this.scan = spec.continuous ? (carried?.scan ?? firstScan(spec.continuous)) : undefined;
  }

  status(): RolloutStatusView {
    const { spec, scan } = this;
    return {
      ...rolloutStatus(this.progress, Date.now(), spec),
      rolloutId: spec.rolloutId,
      command: spec.name,
      targets: this.targets.length,
      generation: this.generation,
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
    };
  }

  /** The progress is now `next` (possibly the same): waits re-evaluate, and the details and milestones show it. */
  changed(next: RolloutProgress): void {
    const { spec } = this;
    this.progress = next;
    this.version++;
    const s = this.status();
    const details = describeRollout(s);
    if (details !== this.lastDetails) {
      this.lastDetails = details;
      setCurrentDetails(details);
    }
    // A log line when a wave starts and when the rollout waits for people or ends (not per
    // device: the commands log those; not per planner step: too many).
    const state = MILESTONE_STATES.has(s.state) ? s.state : 'running';
    const milestone = `${state} ${s.currentWave ?? '-'}`;
    if (milestone !== this.lastLogged) {
      this.lastLogged = milestone;
      log.info(`rollout ${state}`, {
        rolloutId: spec.rolloutId,
        command: spec.name,
        state,
        wave: s.currentWave,
        generation: this.generation,
        overall: s.overall,
        ...(s.abortReason ? { reason: s.abortReason } : s.pauseReason ? { reason: s.pauseReason } : s.cancelReason ? { reason: s.cancelReason } : {}),
      });
    }
  }
}
