import { Rng } from '@bucketml/model';
import { suggestTrial, type Observation, type ParamSpec } from '@bucketml/tuning';

/**
 * Trials needed to reach a target, Bayesian (GP + EI) against random search, both through the
 * same `suggestTrial` the pipeline uses, averaged over seeds.
 * (a) Branin on [-5, 10] × [0, 15]: global minimum 0.397887; target: within 1%.
 */
const SEEDS = Number(process.env.BENCH_SEEDS ?? 5);
const BRANIN_MIN = 0.397887;

function branin(x1: number, x2: number): number {
  const a = 1, b = 5.1 / (4 * Math.PI ** 2), c = 5 / Math.PI, r = 6, s = 10, t = 1 / (8 * Math.PI);
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

export async function run() {
  const target = BRANIN_MIN * 1.01;
  const bayes: number[] = [];
  const random: number[] = [];
  for (let seed = 1; seed <= SEEDS; seed++) {
    const started = performance.now();
    bayes.push(trialsToTarget('ALGORITHM_UNSPECIFIED', seed, target, 300));
    const t = (performance.now() - started) / 1000;
    random.push(trialsToTarget('RANDOM_SEARCH', seed, target, 100_000));
    console.log(`branin seed ${seed}: bayesian ${bayes.at(-1)} trials (${t.toFixed(1)} s of suggesting), random ${random.at(-1)} trials`);
  }
  const result = {
    bench: 'tuning',
    seeds: SEEDS,
    braninTarget: Number(target.toFixed(6)),
    braninBayesianMeanTrials: mean(bayes),
    braninRandomMeanTrials: mean(random),
    braninRatio: Number((mean(bayes) / mean(random)).toFixed(4)),
  };
  console.log(`branin, within 1% of the optimum: bayesian ${result.braninBayesianMeanTrials} trials, random ${result.braninRandomMeanTrials} (mean of ${SEEDS} seeds) → ratio ${result.braninRatio}`);
  return result;
}
