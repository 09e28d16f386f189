/**
 * @module vertex-spec
 * Vertex AI's form of a study: a HyperparameterTuningJob's studySpec, trial counts and trial
 * job spec (aiplatform v1). `toVertexTuningJob` and `fromVertexTuningJob` convert both ways
 * without loss: the course's scaleTier maps to a machine type (one table, both directions) and
 * its args travel as the trial container's args; enableTrialEarlyStopping is Vertex's median
 * automated stopping. (BucketML's finalArgs belong to the final training, a separate CustomJob.)
 * `warmStart: false` (top level, beside studySpec) is BucketML's off switch for warm start: a
 * HyperparameterTuningJob has no field for earlier observations, so it never reaches Vertex.
 */
import {
  checkStudy,
  parseParam,
  StudySpecError,
  type Goal,
  type ParamSpec,
  type ScaleType,
  type StudySpec,
} from './study-spec.js';

/** One parameter of a Vertex studySpec. */
export interface VertexParameterSpec {
  parameterId: string;
  doubleValueSpec?: { minValue: number; maxValue: number };
  integerValueSpec?: { minValue: number | string; maxValue: number | string };
  categoricalValueSpec?: { values: string[] };
  discreteValueSpec?: { values: number[] };
  scaleType?: ScaleType;
}

export interface VertexStudySpec {
  metrics: { metricId: string; goal: Goal }[];
  parameters: VertexParameterSpec[];
  algorithm?: string;
  medianAutomatedStoppingSpec?: { useElapsedDuration: boolean };
}

export interface VertexTuningJobSpec {
  studySpec: VertexStudySpec;
  maxTrialCount: number;
  parallelTrialCount: number;
  maxFailedTrialCount?: number;
  /** BucketML: seed the study with earlier runs' trials (default true); not sent to Vertex. */
  warmStart?: boolean;
  trialJobSpec: {
    workerPoolSpecs: {
      machineSpec: { machineType: string };
      replicaCount: number;
      containerSpec: { imageUri: string; args: string[] };
    }[];
  };
}

/** Cloud ML Engine scale tiers and the single-replica machine each becomes on Vertex. */
const SCALE_TIER_MACHINES: Record<string, string> = {
  BASIC: 'n1-standard-4',
  STANDARD_1: 'n1-standard-8',
  PREMIUM_1: 'n1-highmem-16',
  BASIC_GPU: 'n1-standard-8-gpu',
  CUSTOM: 'n1-standard-16',
};
export const DEFAULT_MACHINE_TYPE = 'n1-standard-4';

export function toVertexTuningJob(
  spec: StudySpec,
  imageUri = 'TRAINER_IMAGE',
): VertexTuningJobSpec {
  const studySpec: VertexStudySpec = {
    metrics: [{ metricId: spec.metricTag, goal: spec.goal }],
    parameters: spec.params.map(toVertexParameter),
    algorithm: spec.algorithm,
  };
  if (spec.enableTrialEarlyStopping)
    studySpec.medianAutomatedStoppingSpec = { useElapsedDuration: false };
  const machineType = spec.scaleTier
    ? (SCALE_TIER_MACHINES[spec.scaleTier] ?? DEFAULT_MACHINE_TYPE)
    : DEFAULT_MACHINE_TYPE;
  return {
    studySpec,
    maxTrialCount: spec.maxTrials,
    parallelTrialCount: spec.maxParallelTrials,
    maxFailedTrialCount: spec.maxFailedTrials,
    ...(spec.warmStart ? {} : { warmStart: false }),
    trialJobSpec: {
      workerPoolSpecs: [
        {
          machineSpec: { machineType },
          replicaCount: 1,
          containerSpec: { imageUri, args: spec.args },
        },
      ],
    },
  };
}

