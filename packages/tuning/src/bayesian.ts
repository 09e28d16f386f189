/**
 * @module bayesian
 * Bayesian optimisation: a Gaussian process over the parameters' unit cube with expected
 * improvement. Chosen over TPE because with the few dozen trials a study runs, a GP's
 * calibrated uncertainty spends trials better, and its cost (a Cholesky of ≤ a few hundred
 * points) is negligible next to a training run.
 *
 * - Space: numeric parameters map to [0, 1] in their scale (log, reverse log, linear),
 *   categorical ones to one-hot dimensions; suggestions are snapped to valid values and
 *   re-encoded, so integers and discrete values are modelled where they really are.
 * - Model: Matérn 5/2 kernel with one lengthscale per dimension, noise, on standardised
 *   objectives; hyperparameters maximise the log marginal likelihood over a seeded random set.
 * - Parallel slots: pending trials enter the model with the best objective seen so far as
 *   their value (the "constant liar"), so one batch spreads out instead of repeating itself.
 * - Early-stopped trials enter like pending ones: their last value is not what they would
 *   have ended at (slow starters end best), so it would steer the search away from exactly
 *   those; as liars they only keep the search from resampling them. Measured on babyweight
 *   (docs/benchmarks.md): with their partial values as objectives the study's best RMSE
 *   suffered more for the same examples saved.
 * - Failed trials enter with the worst objective seen, steering the search away from them.
 * - Earlier runs' trials (warm start) are observations of a related objective, not of this
 *   one: a second drop moves the optimum as well as the level (docs/benchmarks.md, warm start).
 *   The model is a two-task Gaussian process (intrinsic coregionalisation, as in Swersky et al.
 *   2013, multi-task Bayesian optimisation): the covariance between an earlier and an own
 *   observation is the kernel times a correlation ρ, fitted with the lengthscales by the
 *   marginal likelihood. Where this run's trials agree with the earlier ones ρ stays near 1 and
 *   the earlier points guide as before; where they disagree ρ falls, the earlier points' pull
 *   on the prediction shrinks with it and this run's uncertainty around them (≥ 1 − ρ²) comes
 *   back, so expected improvement explores instead of re-sampling the earlier optimum.
 */
import type { Rng } from '@bucketml/model';
import { fromUnit, sampleRandom, type ParamValues } from './random-search.js';
import type { Goal, ParamSpec } from './study-spec.js';

/** A trial as the search sees it: parameters, state and, once it has one, objective. */
export interface Observation {
  parameters: ParamValues;
  state: 'SUCCEEDED' | 'FAILED' | 'STOPPED' | 'ACTIVE';
  objective?: number;
  /** An earlier run's trial (warm start): it measured a related objective, not this study's. */
  earlier?: boolean;
}

export interface BayesianOptions {
  /** Random trials before the model takes over (default: max(4, 2 × dimensions)). */
  initialTrials?: number;
  candidates?: number;
}

/** The next parameters: random until enough trials succeeded, then the point of highest EI. */
/** The most observations the Gaussian process is fitted on (its cost grows as n³). */
export const MAX_GP_OBSERVATIONS = 200;

/**
 * The observations the GP sees: all of them up to MAX_GP_OBSERVATIONS; past that, every
 * running trial (the constant liar must see them), the best completed half and the most recent
 * rest — bounded work per suggestion, however long the study.
 */
function modelled(history: Observation[], sign: number): Observation[] {
  if (history.length <= MAX_GP_OBSERVATIONS) return history;
  const running = history.filter((h) => h.state === 'ACTIVE');
  const room = Math.max(0, MAX_GP_OBSERVATIONS - running.length);
  const done = history.filter((h) => h.state !== 'ACTIVE');
  const best = done
    .filter((h) => h.objective !== undefined && h.state === 'SUCCEEDED')
    .sort((a, b) => sign * (a.objective! - b.objective!))
    .slice(0, Math.floor(room / 2));
  const chosen = new Set(best);
  const rest = room - best.length;
  const recent = rest > 0 ? done.filter((h) => !chosen.has(h)).slice(-rest) : [];
  return [...best, ...recent, ...running];
}

