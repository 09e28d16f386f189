/**
 * @module train
 * The training loop: reads and encodes the data, fits the label transform and feature
 * normalisation on the training rows, trains the wide & deep network with Adam, measures the
 * eval metrics (a regressor's in the label's units) along the way and keeps the weights of the
 * best measurement of the objective — a run never ends on a diverging step. The learning rate
 * decays (cosine) over the budget, and the objective is checked several times per reported
 * evaluation so an early best is not missed. With `patience`, training stops once the objective
 * has not improved for that many evaluations. A regressor learns squared error; a binary
 * classifier sigmoid cross-entropy, a multiclass one softmax cross-entropy. An ensemble trains
 * its networks one after another on the same encoded data, each from its own seed, and is
 * measured by the mean of their outputs (a classifier's probabilities).
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Scalar, Tensor2D } from '@tensorflow/tfjs';
import { DEFAULT_OBJECTIVE, METRICS_BY_PROBLEM, type ProblemType } from '@bucketml/contracts';
import {
  addClassProbabilities,
  classificationMetrics,
  computePreprocessing,
  decodeLabel,
  encodeLabel,
  ensembleSize,
  FeatureEncoder,
  fitLabelTransform,
  memberPrefix,
  normalizeDense,
  outputUnits,
  problemType,
  readDataset,
  rmse,
  Rng,
  type DataLineage,
  type Dataset,
  type DataSource,
  type Hyperparameters,
  type ModelSpec,
  type Preprocessing,
  type TrainedModel,
} from '@bucketml/model';
import { loadTrainingEngine, type TensorFlow, type TrainingEngine } from './tf-backend.js';
import { WideDeepNetwork, type BatchTensors } from './network.js';
import { FusedNetwork, type FusedBatch, type HeadLoss } from './fused-network.js';

export interface TrainOptions {
  spec: ModelSpec;
  train: DataSource[];
  eval: DataSource[];
  hyperparameters: Hyperparameters;
  seed: number;
  /**
   * The metric the best weights are kept by and patience counts on (default: rmse for a
   * regressor, logloss for a classifier); one the problem type reports (METRICS_BY_PROBLEM).
   */
  objective?: string;
  /** Fail when more than this fraction of rows is bad (default 0.05). */
  maxBadFraction?: number;
  /** How many times to measure the eval metrics during training (the hypertune intermediate values). */
  evaluations?: number;
  onProgress?: (p: TrainProgress) => void;
  /**
   * Called at each evaluation with the best evaluation so far (the model training would keep)
   * and this one's own measure; return true to stop training early (the last result is kept).
   */
  onEvaluation?: (e: EvaluationReport) => boolean | void;
  /** What trains (default: loadTrainingEngine's choice); a TensorFlow.js one is the reference. */
  tensorflow?: TrainingEngine;
}

export interface Evaluation {
  step: number;
  examples: number;
  /** The objective's value. */
  value: number;
  /** Every metric the problem type reports, by hypertune tag. */
  metrics: Record<string, number>;
}

/** What onEvaluation is told: the best evaluation so far, at this evaluation's step. */
export interface EvaluationReport extends Evaluation {
  /** This evaluation's own metrics (the weights at this step), by hypertune tag. */
  measured: Record<string, number>;
  /**
   * The mean training loss over the steps since the previous evaluation: a regressor's as the
   * RMSE of the trained label, a classifier's as its cross-entropy.
   */
  loss: number;
  /** Examples trained per second of wall time since the previous evaluation (measuring included). */
  examplesPerSecond: number;
}

export type TrainProgress =
  | { phase: 'reading'; file: string; rows: number }
  | {
      phase: 'training';
      examples: number;
      totalExamples: number;
      examplesPerSecond: number;
      loss: number;
      /** The objective's tag and its last measured value. */
      objective: string;
      evalValue?: number;
      /** Which network of an ensemble is training (1-based), and how many there are. */
      member?: number;
      members?: number;
    }
  | { phase: 'done'; objective: string; value: number; seconds: number };

