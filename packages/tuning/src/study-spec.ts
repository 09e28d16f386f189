/**
 * A hyperparameter study, parsed from the course's `hyperparam.yaml` (Cloud ML Engine's
 * TrainingInput):
 *
 *   trainingInput:
 *     scaleTier: STANDARD_1
 *     args: ["--train_examples=25000"]      # trainer flags for every trial (the tuning job's args)
 *     finalArgs: [...]                      # BucketML: flags for the final training (default: args,
 *                                           # the budget the parameters were tuned for)
 *     hyperparameters:
 *       goal: MINIMIZE
 *       hyperparameterMetricTag: rmse
 *       maxTrials: 20
 *       maxParallelTrials: 5
 *       enableTrialEarlyStopping: True
 *       params:
 *       - parameterName: batch_size
 *         type: INTEGER
 *         minValue: 8
 *         maxValue: 512
 *         scaleType: UNIT_LOG_SCALE
 */
export type ParamType = 'INTEGER' | 'DOUBLE' | 'CATEGORICAL' | 'DISCRETE';
export type ScaleType = 'UNIT_LINEAR_SCALE' | 'UNIT_LOG_SCALE' | 'UNIT_REVERSE_LOG_SCALE';
export type Goal = 'MINIMIZE' | 'MAXIMIZE';

export interface ParamSpec {
  name: string;
  type: ParamType;
  min?: number;
  max?: number;
  categoricalValues?: string[];
  discreteValues?: number[];
  scale?: ScaleType;
}

/** What a tuning job needs to search: shared with the training backend port's job request. */
export interface StudySettings {
  goal: Goal;
  metricTag: string;
  maxTrials: number;
  maxParallelTrials: number;
  maxFailedTrials: number;
  enableTrialEarlyStopping: boolean;
  algorithm: string;
  params: ParamSpec[];
}

export interface StudySpec extends StudySettings {
  scaleTier?: string;
  /** Trainer flags for every trial: the tuning job's args, as in the course. */
  args: string[];
  /** Trainer flags for the final training with the best parameters (a BucketML extension). */
  finalArgs: string[];
}

export class StudySpecError extends Error {
  override name = 'StudySpecError';
  constructor(readonly problems: string[]) {
    super(`invalid hyperparameter spec:\n  - ${problems.join('\n  - ')}`);
  }
}

const PARAM_TYPES: ParamType[] = ['INTEGER', 'DOUBLE', 'CATEGORICAL', 'DISCRETE'];
const SCALES: ScaleType[] = ['UNIT_LINEAR_SCALE', 'UNIT_LOG_SCALE', 'UNIT_REVERSE_LOG_SCALE'];
const ALGORITHMS = ['ALGORITHM_UNSPECIFIED', 'GRID_SEARCH', 'RANDOM_SEARCH'];

/** The course's babyweight study: the default when a model has no config/<model>/hyperparam.yaml. */
export const COURSE_HYPERPARAM_YAML = `trainingInput:
  scaleTier: STANDARD_1
  # Trials (and so the final training) train on a quarter of the model's default budget.
  args: ["--train_examples=25000"]
  hyperparameters:
    hyperparameterMetricTag: rmse
    goal: MINIMIZE
    maxTrials: 20
    maxParallelTrials: 5
    enableTrialEarlyStopping: True
    params:
    - parameterName: batch_size
      type: INTEGER
      minValue: 8
      maxValue: 512
      scaleType: UNIT_LOG_SCALE
    - parameterName: nembeds
      type: INTEGER
      minValue: 3
      maxValue: 30
      scaleType: UNIT_LINEAR_SCALE
    - parameterName: nnsize
      type: INTEGER
      minValue: 64
      maxValue: 512
      scaleType: UNIT_LOG_SCALE
`;

