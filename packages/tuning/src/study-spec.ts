/**
 * @module study-spec
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
 *       warmStart: false                    # BucketML: no seeding from earlier runs (default true)
 *       params:
 *       - parameterName: batch_size
 *         type: INTEGER
 *         minValue: 8
 *         maxValue: 512
 *         scaleType: UNIT_LOG_SCALE
 */
import {
  METRICS_BY_PROBLEM,
  REPORTED_METRICS,
  METRIC_TAG,
  type ProblemType,
  reservedFlagsIn,
  type Goal,
  type ParamSpec,
  type ParamType,
  type ScaleType,
  type StudySpec,
} from '@bucketml/contracts';

export type {
  Goal,
  ParamSpec,
  ParamType,
  ScaleType,
  StudySettings,
  StudySpec,
} from '@bucketml/contracts';

export class StudySpecError extends Error {
  override name = 'StudySpecError';
  constructor(readonly problems: string[]) {
    super(`invalid hyperparameter spec:\n  - ${problems.join('\n  - ')}`);
  }
}

/** The most trials a study may ask for (the Bayesian search refits on every trial so far). */
export const MAX_TRIALS = 1000;

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

/** A study document in the course's form (`trainingInput: …`), checked. */
export function parseCourseSpec(doc: unknown): StudySpec {
  const problems: string[] = [];
  const fail = (m: string) => problems.push(m);
  const input = obj(obj(doc, '', fail).trainingInput, 'trainingInput', fail);
  const hp = obj(input.hyperparameters, 'trainingInput.hyperparameters', fail);
  const at = 'trainingInput.hyperparameters';
  const rawParams = hp.params;
  if (!Array.isArray(rawParams) || rawParams.length === 0)
    fail(`${at}.params must list at least one parameter`);
  const spec = checkStudy(
    {
      goal: hp.goal,
      metricTag: hp.hyperparameterMetricTag,
      maxTrials: hp.maxTrials ?? 1,
      maxParallelTrials: hp.maxParallelTrials ?? 1,
      maxFailedTrials: hp.maxFailedTrials ?? 0,
      enableTrialEarlyStopping: hp.enableTrialEarlyStopping ?? false,
      warmStart: hp.warmStart ?? true,
      algorithm: hp.algorithm,
      params: (Array.isArray(rawParams) ? rawParams : []).map((p, i) =>
        parseParam(p, `${at}.params[${i}]`, fail),
      ),
      args: input.args ?? [],
      finalArgs: input.finalArgs ?? input.args ?? [],
    },
    {
      goal: `${at}.goal`,
      metricTag: `${at}.hyperparameterMetricTag`,
      maxTrials: `${at}.maxTrials`,
      maxParallelTrials: `${at}.maxParallelTrials`,
      maxFailedTrials: `${at}.maxFailedTrials`,
      enableTrialEarlyStopping: `${at}.enableTrialEarlyStopping`,
      warmStart: `${at}.warmStart`,
      algorithm: `${at}.algorithm`,
      params: `${at}.params`,
      args: 'trainingInput.args',
      finalArgs: 'trainingInput.finalArgs',
    },
    fail,
  );
  if (problems.length) throw new StudySpecError(problems);
  if (typeof input.scaleTier === 'string') spec.scaleTier = input.scaleTier;
  return spec;
}

/** A study's fields as a document gives them, before checking. */
export type RawStudy = { [K in keyof Omit<StudySpec, 'params' | 'scaleTier'>]: unknown } & {
  params: ParamSpec[];
};

/**
 * A study's metric must be one the trainer reports for the model's problem type (a study is
 * parsed before the model is known: rmse by default, any reported tag allowed).
 */
export function checkStudyForProblem(study: StudySpec, problem: ProblemType): void {
  const reported = METRICS_BY_PROBLEM[problem];
  if (problem === 'regression' && study.params.some((p) => p.name === 'class_weights'))
    throw new StudySpecError([
      'params: class_weights weighs the classes of a categorical label; this model predicts a number',
    ]);
  if (Object.hasOwn(reported, study.metricTag)) return;
  throw new StudySpecError([
    `hyperparameterMetricTag (metricId): the trainer reports ${Object.keys(reported).join(', ')} for a ${problem === 'regression' ? 'regression' : `${problem} classification`} model, not ${JSON.stringify(study.metricTag)}${problem !== 'regression' && study.metricTag === METRIC_TAG ? ' (the default when a study names no metric): name one, e.g. hyperparameterMetricTag: logloss' : ''}`,
  ]);
}

/**
 * The checks both study forms get (course and Vertex), with the document's own field names in
 * the messages. Absent metric tag and goal default to the trainer's metric and its goal: the
 * trainer reports only REPORTED_METRICS, so any other tag is refused here, not by every trial.
 */