export interface TrainResult {
  model: TrainedModel;
  evaluations: Evaluation[];
  stoppedEarly: boolean;
  /** Why training ended before its budget: the caller (early stopping) or patience (converged). */
  stopReason?: 'caller' | 'converged';
  /** The objective still improved by more than 0.5% over the last measurement: a longer budget may help. */
  stillImproving: boolean;
  backendNotes: string[];
}

/** Why training cannot start: the options do not fit the model (e.g. an unreported objective). */
export class TrainingOptionsError extends Error {
  override name = 'TrainingOptionsError';
}

const EVAL_CHUNK = 8192;
/** Objective measurements per reported evaluation, for keeping the best weights. */
const CHECKS_PER_EVALUATION = 4;
/** The learning rate at the end of the budget, as a fraction of the initial one. */
const LR_FLOOR = 0.02;
/** Member k of an ensemble trains with seed + k × this (a prime: no member replays another). */
const MEMBER_SEED_STRIDE = 7919;

/** The objective a training judges by, and how to compare two of its values. */
export function objectiveFor(
  spec: ModelSpec,
  tag?: string,
): { tag: string; problem: ProblemType; better: (a: number, b: number) => boolean } {
  const problem = problemType(spec);
  const reported = METRICS_BY_PROBLEM[problem];
  const chosen = tag ?? DEFAULT_OBJECTIVE[problem];
  if (!Object.hasOwn(reported, chosen))
    throw new TrainingOptionsError(
      `--objective ${chosen}: a ${problem === 'regression' ? 'regression' : `${problem} classification`} model reports ${Object.keys(reported).join(', ')}`,
    );
  const minimize = reported[chosen] === 'MINIMIZE';
  return { tag: chosen, problem, better: (a, b) => (minimize ? a < b : a > b) };
}

export async function trainModel(options: TrainOptions): Promise<TrainResult> {
  const { spec, hyperparameters: hp, seed } = options;
  const objective = objectiveFor(spec, options.objective);
  const { tf, backend, notes } = options.tensorflow ?? (await loadTrainingEngine());
  const encoder = new FeatureEncoder(spec);
  const { layout } = encoder;
  const { train, evalData, ...prepared } = await readTrainingData(options, encoder);
  // A copy: the label transform is set on it below, and a reused read's stays as it was.
  const preprocessing = { ...prepared.preprocessing };
  const classes = spec.label.classes?.length ?? 0;
  if (hp.classWeights && !classes)
    throw new TrainingOptionsError(
      `classWeights ${hp.classWeights}: class weights need a categorical label (${spec.label.name} is numeric)`,
    );
  if (hp.labelSmoothing && !classes)
    throw new TrainingOptionsError(
      `labelSmoothing ${hp.labelSmoothing}: label smoothing needs a categorical label (${spec.label.name} is numeric)`,
    );
  const labelTransform = classes ? undefined : fitLabelTransform(spec.label, train.labels);
  if (labelTransform) preprocessing.label = labelTransform;
  // A regressor learns the transformed label; its RMSE is measured in the label's own units.
  const targets = labelTransform
    ? train.labels.map((y) => encodeLabel(labelTransform, y))
    : train.labels;
  const data: MemberData = {
    tf,
    layout,
    train: { ...train, labels: targets },
    eval: evalData,
    labelTransform,
    classes,
    outputs: outputUnits(spec),
    objective,
    ...(hp.classWeights ? { classWeights: balancedClassWeights(train.labels, classes) } : {}),
  };

  const count = ensembleSize(hp);
  const started = performance.now();
  const members = await trainMembers(data, options, count);
  const seconds = (performance.now() - started) / 1000;
  // The ensemble answers with its members' mean output (the architecture contract).
  const mean = new Float32Array(members[0].best.outputs.length);
  for (const m of members)
    for (let i = 0; i < mean.length; i++) mean[i] += m.best.outputs[i] / members.length;
  const measured = count === 1 ? members[0].best.measured : measure(mean, data);
  const value = measured.values[objective.tag];
  options.onProgress?.({ phase: 'done', objective: objective.tag, value, seconds });

  const first = members[0];
  const stopReason = members.some((m) => m.stopReason === 'caller')
    ? 'caller'
    : members.every((m) => m.stopReason === 'converged')
      ? 'converged'
      : undefined;
  const stillImproving = members.some((m) => m.stillImproving);
  const steps = members.reduce((n, m) => n + m.steps, 0);
  const B = hp.batchSize;
  // A caller's stop may leave fewer networks than asked for: their names follow the count kept.
  const weights = new Map<string, Float32Array>();
  members.forEach((m, k) => {
    const [from, to] = [memberPrefix(k, count), memberPrefix(k, members.length)];
    for (const [name, w] of m.best.weights) weights.set(to + name.slice(from.length), w);
  });
  return {
    model: {
      weights,
      meta: {
        format: 'bucketml.saved-model/1',
        name: spec.name,
        createdAt: new Date().toISOString(),
        spec,
        preprocessing,
        hyperparameters: { ...hp, ...(count > 1 ? { ensemble: members.length } : {}) },
        seed,
        metrics: {
          objective: objective.tag,
          values: measured.values,
          ...(measured.values.rmse !== undefined ? { rmse: measured.values.rmse } : {}),
          ...(measured.confusion ? { confusion: measured.confusion } : {}),
          evalRows: evalData.size,
          bestStep: first.best.evaluation.step,
          ...(count > 1 ? { memberValues: members.map((m) => m.best.evaluation.value) } : {}),
        },
        training: {
          backend,
          examples: steps * B,
          steps,
          seconds: round(seconds, 3),
          examplesPerSecond: Math.round((steps * B) / seconds),
          ...(stopReason ? { stopReason } : {}),
          stillImproving,
        },
        data: { train: lineage(train), eval: lineage(evalData) },
      },
    },
    evaluations: first.evaluations,
    stoppedEarly: stopReason !== undefined,
    ...(stopReason ? { stopReason } : {}),
    stillImproving,
    backendNotes: notes,
  };
}

