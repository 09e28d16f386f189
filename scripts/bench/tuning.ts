/**
 * @module bench/tuning
 * Trials needed to reach a target, Bayesian (GP + EI) against random search, both through the
 * same `suggestTrial` the pipeline uses, averaged over seeds.
 * (a) Branin on [-5, 10] × [0, 15]: global minimum 0.397887; target: within 1%.
 * (b) babyweight, the course's study (batch_size, nembeds, nnsize), each trial trained in this
 *     process on a reduced budget with a fixed seed (deterministic): best eval RMSE of
 *     Bayesian after 20 trials vs random after 20 and after 60.
 * (c) the Bayesian 20-trial study again with early stopping (`shouldStopTrial`): examples
 *     trained and best RMSE, against (b) without it.
 * (d) warm start (BENCH_PARTS=warmstart): a cold study against one seeded with an earlier
 *     run's trials (selectWarmStart, as the pipeline does), on (1) a second drop of the same
 *     data and (2) a drop with 20% more rows (the earlier run trained on train.csv without its
 *     last sixth, held out; the new drop is all of train.csv). The earlier run uses another
 *     seed (seed + 100): with the same seed a cold second run repeats the first exactly.
 *     Trials the warm study needs to reach the cold study's best after 20, and both bests at
 *     equal budgets. Then what bounds that measure: the training seed's share of a trial's
 *     RMSE (the cold bests trained again with seeds 2–5) and a hindsight bound (uniform draws
 *     from the best cell of the landscape measured). BENCH_TRACE=1 prints each warm study's
 *     trials.
 * Trials are suggested in batches of maxParallelTrials (5) with the constant liar and trained
 * one after another; so early stopping sees a little more history than a parallel run would.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PriorTrial } from '@bucketml/contracts';
import { BUILTIN_SPECS, fileSource, Rng } from '@bucketml/model';
import { loadTrainingEngine, trainModel } from '@bucketml/trainer';
import {
  addToStudyIndex,
  COURSE_HYPERPARAM_YAML,
  parseStudyDocument,
  selectWarmStart,
  shouldStopTrial,
  suggestTrial,
  type Observation,
  type ParamSpec,
  type ParamValues,
} from '@bucketml/tuning';

const SEEDS = Number(process.env.BENCH_SEEDS ?? 5);
/** Seeds FIRST_SEED … FIRST_SEED + SEEDS - 1 (another range checks a result on seeds it was not tuned on). */
const FIRST_SEED = Number(process.env.BENCH_FIRST_SEED ?? 1);
const BRANIN_MIN = 0.397887;

function branin(x1: number, x2: number): number {
  const a = 1,
    b = 5.1 / (4 * Math.PI ** 2),
    c = 5 / Math.PI,
    r = 6,
    s = 10,
    t = 1 / (8 * Math.PI);
  return a * (x2 - b * x1 * x1 + c * x1 - r) ** 2 + s * (1 - t) * Math.cos(x1) + s;
}

const BRANIN_PARAMS: ParamSpec[] = [
  { name: 'x1', type: 'DOUBLE', min: -5, max: 10, scale: 'UNIT_LINEAR_SCALE' },
  { name: 'x2', type: 'DOUBLE', min: 0, max: 15, scale: 'UNIT_LINEAR_SCALE' },
];

