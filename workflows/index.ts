// Every workflow the worker registers. Only workflow code may be imported from here.
export { commandWorkflow } from './command-workflow';
export { rolloutWorkflow } from './rollout-workflow';
export { rolloutLaneWorkflow } from './rollout-lane-workflow';
export { lateAnswersWorkflow } from './late-answers-workflow';
export { deviceWorkflow } from './device-workflow';
export { rolloutTemplateWorkflow } from './rollout-template-workflow';
export { deviceGroupWorkflow } from './device-group-workflow';