/** The training and eval rows, encoded and normalised, and the normalisation. */
interface TrainingData {
  train: Dataset;
  evalData: Dataset;
  preprocessing: Preprocessing;
}

/** The last read kept for reuse (reuseTrainingData), and what it was read from. */
let kept: { key: string; data: TrainingData } | undefined;
let reuse = false;

/**
 * Keeps the last training's data for the next training of the same spec on the same files
 * (unchanged: each file's version must match): a warm worker's trials then read their run's
 * data once. Off by default: a one-shot process has nothing to reuse it for.
 */
export function reuseTrainingData(on: boolean): void {
  reuse = on;
  if (!on) kept = undefined;
}

async function readTrainingData(
  options: TrainOptions,
  encoder: FeatureEncoder,
): Promise<TrainingData> {
  const sources = [...options.train, ...options.eval];
  const versions = reuse ? await Promise.all(sources.map((s) => s.version?.() ?? null)) : [];
  const key =
    reuse && versions.every((v) => v !== null)
      ? JSON.stringify([
          options.spec,
          options.maxBadFraction ?? null,
          options.train.map((s) => s.name),
          options.eval.map((s) => s.name),
          versions,
        ])
      : undefined;
  if (key !== undefined && kept?.key === key) return kept.data;
  kept = undefined; // one run's data at a time
  const read = async (files: DataSource[]) =>
    readDataset(files, encoder, {
      maxBadFraction: options.maxBadFraction,
      onProgress: (rows) => options.onProgress?.({ phase: 'reading', file: files[0].name, rows }),
    });
  const train = await read(options.train);
  const evalData = await read(options.eval);
  const preprocessing = computePreprocessing(encoder.layout.dense, train.dense, train.size);
  normalizeDense(preprocessing, train.dense);
  normalizeDense(preprocessing, evalData.dense);
  const data = { train, evalData, preprocessing };
  if (key !== undefined) kept = { key, data };
  return data;
}

/** Encoded rows a member thread may be given (a copy each): beyond it, members train in turn. */
const THREAD_COPY_BYTES = 64 * 1024 * 1024;

/**
 * Trains an ensemble's members: member 0 here (it alone reports to the caller), the others in
 * worker threads beside it when that pays — the fused engine (tfjs stays on its thread), a
 * spare core, and data small enough to copy. Each member is the same network either way (its
 * own seed, the same code). A caller's stop during member 0 keeps member 0 alone, as in turn.
 */
