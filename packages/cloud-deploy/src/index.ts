export { deployPlan, type DeployOptions, type Step } from './plan.js';
export { deployCommand, stageFunctionsCommand, formatPlan, DeployUsageError } from './deploy-command.js';
export { stageFunction } from './stage-functions.js';
