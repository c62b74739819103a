import { setHandler } from '@temporalio/workflow';
import { approveRolloutUpdate, cancelRolloutSignal, pauseRolloutSignal, resumeRolloutSignal, rolloutStatusQuery } from '../protocol/rollout-contract';
import { approvalProblem, approve, cancel, pause, resume } from './rollout-operator-controls';
import type { RolloutRunState } from './rollout-run-state';

/**
 * What operators reach a rollout with: its status query, the pause, resume and cancel signals,
 * and the approve update, whose validator refuses a wrong approval with the reason. Each
 * change goes through the run's state, so the workflow's waits re-evaluate.
 */
export function setOperatorHandlers(run: Pick<RolloutRunState, 'progress' | 'status' | 'changed'>): void {
  setHandler(rolloutStatusQuery, () => run.status());
  setHandler(pauseRolloutSignal, (reason) => run.changed(pause(run.progress, reason || undefined)));
  setHandler(resumeRolloutSignal, () => run.changed(resume(run.progress)));
  setHandler(cancelRolloutSignal, (reason) => run.changed(cancel(run.progress, reason || undefined)));
  setHandler(
    approveRolloutUpdate,
    (waveIndex) => {
      run.changed(approve(run.progress, waveIndex ?? run.progress.current));
      return run.status();
    },
    {
      validator: (waveIndex) => {
        const problem = approvalProblem(run.progress, waveIndex ?? run.progress.current);
        if (problem) throw new Error(problem);
      },
    },
  );
}
