/**
 * @module bench/training-worker
 * One measurement of the training benchmark (training.ts) in a fresh process, which has one
 * backend and one kernel registry: argv[2] is ours-wasm, ours-cpu or stock-cpu; prints
 * {examplesPerSecond, examples, backend}.
 */
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import {
  BUILTIN_SPECS,
  computePreprocessing,
  FeatureEncoder,
  fileSource,
  normalizeDense,
  readDataset,
} from '@bucketml/model';

const mode = process.argv[2];
const DATA = join(import.meta.dirname, '../../data/babyweight');
const spec = BUILTIN_SPECS.babyweight;
const hp = { ...spec.hyperparameters, batchSize: 512 };

if (mode === 'ours-wasm' || mode === 'ours-cpu') {
  process.env.BUCKETML_TF_BACKEND = mode === 'ours-wasm' ? 'wasm' : 'cpu';
  const { trainModel } = await import('@bucketml/trainer');
  const trainExamples = mode === 'ours-wasm' ? 200_000 : 60_000;
  const r = await trainModel({
    spec,
    train: [fileSource(join(DATA, 'train.csv'))],
    eval: [fileSource(join(DATA, 'eval.csv'))],
    hyperparameters: { ...hp, trainExamples },
    seed: 1,
    evaluations: 1,
  });
  const t = r.model.meta.training;
  console.log(
    JSON.stringify({
      examplesPerSecond: t.examplesPerSecond,
      examples: t.examples,
      backend: t.backend,
    }),
  );
} else if (mode === 'stock-cpu') {
  console.log(JSON.stringify(await stockBaseline()));
} else {
  throw new Error(`unknown mode ${mode}`);
}

/**
 * The same wide & deep model written the stock way: Layers API, tf.layers.embedding for the
 * wide ids (dim 1, summed) and the cross (nembeds), model.fit, cpu backend, stock kernels.
 */
async function stockBaseline() {
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');
  const encoder = new FeatureEncoder(spec);
  const { layout } = encoder;
  const data = await readDataset([fileSource(join(DATA, 'train.csv'))], encoder);
  normalizeDense(computePreprocessing(layout.dense, data.dense, data.size), data.dense);

  const dense = tf.input({ shape: [layout.dense.length] });
  const wideIds = tf.input({ shape: [layout.wide.length], dtype: 'int32' });
  const embedIds = tf.input({ shape: [layout.embed.length], dtype: 'int32' });
  const wideWeights = tf.layers
    .flatten()
    .apply(
      tf.layers.embedding({ inputDim: layout.wideTableSize, outputDim: 1 }).apply(wideIds),
    ) as tf.SymbolicTensor;
  const wideSum = tf.layers
    .dense({ units: 1, useBias: false, kernelInitializer: 'ones', trainable: false })
    .apply(wideWeights) as tf.SymbolicTensor;
  const embedded = tf.layers
    .flatten()
    .apply(
      tf.layers
        .embedding({ inputDim: layout.embedTableSize, outputDim: hp.nembeds })
        .apply(embedIds),
    ) as tf.SymbolicTensor;
  let h = tf.layers.concatenate().apply([dense, embedded]) as tf.SymbolicTensor;
  for (const units of hp.nnsize)
    h = tf.layers.dense({ units, activation: 'relu' }).apply(h) as tf.SymbolicTensor;
  const deepOut = tf.layers.dense({ units: 1 }).apply(h) as tf.SymbolicTensor;
  const output = tf.layers.add().apply([deepOut, wideSum]) as tf.SymbolicTensor;
  const model = tf.model({ inputs: [dense, wideIds, embedIds], outputs: output });
  model.compile({ optimizer: tf.train.adam(hp.learningRate), loss: 'meanSquaredError' });

  const B = hp.batchSize;
  const batches = 4;
  const n = B * (batches + 1);
  const inputs = [
    tf.tensor2d(data.dense.subarray(0, n * layout.dense.length), [n, layout.dense.length]),
    tf.tensor2d(data.wide.subarray(0, n * layout.wide.length), [n, layout.wide.length], 'int32'),
    tf.tensor2d(data.embed.subarray(0, n * layout.embed.length), [n, layout.embed.length], 'int32'),
  ];
  const labels = tf.tensor2d(data.labels.subarray(0, n), [n, 1]);
  // One warm-up batch (graph and optimizer setup), then the timed batches.
  await model.fit(
    inputs.map((t) => t.slice(0, B)),
    labels.slice(0, B),
    { batchSize: B, epochs: 1, verbose: 0 },
  );
  const timed = inputs.map((t) => t.slice(B));
  const started = performance.now();
  await model.fit(timed, labels.slice(B), { batchSize: B, epochs: 1, verbose: 0, shuffle: false });
  const seconds = (performance.now() - started) / 1000;
  return {
    examplesPerSecond: (batches * B) / seconds,
    examples: batches * B,
    backend: 'cpu (stock kernels)',
  };
}
