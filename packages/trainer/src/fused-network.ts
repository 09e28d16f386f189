/**
 * @module fused-network
 * The wide & deep network of `@bucketml/model`'s architecture contract as one fused forward and
 * backward pass over typed arrays, with Adam: a training step costs its arithmetic, whatever the
 * batch size (tfjs spends a small batch's step on dozens of op dispatches and on updating every
 * row of the embedding and wide tables).
 *
 * Semantics against the TensorFlow.js network (network.ts), which stays the reference: the same
 * initial weights (the same seeded draws), the same losses and gradients (test/fused.test.ts
 * holds them equal within 1e-4), Adam with tfjs' defaults on the dense layers; the embedding
 * and wide tables take lazy Adam updates, as TF's LazyAdamOptimizer and the course's canned
 * estimators' sparse updates do: only the rows a batch uses move, their moments with them
 * (docs/benchmarks.md measures the quality of this against dense Adam). The dense layers'
 * products run in WebAssembly SIMD (dense-kernels.ts), in float32 as tfjs computes them.
 */
import { deepInputSize, type FeatureLayout, type Hyperparameters } from '@bucketml/model';
import { DenseKernels, type Block } from './dense-kernels.js';
import { initialWeightValues } from './network.js';

/** The training loss of the network's head. */
export type HeadLoss =
  | { kind: 'squared' }
  | { kind: 'sigmoid'; classWeights?: Float32Array; labelSmoothing?: number }
  | { kind: 'softmax'; classes: number; classWeights?: Float32Array; labelSmoothing?: number };

/** One batch of encoded rows, row-major, and its targets (a class index for a classifier). */
export interface FusedBatch {
  size: number;
  dense: Float32Array;
  wide: Int32Array;
  embed: Int32Array;
  labels: Float32Array;
}

// Adam's constants, as tf.train.adam(lr) takes them (epsilon: the float32 backend's 1e-7).
const BETA1 = 0.9;
const BETA2 = 0.999;
const EPSILON = 1e-7;

/**
 * A dense layer: kernel [inputs × units] row-major, bias [units], and their Adam moments; what
 * the kernels read and write is in their memory (a Block's view).
 */
interface Layer {
  name: string;
  inputs: number;
  units: number;
  kernel: Block;
  bias: Block;
  gradKernel: Block;
  gradBias: Float32Array;
  moments: Float32Array[];
}

/** A table read by sparse ids (embeddings, the wide part): [rows × width]. */
interface Table {
  width: number;
  values: Float32Array;
  grad: Float32Array;
  m: Float32Array;
  v: Float32Array;
  /** The rows the current batch touched (each once), and which rows those are. */
  touched: Int32Array;
  touchedCount: number;
  isTouched: Uint8Array;
}

export class FusedNetwork {
  private readonly dense: number;
  private readonly slotsWide: number;
  private readonly slotsEmbed: number;
  private readonly nembeds: number;
  private readonly inputs: number;
  private readonly outputs: number;
  private readonly layers: Layer[];
  private readonly embed?: Table;
  private readonly wide?: Table;
  private readonly kernels = new DenseKernels();
  /**
   * Activations per layer input ([rows × width]; acts[0] is the deep input), the gradients at
   * each layer's input and output, and the outputs, for `capacity` rows (a multiple of 4).
   */
  private acts: Block[] = [];
  private deltas: Block[] = [];
  private out!: Block;
  private capacity = 0;
  private step = 0;

