/**
 * @module architecture
 * The wide & deep network's weights, by name and shape. The trainer (TensorFlow.js) and the lean
 * predictor (plain loops) both follow this contract:
 *   wide    = Σ_j wide[wideId_j]                          (linear part over sparse ids)
 *   h_0     = [dense features, embed[embedId_j] for all j] (deep input)
 *   h_i+1   = relu(h_i · hidden_i/kernel + hidden_i/bias)
 *   output  = h_L · output/kernel + output/bias + wide
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

/** The network's weights for a feature layout and hyperparameters, in saved order. */
export function weightSpecs(
  layout: FeatureLayout,
  hp: Pick<Hyperparameters, 'nnsize' | 'nembeds'>,
): WeightSpec[] {
  const specs: WeightSpec[] = [];
  if (layout.wide.length > 0) specs.push({ name: 'wide', shape: [layout.wideTableSize, 1] });
  if (layout.embed.length > 0)
    specs.push({ name: 'embed', shape: [layout.embedTableSize, hp.nembeds] });
  let width = deepInputSize(layout, hp.nembeds);
  hp.nnsize.forEach((units, i) => {
    specs.push(
      { name: `hidden_${i}/kernel`, shape: [width, units] },
      { name: `hidden_${i}/bias`, shape: [units] },
    );
    width = units;
  });
  specs.push({ name: 'output/kernel', shape: [width, 1] }, { name: 'output/bias', shape: [1] });
  return specs;
}

export const elementCount = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