export function suggestBayesian(
  params: ParamSpec[],
  goal: Goal,
  history: Observation[],
  rng: Rng,
  options: BayesianOptions = {},
): ParamValues {
  const space = new UnitSpace(params);
  const completed = history.filter((h) => h.objective !== undefined && h.state === 'SUCCEEDED');
  const initial = options.initialTrials ?? Math.max(4, 2 * space.dims);
  if (completed.length < initial) return sampleRandom(params, rng);

  // Minimise internally.
  const sign = goal === 'MINIMIZE' ? 1 : -1;
  const ys = completed.map((h) => sign * h.objective!);
  const best = Math.min(...ys);
  const worst = Math.max(...ys);
  const X: number[][] = [];
  const Y: number[] = [];
  const earlier: boolean[] = [];
  for (const h of modelled(history, sign)) {
    X.push(space.encode(h.parameters));
    earlier.push(h.earlier === true);
    if (h.objective !== undefined && h.state === 'SUCCEEDED') Y.push(sign * h.objective);
    else if (h.state === 'ACTIVE' || h.state === 'STOPPED')
      Y.push(best); // constant liar
    else Y.push(worst); // failed
  }
  const gp = fitGp(X, Y, earlier, rng);
  const incumbent = Math.min(...Y.map((y) => (y - gp.mean) / gp.scale));
  const ei = (x: number[]) => expectedImprovement(gp, x, incumbent);

  // Maximise EI: random points, then shrinking local searches around the best ones.
  const n = options.candidates ?? 1500;
  let pool: { x: number[]; v: number }[] = [];
  for (let i = 0; i < n; i++) {
    const x = space.snap(Array.from({ length: space.dims }, () => rng.next()));
    pool.push({ x, v: ei(x) });
  }
  const bestSeen = X.map((x, i) => ({ x, y: Y[i] }))
    .sort((a, b) => a.y - b.y)
    .slice(0, 5);
  for (const b of bestSeen) pool.push({ x: b.x, v: ei(b.x) });
  pool.sort((a, b) => b.v - a.v);
  pool = pool.slice(0, 10);
  for (const step of [0.1, 0.03, 0.01, 0.003, 0.001]) {
    const next = [...pool];
    for (const p of pool) {
      for (let k = 0; k < 20; k++) {
        const x = space.snap(p.x.map((v) => clamp01(v + step * rng.normal())));
        next.push({ x, v: ei(x) });
      }
    }
    next.sort((a, b) => b.v - a.v);
    pool = next.slice(0, 10);
  }
  return space.decode(pool[0].x);
}

/** Parameters ⇄ points of the unit cube. */
class UnitSpace {
  readonly dims: number;
  private readonly offsets: number[] = [];

  constructor(private readonly params: ParamSpec[]) {
    let d = 0;
    for (const p of params) {
      this.offsets.push(d);
      d += p.type === 'CATEGORICAL' ? p.categoricalValues!.length : 1;
    }
    this.dims = d;
  }

  encode(values: ParamValues): number[] {
    const x = new Array<number>(this.dims).fill(0);
    this.params.forEach((p, i) => {
      const v = values[p.name];
      const o = this.offsets[i];
      if (p.type === 'CATEGORICAL') x[o + Math.max(0, p.categoricalValues!.indexOf(String(v)))] = 1;
      else x[o] = toUnit(p, Number(v));
    });
    return x;
  }

  decode(x: number[]): ParamValues {
    const out: ParamValues = {};
    this.params.forEach((p, i) => {
      const o = this.offsets[i];
      if (p.type === 'CATEGORICAL') {
        const k = p.categoricalValues!.length;
        let arg = 0;
        for (let j = 1; j < k; j++) if (x[o + j] > x[o + arg]) arg = j;
        out[p.name] = p.categoricalValues![arg];
      } else out[p.name] = fromUnit(p, Math.min(x[o], 1 - 1e-12));
    });
    return out;
  }

  /** The point of the valid value nearest to x (integers rounded, one-hot made exact). */
  snap(x: number[]): number[] {
    return this.encode(this.decode(x));
  }
}

/** Inverse of fromUnit for numeric parameters. */
function toUnit(p: ParamSpec, v: number): number {
  if (p.type === 'DISCRETE') {
    const values = [...p.discreteValues!].sort((a, b) => a - b);
    const i = Math.max(0, values.indexOf(v));
    return (i + 0.5) / values.length;
  }
  const min = p.min!;
  const max = p.max!;
  if (max === min) return 0.5;
  if (p.scale === 'UNIT_LOG_SCALE')
    return (Math.log(v) - Math.log(min)) / (Math.log(max) - Math.log(min));
  if (p.scale === 'UNIT_REVERSE_LOG_SCALE')
    return 1 - (Math.log(max + min - v) - Math.log(min)) / (Math.log(max) - Math.log(min));
  if (p.type === 'INTEGER') return (v - min + 0.5) / (max - min + 1);
  return (v - min) / (max - min);
}

/**
 * Correlations between the earlier runs' objective and this one's that the fit chooses from. A
 * grid rather than random draws: a cold study draws exactly the random numbers it drew before.
 */
const CORRELATIONS = [0.2, 0.4, 0.6, 0.8, 0.9, 1];

interface Gp {
  X: number[][];
  /** Per observation: an earlier run's (warm start). */
  earlier: boolean[];
  /** The fitted correlation between the earlier runs' objective and this study's. */
  rho: number;
  alpha: Float64Array;
  L: Float64Array;
  lengthscales: number[];
  noise: number;
  mean: number;
  scale: number;
}