  constructor(
    layout: FeatureLayout,
    hp: Pick<Hyperparameters, 'nnsize' | 'nembeds'>,
    seed: number,
    initialBias: number[],
    private readonly prefix = '',
  ) {
    this.dense = layout.dense.length;
    this.slotsWide = layout.wide.length;
    this.slotsEmbed = layout.embed.length;
    this.nembeds = hp.nembeds;
    this.inputs = deepInputSize(layout, hp.nembeds);
    this.outputs = initialBias.length;
    const initial = new Map<string, Float32Array>();
    for (const { spec, values } of initialWeightValues(layout, hp, seed, initialBias, prefix))
      initial.set(spec.name.slice(prefix.length), values);
    const table = (name: string, width: number): Table | undefined => {
      const values = initial.get(name);
      if (!values) return undefined;
      const rows = values.length / width;
      return {
        width,
        values,
        grad: new Float32Array(values.length),
        m: new Float32Array(values.length),
        v: new Float32Array(values.length),
        touched: new Int32Array(rows),
        touchedCount: 0,
        isTouched: new Uint8Array(rows),
      };
    };
    this.embed = this.slotsEmbed > 0 ? table('embed', hp.nembeds) : undefined;
    this.wide = this.slotsWide > 0 ? table('wide', this.outputs) : undefined;
    const widths = [this.inputs, ...hp.nnsize, this.outputs];
    this.layers = widths.slice(1).map((units, i) => {
      const name = i < hp.nnsize.length ? `hidden_${i}` : 'output';
      const inMemory = (values: Float32Array) => {
        const block = this.kernels.allocate(values.length);
        block.view.set(values);
        return block;
      };
      const kernel = inMemory(initial.get(`${name}/kernel`)!);
      const bias = inMemory(initial.get(`${name}/bias`)!);
      return {
        name,
        inputs: widths[i],
        units,
        kernel,
        bias,
        gradKernel: this.kernels.allocate(kernel.length),
        gradBias: new Float32Array(bias.length),
        moments: [kernel, kernel, bias, bias].map((w) => new Float32Array(w.length)),
      };
    });
  }

  /** The outputs of `rows` rows: the (transformed) label, or logits ([rows × outputs]). */
  forward(rows: number, dense: Float32Array, wide: Int32Array, embed: Int32Array): Float32Array {
    this.reserve(rows);
    const x = this.acts[0].view;
    const { inputs, nembeds } = this;
    const nd = this.dense;
    const ne = this.slotsEmbed;
    for (let b = 0; b < rows; b++) {
      const row = b * inputs;
      for (let k = 0; k < nd; k++) x[row + k] = dense[b * nd + k];
      if (this.embed) {
        const table = this.embed.values;
        for (let s = 0; s < ne; s++) {
          const from = embed[b * ne + s] * nembeds;
          const to = row + nd + s * nembeds;
          for (let e = 0; e < nembeds; e++) x[to + e] = table[from + e];
        }
      }
    }
    // The kernels take rows four at a time: the padding rows are zero inputs (finite outputs,
    // never read; their gradient is zero).
    const padded = paddedRows(rows);
    x.fill(0, rows * inputs, padded * inputs);
    const last = this.layers.length - 1;
    this.layers.forEach((layer, i) => {
      const output = i === last ? this.out : this.acts[i + 1];
      this.kernels.affine(
        this.acts[i],
        layer.inputs,
        layer.kernel,
        layer.bias,
        output,
        layer.units,
        padded,
        i < last,
      );
    });
    const out = this.out.view;
    if (this.wide) {
      const { values } = this.wide;
      const U = this.outputs;
      const nw = this.slotsWide;
      for (let b = 0; b < rows; b++)
        for (let s = 0; s < nw; s++) {
          const from = wide[b * nw + s] * U;
          for (let u = 0; u < U; u++) out[b * U + u] += values[from + u];
        }
    }
    return out;
  }

  /**
   * One Adam step on a batch at learning rate `lr`; returns the batch's loss (mean squared
   * error, or mean cross-entropy weighted by class, as tf.losses computes them).
   */
  train(batch: FusedBatch, loss: HeadLoss, lr: number): number {
    const value = this.gradients(batch, loss);
    this.step++;
    // tfjs' Adam: the bias corrections of step t, lr × m̂ / (√v̂ + ε).
    const c1 = 1 - BETA1 ** this.step;
    const c2 = 1 - BETA2 ** this.step;
    for (const layer of this.layers) {
      const [mK, vK, mB, vB] = layer.moments;
      const { kernel, bias } = layer;
      adam(kernel.view, layer.gradKernel.view, mK, vK, 0, kernel.length, lr, c1, c2);
      adam(bias.view, layer.gradBias, mB, vB, 0, bias.length, lr, c1, c2);
    }
    for (const table of [this.embed, this.wide]) {
      if (!table) continue;
      const w = table.width;
      for (let t = 0; t < table.touchedCount; t++) {
        const r = table.touched[t];
        adam(table.values, table.grad, table.m, table.v, r * w, (r + 1) * w, lr, c1, c2);
        table.grad.fill(0, r * w, (r + 1) * w);
        table.isTouched[r] = 0;
      }
      table.touchedCount = 0;
    }
    return value;
  }

