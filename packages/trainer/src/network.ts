/**
 * @module network
 * The wide & deep network (regressor or classifier) as TensorFlow.js variables and ops, seeded so a seed gives the same
 * network on every backend.
 */
import type * as tfTypes from '@tensorflow/tfjs';
import {
  elementCount,
  networkWeightSpecs,
  Rng,
  type FeatureLayout,
  type Hyperparameters,
  type WeightSpec,
} from '@bucketml/model';
import type { Tf } from './tf-backend.js';

/** One batch of encoded rows as tensors. */
export interface BatchTensors {
  dense: tfTypes.Tensor2D;
  wide: tfTypes.Tensor1D;
  embed: tfTypes.Tensor1D;
  size: number;
}

/**
 * The wide & deep regressor of `@bucketml/model`'s architecture contract as TensorFlow.js
 * variables and ops. Initial values come from our seeded Rng, so a seed gives the same
 * network on every backend.
 */
export class WideDeepNetwork {
  readonly variables = new Map<string, tfTypes.Variable>();

  constructor(
    private readonly tf: Tf,
    private readonly layout: FeatureLayout,
    private readonly hp: Pick<Hyperparameters, 'nnsize' | 'nembeds'>,
    seed: number,
    /**
     * The output bias to start from, one per output: the mean label (regression), the base
     * rate's logit or the classes' log priors — the first steps learn structure, not the offset.
     */
    private readonly initialBias: number[],
    /** The member's weight-name prefix in an ensemble (architecture's memberPrefix). */
    private readonly prefix = '',
  ) {
    for (const { spec, values } of initialWeightValues(layout, hp, seed, initialBias, prefix)) {
      const initial = tf.tensor(values, spec.shape);
      this.variables.set(spec.name, tf.variable(initial, true, spec.name));
      initial.dispose(); // the variable holds its own copy: a warm worker trains many networks
    }
  }

  /** Outputs of shape [size, outputs]: the label, or logits. */
  forward(batch: BatchTensors): tfTypes.Tensor2D {
    const { tf, layout, hp } = this;
    const v = (name: string) => this.variables.get(this.prefix + name)!;
    const parts: tfTypes.Tensor2D[] = [];
    if (layout.dense.length > 0) parts.push(batch.dense);
    if (layout.embed.length > 0) {
      parts.push(
        tf.reshape(tf.gather(v('embed'), batch.embed), [
          batch.size,
          layout.embed.length * hp.nembeds,
        ]),
      );
    }
    let h = parts.length === 1 ? parts[0] : tf.concat(parts, 1);
    hp.nnsize.forEach((_, i) => {
      h = tf.relu(
        tf.add(tf.matMul(h, v(`hidden_${i}/kernel`) as tfTypes.Tensor2D), v(`hidden_${i}/bias`)),
      ) as tfTypes.Tensor2D;
    });
    let out: tfTypes.Tensor2D = tf.add(
      tf.matMul(h, v('output/kernel') as tfTypes.Tensor2D),
      v('output/bias'),
    );
    if (layout.wide.length > 0) {
      const linear = tf.sum(
        tf.reshape(tf.gather(v('wide'), batch.wide), [
          batch.size,
          layout.wide.length,
          this.initialBias.length,
        ]),
        1,
      ) as tfTypes.Tensor2D;
      out = tf.add(out, linear);
    }
    return out;
  }

  weights(): Map<string, Float32Array> {
    const out = new Map<string, Float32Array>();
    for (const [name, variable] of this.variables)
      out.set(name, new Float32Array(variable.dataSync())); // a copy: cpu returns its live buffer
    return out;
  }

  dispose(): void {
    for (const variable of this.variables.values()) variable.dispose();
  }
}

/**
 * A network's initial weights, in saved order, drawn from the seed: the same values for the
 * tfjs network and the fused one.
 */
export function initialWeightValues(
  layout: FeatureLayout,
  hp: Pick<Hyperparameters, 'nnsize' | 'nembeds'>,
  seed: number,
  initialBias: number[],
  prefix = '',
): { spec: WeightSpec; values: Float32Array }[] {
  const rng = new Rng(seed);
  return networkWeightSpecs(layout, hp, prefix, initialBias.length).map((spec) => {
    const values = new Float32Array(elementCount(spec.shape));
    const name = spec.name.slice(prefix.length);
    if (name === 'embed') {
      // TensorFlow's embedding_column default: normal with stddev 1/sqrt(dimension).
      const std = 1 / Math.sqrt(hp.nembeds);
      for (let i = 0; i < values.length; i++) values[i] = rng.normal() * std;
    } else if (name.endsWith('/kernel')) {
      // Glorot uniform, Keras' Dense default.
      const limit = Math.sqrt(6 / (spec.shape[0] + spec.shape[1]));
      for (let i = 0; i < values.length; i++) values[i] = (2 * rng.next() - 1) * limit;
    } else if (name === 'output/bias') {
      values.set(initialBias);
    }
    return { spec, values };
  });
}