async function trainMembers(
  data: MemberData,
  options: TrainOptions,
  count: number,
): Promise<MemberResult[]> {
  const rows = [data.train, data.eval];
  const bytes = rows.reduce(
    (n, d) => n + d.dense.byteLength + d.wide.byteLength + d.embed.byteLength + d.labels.byteLength,
    0,
  );
  if (data.tf || count === 1 || availableParallelism() < 2 || bytes > THREAD_COPY_BYTES) {
    const members: MemberResult[] = [];
    for (let k = 0; k < count; k++) {
      const member = trainMember(data, options, k, count);
      members.push(member);
      if (member.stopReason === 'caller') break; // the caller ends the whole training
    }
    return members;
  }
  const threads = Array.from({ length: count - 1 }, (_, i) =>
    memberThread(data, options, i + 1, count),
  );
  // Threads let go of (a stop, or member 0 failing) end with a rejected result nobody awaits:
  // it is dropped, not left to crash the process (a warm worker runs many trainings).
  const abandon = () => {
    for (const t of threads) {
      t.result.catch(() => {});
      void t.worker.terminate();
    }
  };
  let first: MemberResult;
  try {
    first = trainMember(data, options, 0, count);
  } catch (err) {
    abandon();
    throw err;
  }
  if (first.stopReason === 'caller') {
    abandon();
    return [first];
  }
  return [first, ...(await Promise.all(threads.map((t) => t.result)))];
}

/** What a member thread is given: the member's data and options, nothing that is a function. */
export interface MemberThreadInput {
  data: Omit<MemberData, 'tf' | 'objective'>;
  /** The objective is rebuilt from these in the thread (objectiveFor), functions not being cloned. */
  spec: ModelSpec;
  objective: string;
  options: Pick<TrainOptions, 'hyperparameters' | 'seed' | 'evaluations'>;
  k: number;
  count: number;
}

function memberThread(
  data: MemberData,
  options: TrainOptions,
  k: number,
  count: number,
): { worker: Worker; result: Promise<MemberResult> } {
  const { tf: _tf, objective, ...rest } = data;
  const input: MemberThreadInput = {
    data: rest,
    spec: options.spec,
    objective: objective.tag,
    options: {
      hyperparameters: options.hyperparameters,
      seed: options.seed,
      evaluations: options.evaluations,
    },
    k,
    count,
  };
  const worker = new Worker(new URL('./member-thread.js', import.meta.url), { workerData: input });
  const result = new Promise<MemberResult>((resolve, reject) => {
    worker.once('message', (m: MemberResult) => resolve(m));
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`member ${k + 1}'s thread exited (${code})`)));
  });
  return { worker, result };
}

/** A member thread's work: one member trained, the result posted back. */
export function trainMemberOf(input: MemberThreadInput): MemberResult {
  const data: MemberData = { ...input.data, objective: objectiveFor(input.spec, input.objective) };
  return trainMember(data, input.options as TrainOptions, input.k, input.count);
}

/** What every member of an ensemble trains and is measured on (encoded, normalised once). */
interface MemberData {
  /** TensorFlow.js, when it trains (absent: the fused trainer). */
  tf?: TensorFlow['tf'];
  layout: FeatureEncoder['layout'];
  /** Training rows with the trained label: transformed (regression) or a class index. */
  train: Dataset;
  eval: Dataset;
  labelTransform: Preprocessing['label'];
  /** A classifier's class count (0: a regressor). */
  classes: number;
  /** The network's outputs (outputUnits). */
  outputs: number;
  objective: ReturnType<typeof objectiveFor>;
  /** Each class's loss weight (hyperparameters.classWeights), absent: every row weighs 1. */
  classWeights?: Float32Array;
}

interface Measured {
  values: Record<string, number>;
  confusion?: number[][];
}

interface MemberResult {
  best: {
    evaluation: Evaluation;
    measured: Measured;
    weights: Map<string, Float32Array>;
    /**
     * The kept weights' eval outputs, what an ensemble averages: a regressor's in the trained
     * label's units, a classifier's as class probabilities ([rows × classes]).
     */
    outputs: Float32Array;
  };
  evaluations: Evaluation[];
  stopReason?: 'caller' | 'converged';
  stillImproving: boolean;
  steps: number;
}