  /**
   * The loss of a batch and the gradients of every weight (in the layers' and tables' gradient
   * buffers; a table's only at the rows the batch touched).
   */
  gradients(batch: FusedBatch, loss: HeadLoss): number {
    const B = batch.size;
    const out = this.forward(B, batch.dense, batch.wide, batch.embed);
    const U = this.outputs;
    const last = this.layers.length - 1;
    const delta = this.deltas[last + 1].view;
    const value = headGradient(out, batch.labels, B, U, loss, delta);
    const padded = paddedRows(B);
    delta.fill(0, B * U, padded * U);
    // Back through the layers: δ_in = (δ_out · Wᵀ) ⊙ relu'(a_in) (the deep input has no relu).
    for (let i = last; i >= 0; i--) {
      const layer = this.layers[i];
      const dOut = this.deltas[i + 1];
      const { inputs: n, units: m, gradBias } = layer;
      layer.gradKernel.view.fill(0);
      gradBias.fill(0);
      const d = dOut.view;
      for (let b = 0; b < B; b++) for (let j = 0; j < m; j++) gradBias[j] += d[b * m + j];
      // The deep input's gradient is needed only where embeddings feed it.
      const from = i > 0 ? 0 : this.embed ? this.dense : n;
      this.kernels.backward(
        this.acts[i],
        n,
        dOut,
        m,
        layer.kernel,
        layer.gradKernel,
        this.deltas[i],
        padded,
        from,
        i > 0,
      );
    }
    if (this.embed) {
      const t = this.embed;
      const { inputs, nembeds } = this;
      const nd = this.dense;
      const ne = this.slotsEmbed;
      const d0 = this.deltas[0].view;
      for (let b = 0; b < B; b++)
        for (let s = 0; s < ne; s++) {
          const r = batch.embed[b * ne + s];
          touch(t, r);
          const from = b * inputs + nd + s * nembeds;
          for (let e = 0; e < nembeds; e++) t.grad[r * nembeds + e] += d0[from + e];
        }
    }
    if (this.wide) {
      const t = this.wide;
      const nw = this.slotsWide;
      for (let b = 0; b < B; b++)
        for (let s = 0; s < nw; s++) {
          const r = batch.wide[b * nw + s];
          touch(t, r);
          for (let u = 0; u < U; u++) t.grad[r * U + u] += delta[b * U + u];
        }
    }
    return value;
  }

  /** Every weight's gradient from the last `gradients` call, by saved name (tables dense). */
  gradientsByName(): Map<string, Float32Array> {
    const out = new Map<string, Float32Array>();
    if (this.wide) out.set(`${this.prefix}wide`, new Float32Array(this.wide.grad));
    if (this.embed) out.set(`${this.prefix}embed`, new Float32Array(this.embed.grad));
    for (const layer of this.layers) {
      out.set(`${this.prefix}${layer.name}/kernel`, new Float32Array(layer.gradKernel.view));
      out.set(`${this.prefix}${layer.name}/bias`, new Float32Array(layer.gradBias));
    }
    return out;
  }

  /** A copy of every weight, by saved name. */
  weights(): Map<string, Float32Array> {
    const out = new Map<string, Float32Array>();
    if (this.wide) out.set(`${this.prefix}wide`, new Float32Array(this.wide.values));
    if (this.embed) out.set(`${this.prefix}embed`, new Float32Array(this.embed.values));
    for (const layer of this.layers) {
      out.set(`${this.prefix}${layer.name}/kernel`, new Float32Array(layer.kernel.view));
      out.set(`${this.prefix}${layer.name}/bias`, new Float32Array(layer.bias.view));
    }
    return out;
  }

