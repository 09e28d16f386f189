import { StudySpecError, type Goal, type ParamSpec, type ScaleType, type StudySpec } from './study-spec.js';

/**
 * Vertex AI's form of a study: a HyperparameterTuningJob's studySpec, trial counts and trial
 * job spec (aiplatform v1). `toVertexTuningJob` and `fromVertexTuningJob` convert both ways
 * without loss: the course's scaleTier maps to a machine type (one table, both directions) and
 * its args travel as the trial container's args; enableTrialEarlyStopping is Vertex's median
 * automated stopping. (BucketML's finalArgs belong to the final training, a separate CustomJob.)
 */
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

export function toVertexTuningJob(spec: StudySpec, imageUri = 'TRAINER_IMAGE'): VertexTuningJobSpec {
  const studySpec: VertexStudySpec = {
    metrics: [{ metricId: spec.metricTag, goal: spec.goal }],
    parameters: spec.params.map(toVertexParameter),
    algorithm: spec.algorithm,
  };
  if (spec.enableTrialEarlyStopping) studySpec.medianAutomatedStoppingSpec = { useElapsedDuration: false };
  const machineType = spec.scaleTier ? SCALE_TIER_MACHINES[spec.scaleTier] ?? DEFAULT_MACHINE_TYPE : DEFAULT_MACHINE_TYPE;
  return {
    studySpec,
    maxTrialCount: spec.maxTrials,
    parallelTrialCount: spec.maxParallelTrials,
    maxFailedTrialCount: spec.maxFailedTrials,
    trialJobSpec: { workerPoolSpecs: [{ machineSpec: { machineType }, replicaCount: 1, containerSpec: { imageUri, args: spec.args } }] },
  };
}

export function fromVertexTuningJob(job: unknown): StudySpec {
  const problems: string[] = [];
  const fail = (m: string) => problems.push(m);
  const j = (job ?? {}) as Partial<VertexTuningJobSpec>;
  const study = (j.studySpec ?? {}) as Partial<VertexStudySpec>;
  if (!j.studySpec) fail('studySpec is required');
  const metric = study.metrics?.[0];
  if (!metric?.metricId) fail('studySpec.metrics[0].metricId is required');
  if (metric && metric.goal !== 'MINIMIZE' && metric.goal !== 'MAXIMIZE') fail(`studySpec.metrics[0].goal must be MAXIMIZE or MINIMIZE (got ${JSON.stringify(metric.goal)})`);
  if ((study.metrics?.length ?? 0) > 1) fail('studySpec.metrics: only one metric is supported');
  const params = (study.parameters ?? []).map((p, i) => fromVertexParameter(p, `studySpec.parameters[${i}]`, fail));
  if (params.length === 0) fail('studySpec.parameters must list at least one parameter');
  const maxTrials = Number(j.maxTrialCount ?? 1);
  const maxParallelTrials = Number(j.parallelTrialCount ?? 1);
  if (!Number.isInteger(maxTrials) || maxTrials < 1) fail('maxTrialCount must be a positive integer');
  if (!Number.isInteger(maxParallelTrials) || maxParallelTrials < 1) fail('parallelTrialCount must be a positive integer');
  if (maxParallelTrials > maxTrials) fail(`parallelTrialCount (${maxParallelTrials}) > maxTrialCount (${maxTrials})`);
  const pool = j.trialJobSpec?.workerPoolSpecs?.[0];
  const args = pool?.containerSpec?.args ?? [];
  const machineType = pool?.machineSpec?.machineType;
  const scaleTier = Object.entries(SCALE_TIER_MACHINES).find(([, m]) => m === machineType)?.[0];
  if (problems.length) throw new StudySpecError(problems);
  const spec: StudySpec = {
    goal: metric!.goal,
    metricTag: metric!.metricId,
    maxTrials,
    maxParallelTrials,
    maxFailedTrials: Number(j.maxFailedTrialCount ?? 0),
    enableTrialEarlyStopping: study.medianAutomatedStoppingSpec !== undefined,
    algorithm: study.algorithm ?? 'ALGORITHM_UNSPECIFIED',
    params,
    args,
    finalArgs: args,
  };
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

function fromVertexParameter(p: VertexParameterSpec, at: string, fail: (m: string) => void): ParamSpec {
  const specs = ['doubleValueSpec', 'integerValueSpec', 'categoricalValueSpec', 'discreteValueSpec'].filter((k) => (p as unknown as Record<string, unknown>)[k] !== undefined);
  if (specs.length !== 1) fail(`${at} needs exactly one of doubleValueSpec, integerValueSpec, categoricalValueSpec, discreteValueSpec`);
  const out: ParamSpec = { name: p.parameterId, type: 'DOUBLE' };
  if (p.integerValueSpec) Object.assign(out, { type: 'INTEGER', min: Number(p.integerValueSpec.minValue), max: Number(p.integerValueSpec.maxValue) });
  else if (p.doubleValueSpec) Object.assign(out, { type: 'DOUBLE', min: p.doubleValueSpec.minValue, max: p.doubleValueSpec.maxValue });
  else if (p.categoricalValueSpec) Object.assign(out, { type: 'CATEGORICAL', categoricalValues: p.categoricalValueSpec.values });
  else if (p.discreteValueSpec) {
    const sorted = [...p.discreteValueSpec.values].sort((a, b) => a - b);
    Object.assign(out, { type: 'DISCRETE', discreteValues: p.discreteValueSpec.values, min: sorted[0], max: sorted.at(-1) });
  }
  if (out.min !== undefined && out.max !== undefined && out.min > out.max) fail(`${at}: minValue (${out.min}) > maxValue (${out.max})`);
  if (p.scaleType) {
    out.scale = p.scaleType;
    if (p.scaleType !== 'UNIT_LINEAR_SCALE' && out.min !== undefined && out.min <= 0) fail(`${at}: ${p.scaleType} needs minValue > 0 (got ${out.min})`);
  }
  return out;
}
