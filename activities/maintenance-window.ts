import { windowAt } from '../protocol/maintenance-window';
import type { RolloutActivities } from '../protocol/rollout-contract';

/** The rollout's maintenance windows, computed where time-zone rules may live (not in workflow code). */
export const maintenanceWindowActivities: Pick<RolloutActivities, 'maintenanceWindow'> = {
  async maintenanceWindow({ window, atMs }) {
    const w = windowAt(window, atMs);
    return w.ok ? w.value : { invalid: w.reason };
  },
};
