/**
 * @module inference
 * The lean predictor: the trained network as plain loops over its weights. A regressor answers
 * a number; a classifier the most probable class, with every class's probability (Vertex AI's
 * `classes` and `scores`).
 */
import {
  addClassProbabilities,
  deepInputSize,
  ensembleSize,
  memberPrefix,
} from './architecture.js';
import type { Dataset } from './dataset.js';
import { FeatureEncoder, type EncodedRows } from './features.js';
import { classificationMetrics, rmse } from './metrics.js';
import { decodeLabel, type LabelTransform } from './preprocessing.js';
import type { TrainedModel } from './saved-model.js';
import { outputUnits } from './spec.js';

/** An answer's key: the key column's value under its name, or the caller's own `key` field. */
export type AnswerKey = Record<string, string | number>;
export type Prediction = { key: AnswerKey } & (
  | {
      /** The label: a number (regression) or the most probable class. */
      value: number | string;
      /** A classifier's classes and their probabilities (summing to 1), in the model's order. */
      scores?: number[];
      error?: undefined;
    }
  | { value?: undefined; error: string }
);

const MAX_KEY_CHARS = 256;

/** One network's weights, looked up once. */
interface MemberWeights {
  layers: { kernel: Float32Array; bias: Float32Array; inputs: number; units: number }[];
  wide?: Float32Array;
  embed?: Float32Array;
}

/**
 * The trained network compiled to plain loops over its weights: no TensorFlow.js import, no
 * tensor allocation, float64 accumulation. Matches the TensorFlow.js forward pass within float32
 * rounding (tests hold it to 1e-5) at a fraction of the per-call cost.
 */
export class Predictor {
  readonly encoder: FeatureEncoder;
  readonly labelName: string;
  readonly keyName: string | undefined;
  /** A classifier's classes (undefined: a regressor). */
  readonly classes: readonly string[] | undefined;
  /** The ensemble's networks (one for a single-network model); the answer is their mean. */
  private readonly members: MemberWeights[];
  private readonly outputs: number;
  private readonly nembeds: number;
  private readonly means: Float64Array;
  private readonly stds: Float64Array;
  private readonly label: LabelTransform | undefined;
  // Scratch space reused across calls (a Predictor is not shared across threads).
  private readonly row: EncodedRows;
  private readonly bufA: Float64Array;
  private readonly bufB: Float64Array;
  /** One row's answer: the label value, or every class's probability. */
  private readonly answerBuf: Float64Array;

  constructor(readonly model: TrainedModel) {
    const { meta, weights } = model;
    this.encoder = new FeatureEncoder(meta.spec);
    this.labelName = meta.spec.label.name;
    this.keyName = meta.spec.key;
    this.classes = meta.spec.label.classes;
    this.outputs = outputUnits(meta.spec);
    this.nembeds = meta.hyperparameters.nembeds;
    this.means = Float64Array.from(meta.preprocessing.dense, (d) => d.mean);
    this.stds = Float64Array.from(meta.preprocessing.dense, (d) => d.std);
    this.label = meta.preprocessing.label;
    const { layout } = this.encoder;
    const sizes = [
      deepInputSize(layout, this.nembeds),
      ...meta.hyperparameters.nnsize,
      this.outputs,
    ];
    const names = [...meta.hyperparameters.nnsize.map((_, i) => `hidden_${i}`), 'output'];
    const count = ensembleSize(meta.hyperparameters);
    this.members = Array.from({ length: count }, (_, k) => {
      const prefix = memberPrefix(k, count);
      return {
        wide: weights.get(`${prefix}wide`),
        embed: weights.get(`${prefix}embed`),
        layers: names.map((n, i) => ({
          kernel: weights.get(`${prefix}${n}/kernel`)!,
          bias: weights.get(`${prefix}${n}/bias`)!,
          inputs: sizes[i],
          units: sizes[i + 1],
        })),
      };
    });
    this.row = {
      dense: new Float32Array(layout.dense.length),
      wide: new Int32Array(layout.wide.length),
      embed: new Int32Array(layout.embed.length),
    };
    const widest = Math.max(...sizes);
    this.bufA = new Float64Array(widest);
    this.bufB = new Float64Array(widest);
    this.answerBuf = new Float64Array(this.classes?.length ?? 1);
  }

  /** Validates and predicts one JSON instance; never throws for bad input. */
  predictInstance(instance: unknown): Prediction {
    if (typeof instance !== 'object' || instance === null || Array.isArray(instance)) {
      return { key: {}, error: 'instance must be a JSON object' };
    }
    const obj = instance as Record<string, unknown>;
    const key = this.answerKey(obj);
    const problem = this.encoder.encode((name) => obj[name], this.row, 0);
    if (problem !== null) return { key, error: problem };
    const { dense } = this.row;
    for (let i = 0; i < dense.length; i++) dense[i] = (dense[i] - this.means[i]) / this.stds[i];
    const out = this.forward(this.row, 0);
    if (!this.classes) return { key, value: decodeLabel(this.label, out[0]) };
    let best = 0;
    for (let c = 1; c < out.length; c++) if (out[c] > out[best]) best = c;
    return { key, value: this.classes[best], scores: Array.from(out) };
  }