/** The output bias a network starts from: the mean target, the base rate's logit, log priors. */
function initialBias(data: MemberData): number[] {
  const { train, classes } = data;
  if (!classes) {
    let sum = 0;
    for (let i = 0; i < train.size; i++) sum += train.labels[i];
    return [sum / train.size];
  }
  const counts = new Array<number>(classes).fill(0);
  for (let i = 0; i < train.size; i++) counts[train.labels[i]]++;
  // Laplace-smoothed: a class absent from training gets a finite, low prior.
  const priors = counts.map((c) => (c + 1) / (train.size + classes));
  return classes === 2 ? [Math.log(priors[1] / priors[0])] : priors.map(Math.log);
}

/**
 * Trains member k of `count` networks: its own seed (member 0 uses the run's, so a single
 * network is what it always was), the shared budget, the best eval weights kept. Only member 0
 * reports evaluations to the caller: intermediate hypertune values describe one network.
 */
function trainMember(
  data: MemberData,
  options: TrainOptions,
  k: number,
  count: number,
): MemberResult {
  const { train, objective } = data;
  const hp = options.hyperparameters;
  const seed = (options.seed + k * MEMBER_SEED_STRIDE) >>> 0;
  const reports = k === 0;
  const network = data.tf
    ? tfjsNetwork(data, data.tf, hp, seed, memberPrefix(k, count))
    : fusedNetwork(data, hp, seed, memberPrefix(k, count));

  const B = hp.batchSize;
  const steps = Math.max(1, Math.ceil(hp.trainExamples / B));
  const evaluations = Math.max(1, Math.min(options.evaluations ?? 10, steps));
  const evalAt = new Set(
    Array.from({ length: evaluations }, (_, i) => Math.round(((i + 1) * steps) / evaluations)),
  );
  // Best-weight checks between the reported evaluations: where the eval set is small next to
  // the training, an early optimum (small tables overfit within one evaluation interval) is
  // kept instead of missed. Extra checks stop where they would cost more than the training
  // itself (an eval row's forward pass is about a third of a training example's work): a short
  // trial on a large eval set measures at its evaluations only. Reports and patience still
  // count evaluations.
  const affordable = Math.floor((3 * steps * B) / Math.max(1, data.eval.size));
  // A whole number of checks per evaluation, so the evaluations are among the checks.
  const perEvaluation = Math.max(
    1,
    Math.min(CHECKS_PER_EVALUATION, Math.floor(affordable / evaluations)),
  );
  const checks = Math.min(steps, evaluations * perEvaluation);
  const checkAt = new Set(
    Array.from({ length: checks }, (_, i) => Math.round(((i + 1) * steps) / checks)),
  );
  // Cosine decay of the learning rate over the budget, to LR_FLOOR × the initial rate: large
  // steps early, small ones where the best weights are picked.
  const lrAt = (s: number) =>
    hp.learningRate * (LR_FLOOR + (1 - LR_FLOOR) * 0.5 * (1 + Math.cos((Math.PI * s) / steps)));
  const batch = new BatchBuffer(train, B, new Rng(seed ^ 0x5eed));
  const results: Evaluation[] = [];
  let best: MemberResult['best'] | undefined;
  let sinceBest = 0;
  let improved = false;
  let stopReason: MemberResult['stopReason'];
  // Progress counts the whole ensemble's examples.
  const before = k * steps * B;
  const total = count * steps * B;

  const started = performance.now();
  let lastReport = started;
  // A regressor's loss is its training RMSE (of the trained label), a classifier's cross-entropy.
  const reportedLoss = (sum: number, batches: number) =>
    data.classes ? sum / batches : Math.sqrt(sum / batches);
  let lossSum = 0;
  let lossCount = 0;
  // The same, since the previous evaluation (for the evaluation's report).
  let evalLossSum = 0;
  let lastEvaluation = { at: started, step: 0 };
  let step = 0;
  while (step < steps) {
    batch.next();
    const batchLoss = network.train(batch, lrAt(step));
    lossSum += batchLoss;
    lossCount++;
    evalLossSum += batchLoss;
    step++;

    const now = performance.now();
    const evaluate = evalAt.has(step);
    let evaluation: Evaluation | undefined;
    if (checkAt.has(step) || evaluate) {
      const outputs = network.evalOutputs();
      const measured = measure(outputs, data);
      const check: Evaluation = {
        step,
        examples: step * B,
        value: measured.values[objective.tag],
        metrics: measured.values,
      };
      if (!best || objective.better(check.value, best.evaluation.value)) {
        best = { evaluation: check, measured, weights: network.weights(), outputs };
        improved = true;
      }
      if (evaluate) evaluation = check;
    }
    if (evaluation) {
      results.push(evaluation);
      if (improved) sinceBest = 0;
      else sinceBest++;
      improved = false;
    }
    if (evaluate || now - lastReport > 250) {
      options.onProgress?.({
        phase: 'training',
        examples: before + step * B,
        totalExamples: total,
        examplesPerSecond: (step * B) / ((now - started) / 1000),
        loss: reportedLoss(lossSum, lossCount),
        objective: objective.tag,
        evalValue: results.at(-1)?.value,
        ...(count > 1 ? { member: k + 1, members: count } : {}),
      });
      lastReport = now;
      lossSum = 0;
      lossCount = 0;
    }
    // Callers see the best value so far: the model they would get if training stopped here.
    let stop = false;
    if (reports && evaluation && options.onEvaluation) {
      const seconds = (performance.now() - lastEvaluation.at) / 1000;
      stop =
        options.onEvaluation({
          ...best!.evaluation,
          step: evaluation.step,
          examples: evaluation.examples,
          measured: evaluation.metrics,
          loss: reportedLoss(evalLossSum, step - lastEvaluation.step),
          examplesPerSecond: ((step - lastEvaluation.step) * B) / seconds,
        }) === true;
    }
    if (evaluation) {
      evalLossSum = 0;
      lastEvaluation = { at: performance.now(), step };
    }
    if (stop && step < steps) {
      stopReason = 'caller';
      break;
    }
    if (hp.patience !== undefined && sinceBest >= hp.patience && step < steps) {
      stopReason = 'converged';
      break;
    }
  }
  const n = results.length;
  const [prev, last] = [results[n - 2]?.value, results[n - 1]?.value];
  const stillImproving =
    stopReason === undefined &&
    n >= 2 &&
    objective.better(last, prev) &&
    Math.abs(last - prev) > 0.005 * Math.abs(prev);
  network.dispose();
  return {
    best: best!,
    evaluations: results,
    ...(stopReason ? { stopReason } : {}),
    stillImproving,
    steps: step,
  };
}