  /** Scratch room for `rows` rows (grown, never shrunk: a step allocates nothing). */
  private reserve(rows: number): void {
    if (rows <= this.capacity) return;
    // Blocks are never freed: the room grows to the largest request (a batch, an eval chunk).
    const padded = paddedRows(rows);
    this.capacity = padded;
    const widths = [this.inputs, ...this.layers.map((l) => l.units)];
    this.acts = widths.slice(0, -1).map((w) => this.kernels.allocate(padded * w));
    this.deltas = widths.map((w) => this.kernels.allocate(padded * w));
    this.out = this.kernels.allocate(padded * this.outputs);
  }
}

/** Rows rounded up to a multiple of 4: the kernels take rows four at a time. */
const paddedRows = (rows: number) => Math.ceil(rows / 4) * 4;

/** The head's loss over the batch and its gradient with respect to the outputs. */
function headGradient(
  out: Float32Array,
  labels: Float32Array,
  B: number,
  U: number,
  loss: HeadLoss,
  delta: Float32Array,
): number {
  let total = 0;
  if (loss.kind === 'squared') {
    for (let b = 0; b < B; b++) {
      const e = out[b] - labels[b];
      total += e * e;
      delta[b] = (2 * e) / B;
    }
    return total / B;
  }
  // tf.losses' SUM_BY_NONZERO_WEIGHTS: Σ w·loss / #(w ≠ 0); every weight is 1 without classes'.
  const weights = loss.classWeights;
  let nonzero = 0;
  for (let b = 0; b < B; b++) if (!weights || weights[labels[b]] !== 0) nonzero++;
  const scale = nonzero ? 1 / nonzero : 0;
  // tf.losses' labelSmoothing: the target is (1 − ε)·onehot + ε / classes (a sigmoid's: ε / 2).
  const eps = loss.labelSmoothing ?? 0;
  for (let b = 0; b < B; b++) {
    const y = labels[b];
    const w = weights ? weights[y] : 1;
    if (loss.kind === 'sigmoid') {
      const z = out[b];
      const t = y * (1 - eps) + eps / 2;
      // max(z, 0) − z·t + log(1 + e^−|z|), the stable form tf uses.
      total += w * (Math.max(z, 0) - z * t + Math.log1p(Math.exp(-Math.abs(z))));
      delta[b] = w * scale * (1 / (1 + Math.exp(-z)) - t);
    } else {
      const o = b * U;
      let max = -Infinity;
      for (let u = 0; u < U; u++) max = Math.max(max, out[o + u]);
      let sum = 0;
      for (let u = 0; u < U; u++) sum += Math.exp(out[o + u] - max);
      // −Σ t_u·log p_u = log Σ e^z + max − Σ t_u·z_u, the targets t summing to 1.
      let targetLogit = 0;
      for (let u = 0; u < U; u++) targetLogit += out[o + u] * (eps / U + (u === y ? 1 - eps : 0));
      total += w * (Math.log(sum) + max - targetLogit);
      for (let u = 0; u < U; u++)
        delta[o + u] =
          w * scale * (Math.exp(out[o + u] - max) / sum - (eps / U + (u === y ? 1 - eps : 0)));
    }
  }
  return total * scale;
}

function touch(table: Table, row: number): void {
  if (table.isTouched[row]) return;
  table.isTouched[row] = 1;
  table.touched[table.touchedCount++] = row;
}

function adam(
  w: Float32Array,
  g: Float32Array,
  m: Float32Array,
  v: Float32Array,
  from: number,
  to: number,
  lr: number,
  c1: number,
  c2: number,
): void {
  for (let i = from; i < to; i++) {
    const gi = g[i];
    const mi = BETA1 * m[i] + (1 - BETA1) * gi;
    const vi = BETA2 * v[i] + (1 - BETA2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    w[i] -= (lr * (mi / c1)) / (Math.sqrt(vi / c2) + EPSILON);
  }
}