export function checkStudy(
  raw: RawStudy,
  field: Record<keyof RawStudy, string>,
  fail: (m: string) => void,
): StudySpec {
  const metricTag = raw.metricTag ?? METRIC_TAG;
  const natural = typeof metricTag === 'string' ? REPORTED_METRICS[metricTag] : undefined;
  if (typeof metricTag !== 'string' || !natural) {
    fail(
      `${field.metricTag}: the trainer reports ${Object.keys(REPORTED_METRICS).join(', ')}, not ${JSON.stringify(metricTag)}`,
    );
  }
  const goal = raw.goal ?? natural ?? 'MINIMIZE';
  if (goal !== 'MINIMIZE' && goal !== 'MAXIMIZE')
    fail(`${field.goal} must be MAXIMIZE or MINIMIZE (got ${JSON.stringify(goal)})`);
  else if (natural && goal !== natural)
    fail(
      `${field.goal} is ${goal}, but ${metricTag} is better when ${natural === 'MINIMIZE' ? 'lower' : 'higher'}: use ${natural}`,
    );
  const maxTrials = posInt(raw.maxTrials, field.maxTrials, fail);
  if (maxTrials > MAX_TRIALS)
    fail(`${field.maxTrials} is ${maxTrials}; a study runs at most ${MAX_TRIALS} trials`);
  const maxParallelTrials = posInt(raw.maxParallelTrials, field.maxParallelTrials, fail);
  if (maxParallelTrials > maxTrials)
    fail(
      `${field.maxParallelTrials} (${maxParallelTrials}) > ${field.maxTrials.split('.').at(-1)} (${maxTrials})`,
    );
  const maxFailedTrials = nonNegInt(raw.maxFailedTrials, field.maxFailedTrials, fail);
  const early = raw.enableTrialEarlyStopping;
  if (typeof early !== 'boolean') fail(`${field.enableTrialEarlyStopping} must be true or false`);
  if (typeof raw.warmStart !== 'boolean') fail(`${field.warmStart} must be true or false`);
  const algorithm = raw.algorithm ?? 'ALGORITHM_UNSPECIFIED';
  if (!ALGORITHMS.includes(algorithm as string))
    fail(
      `${field.algorithm} must be one of ${ALGORITHMS.join(', ')} (got ${JSON.stringify(algorithm)})`,
    );
  const names = raw.params.map((p) => p.name);
  names.forEach((n, i) => {
    if (names.indexOf(n) !== i) fail(`${field.params}[${i}]: parameter name "${n}" is repeated`);
  });
  if (algorithm === 'GRID_SEARCH') {
    raw.params.forEach((p, i) => {
      if (p.type === 'DOUBLE')
        fail(
          `${field.params}[${i}]: GRID_SEARCH needs INTEGER, CATEGORICAL or DISCRETE parameters (${p.name} is DOUBLE)`,
        );
    });
  }
  const flagList = (v: unknown, at: string): string[] => {
    if (!Array.isArray(v) || !v.every((a) => typeof a === 'string')) {
      fail(`${at} must be a list of strings`);
      return [];
    }
    const reserved = reservedFlagsIn(v);
    if (reserved.length)
      fail(
        `${at} may not set ${reserved.map((f) => `--${f}`).join(', ')}: the training backend sets it for every job`,
      );
    return v;
  };
  return {
    goal: goal as Goal,
    metricTag: metricTag as string,
    maxTrials,
    maxParallelTrials,
    maxFailedTrials,
    enableTrialEarlyStopping: early === true,
    warmStart: raw.warmStart !== false,
    algorithm: algorithm as string,
    params: raw.params,
    args: flagList(raw.args, field.args),
    finalArgs: flagList(raw.finalArgs, field.finalArgs),
  };
}

/** A parameter in the course's form (Vertex's form is converted to it first). */
export function parseParam(p: unknown, at: string, fail: (m: string) => void): ParamSpec {
  const o = obj(p, at, fail);
  const name = o.parameterName;
  if (typeof name !== 'string' || !/^[A-Za-z][A-Za-z0-9_-]*$/.test(name))
    fail(`${at}.parameterName must be a flag name such as batch_size`);
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
      if (type === 'INTEGER' && (!Number.isInteger(min) || !Number.isInteger(max)))
        fail(`${at}: INTEGER bounds must be integers`);
      spec.min = min;
      spec.max = max;
    }
  } else if (type === 'CATEGORICAL') {
    const values = o.categoricalValues;
    if (
      !Array.isArray(values) ||
      values.length === 0 ||
      !values.every((v) => typeof v === 'string')
    ) {
      fail(`${at}.categoricalValues must list at least one string`);
    } else spec.categoricalValues = values as string[];
  } else {
    const values = o.discreteValues;
    if (
      !Array.isArray(values) ||
      values.length === 0 ||
      !values.every((v) => typeof v === 'number' && Number.isFinite(v))
    ) {
      fail(`${at}.discreteValues must list at least one number`);
    } else {
      const sorted = [...(values as number[])].sort((a, b) => a - b);
      if (sorted.some((v, i) => i > 0 && v === sorted[i - 1]))
        fail(`${at}.discreteValues has duplicates`);
      spec.discreteValues = values as number[];
      spec.min = sorted[0];
      spec.max = sorted.at(-1);
    }
  }
  if (o.scaleType !== undefined) {
    if (!SCALES.includes(o.scaleType as ScaleType))
      fail(
        `${at}.scaleType must be one of ${SCALES.join(', ')} (got ${JSON.stringify(o.scaleType)})`,
      );
    else if (type === 'CATEGORICAL')
      fail(`${at}.scaleType does not apply to CATEGORICAL parameters`);
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