/**
 * The training loss of a batch: squared error, or the head's cross-entropy on logits (each row
 * weighted by its class's weight, when there are class weights; against smoothed targets, with
 * label smoothing).
 */
function lossFunction(
  data: MemberData,
  tf: TensorFlow['tf'],
  labelSmoothing = 0,
): (labels: Float32Array, outputs: Tensor2D) => Scalar {
  const { classes, classWeights } = data;
  if (!classes)
    return (labels, outputs) =>
      tf.losses.meanSquaredError(tf.tensor2d(labels, [labels.length, 1]), outputs) as Scalar;
  // Shaped like each head's per-row losses: [rows, 1] for sigmoid, [rows] for softmax.
  const rowWeights = (labels: Float32Array, shape: number[]) =>
    classWeights &&
    tf.tensor(
      labels.map((y) => classWeights[y]),
      shape,
    );
  if (classes === 2)
    return (labels, outputs) =>
      tf.losses.sigmoidCrossEntropy(
        tf.tensor2d(labels, [labels.length, 1]),
        outputs,
        rowWeights(labels, [labels.length, 1]),
        labelSmoothing,
      ) as Scalar;
  return (labels, outputs) =>
    tf.losses.softmaxCrossEntropy(
      tf.oneHot(tf.tensor1d(labels, 'int32'), classes),
      outputs,
      rowWeights(labels, [labels.length]),
      labelSmoothing,
    ) as Scalar;
}

