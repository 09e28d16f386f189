/**
 * @module bench/serving
 * The predict function against the floor: a no-op functions-framework HTTP function, both as
 * real processes on loopback, driven by autocannon from this process. Scenarios are interleaved
 * and repeated (medians reported). Then: cold start (spawn → first served prediction), model
 * time per instance (lean predictor vs the TensorFlow.js forward pass), and a soak at
 * concurrency 64 with a model swap halfway, watching errors and the function's RSS.
 * The load generator shares this machine's cores with the functions, for both alike.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { deserializeModel, FeatureEncoder, Predictor } from '@bucketml/model';
import { FunctionProcess, freePort, type FunctionSpec } from '@bucketml/local-stack';
import { DirectoryBucket } from '@bucketml/ports/directory-bucket';
import { loadTensorFlow, WideDeepNetwork } from '@bucketml/trainer';
import { ROOT, tempDir } from '../../test/helpers.ts';
import { BABY, deployVersion, trainSmallModel } from '../../test/serving-fixture.ts';
import { median } from './stats.ts';

const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const SOAK_SECONDS = Number(process.env.BENCH_SOAK_SECONDS ?? 60);

const one = JSON.stringify({ instances: [BABY] });
const hundred = JSON.stringify({
  instances: Array.from({ length: 100 }, (_, i) => ({
    ...BABY,
    mother_age: 18 + (i % 25),
    key: `k${i}`,
  })),
});
const SCENARIOS = [
  { name: '1 instance, c=1', body: one, connections: 1 },
  { name: '1 instance, c=16', body: one, connections: 16 },
  { name: '1 instance, c=64', body: one, connections: 64 },
  { name: '100 instances, c=16', body: hundred, connections: 16 },
];

const predictSpec = (port: number): FunctionSpec => ({
  name: 'predict',
  source: join(ROOT, 'functions/predict'),
  target: 'predict',
  signatureType: 'http',
  port,
});
const noopSpec = (port: number): FunctionSpec => ({
  name: 'noop',
  source: join(import.meta.dirname, 'noop-function.cjs'),
  target: 'noop',
  signatureType: 'http',
  port,
});

async function load(url: string, body: string, connections: number, duration: number) {
  const r = await autocannon({
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    connections,
    duration,
  });
  return {
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    errors: r.errors + r.timeouts,
    non2xx: r.non2xx,
    total: r.requests.total,
  };
}

/** Spawn → first 200 from POST /babyweight, polling every 2 ms. */
async function coldStart(
  spec: FunctionSpec,
  env: NodeJS.ProcessEnv,
  path: string,
): Promise<number> {
  const fn = new FunctionProcess(spec, env, () => {});
  const started = performance.now();
  fn.start();
  for (;;) {
    try {
      const res = await fetch(`${fn.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: one,
      });
      await res.arrayBuffer();
      if (res.status === 200) break;
    } catch {
      await new Promise((r) => setTimeout(r, 2));
    }
  }
  const ms = performance.now() - started;
  await fn.stop();
  return ms;
}

const rssMb = (pid: number) =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

/** Microseconds per call of `f`, median over batches. */
function perCallMicros(f: () => void, calls: number, batches = 15): number {
  for (let i = 0; i < calls; i++) f(); // warm-up
  const samples: number[] = [];
  for (let b = 0; b < batches; b++) {
    const t = performance.now();
    for (let i = 0; i < calls; i++) f();
    samples.push(((performance.now() - t) * 1000) / calls);
  }
  return median(samples);
}

async function modelTime(files: { modelJson: Buffer; weightsBin: Buffer }) {
  const saved = deserializeModel(files.modelJson, files.weightsBin);
  const predictor = new Predictor(saved);
  const lean = perCallMicros(() => predictor.predictInstance(BABY), 20_000);

  // The same instance through TensorFlow.js: encode, normalise, forward, read back.
  const { tf, backend } = await loadTensorFlow();
  const { meta, weights } = saved;
  const encoder = new FeatureEncoder(meta.spec);
  const network = new WideDeepNetwork(tf, encoder.layout, meta.hyperparameters, 0, [0]);
  for (const [name, w] of weights)
    network.variables.get(name)!.assign(tf.tensor(w, network.variables.get(name)!.shape));
  const row = {
    dense: new Float32Array(encoder.layout.dense.length),
    wide: new Int32Array(encoder.layout.wide.length),
    embed: new Int32Array(encoder.layout.embed.length),
  };
  const tfjs = perCallMicros(() => {
    encoder.encode((name) => (BABY as Record<string, unknown>)[name], row, 0);
    meta.preprocessing.dense.forEach((d, i) => (row.dense[i] = (row.dense[i] - d.mean) / d.std));
    tf.tidy(() =>
      network
        .forward({
          dense: tf.tensor2d(row.dense, [1, row.dense.length]),
          wide: tf.tensor1d(row.wide, 'int32'),
          embed: tf.tensor1d(row.embed, 'int32'),
          size: 1,
        })
        .dataSync(),
    );
  }, 300);
  network.dispose();
  return { lean, tfjs, backend };
}

export async function run() {
  const bucket = new DirectoryBucket(await tempDir('bucketml-bench-'));
  console.log('training two small babyweight models to serve…');
  const models = [await trainSmallModel(1), await trainSmallModel(2)];
  await deployVersion(bucket, 'babyweight', 'v1', models[0]);
  const env = { ...process.env, BUCKETML_BUCKET: bucket.root, BUCKETML_REVALIDATE_MS: '1000' };

  const predict = new FunctionProcess(predictSpec(await freePort()), env, () => {});
  const noop = new FunctionProcess(noopSpec(await freePort()), env, () => {});
  predict.start();
  noop.start();
  await Promise.all([predict.ready(), noop.ready()]);
  const targets = { predict: `${predict.url}/babyweight`, noop: noop.url };
  for (const url of Object.values(targets)) await load(url, one, 16, 2); // JIT warm-up

  type Sample = Awaited<ReturnType<typeof load>>;
  const samples: Record<string, Record<string, Sample[]>> = {};
  for (let i = 0; i < REPEATS; i++) {
    for (const s of SCENARIOS) {
      for (const [target, url] of Object.entries(targets)) {
        const r = await load(url, s.body, s.connections, SECONDS);
        ((samples[s.name] ??= {})[target] ??= []).push(r);
        console.log(
          `repeat ${i + 1}/${REPEATS} ${s.name.padEnd(20)} ${target.padEnd(7)} ${Math.round(r.rps).toLocaleString('en-US').padStart(6)} req/s  p50 ${r.p50} ms  p99 ${r.p99} ms  errors ${r.errors}  non-2xx ${r.non2xx}`,
        );
      }
    }
  }
  const throughput = SCENARIOS.map((s) => {
    const m = (target: string, k: 'rps' | 'p50' | 'p99') =>
      median(samples[s.name][target].map((r) => r[k]));
    return {
      scenario: s.name,
      predictRps: Math.round(m('predict', 'rps')),
      noopRps: Math.round(m('noop', 'rps')),
      ratio: round(m('predict', 'rps') / m('noop', 'rps'), 3),
      predictP50Ms: m('predict', 'p50'),
      predictP99Ms: m('predict', 'p99'),
      noopP50Ms: m('noop', 'p50'),
      noopP99Ms: m('noop', 'p99'),
    };
  });
  for (const t of throughput) {
    console.log(
      `median ${t.scenario.padEnd(20)} predict ${t.predictRps} req/s (p50 ${t.predictP50Ms} ms, p99 ${t.predictP99Ms} ms) vs no-op ${t.noopRps} req/s → ${(100 * t.ratio).toFixed(1)}%`,
    );
  }
  await noop.stop();

  const cold: number[] = [];
  const coldNoop: number[] = [];
  for (let i = 0; i < 5; i++) {
    cold.push(await coldStart(predictSpec(await freePort()), env, '/babyweight'));
    coldNoop.push(await coldStart(noopSpec(await freePort()), env, '/'));
    console.log(
      `cold start ${i + 1}/5: predict ${cold.at(-1)!.toFixed(0)} ms, no-op ${coldNoop.at(-1)!.toFixed(0)} ms (spawn → first 200)`,
    );
  }

  const model = await modelTime(models[0]);
  console.log(
    `model time per instance: lean predictor ${model.lean.toFixed(2)} µs, TensorFlow.js (${model.backend}) ${model.tfjs.toFixed(1)} µs`,
  );

  // Soak: warm up at c=64, then run SOAK_SECONDS with a swap to v2 halfway, sampling RSS every
  // second. RSS swings ±5% with the garbage collector's cycles, so a single reading compares
  // GC phases; the medians of the first and last 10 s compare levels (a leak raises the last).
  await load(targets.predict, one, 64, 15);
  const rss: number[] = [];
  const sampler = setInterval(() => rss.push(rssMb(predict.pid!)), 1000);
  const swap = new Promise<void>((resolve) =>
    setTimeout(
      () => deployVersion(bucket, 'babyweight', 'v2', models[1]).then(() => resolve()),
      (SOAK_SECONDS * 1000) / 2,
    ),
  );
  const [soak] = await Promise.all([load(targets.predict, one, 64, SOAK_SECONDS), swap]);
  clearInterval(sampler);
  const rssWarm = median(rss.slice(0, 10));
  const rssEnd = median(rss.slice(-10));
  const served = ((await (await fetch(targets.predict)).json()) as { model: { version: string } })
    .model.version;
  console.log(
    `soak ${SOAK_SECONDS} s at c=64, swap v1 → v2 halfway (now serving ${served}): ${soak.total.toLocaleString('en-US')} requests, ${soak.errors} errors, ${soak.non2xx} non-2xx; ` +
      `RSS median ${rssWarm.toFixed(1)} MB in the first 10 s → ${rssEnd.toFixed(1)} MB in the last 10 s (${(100 * (rssEnd / rssWarm - 1)).toFixed(1)}%), ` +
      `range ${Math.min(...rss).toFixed(1)}–${Math.max(...rss).toFixed(1)} MB`,
  );
  await predict.stop();

  return {
    bench: 'serving',
    repeats: REPEATS,
    secondsPerRun: SECONDS,
    throughput,
    coldStartMedianMs: Math.round(median(cold)),
    coldStartNoopMedianMs: Math.round(median(coldNoop)),
    modelMicrosPerInstance: round(model.lean, 2),
    tfjsMicrosPerInstance: round(model.tfjs, 1),
    tfjsBackend: model.backend,
    soak: {
      seconds: SOAK_SECONDS,
      connections: 64,
      requests: soak.total,
      errors: soak.errors,
      non2xx: soak.non2xx,
      swappedTo: served,
      rssFirst10sMedianMb: round(rssWarm, 1),
      rssLast10sMedianMb: round(rssEnd, 1),
      rssChange: round(rssEnd / rssWarm - 1, 3),
      rssMinMb: round(Math.min(...rss), 1),
      rssMaxMb: round(Math.max(...rss), 1),
    },
  };
}

const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;