export function parseCourseSpec(doc: unknown): StudySpec {
  const problems: string[] = [];
  const fail = (m: string) => problems.push(m);
  const input = obj(obj(doc, '', fail).trainingInput, 'trainingInput', fail);
  const hp = obj(input.hyperparameters, 'trainingInput.hyperparameters', fail);
  const at = 'trainingInput.hyperparameters';

  const goal = hp.goal ?? 'MAXIMIZE'; // Cloud ML Engine's default
  if (goal !== 'MINIMIZE' && goal !== 'MAXIMIZE') fail(`${at}.goal must be MAXIMIZE or MINIMIZE (got ${JSON.stringify(goal)})`);
  const metricTag = hp.hyperparameterMetricTag ?? 'training/hptuning/metric';
  if (typeof metricTag !== 'string' || !metricTag) fail(`${at}.hyperparameterMetricTag must be a non-empty string`);
  const maxTrials = posInt(hp.maxTrials ?? 1, `${at}.maxTrials`, fail);
  const maxParallelTrials = posInt(hp.maxParallelTrials ?? 1, `${at}.maxParallelTrials`, fail);
  if (maxParallelTrials > maxTrials) fail(`${at}.maxParallelTrials (${maxParallelTrials}) > maxTrials (${maxTrials})`);
  const maxFailedTrials = hp.maxFailedTrials === undefined ? 0 : nonNegInt(hp.maxFailedTrials, `${at}.maxFailedTrials`, fail);
  const early = hp.enableTrialEarlyStopping ?? false;
  if (typeof early !== 'boolean') fail(`${at}.enableTrialEarlyStopping must be true or false`);
  const algorithm = hp.algorithm ?? 'ALGORITHM_UNSPECIFIED';
  if (!ALGORITHMS.includes(algorithm as string)) fail(`${at}.algorithm must be one of ${ALGORITHMS.join(', ')} (got ${JSON.stringify(algorithm)})`);

  const rawParams = hp.params;
  if (!Array.isArray(rawParams) || rawParams.length === 0) fail(`${at}.params must list at least one parameter`);
  const params = (Array.isArray(rawParams) ? rawParams : []).map((p, i) => parseParam(p, `${at}.params[${i}]`, fail));
  const names = params.map((p) => p.name);
  names.forEach((n, i) => {
    if (names.indexOf(n) !== i) fail(`${at}.params[${i}].parameterName "${n}" is repeated`);
  });

  if (algorithm === 'GRID_SEARCH') {
    params.forEach((p, i) => {
      if (p.type === 'DOUBLE') fail(`${at}.params[${i}]: GRID_SEARCH needs INTEGER, CATEGORICAL or DISCRETE parameters (${p.name} is DOUBLE)`);
    });
  }
  const args = input.args ?? [];
  if (!Array.isArray(args) || !args.every((a) => typeof a === 'string')) fail('trainingInput.args must be a list of strings');
  const finalArgs = input.finalArgs ?? args;
  if (!Array.isArray(finalArgs) || !finalArgs.every((a) => typeof a === 'string')) fail('trainingInput.finalArgs must be a list of strings');
  if (problems.length) throw new StudySpecError(problems);
  const spec: StudySpec = {
    goal: goal as Goal,
    metricTag: metricTag as string,
    maxTrials,
    maxParallelTrials,
    maxFailedTrials,
    enableTrialEarlyStopping: early as boolean,
    algorithm: algorithm as string,
    params,
    args: args as string[],
    finalArgs: finalArgs as string[],
  };
  if (typeof input.scaleTier === 'string') spec.scaleTier = input.scaleTier;
  return spec;
}

function parseParam(p: unknown, at: string, fail: (m: string) => void): ParamSpec {
  const o = obj(p, at, fail);
  const name = o.parameterName;
  if (typeof name !== 'string' || !/^[A-Za-z][A-Za-z0-9_-]*$/.test(name)) fail(`${at}.parameterName must be a flag name such as batch_size`);
  const type = o.type as ParamType;
  if (!PARAM_TYPES.includes(type)) {
    fail(`${at}.type must be one of ${PARAM_TYPES.join(', ')} (got ${JSON.stringify(o.type)})`);
    return { name: String(name), type: 'DOUBLE' };
  }
  const spec: ParamSpec = { name: String(name), type };
  if (type === 'INTEGER' || type === 'DOUBLE') {
    const min = o.minValue;
    const max = o.maxValue;
    if (typeof min !== 'number' || !Number.isFinite(min)) fail(`${at}.minValue must be a number`);
    if (typeof max !== 'number' || !Number.isFinite(max)) fail(`${at}.maxValue must be a number`);
    if (typeof min === 'number' && typeof max === 'number') {
      if (min > max) fail(`${at}: minValue (${min}) > maxValue (${max})`);
      if (type === 'INTEGER' && (!Number.isInteger(min) || !Number.isInteger(max))) fail(`${at}: INTEGER bounds must be integers`);
      spec.min = min;
      spec.max = max;
    }
  } else if (type === 'CATEGORICAL') {
    const values = o.categoricalValues;
    if (!Array.isArray(values) || values.length === 0 || !values.every((v) => typeof v === 'string')) {
      fail(`${at}.categoricalValues must list at least one string`);
    } else spec.categoricalValues = values as string[];
  } else {
    const values = o.discreteValues;
    if (!Array.isArray(values) || values.length === 0 || !values.every((v) => typeof v === 'number' && Number.isFinite(v))) {
      fail(`${at}.discreteValues must list at least one number`);
    } else {
      const sorted = [...(values as number[])].sort((a, b) => a - b);
      if (sorted.some((v, i) => i > 0 && v === sorted[i - 1])) fail(`${at}.discreteValues has duplicates`);
      spec.discreteValues = values as number[];
      spec.min = sorted[0];
      spec.max = sorted.at(-1);
    }
  }
  if (o.scaleType !== undefined) {
    if (!SCALES.includes(o.scaleType as ScaleType)) fail(`${at}.scaleType must be one of ${SCALES.join(', ')} (got ${JSON.stringify(o.scaleType)})`);
    else if (type === 'CATEGORICAL') fail(`${at}.scaleType does not apply to CATEGORICAL parameters`);
    else {
      spec.scale = o.scaleType as ScaleType;
      if (spec.scale !== 'UNIT_LINEAR_SCALE' && spec.min !== undefined && spec.min <= 0) {
        fail(`${at}: ${spec.scale} needs minValue > 0 (got ${spec.min})`);
      }
    }
  }
  return spec;
}

type Obj = Record<string, unknown>;

function obj(v: unknown, at: string, fail: (m: string) => void): Obj {
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Obj;
  fail(`${at || 'the document'} must be a mapping`);
  return {};
}

function posInt(v: unknown, at: string, fail: (m: string) => void): number {
  if (typeof v === 'number' && Number.isInteger(v) && v > 0) return v;
  fail(`${at} must be a positive integer`);
  return 1;
}

function nonNegInt(v: unknown, at: string, fail: (m: string) => void): number {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return v;
  fail(`${at} must be a non-negative integer`);
  return 0;
}