  /**
   * An answer as serving and `bucketml predict` write it: the key, the label under its name,
   * and a classifier's `classes` and `scores`.
   */
  answer(p: Prediction & { error?: undefined }): Record<string, unknown> {
    return {
      ...p.key,
      [this.labelName]: p.value,
      ...(this.classes ? { classes: this.classes, scores: p.scores } : {}),
    };
  }

  /**
   * An answer as `bucketml predict` prints it and batch prediction writes it: `answer`, its
   * numbers cut to 7 significant digits (float32 carries about that many; more would be noise).
   */
  roundedAnswer(p: Prediction & { error?: undefined }): Record<string, unknown> {
    const digits = (x: number) => Number(x.toPrecision(7));
    return this.answer({
      ...p,
      value: typeof p.value === 'number' ? digits(p.value) : p.value,
      ...(p.scores ? { scores: p.scores.map(digits) } : {}),
    });
  }

  /**
   * What an answer echoes so the caller can match it: with a key column, its value under the
   * column's name; without one, the instance's own `key` field. Only strings (cut to 256
   * characters) and finite numbers are echoed.
   */
  answerKey(instance: Record<string, unknown>): AnswerKey {
    const field = this.keyName ?? 'key';
    const v = instance[field];
    if (typeof v === 'string') return { [field]: v.slice(0, MAX_KEY_CHARS) };
    if (typeof v === 'number' && Number.isFinite(v)) return { [field]: v };
    return {};
  }

  /**
   * Answers for already encoded and normalised rows (e.g. a whole eval set): a regressor's in
   * the label's units ([rows]), a classifier's class probabilities ([rows × classes]).
   */
  predictEncoded(rows: EncodedRows, size: number): Float32Array {
    const width = this.answerBuf.length;
    const out = new Float32Array(size * width);
    for (let r = 0; r < size; r++) {
      const answer = this.forward(rows, r);
      if (this.classes) out.set(answer, r * width);
      else out[r] = decodeLabel(this.label, answer[0]);
    }
    return out;
  }

  /**
   * The model's metrics on encoded, normalised rows with their labels (what training reports:
   * rmse; logloss, accuracy, auc or f1_macro, and the confusion matrix).
   */
  evaluate(data: Dataset): { values: Record<string, number>; confusion?: number[][] } {
    const answers = this.predictEncoded(data, data.size);
    if (this.classes) return classificationMetrics(answers, data.labels, this.classes.length);
    return { values: { rmse: rmse(answers, data.labels) } };
  }

  /**
   * The members' mean answer for row r, in answerBuf: a regressor's output in the trained
   * label's units, a classifier's class probabilities (each member's softmax or sigmoid,
   * averaged, as the trainer measured the ensemble).
   */
  private forward(rows: EncodedRows, r: number): Float64Array {
    const answer = this.answerBuf;
    answer.fill(0);
    const share = 1 / this.members.length;
    for (const member of this.members) {
      const z = this.forwardMember(member, rows, r);
      if (!this.classes) answer[0] += z[0] * share;
      else addClassProbabilities(z, 0, this.outputs, answer, 0, share);
    }
    return answer;
  }

  /** One network's outputs (the label, or logits) for row r, in a scratch buffer. */
  private forwardMember(member: MemberWeights, rows: EncodedRows, r: number): Float64Array {
    const { layout } = this.encoder;
    const nd = layout.dense.length;
    const ne = layout.embed.length;
    const nw = layout.wide.length;
    const E = this.nembeds;
    const U = this.outputs;
    let x = this.bufA;
    let y = this.bufB;
    for (let i = 0; i < nd; i++) x[i] = rows.dense[r * nd + i];
    for (let j = 0; j < ne; j++) {
      const base = rows.embed[r * ne + j] * E;
      for (let k = 0; k < E; k++) x[nd + j * E + k] = member.embed![base + k];
    }
    const last = member.layers.length - 1;
    for (let l = 0; l <= last; l++) {
      const { kernel, bias, inputs, units } = member.layers[l];
      for (let k = 0; k < units; k++) y[k] = bias[k];
      for (let i = 0; i < inputs; i++) {
        const xi = x[i];
        if (xi === 0) continue;
        const row = i * units;
        for (let k = 0; k < units; k++) y[k] += xi * kernel[row + k];
      }
      if (l < last) for (let k = 0; k < units; k++) if (y[k] < 0) y[k] = 0;
      const t = x;
      x = y;
      y = t;
    }
    for (let j = 0; j < nw; j++) {
      const base = rows.wide[r * nw + j] * U;
      for (let k = 0; k < U; k++) x[k] += member.wide![base + k];
    }
    return x;
  }
}
