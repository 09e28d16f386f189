/**
 * @module train
 * The training loop: reads and encodes the data, fits the label transform and feature
 * normalisation on the training rows, trains the wide & deep network with Adam, measures eval
 * RMSE (in the label's units) along the way and keeps the weights of the best measurement —
 * a run never ends on a diverging step. The learning rate decays (cosine) over the budget, and
 * eval RMSE is checked several times per reported evaluation so an early best is not missed.
 * With `patience`, training stops once eval RMSE has not improved for that many evaluations.
 */
import {
  computePreprocessing,
  decodeLabel,
  encodeLabel,
  FeatureEncoder,
  fitLabelTransform,
  normalizeDense,
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
import { loadTensorFlow, type TensorFlow } from './tf-backend.js';
import { WideDeepNetwork, type BatchTensors } from './network.js';

export interface TrainOptions {
  spec: ModelSpec;
  train: DataSource[];
  eval: DataSource[];
  hyperparameters: Hyperparameters;
  seed: number;
  /** Fail when more than this fraction of rows is bad (default 0.05). */
  maxBadFraction?: number;
  /** How many times to measure eval RMSE during training (the hypertune intermediate values). */
  evaluations?: number;
  onProgress?: (p: TrainProgress) => void;
  /** Called at each evaluation; return true to stop training early (the last result is kept). */
  onEvaluation?: (e: Evaluation) => boolean | void;
  tensorflow?: TensorFlow;
}

export interface Evaluation {
  step: number;
  examples: number;
  rmse: number;
}

export type TrainProgress =
  | { phase: 'reading'; file: string; rows: number }
  | {
      phase: 'training';
      examples: number;
      totalExamples: number;
      examplesPerSecond: number;
      loss: number;
      evalRmse?: number;
    }
  | { phase: 'done'; rmse: number; seconds: number };

export interface TrainResult {
  model: TrainedModel;
  evaluations: Evaluation[];
  stoppedEarly: boolean;
  /** Why training ended before its budget: the caller (early stopping) or patience (converged). */
  stopReason?: 'caller' | 'converged';
  /** Eval RMSE still fell by more than 0.5% over the last measurement: a longer budget may help. */
  stillImproving: boolean;
  backendNotes: string[];
}

const EVAL_CHUNK = 8192;
/** Eval RMSE measurements per reported evaluation, for keeping the best weights. */
const CHECKS_PER_EVALUATION = 4;
/** The learning rate at the end of the budget, as a fraction of the initial one. */
const LR_FLOOR = 0.02;

export async function trainModel(options: TrainOptions): Promise<TrainResult> {
  const { spec, hyperparameters: hp, seed } = options;
  const { tf, backend, notes } = options.tensorflow ?? (await loadTensorFlow());
  const encoder = new FeatureEncoder(spec);
  const { layout } = encoder;
  const read = async (sources: DataSource[]) =>
    readDataset(sources, encoder, {
      maxBadFraction: options.maxBadFraction,
      onProgress: (rows) => options.onProgress?.({ phase: 'reading', file: sources[0].name, rows }),
    });
  const train = await read(options.train);
  const evalData = await read(options.eval);
  const preprocessing = computePreprocessing(layout.dense, train.dense, train.size);
  normalizeDense(preprocessing, train.dense);
  normalizeDense(preprocessing, evalData.dense);
  const labelTransform = fitLabelTransform(spec.label, train.labels);
  if (labelTransform) preprocessing.label = labelTransform;
  // The network learns the transformed label; eval RMSE is measured in the label's own units.
  const targets = labelTransform
    ? train.labels.map((y) => encodeLabel(labelTransform, y))
    : train.labels;

  let targetSum = 0;
  for (let i = 0; i < train.size; i++) targetSum += targets[i];
  const network = new WideDeepNetwork(tf, layout, hp, seed, targetSum / train.size);
  const optimizer = tf.train.adam(hp.learningRate);
  const trainable = [...network.variables.values()];

  const B = hp.batchSize;
  const steps = Math.max(1, Math.ceil(hp.trainExamples / B));
  const evaluations = Math.max(1, Math.min(options.evaluations ?? 10, steps));
  const evalAt = new Set(
    Array.from({ length: evaluations }, (_, i) => Math.round(((i + 1) * steps) / evaluations)),
  );
  // Best-weight checks between the reported evaluations: the eval set is small next to the
  // training, and an early optimum (small tables overfit within one evaluation interval) is
  // kept instead of missed. Reports and patience still count evaluations.
  const checks = Math.min(steps, evaluations * CHECKS_PER_EVALUATION);
  const checkAt = new Set(
    Array.from({ length: checks }, (_, i) => Math.round(((i + 1) * steps) / checks)),
  );
  // Cosine decay of the learning rate over the budget, to LR_FLOOR × the initial rate: large
  // steps early, small ones where the best weights are picked.
  const lrAt = (s: number) =>
    hp.learningRate * (LR_FLOOR + (1 - LR_FLOOR) * 0.5 * (1 + Math.cos((Math.PI * s) / steps)));
  const batch = new BatchBuffer({ ...train, labels: targets }, B, new Rng(seed ^ 0x5eed));
  const results: Evaluation[] = [];
  let best: { evaluation: Evaluation; weights: Map<string, Float32Array> } | undefined;
  let sinceBest = 0;
  let improved = false;
  let stopReason: TrainResult['stopReason'];

  const started = performance.now();
  let lastReport = started;
  let lossSum = 0;
  let lossCount = 0;
  let step = 0;
  let stoppedEarly = false;
  while (step < steps) {
    batch.next();
    // Adam reads its learningRate field at every step.
    (optimizer as unknown as { learningRate: number }).learningRate = lrAt(step);
    const cost = tf.tidy(() => {
      const tensors = batch.tensors(tf);
      const labels = tf.tensor2d(batch.labels, [B, 1]);
      return optimizer.minimize(
        () =>
          tf.losses.meanSquaredError(
            labels,
            network.forward(tensors),
          ) as import('@tensorflow/tfjs').Scalar,
        true,
        trainable,
      )!;
    });
    lossSum += cost.dataSync()[0];
    lossCount++;
    cost.dispose();
    step++;

    const now = performance.now();
    const evaluate = evalAt.has(step);
    let evaluation: Evaluation | undefined;
    if (checkAt.has(step) || evaluate) {
      const check = {
        step,
        examples: step * B,
        rmse: evaluateRmse(tf, network, evalData, labelTransform),
      };
      if (!best || check.rmse < best.evaluation.rmse) {
        best = { evaluation: check, weights: network.weights() };
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
        examples: step * B,
        totalExamples: steps * B,
        examplesPerSecond: (step * B) / ((now - started) / 1000),
        loss: Math.sqrt(lossSum / lossCount),
        evalRmse: results.at(-1)?.rmse,
      });
      lastReport = now;
      lossSum = 0;
      lossCount = 0;
    }
    // Callers see the best RMSE so far: the model they would get if training stopped here.
    if (
      evaluation &&
      options.onEvaluation?.({ ...evaluation, rmse: best!.evaluation.rmse }) === true &&
      step < steps
    ) {
      stoppedEarly = true;
      stopReason = 'caller';
      break;
    }
    if (hp.patience !== undefined && sinceBest >= hp.patience && step < steps) {
      stoppedEarly = true;
      stopReason = 'converged';
      break;
    }
  }
  const seconds = (performance.now() - started) / 1000;
  const final = best!.evaluation;
  options.onProgress?.({ phase: 'done', rmse: final.rmse, seconds });
  const n = results.length;
  const stillImproving =
    !stoppedEarly && n >= 2 && results[n - 1].rmse < results[n - 2].rmse * 0.995;

  const weights = best!.weights;
  network.dispose();
  optimizer.dispose();
  return {
    model: {
      weights,
      meta: {
        format: 'bucketml.saved-model/1',
        name: spec.name,
        createdAt: new Date().toISOString(),
        spec,
        preprocessing,
        hyperparameters: hp,
        seed,
        metrics: { rmse: final.rmse, evalRows: evalData.size, bestStep: final.step },
        training: {
          backend,
          examples: step * B,
          steps: step,
          seconds: round(seconds, 3),
          examplesPerSecond: Math.round((step * B) / seconds),
          ...(stopReason ? { stopReason } : {}),
          stillImproving,
        },
        data: { train: lineage(train), eval: lineage(evalData) },
      },
    },
    evaluations: results,
    stoppedEarly,
    ...(stopReason ? { stopReason } : {}),
    stillImproving,
    backendNotes: notes,
  };
}

function evaluateRmse(
  tf: TensorFlow['tf'],
  network: WideDeepNetwork,
  data: Dataset,
  labelTransform: Preprocessing['label'],
): number {
  const predictions = new Float32Array(data.size);
  const { dense, wide, embed } = widths(data);
  for (let start = 0; start < data.size; start += EVAL_CHUNK) {
    const end = Math.min(data.size, start + EVAL_CHUNK);
    const size = end - start;
    const out = tf.tidy(() =>
      network
        .forward({
          dense: tf.tensor2d(data.dense.subarray(start * dense, end * dense), [size, dense]),
          wide: tf.tensor1d(data.wide.subarray(start * wide, end * wide), 'int32'),
          embed: tf.tensor1d(data.embed.subarray(start * embed, end * embed), 'int32'),
          size,
        })
        .dataSync(),
    );
    predictions.set(out, start);
  }
  if (labelTransform)
    for (let i = 0; i < predictions.length; i++)
      predictions[i] = decodeLabel(labelTransform, predictions[i]);
  return rmse(predictions, data.labels);
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
    badRows: d.badRows,
    badRowSamples: d.badRowSamples,
  };
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
