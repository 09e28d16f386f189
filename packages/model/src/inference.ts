/**
 * @module inference
 * The lean predictor: the trained network as plain loops over its weights.
 */
import { deepInputSize } from './architecture.js';
import { FeatureEncoder, type EncodedRows } from './features.js';
import { decodeLabel, type LabelTransform } from './preprocessing.js';
import type { TrainedModel } from './saved-model.js';

/** An answer's key: the key column's value under its name, or the caller's own `key` field. */
export type AnswerKey = Record<string, string | number>;
export type Prediction = { key: AnswerKey } & (
  { value: number; error?: undefined } | { value?: undefined; error: string }
);

const MAX_KEY_CHARS = 256;

/**
 * The trained network compiled to plain loops over its weights: no TensorFlow.js import, no
 * tensor allocation, float64 accumulation. Matches the TensorFlow.js forward pass within float32
 * rounding (tests hold it to 1e-5) at a fraction of the per-call cost.
 */
export class Predictor {
  readonly encoder: FeatureEncoder;
  readonly labelName: string;
  readonly keyName: string | undefined;
  private readonly layers: {
    kernel: Float32Array;
    bias: Float32Array;
    inputs: number;
    units: number;
  }[];
  private readonly wide?: Float32Array;
  private readonly embed?: Float32Array;
  private readonly nembeds: number;
  private readonly means: Float64Array;
  private readonly stds: Float64Array;
  private readonly label: LabelTransform | undefined;
  // Scratch space reused across calls (a Predictor is not shared across threads).
  private readonly row: EncodedRows;
  private readonly bufA: Float64Array;
  private readonly bufB: Float64Array;

  constructor(readonly model: TrainedModel) {
    const { meta, weights } = model;
    this.encoder = new FeatureEncoder(meta.spec);
    this.labelName = meta.spec.label.name;
    this.keyName = meta.spec.key;
    this.nembeds = meta.hyperparameters.nembeds;
    this.wide = weights.get('wide');
    this.embed = weights.get('embed');
    this.means = Float64Array.from(meta.preprocessing.dense, (d) => d.mean);
    this.stds = Float64Array.from(meta.preprocessing.dense, (d) => d.std);
    this.label = meta.preprocessing.label;
    const { layout } = this.encoder;
    const sizes = [deepInputSize(layout, this.nembeds), ...meta.hyperparameters.nnsize, 1];
    const names = [...meta.hyperparameters.nnsize.map((_, i) => `hidden_${i}`), 'output'];
    this.layers = names.map((n, i) => ({
      kernel: weights.get(`${n}/kernel`)!,
      bias: weights.get(`${n}/bias`)!,
      inputs: sizes[i],
      units: sizes[i + 1],
    }));
    this.row = {
      dense: new Float32Array(layout.dense.length),
      wide: new Int32Array(layout.wide.length),
      embed: new Int32Array(layout.embed.length),
    };
    const widest = Math.max(...sizes);
    this.bufA = new Float64Array(widest);
    this.bufB = new Float64Array(widest);
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
    return { key, value: decodeLabel(this.label, this.forward(this.row, 0)) };
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

  /** Predictions, in the label's units, for already encoded and normalised rows (e.g. a whole eval set). */
  predictEncoded(rows: EncodedRows, size: number): Float32Array {
    const out = new Float32Array(size);
    for (let r = 0; r < size; r++) out[r] = decodeLabel(this.label, this.forward(rows, r));
    return out;
  }

  private forward(rows: EncodedRows, r: number): number {
    const { layout } = this.encoder;
    const nd = layout.dense.length;
    const ne = layout.embed.length;
    const nw = layout.wide.length;
    const E = this.nembeds;
    let x = this.bufA;
    let y = this.bufB;
    for (let i = 0; i < nd; i++) x[i] = rows.dense[r * nd + i];
    for (let j = 0; j < ne; j++) {
      const base = rows.embed[r * ne + j] * E;
      for (let k = 0; k < E; k++) x[nd + j * E + k] = this.embed![base + k];
    }
    const last = this.layers.length - 1;
    for (let l = 0; l <= last; l++) {
      const { kernel, bias, inputs, units } = this.layers[l];
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
    let out = x[0];
    for (let j = 0; j < nw; j++) out += this.wide![rows.wide[r * nw + j]];
    return out;
  }
}