export function fromVertexTuningJob(job: unknown): StudySpec {
  const problems: string[] = [];
  const fail = (m: string) => problems.push(m);
  const j = (job ?? {}) as Partial<VertexTuningJobSpec>;
  const study = (j.studySpec ?? {}) as Partial<VertexStudySpec>;
  if (!j.studySpec) fail('studySpec is required');
  if ((study.metrics?.length ?? 0) > 1) fail('studySpec.metrics: only one metric is supported');
  const metric = study.metrics?.[0];
  const params = (Array.isArray(study.parameters) ? study.parameters : []).map((p, i) =>
    fromVertexParameter(p, `studySpec.parameters[${i}]`, fail),
  );
  if (params.length === 0) fail('studySpec.parameters must list at least one parameter');
  const pool = j.trialJobSpec?.workerPoolSpecs?.[0];
  const args = pool?.containerSpec?.args ?? [];
  const spec = checkStudy(
    {
      goal: metric?.goal,
      metricTag: metric?.metricId,
      maxTrials: j.maxTrialCount ?? 1,
      maxParallelTrials: j.parallelTrialCount ?? 1,
      maxFailedTrials: j.maxFailedTrialCount ?? 0,
      enableTrialEarlyStopping: study.medianAutomatedStoppingSpec !== undefined,
      warmStart: j.warmStart ?? true,
      algorithm: study.algorithm,
      params,
      args,
      finalArgs: args,
    },
    {
      goal: 'studySpec.metrics[0].goal',
      metricTag: 'studySpec.metrics[0].metricId',
      maxTrials: 'maxTrialCount',
      maxParallelTrials: 'parallelTrialCount',
      maxFailedTrials: 'maxFailedTrialCount',
      enableTrialEarlyStopping: 'studySpec.medianAutomatedStoppingSpec',
      warmStart: 'warmStart',
      algorithm: 'studySpec.algorithm',
      params: 'studySpec.parameters',
      args: 'trialJobSpec.workerPoolSpecs[0].containerSpec.args',
      finalArgs: 'trialJobSpec.workerPoolSpecs[0].containerSpec.args',
    },
    fail,
  );
  const machineType = pool?.machineSpec?.machineType;
  const scaleTier = Object.entries(SCALE_TIER_MACHINES).find(([, m]) => m === machineType)?.[0];
  if (problems.length) throw new StudySpecError(problems);
  if (scaleTier) spec.scaleTier = scaleTier;
  return spec;
}

function toVertexParameter(p: ParamSpec): VertexParameterSpec {
  const out: VertexParameterSpec = { parameterId: p.name };
  if (p.type === 'INTEGER') out.integerValueSpec = { minValue: p.min!, maxValue: p.max! };
  else if (p.type === 'DOUBLE') out.doubleValueSpec = { minValue: p.min!, maxValue: p.max! };
  else if (p.type === 'CATEGORICAL') out.categoricalValueSpec = { values: p.categoricalValues! };
  else out.discreteValueSpec = { values: p.discreteValues! };
  if (p.scale) out.scaleType = p.scale;
  return out;
}

/** Vertex's parameter form, checked by the course form's rules (one set of rules for both). */
function fromVertexParameter(
  p: VertexParameterSpec,
  at: string,
  fail: (m: string) => void,
): ParamSpec {
  const specs = [
    'doubleValueSpec',
    'integerValueSpec',
    'categoricalValueSpec',
    'discreteValueSpec',
  ].filter((k) => (p as unknown as Record<string, unknown>)[k] !== undefined);
  if (specs.length !== 1)
    fail(
      `${at} needs exactly one of doubleValueSpec, integerValueSpec, categoricalValueSpec, discreteValueSpec`,
    );
  const course: Record<string, unknown> = { parameterName: p.parameterId, scaleType: p.scaleType };
  const bounds = (s: { minValue: unknown; maxValue: unknown }) => ({
    minValue: Number(s.minValue),
    maxValue: Number(s.maxValue),
  });
  if (p.integerValueSpec) Object.assign(course, { type: 'INTEGER', ...bounds(p.integerValueSpec) });
  else if (p.doubleValueSpec)
    Object.assign(course, { type: 'DOUBLE', ...bounds(p.doubleValueSpec) });
  else if (p.categoricalValueSpec)
    Object.assign(course, {
      type: 'CATEGORICAL',
      categoricalValues: p.categoricalValueSpec.values,
    });
  else if (p.discreteValueSpec)
    Object.assign(course, { type: 'DISCRETE', discreteValues: p.discreteValueSpec.values });
  return parseParam(course, at, fail);
}
