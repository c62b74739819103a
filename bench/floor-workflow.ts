import { condition, defineSignal, proxyLocalActivities, setHandler } from '@temporalio/workflow';

/**
 * The least a design with one workflow per device command can do (bench/engine-floor.ts):
 * publish through a local activity, then wait for the device's answer, with a deadline. No
 * validation, no search attributes, no record, no presence: what is left is the engine's own
 * cost of a workflow that starts, hears one signal and ends.
 */
export const floorAnswerSignal = defineSignal('answer');

export interface FloorActivities {
  /** Stands for the MQTT publish: answers with the signal straight away. */
  floorPublish(workflowId: string): Promise<void>;
}

const { floorPublish } = proxyLocalActivities<FloorActivities>({ startToCloseTimeout: '10s' });

export async function floorCommandWorkflow(workflowId: string): Promise<boolean> {
  let answered = false;
  setHandler(floorAnswerSignal, () => void (answered = true));
  await floorPublish(workflowId);
  return condition(() => answered, '60s');
}