function trialsToTarget(algorithm: string, seed: number, target: number, cap: number): number {
  const rng = new Rng(seed);
  const history: Observation[] = [];
  for (let n = 1; n <= cap; n++) {
    const p = suggestTrial({ params: BRANIN_PARAMS, goal: 'MINIMIZE', algorithm }, history, rng);
    const y = branin(Number(p.x1), Number(p.x2));
    history.push({ parameters: p, state: 'SUCCEEDED', objective: y });
    if (y <= target) return n;
  }
  return cap;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const round = (x: number) => Math.round(x * 1e5) / 1e5;

const TRIAL_EXAMPLES = Number(process.env.BENCH_TRIAL_EXAMPLES ?? 20_000);
const DATA = join(import.meta.dirname, '../../data/babyweight');

interface StudyResult {
  bestAfter: (n: number) => number;
  examples: number;
  stopped: number;
}

interface Curve {
  examples: number[];
  rmse: number[];
}

/**
 * Training is deterministic per parameters (fixed seed), and a trial stopped after its k-th
 * measurement has trained exactly the first k measurements' worth of its full run. So each
 * parameter set is trained once, to the end, and a study with early stopping replays the
 * prefix its rule would have let run. BENCH_CURVE_CACHE=file keeps the curves across runs.
 */
const curves = new Map<string, Curve>();
const CURVE_CACHE = process.env.BENCH_CURVE_CACHE;
if (CURVE_CACHE && existsSync(CURVE_CACHE))
  for (const [k, v] of Object.entries(JSON.parse(readFileSync(CURVE_CACHE, 'utf8'))))
    curves.set(k, v as Curve);

const FULL_TRAIN = join(DATA, 'train.csv');

/** train.csv without its last sixth: the full file has 20% more rows (real ones, held out). */
function heldOutTrainFile(): string {
  const lines = readFileSync(FULL_TRAIN, 'utf8').trimEnd().split('\n');
  const rows = lines.length - 1;
  const kept = Math.round(rows / 1.2);
  const file = join(mkdtempSync(join(tmpdir(), 'bench-warm-')), 'train-5of6.csv');
  writeFileSync(file, lines.slice(0, 1 + kept).join('\n') + '\n');
  console.log(
    `warm start: earlier drop ${kept} rows, new drop ${rows} rows (+${((rows / kept - 1) * 100).toFixed(1)}%)`,
  );
  return file;
}

async function learningCurve(
  parameters: ParamValues,
  trainFile = FULL_TRAIN,
  seed = 1,
): Promise<Curve> {
  const hp = {
    batchSize: Number(parameters.batch_size),
    nembeds: Number(parameters.nembeds),
    nnsize: [Number(parameters.nnsize)],
    trainExamples: TRIAL_EXAMPLES,
  };
  // The full file's and seed 1's key is the original's, so existing curve caches stay valid.
  const key = JSON.stringify({
    ...hp,
    ...(trainFile === FULL_TRAIN ? {} : { trainFile: 'held-out' }),
    ...(seed === 1 ? {} : { seed }),
  });
  const cached = curves.get(key);
  if (cached) return cached;
  const spec = BUILTIN_SPECS.babyweight;
  const r = await trainModel({
    spec,
    train: [fileSource(trainFile)],
    eval: [fileSource(join(DATA, 'eval.csv'))],
    hyperparameters: { ...spec.hyperparameters, ...hp },
    seed,
    evaluations: 10,
    tensorflow: await loadTrainingEngine(),
  });
  const curve = {
    examples: r.evaluations.map((e) => e.examples),
    rmse: r.evaluations.map((e) => e.value),
  };
  curves.set(key, curve);
  if (CURVE_CACHE) writeFileSync(CURVE_CACHE, JSON.stringify(Object.fromEntries(curves)));
  return curve;
}

async function babyweightStudy(
  algorithm: string,
  trials: number,
  seed: number,
  earlyStopping: boolean,
  data: { trainFile?: string; prior?: PriorTrial[] } = {},
): Promise<StudyResult & { history: Observation[] }> {
  const { params } = parseStudyDocument(COURSE_HYPERPARAM_YAML);
  const history: (Observation & { measurements?: number[] })[] = [];
  let examples = 0;
  let stopped = 0;
  while (history.length < trials) {
    const batch: (Observation & { measurements?: number[] })[] = [];
    for (let i = 0; i < 5 && history.length + batch.length < trials; i++) {
      const n = history.length + batch.length;
      const parameters = suggestTrial(
        { params, goal: 'MINIMIZE', algorithm },
        [...history, ...batch],
        new Rng(seed * 7919 + n + 1),
        data.prior,
      );
      batch.push({ parameters, state: 'ACTIVE' });
    }
    for (const trial of batch) {
      const curve = await learningCurve(trial.parameters, data.trainFile);
      const finished = history.filter((h) => h.measurements).map((h) => h.measurements!);
      const measurements: number[] = [];
      let stop = false;
      for (const rmse of curve.rmse) {
        measurements.push(rmse);
        stop =
          earlyStopping &&
          measurements.length < curve.rmse.length &&
          shouldStopTrial(measurements, finished, 'MINIMIZE');
        if (stop) break;
      }
      examples += curve.examples[measurements.length - 1];
      if (stop) stopped++;
      Object.assign(trial, {
        state: stop ? 'STOPPED' : 'SUCCEEDED',
        objective: measurements.at(-1),
        measurements,
      });
      history.push(trial);
    }
  }
  return {
    bestAfter: (n) =>
      Math.min(
        ...history
          .slice(0, n)
          .filter((h) => h.state === 'SUCCEEDED')
          .map((h) => h.objective!),
      ),
    examples,
    stopped,
    history,
  };
}

/** The 1-based trial at which a study first reached `target` (cap + 1: it did not). */
function trialsToReach(history: Observation[], target: number, cap: number): number {
  const i = history
    .slice(0, cap)
    .findIndex((h) => h.state === 'SUCCEEDED' && h.objective! <= target);
  return i < 0 ? cap + 1 : i + 1;
}

const WARM_TRIALS = Number(process.env.BENCH_WARM_TRIALS ?? 20);
/** BENCH_TRACE=1: each warm study's trials (parameters → RMSE), to see where it searched. */
const TRACE = process.env.BENCH_TRACE === '1';
const trace = (history: Observation[]) =>
  history
    .map(
      (h, i) =>
        `    ${i + 1}. ${Object.entries(h.parameters)
          .map(([k, v]) => `${k}=${v}`)
          .join(' ')} → ${h.objective?.toFixed(4)}`,
    )
    .join('\n');

/**
 * How much of a trial's RMSE is its training seed's: each configuration in `best` trained again
 * with seeds 2–5 (the studies train with seed 1). Returns the pooled standard deviation over
 * seeds 2–5 (seed 1's value was selected for being low) and the winner's gap: how far each
 * configuration's seed-1 RMSE (the one that made it a study's best) lies below its mean over
 * seeds 2–5.
 */
async function seedNoise(best: ParamValues[]) {
  const deviations: number[] = [];
  const gaps: number[] = [];
  for (const parameters of best) {
    const rmse = [];
    for (let seed = 1; seed <= 5; seed++)
      rmse.push((await learningCurve(parameters, FULL_TRAIN, seed)).rmse.at(-1)!);
    const others = rmse.slice(1);
    const m = mean(others);
    deviations.push(others.reduce((a, r) => a + (r - m) ** 2, 0) / (others.length - 1));
    gaps.push(m - rmse[0]);
  }
  return { sd: Math.sqrt(mean(deviations)), winnerGap: mean(gaps) };
}

/**
 * A hindsight bound: the cell of the landscape measured on the full drop (this run's curves and
 * the cache's; log2 batch × log2 nnsize × nembeds / 10, cells of ≥ 20 configurations) that
 * reaches the cold bests soonest, sampled uniformly among the configurations measured in it;
 * the mean over seeds of the expected trial at which it first reaches each cold study's best
 * (21 when not in 20). Optimistic twice over: the cell is chosen by the targets it is scored
 * on, and its configurations are those the studies chose to try.
 */
function hindsightBound(targets: number[]): { trials: number; cell: string } {
  const cells = new Map<string, number[]>();
  for (const [key, curve] of curves) {
    const hp = JSON.parse(key);
    if (hp.trainFile || hp.seed || hp.trainExamples !== TRIAL_EXAMPLES) continue;
    const cell = `batch 2^${Math.floor(Math.log2(hp.batchSize))}, nnsize 2^${Math.floor(Math.log2(hp.nnsize[0]))}, nembeds ${Math.floor(hp.nembeds / 10) * 10}s`;
    (cells.get(cell) ?? cells.set(cell, []).get(cell)!).push(curve.rmse.at(-1)!);
  }
  const expectedTrials = (p: number) => {
    let e = 21 * (1 - p) ** 20;
    for (let k = 1; k <= 20; k++) e += k * p * (1 - p) ** (k - 1);
    return e;
  };
  let best = { trials: 21, cell: 'none' };
  for (const [cell, values] of cells) {
    if (values.length < 20) continue;
    const trials = mean(
      targets.map((t) => expectedTrials(values.filter((v) => v <= t).length / values.length)),
    );
    if (trials < best.trials) best = { trials, cell: `${cell} (${values.length} configurations)` };
  }
  return best;
}

/** (d): per seed, cold vs warm on the same data and on 20% more rows. */
async function warmStartBench() {
  const { params } = parseStudyDocument(COURSE_HYPERPARAM_YAML);
  const heldOut = heldOutTrainFile();
  const space = { params, metricTag: 'rmse', goal: 'MINIMIZE' as const, warmStart: true };
  const priorOf = (earlier: Observation[], runId: string) => {
    const trials = earlier.map((h, i) => ({ id: String(i + 1), ...h }));
    const index = addToStudyIndex(null, { runId, completedAt: '1', ...space }, trials);
    return selectWarmStart(space, index, { runId: 'new', createdAt: '2' }).trials;
  };
  const rows: Record<string, number[]> = {};
  const push = (k: string, v: number) => (rows[k] ??= []).push(v);
  const coldBests: ParamValues[] = [];
  for (let seed = FIRST_SEED; seed < FIRST_SEED + SEEDS; seed++) {
    const t0 = performance.now();
    const cold = await babyweightStudy('ALGORITHM_UNSPECIFIED', 20, seed, false);
    const target = cold.bestAfter(20);
    const scenarios = {
      same: FULL_TRAIN,
      more: heldOut,
    };
    const line: string[] = [];
    for (const [name, earlierFile] of Object.entries(scenarios)) {
      const earlier = await babyweightStudy('ALGORITHM_UNSPECIFIED', 20, seed + 100, false, {
        trainFile: earlierFile,
      });
      const prior = priorOf(earlier.history, `earlier-${name}`);
      const warm = await babyweightStudy('ALGORITHM_UNSPECIFIED', WARM_TRIALS, seed, false, {
        prior,
      });
      const n = trialsToReach(warm.history, target, WARM_TRIALS);
      if (TRACE)
        console.log(`  ${name} seed ${seed}, target ${target.toFixed(4)}:\n${trace(warm.history)}`);
      push(`${name}Trials`, n);
      push(`${name}Warm10`, warm.bestAfter(10));
      push(`${name}WarmAll`, warm.bestAfter(WARM_TRIALS));
      line.push(
        `${name === 'same' ? 'same data' : '+20% rows'}: warm reaches ${target.toFixed(4)} at trial ${n > WARM_TRIALS ? `>${WARM_TRIALS}` : n}, warm@10 ${warm.bestAfter(10).toFixed(4)}, warm@${WARM_TRIALS} ${warm.bestAfter(WARM_TRIALS).toFixed(4)}`,
      );
    }
    push('coldTrials', trialsToReach(cold.history, target, 20));
    coldBests.push(cold.history.find((h) => h.objective === target)!.parameters);
    push('cold10', cold.bestAfter(10));
    push('cold20', target);
    console.log(
      `warm start seed ${seed}: cold@10 ${cold.bestAfter(10).toFixed(4)}, cold@20 ${target.toFixed(4)} (reached at trial ${rows.coldTrials.at(-1)}); ${line.join('; ')} (${((performance.now() - t0) / 1000).toFixed(0)} s)`,
    );
  }
  const m = (k: string) => round(mean(rows[k]));
  console.log(
    `warm start (mean of ${SEEDS}): trials to the cold study's best — cold ${m('coldTrials')}, warm same data ${m('sameTrials')}, warm +20% rows ${m('moreTrials')}`,
  );
  const noise = await seedNoise(coldBests.slice(0, 5));
  const bound = hindsightBound(rows.cold20);
  console.log(
    `training noise: the cold bests' RMSE over training seeds 2–5 has sd ${noise.sd.toFixed(5)}; their seed-1 RMSE is ${noise.winnerGap.toFixed(5)} below their mean over seeds 2–5 (the cold bests differ by ${(Math.max(...rows.cold20) - Math.min(...rows.cold20)).toFixed(5)})`,
  );
  console.log(
    `hindsight bound (optimistic): draws from the best cell of the measured landscape (${bound.cell}) reach the cold best at trial ${bound.trials.toFixed(2)} on average; half the cold study's trials is ${(mean(rows.coldTrials) / 2).toFixed(2)}`,
  );
  return {
    warmStartSeedNoiseSd: round(noise.sd),
    warmStartWinnerGap: round(noise.winnerGap),
    warmStartHindsightTrials: Number(bound.trials.toFixed(2)),
    warmStartTrials: WARM_TRIALS,
    warmStartColdTrialsToBest: m('coldTrials'),
    warmStartSameDataTrialsToColdBest: m('sameTrials'),
    warmStartMoreRowsTrialsToColdBest: m('moreTrials'),
    warmStartCold10: m('cold10'),
    warmStartCold20: m('cold20'),
    warmStartSameData10: m('sameWarm10'),
    warmStartSameDataAll: m('sameWarmAll'),
    warmStartMoreRows10: m('moreWarm10'),
    warmStartMoreRowsAll: m('moreWarmAll'),
    warmStartPerSeed: rows,
  };
}

export async function run() {
  const target = BRANIN_MIN * 1.01;
  const bayes: number[] = [];
  const random: number[] = [];
  for (
    let seed = FIRST_SEED;
    seed < FIRST_SEED + SEEDS && (process.env.BENCH_PARTS ?? 'branin').includes('branin');
    seed++
  ) {
    const started = performance.now();
    bayes.push(trialsToTarget('ALGORITHM_UNSPECIFIED', seed, target, 300));
    const t = (performance.now() - started) / 1000;
    random.push(trialsToTarget('RANDOM_SEARCH', seed, target, 100_000));
    console.log(
      `branin seed ${seed}: bayesian ${bayes.at(-1)} trials (${t.toFixed(1)} s of suggesting), random ${random.at(-1)} trials`,
    );
  }
  const part = process.env.BENCH_PARTS ?? 'branin,babyweight';
  const bw = {
    bayes20: [] as number[],
    random20: [] as number[],
    random60: [] as number[],
    esBest: [] as number[],
    esExamples: [] as number[],
    fullExamples: [] as number[],
    esStopped: [] as number[],
  };
  if (part.includes('babyweight')) {
    for (let seed = FIRST_SEED; seed < FIRST_SEED + SEEDS; seed++) {
      const t0 = performance.now();
      const bayes = await babyweightStudy('ALGORITHM_UNSPECIFIED', 20, seed, false);
      const random = await babyweightStudy('RANDOM_SEARCH', 60, seed, false);
      const es = await babyweightStudy('ALGORITHM_UNSPECIFIED', 20, seed, true);
      bw.bayes20.push(bayes.bestAfter(20));
      bw.random20.push(random.bestAfter(20));
      bw.random60.push(random.bestAfter(60));
      bw.esBest.push(es.bestAfter(20));
      bw.esExamples.push(es.examples);
      bw.fullExamples.push(bayes.examples);
      bw.esStopped.push(es.stopped);
      console.log(
        `babyweight seed ${seed}: best rmse bayesian@20 ${bayes.bestAfter(20).toFixed(4)}, random@20 ${random.bestAfter(20).toFixed(4)}, random@60 ${random.bestAfter(60).toFixed(4)}; ` +
          `early stopping: best ${es.bestAfter(20).toFixed(4)}, ${es.examples} vs ${bayes.examples} examples, ${es.stopped} stopped (${((performance.now() - t0) / 1000).toFixed(0)} s)`,
      );
    }
  }
  const babyweight = bw.bayes20.length
    ? {
        babyweightTrialExamples: TRIAL_EXAMPLES,
        babyweightBayesian20: round(mean(bw.bayes20)),
        babyweightRandom20: round(mean(bw.random20)),
        babyweightRandom60: round(mean(bw.random60)),
        babyweightBayesian20VsRandom60: round(mean(bw.bayes20) / mean(bw.random60) - 1),
        earlyStoppingBest: round(mean(bw.esBest)),
        earlyStoppingExamplesCut: round(1 - mean(bw.esExamples) / mean(bw.fullExamples)),
        earlyStoppingRmseChange: round(mean(bw.esBest) / mean(bw.bayes20) - 1),
        earlyStoppingStoppedTrials: mean(bw.esStopped),
      }
    : {};
  if (bw.bayes20.length) {
    console.log(
      `babyweight (mean of ${SEEDS}): bayesian@20 ${babyweight.babyweightBayesian20}, random@20 ${babyweight.babyweightRandom20}, random@60 ${babyweight.babyweightRandom60}; ` +
        `early stopping cuts ${(100 * babyweight.earlyStoppingExamplesCut!).toFixed(1)}% of examples, best rmse ${(100 * babyweight.earlyStoppingRmseChange!).toFixed(2)}%`,
    );
  }
  const warmStart = part.includes('warmstart') ? await warmStartBench() : {};
  const result = {
    bench: 'tuning',
    seeds: SEEDS,
    firstSeed: FIRST_SEED,
    braninTarget: Number(target.toFixed(6)),
    ...(bayes.length
      ? {
          braninBayesianMeanTrials: mean(bayes),
          braninRandomMeanTrials: mean(random),
          braninRatio: Number((mean(bayes) / mean(random)).toFixed(4)),
        }
      : {}),
    ...babyweight,
    ...warmStart,
  };
  if (bayes.length)
    console.log(
      `branin, within 1% of the optimum: bayesian ${result.braninBayesianMeanTrials} trials, random ${result.braninRandomMeanTrials} (mean of ${SEEDS} seeds) → ratio ${result.braninRatio}`,
    );
  return result;
}
