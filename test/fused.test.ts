import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type * as tfTypes from '@tensorflow/tfjs';
import { BUILTIN_SPECS, FeatureEncoder, Rng, type FeatureLayout } from '@bucketml/model';
import {
  FusedNetwork,
  loadTensorFlow,
  WideDeepNetwork,
  type FusedBatch,
  type HeadLoss,
} from '@bucketml/trainer';

/**
 * The fused trainer against the TensorFlow.js reference: the same initial weights, loss and
 * gradients for every layer type (dense inputs, embedding table, wide table, hidden layers,
 * output) and every head, on random batches; and the same weights after an Adam step.
 */
const layout: FeatureLayout = new FeatureEncoder(BUILTIN_SPECS.babyweight).layout;
const hp = { nnsize: [16, 8], nembeds: 3 };

function randomBatch(size: number, classes: number, seed: number): FusedBatch {
  const rng = new Rng(seed);
  const int = (n: number) => Math.floor(rng.next() * n);
  return {
    size,
    dense: Float32Array.from({ length: size * layout.dense.length }, () => rng.normal()),
    wide: Int32Array.from({ length: size * layout.wide.length }, () => int(layout.wideTableSize)),
    // A few ids repeat, so gradients of one row add up.
    embed: Int32Array.from({ length: size * layout.embed.length }, (_, i) =>
      i % 3 === 0 ? 5 : int(layout.embedTableSize),
    ),
    labels: Float32Array.from({ length: size }, () => (classes ? int(classes) : rng.normal() * 2)),
  };
}

/** tf.losses as train.ts's reference loss calls them. */
function tfLoss(
  tf: typeof tfTypes,
  loss: HeadLoss,
  labels: Float32Array,
  outputs: tfTypes.Tensor2D,
): tfTypes.Scalar {
  const n = labels.length;
  if (loss.kind === 'squared')
    return tf.losses.meanSquaredError(tf.tensor2d(labels, [n, 1]), outputs) as tfTypes.Scalar;
  const w = loss.classWeights;
  if (loss.kind === 'sigmoid')
    return tf.losses.sigmoidCrossEntropy(
      tf.tensor2d(labels, [n, 1]),
      outputs,
      w &&
        tf.tensor2d(
          labels.map((y) => w[y]),
          [n, 1],
        ),
      loss.labelSmoothing,
    ) as tfTypes.Scalar;
  return tf.losses.softmaxCrossEntropy(
    tf.oneHot(tf.tensor1d(labels, 'int32'), loss.classes),
    outputs,
    w && tf.tensor1d(labels.map((y) => w[y])),
    loss.labelSmoothing,
  ) as tfTypes.Scalar;
}

const HEADS: { name: string; loss: HeadLoss; bias: number[] }[] = [
  { name: 'regression (squared error)', loss: { kind: 'squared' }, bias: [0.5] },
  { name: 'binary (sigmoid cross-entropy)', loss: { kind: 'sigmoid' }, bias: [-0.3] },
  {
    name: 'binary with class weights',
    loss: { kind: 'sigmoid', classWeights: Float32Array.of(0.6, 2.5) },
    bias: [-0.3],
  },
  {
    name: 'multiclass (softmax cross-entropy) with class weights, one weight 0',
    loss: { kind: 'softmax', classes: 3, classWeights: Float32Array.of(1.5, 0, 0.75) },
    bias: [-1, 0.2, 0.5],
  },
  {
    name: 'binary with label smoothing',
    loss: { kind: 'sigmoid', labelSmoothing: 0.05 },
    bias: [-0.3],
  },
  {
    name: 'multiclass with label smoothing and class weights',
    loss: {
      kind: 'softmax',
      classes: 3,
      classWeights: Float32Array.of(1.5, 0.5, 0.75),
      labelSmoothing: 0.1,
    },
    bias: [-1, 0.2, 0.5],
  },
];

const maxDifference = (a: Float32Array, b: ArrayLike<number>) => {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
};

describe('fused trainer: equal to the TensorFlow.js reference', () => {
  for (const head of HEADS)
    it(`${head.name}: loss and every weight's gradient within 1e-4, on random batches`, async () => {
      const { tf } = await loadTensorFlow();
      const classes =
        head.loss.kind === 'softmax' ? head.loss.classes : head.loss.kind === 'sigmoid' ? 2 : 0;
      // Batches and layers of sizes not a multiple of 4 too: the kernels' padding rows and
      // one-at-a-time units.
      for (const [seed, size, nnsize] of [
        [1, 8, hp.nnsize],
        [2, 33, [18, 7]],
      ] as const) {
        const shape = { ...hp, nnsize: [...nnsize] };
        const fused = new FusedNetwork(layout, shape, seed, head.bias);
        const reference = new WideDeepNetwork(tf, layout, shape, seed, head.bias);
        const batch = randomBatch(size, classes, seed * 101);
        const loss = fused.gradients(batch, head.loss);
        const { value, grads } = tf.variableGrads(() =>
          tfLoss(
            tf,
            head.loss,
            batch.labels,
            reference.forward({
              dense: tf.tensor2d(batch.dense, [size, layout.dense.length]),
              wide: tf.tensor1d(batch.wide, 'int32'),
              embed: tf.tensor1d(batch.embed, 'int32'),
              size,
            }),
          ),
        );
        assert.ok(
          Math.abs(loss - value.dataSync()[0]) < 1e-5,
          `loss ${loss} vs ${value.dataSync()[0]}`,
        );
        const ours = fused.gradientsByName();
        assert.deepEqual([...ours.keys()].sort(), Object.keys(grads).sort());
        for (const [name, g] of ours) {
          const theirs = grads[name].dataSync();
          assert.ok(
            maxDifference(g, theirs) < 1e-4,
            `${name}: max difference ${maxDifference(g, theirs)}`,
          );
          assert.ok(
            g.some((x) => x !== 0),
            `${name}: a gradient that is all zeros tests nothing`,
          );
        }
        tf.dispose([value, ...Object.values(grads)]);
        reference.dispose();
      }
    });

  it('the same initial weights, and after one Adam step the same weights as tf.train.adam', async () => {
    const { tf } = await loadTensorFlow();
    const head = HEADS[0];
    const fused = new FusedNetwork(layout, hp, 7, head.bias);
    const reference = new WideDeepNetwork(tf, layout, hp, 7, head.bias);
    for (const [name, w] of fused.weights())
      assert.equal(maxDifference(w, reference.variables.get(name)!.dataSync()), 0, name);
    const batch = randomBatch(16, 0, 9);
    fused.train(batch, head.loss, 0.01);
    const optimizer = tf.train.adam(0.01);
    optimizer.minimize(
      () =>
        tfLoss(
          tf,
          head.loss,
          batch.labels,
          reference.forward({
            dense: tf.tensor2d(batch.dense, [16, layout.dense.length]),
            wide: tf.tensor1d(batch.wide, 'int32'),
            embed: tf.tensor1d(batch.embed, 'int32'),
            size: 16,
          }),
        ),
      false,
      [...reference.variables.values()],
    );
    // At the first step lazy Adam is Adam: a row no batch touched has no moment to move it.
    for (const [name, w] of fused.weights()) {
      const worst = maxDifference(w, reference.variables.get(name)!.dataSync());
      assert.ok(worst < 1e-6, `${name}: max difference ${worst}`);
    }
    optimizer.dispose();
    reference.dispose();
  });
});
