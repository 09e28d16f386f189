/**
 * @module default-study
 * The study a model gets when config/<model>/hyperparam.yaml does not exist: the course's for
 * babyweight (it is that model's study); for any other model one sized to its spec's defaults
 * (which inference sets from the row count): learning rate, batch size around the default,
 * layer width (a regressor's) and embedding size, 10 trials, 2 at once (this machine's cores),
 * early stopping.
 * Trials and the final training share the spec's budget (epochs and patience), so the best
 * parameters are retrained with the budget they were chosen for.
 */
import type { Hyperparameters } from '@bucketml/model';
import {
  DEFAULT_OBJECTIVE,
  METRICS_BY_PROBLEM,
  type ProblemType,
  type StudySpec,
} from '@bucketml/contracts';
import { parseStudyDocument } from './study-document.js';
import { COURSE_HYPERPARAM_YAML } from './study-spec.js';

/** Studies that belong to a built-in model: the course's is babyweight's (its flags, its ranges). */
const MODEL_STUDIES: Readonly<Record<string, string>> = { babyweight: COURSE_HYPERPARAM_YAML };

/** The study of a model without a hyperparam.yaml: its own, or one sized to its spec. */
export function studyForModel(
  model: string,
  hp: Hyperparameters,
  problem: ProblemType = 'regression',
): StudySpec {
  const own = Object.hasOwn(MODEL_STUDIES, model) ? MODEL_STUDIES[model] : undefined;
  return own ? parseStudyDocument(own) : defaultStudyFor(hp, problem);
}

/**
 * A classifier's study tunes log loss (a proper score: it judges the probabilities too) and
 * keeps the spec's hidden layers: a trial's `nnsize` is one layer of that width, and on the
 * quality bench's classification tables one layer of 128 units lost 1.5 and 0.5 accuracy points
 * and 0.7% and 1.7% log loss to the inferred spec's two (128, 64) (same seeds), a gap the
 * study's best trial carried into the served model.
 */
export function defaultStudyFor(
  hp: Hyperparameters,
  problem: ProblemType = 'regression',
): StudySpec {
  // Not below 16: a smaller batch buys no quality on small tables and costs steps (time).
  const batchMin = Math.max(16, Math.round(hp.batchSize / 4));
  const batchMax = Math.max(batchMin + 1, Math.min(1024, hp.batchSize * 2));
  return {
    goal: METRICS_BY_PROBLEM[problem][DEFAULT_OBJECTIVE[problem]],
    metricTag: DEFAULT_OBJECTIVE[problem],
    maxTrials: 10,
    maxParallelTrials: 2,
    maxFailedTrials: 3,
    enableTrialEarlyStopping: true,
    warmStart: true,
    algorithm: 'ALGORITHM_UNSPECIFIED',
    params: [
      { name: 'learning_rate', type: 'DOUBLE', min: 0.0003, max: 0.03, scale: 'UNIT_LOG_SCALE' },
      {
        name: 'batch_size',
        type: 'INTEGER',
        min: batchMin,
        max: batchMax,
        scale: 'UNIT_LOG_SCALE',
      },
      ...(problem === 'regression'
        ? [{ name: 'nnsize', type: 'INTEGER', min: 32, max: 512, scale: 'UNIT_LOG_SCALE' } as const]
        : []),
      { name: 'nembeds', type: 'INTEGER', min: 2, max: 16, scale: 'UNIT_LOG_SCALE' },
    ],
    args: [],
    finalArgs: [],
  };
}