/** rows / (classes × rows of the class): the mean weight over the training rows is 1. */
function balancedClassWeights(labels: Float32Array, classes: number): Float32Array {
  const counts = new Float64Array(classes);
  for (const y of labels) counts[y]++;
  return Float32Array.from(counts, (n) => (n ? labels.length / (classes * n) : 0));
}

/** The metrics of eval outputs (regression: in the label's units). */
function measure(outputs: Float32Array, data: MemberData): Measured {
  const { labelTransform, classes } = data;
  if (classes) return classificationMetrics(outputs, data.eval.labels, classes);
  const predictions = labelTransform ? outputs.map((y) => decodeLabel(labelTransform, y)) : outputs;
  return { values: { rmse: rmse(predictions, data.eval.labels) } };
}

/** A network in training, on either engine. */
interface TrainingNetwork {
  /** One optimizer step on the batch at learning rate `lr`; the batch's loss. */
  train(batch: BatchBuffer, lr: number): number;
  /**
   * The outputs on every eval row: a regressor's in the trained label's units, a classifier's
   * as class probabilities ([rows × classes]; a binary model's as 1 − p, p).
   */
  evalOutputs(): Float32Array;
  weights(): Map<string, Float32Array>;
  dispose(): void;
}

/** The eval rows in chunks of EVAL_CHUNK, each turned into outputs by `forward`. */
function inChunks(
  data: MemberData,
  forward: (start: number, end: number, parts: ReturnType<typeof widths>) => ArrayLike<number>,
): Float32Array {
  const { eval: rows, classes } = data;
  const out = new Float32Array(rows.size * (classes || 1));
  const parts = widths(rows);
  for (let start = 0; start < rows.size; start += EVAL_CHUNK) {
    const end = Math.min(rows.size, start + EVAL_CHUNK);
    out.set(forward(start, end, parts), start * (classes || 1));
  }
  return out;
}

/** The reference: TensorFlow.js variables and ops, tf.train.adam. */
function tfjsNetwork(
  data: MemberData,
  tf: TensorFlow['tf'],
  hp: Hyperparameters,
  seed: number,
  prefix: string,
): TrainingNetwork {
  const network = new WideDeepNetwork(tf, data.layout, hp, seed, initialBias(data), prefix);
  const optimizer = tf.train.adam(hp.learningRate);
  const trainable = [...network.variables.values()];
  const loss = lossFunction(data, tf, hp.labelSmoothing);
  const { eval: rows, classes, outputs: units } = data;
  return {
    train(batch, lr) {
      // Adam reads its learningRate field at every step.
      (optimizer as unknown as { learningRate: number }).learningRate = lr;
      const cost = tf.tidy(() =>
        optimizer.minimize(
          () => loss(batch.labels, network.forward(batch.tensors(tf))),
          true,
          trainable,
        )!,
      );
      const value = cost.dataSync()[0];
      cost.dispose();
      return value;
    },
    evalOutputs: () =>
      inChunks(data, (start, end, { dense, wide, embed }) =>
        tf.tidy(() => {
          const size = end - start;
          const z = network.forward({
            dense: tf.tensor2d(rows.dense.subarray(start * dense, end * dense), [size, dense]),
            wide: tf.tensor1d(rows.wide.subarray(start * wide, end * wide), 'int32'),
            embed: tf.tensor1d(rows.embed.subarray(start * embed, end * embed), 'int32'),
            size,
          });
          if (!classes) return z.dataSync();
          // sigmoid(−z) for the negative class: 1 − sigmoid(z) rounds to 0 in float32 for large z.
          if (units === 1) return tf.concat([tf.sigmoid(tf.neg(z)), tf.sigmoid(z)], 1).dataSync();
          return tf.softmax(z).dataSync();
        }),
      ),
    weights: () => network.weights(),
    dispose() {
      network.dispose();
      optimizer.dispose();
    },
  };
}

