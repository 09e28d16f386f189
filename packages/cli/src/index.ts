/**
 * @module @bucketml/cli
 * The `bucketml` command as a library: its entry and verb registry, the flag parser every verb
 * uses, and the Google Cloud deployment (the gcloud plan, function staging) for tests and tools.
 */
export { main, VERBS } from './cli.js';
export { defineVerb, runVerb, type Verb } from './verb.js';
export {
  formatDefault,
  formatHelp,
  parseFlags,
  UsageError,
  type Flag,
  type FlagType,
  type FlagValues,
} from './flags.js';
export { deployPlan, formatPlan, type DeployOptions, type Step } from './cloud/plan.js';
export { repoRoot, stageFunction } from './cloud/stage-functions.js';
