/**
 * @module architecture
 * The wide & deep network's weights, by name and shape. The trainer (TensorFlow.js) and the lean
 * predictor (plain loops) both follow this contract:
 *   wide    = Σ_j wide[wideId_j]                          (linear part over sparse ids)
 *   h_0     = [dense features, embed[embedId_j] for all j] (deep input)
 *   h_i+1   = relu(h_i · hidden_i/kernel + hidden_i/bias)
 *   output  = h_L · output/kernel + output/bias + wide    (U outputs: 1, or one per class)
 * A regressor's output is the (transformed) label; a binary classifier's is the positive
 * class's logit (sigmoid); a multiclass one's are the classes' logits (softmax).
 * An ensemble of K > 1 networks holds K such sets, named `member_<k>/…`, and predicts the mean
 * of their outputs (a regressor's in the trained label's units, before the label transform is
 * undone; a classifier's as probabilities). A
 * single network's names carry no prefix.
 */
import type { FeatureLayout } from './features.js';
import type { Hyperparameters } from './spec.js';

/** One weight tensor of the network: its name in the saved model and its shape. */
export interface WeightSpec {
  name: string;
  shape: number[];
}

export function deepInputSize(layout: FeatureLayout, nembeds: number): number {
  return layout.dense.length + layout.embed.length * nembeds;
}

/** Networks in a model: its hyperparameters' ensemble size (1 when unset). */
export function ensembleSize(hp: Pick<Hyperparameters, 'ensemble'>): number {
  return hp.ensemble ?? 1;
}

/** The name prefix of member k's weights in a model of `members` networks. */
export function memberPrefix(k: number, members: number): string {
  return members === 1 ? '' : `member_${k}/`;
}

/** One network's weights for a feature layout and hyperparameters, in saved order. */
export function networkWeightSpecs(
  layout: FeatureLayout,
  hp: Pick<Hyperparameters, 'nnsize' | 'nembeds'>,
  prefix = '',
  outputs = 1,
): WeightSpec[] {
  const specs: WeightSpec[] = [];
  const add = (name: string, shape: number[]) => specs.push({ name: prefix + name, shape });
  if (layout.wide.length > 0) add('wide', [layout.wideTableSize, outputs]);
  if (layout.embed.length > 0) add('embed', [layout.embedTableSize, hp.nembeds]);
  let width = deepInputSize(layout, hp.nembeds);
  hp.nnsize.forEach((units, i) => {
    add(`hidden_${i}/kernel`, [width, units]);
    add(`hidden_${i}/bias`, [units]);
    width = units;
  });
  add('output/kernel', [width, outputs]);
  add('output/bias', [outputs]);
  return specs;
}

/** Every weight of a model (all its ensemble's members), in saved order. */
export function weightSpecs(
  layout: FeatureLayout,
  hp: Pick<Hyperparameters, 'nnsize' | 'nembeds' | 'ensemble'>,
  outputs = 1,
): WeightSpec[] {
  const members = ensembleSize(hp);
  return Array.from({ length: members }, (_, k) =>
    networkWeightSpecs(layout, hp, memberPrefix(k, members), outputs),
  ).flat();
}

export const elementCount = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * Adds `share` × the class probabilities of one row's logits (z[zAt…], `units` of them) to
 * out[outAt…]: one unit is the positive class's logit (1 − p, p), several are softmax's. The
 * predictor averages an ensemble's members so; the trainer measures its networks so.
 */
export function addClassProbabilities(
  z: ArrayLike<number>,
  zAt: number,
  units: number,
  out: Float32Array | Float64Array,
  outAt: number,
  share = 1,
): void {
  if (units === 1) {
    // sigmoid(−z) for the negative class: 1 − sigmoid(z) rounds to 0 in float32 for large z.
    out[outAt] += share / (1 + Math.exp(z[zAt]));
    out[outAt + 1] += share / (1 + Math.exp(-z[zAt]));
    return;
  }
  let max = -Infinity;
  for (let c = 0; c < units; c++) max = Math.max(max, z[zAt + c]);
  let sum = 0;
  for (let c = 0; c < units; c++) sum += Math.exp(z[zAt + c] - max);
  for (let c = 0; c < units; c++) out[outAt + c] += (Math.exp(z[zAt + c] - max) / sum) * share;
}