function fitGp(X: number[][], Yraw: number[], earlier: boolean[], rng: Rng): Gp {
  const mean = Yraw.reduce((a, b) => a + b, 0) / Yraw.length;
  const sd = Math.sqrt(Yraw.reduce((a, b) => a + (b - mean) ** 2, 0) / Yraw.length) || 1;
  const Y = Yraw.map((y) => (y - mean) / sd);
  const dims = X[0].length;
  const twoTasks = earlier.includes(true) && earlier.includes(false);
  let best: (Gp & { lml: number }) | null = null;
  // Seeded random search over log-lengthscales and noise; the first candidate is a sane default.
  for (let c = 0; c < 48; c++) {
    const lengthscales = Array.from({ length: dims }, () =>
      c === 0 ? 0.3 : Math.exp(Math.log(0.03) + rng.next() * (Math.log(3) - Math.log(0.03))),
    );
    const noise =
      c === 0 ? 1e-4 : Math.exp(Math.log(1e-6) + rng.next() * (Math.log(0.1) - Math.log(1e-6)));
    // The kernel matrix is the same for every correlation: computed once per candidate.
    const K = kernelMatrix(X, lengthscales);
    for (const rho of twoTasks ? CORRELATIONS : [1]) {
      const fit = factorize(K, Y, earlier, rho, noise);
      if (fit && (!best || fit.lml > best.lml))
        best = { ...fit, X, earlier, rho, lengthscales, noise, mean, scale: sd };
    }
  }
  return best!;
}

function kernel(a: number[], b: number[], ls: number[]): number {
  let r2 = 0;
  for (let d = 0; d < a.length; d++) r2 += ((a[d] - b[d]) / ls[d]) ** 2;
  const r = Math.sqrt(5 * r2);
  return (1 + r + (5 * r2) / 3) * Math.exp(-r);
}

/** The kernel between every two observations (the lower triangle, row-major n × n). */
function kernelMatrix(X: number[][], ls: number[]): Float64Array {
  const n = X.length;
  const K = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) K[i * n + j] = kernel(X[i], X[j], ls);
  return K;
}

/**
 * Cholesky of C + noise·I, α = C⁻¹y and the log marginal likelihood; null if not positive
 * definite. C is the kernel K, times rho between an earlier and an own observation.
 */
function factorize(
  K: Float64Array,
  Y: number[],
  earlier: boolean[],
  rho: number,
  noise: number,
): { L: Float64Array; alpha: Float64Array; lml: number } | null {
  const n = Y.length;
  const L = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = K[i * n + j] * (earlier[i] === earlier[j] ? 1 : rho) + (i === j ? noise + 1e-9 : 0);
      for (let k = 0; k < j; k++) s -= L[i * n + k] * L[j * n + k];
      if (i === j) {
        if (s <= 0) return null;
        L[i * n + i] = Math.sqrt(s);
      } else L[i * n + j] = s / L[j * n + j];
    }
  }
  const z = forward(L, n, Y);
  const alpha = backward(L, n, z);
  let logDet = 0;
  for (let i = 0; i < n; i++) logDet += Math.log(L[i * n + i]);
  let fit = 0;
  for (let i = 0; i < n; i++) fit += Y[i] * alpha[i];
  return { L, alpha, lml: -0.5 * fit - logDet - 0.5 * n * Math.log(2 * Math.PI) };
}

function forward(L: Float64Array, n: number, b: ArrayLike<number>): Float64Array {
  const z = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= L[i * n + k] * z[k];
    z[i] = s / L[i * n + i];
  }
  return z;
}

function backward(L: Float64Array, n: number, z: Float64Array): Float64Array {
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = z[i];
    for (let k = i + 1; k < n; k++) s -= L[k * n + i] * x[k];
    x[i] = s / L[i * n + i];
  }
  return x;
}

/** Expected improvement of this study's objective at x (an own point: earlier ones count by ρ). */
function expectedImprovement(gp: Gp, x: number[], incumbent: number): number {
  const n = gp.X.length;
  const k = gp.X.map((xi, i) => kernel(x, xi, gp.lengthscales) * (gp.earlier[i] ? gp.rho : 1));
  let mu = 0;
  for (let i = 0; i < n; i++) mu += k[i] * gp.alpha[i];
  const v = forward(gp.L, n, k);
  let variance = 1;
  for (let i = 0; i < n; i++) variance -= v[i] * v[i];
  const sigma = Math.sqrt(Math.max(variance, 1e-12));
  const improvement = incumbent - mu - 0.01;
  const z = improvement / sigma;
  return improvement * normalCdf(z) + (sigma * Math.exp(-0.5 * z * z)) / Math.sqrt(2 * Math.PI);
}

function normalCdf(z: number): number {
  // Abramowitz–Stegun 7.1.26 on erf; |error| < 1.5e-7.
  const t = 1 / (1 + (0.3275911 * Math.abs(z)) / Math.SQRT2);
  const poly =
    t *
    (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-(z * z) / 2);
  return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

const clamp01 = (v: number) => Math.min(1, Math.max(0, v));