/** The fused trainer: one forward and backward pass over typed arrays, lazy Adam on the tables. */
function fusedNetwork(
  data: MemberData,
  hp: Hyperparameters,
  seed: number,
  prefix: string,
): TrainingNetwork {
  const network = new FusedNetwork(data.layout, hp, seed, initialBias(data), prefix);
  const { eval: rows, classes, outputs: units, classWeights } = data;
  const { labelSmoothing } = hp;
  const loss: HeadLoss = !classes
    ? { kind: 'squared' }
    : units === 1
      ? { kind: 'sigmoid', classWeights, labelSmoothing }
      : { kind: 'softmax', classes, classWeights, labelSmoothing };
  return {
    train: (batch, lr) => network.train(batch.rows, loss, lr),
    evalOutputs: () =>
      inChunks(data, (start, end, { dense, wide, embed }) => {
        const z = network.forward(
          end - start,
          rows.dense.subarray(start * dense, end * dense),
          rows.wide.subarray(start * wide, end * wide),
          rows.embed.subarray(start * embed, end * embed),
        );
        if (!classes) return z.subarray(0, end - start);
        return probabilities(z, end - start, units);
      }),
    weights: () => network.weights(),
    dispose() {},
  };
}

/** Class probabilities of logits ([rows × units]; one unit: the positive class's logit). */
function probabilities(z: Float32Array, rows: number, units: number): Float32Array {
  const width = units === 1 ? 2 : units;
  const p = new Float32Array(rows * width);
  for (let r = 0; r < rows; r++) addClassProbabilities(z, r * units, units, p, r * width);
  return p;
}

function widths(data: Dataset) {
  return {
    dense: data.dense.length / data.size,
    wide: data.wide.length / data.size,
    embed: data.embed.length / data.size,
  };
}

/**
 * Fills fixed-size batches by walking a seeded permutation of the rows, reshuffling at each
 * pass; every batch is full, so the same seed replays the same sequence of batches.
 */
class BatchBuffer {
  readonly labels: Float32Array;
  private readonly dense: Float32Array;
  private readonly wide: Int32Array;
  private readonly embed: Int32Array;
  /** The batch as the fused trainer reads it. */
  readonly rows: FusedBatch;
  private readonly order: Uint32Array;
  private cursor: number;
  private readonly w: ReturnType<typeof widths>;

  constructor(
    private readonly data: Dataset,
    private readonly size: number,
    private readonly rng: Rng,
  ) {
    this.w = widths(data);
    this.labels = new Float32Array(size);
    this.dense = new Float32Array(size * this.w.dense);
    this.wide = new Int32Array(size * this.w.wide);
    this.embed = new Int32Array(size * this.w.embed);
    this.rows = {
      size,
      dense: this.dense,
      wide: this.wide,
      embed: this.embed,
      labels: this.labels,
    };
    this.order = Uint32Array.from({ length: data.size }, (_, i) => i);
    this.cursor = data.size; // forces a shuffle before the first batch
  }

  next(): void {
    const { data, w } = this;
    for (let b = 0; b < this.size; b++) {
      if (this.cursor === this.order.length) {
        this.rng.shuffle(this.order);
        this.cursor = 0;
      }
      const r = this.order[this.cursor++];
      this.labels[b] = data.labels[r];
      copyRow(data.dense, this.dense, r, b, w.dense);
      copyRow(data.wide, this.wide, r, b, w.wide);
      copyRow(data.embed, this.embed, r, b, w.embed);
    }
  }

  tensors(tf: TensorFlow['tf']): BatchTensors {
    return {
      dense: tf.tensor2d(this.dense, [this.size, this.w.dense]),
      wide: tf.tensor1d(this.wide, 'int32'),
      embed: tf.tensor1d(this.embed, 'int32'),
      size: this.size,
    };
  }
}

function copyRow<T extends Float32Array | Int32Array>(
  src: T,
  dst: T,
  from: number,
  to: number,
  width: number,
): void {
  for (let k = 0; k < width; k++) dst[to * width + k] = src[from * width + k];
}

function lineage(d: Dataset): DataLineage {
  return {
    files: d.files,
    rowsRead: d.rowsRead,
    rowsUsed: d.size,
    unlabelledRows: d.unlabelledRows,
    badRows: d.badRows,
    badRowSamples: d.badRowSamples,
  };
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
