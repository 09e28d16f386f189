/**
 * @module search
 * The one place a study's algorithm is chosen: Bayesian by default (Vertex's
 * ALGORITHM_UNSPECIFIED), random or grid search on request.
 */
import type { PriorTrial } from '@bucketml/contracts';
import type { Rng } from '@bucketml/model';
import { suggestBayesian, type Observation } from './bayesian.js';
import { sampleRandom, type ParamValues } from './random-search.js';
import type { Goal, ParamSpec } from './study-spec.js';

export interface SearchSpace {
  params: ParamSpec[];
  goal: Goal;
  /** ALGORITHM_UNSPECIFIED (Bayesian, Vertex's default), RANDOM_SEARCH or GRID_SEARCH. */
  algorithm: string;
}

/**
 * The next trial's parameters given every trial so far (running ones included) and, for a
 * warm-started study, earlier runs' trials of the same space (`prior`).
 *
 * Warm start, whatever the algorithm: trial 1 re-runs the best earlier parameters, so the
 * study's best is always measured on this run's data. Then the Bayesian search models the
 * earlier trials as observations of a correlated objective (see bayesian.ts: they count as far
 * as this study's own trials agree with them), shifted by how much the re-run moved (new − old
 * objective of the re-run parameters; 0 until it has finished), with its own trials taking over
 * wherever they re-measure an earlier point. Random and grid search continue with their own
 * sequence (the grid from its first point, so a study one trial longer still covers it).
 */
export function suggestTrial(
  space: SearchSpace,
  history: Observation[],
  rng: Rng,
  prior: readonly PriorTrial[] = [],
): ParamValues {
  if (prior.length > 0 && history.length === 0) return bestPrior(prior, space.goal).parameters;
  switch (space.algorithm) {
    case 'RANDOM_SEARCH':
      return sampleRandom(space.params, rng);
    case 'GRID_SEARCH':
      return gridPoint(space.params, history.length - (prior.length > 0 ? 1 : 0));
    default:
      return suggestBayesian(
        space.params,
        space.goal,
        [...priorObservations(prior, history), ...history],
        rng,
      );
  }
}

/** The best earlier trial (ties: the first listed, i.e. the most recent run's). */
function bestPrior(prior: readonly PriorTrial[], goal: Goal): PriorTrial {
  const sign = goal === 'MINIMIZE' ? 1 : -1;
  return prior.reduce((best, t) => (sign * (t.objective - best.objective) < 0 ? t : best));
}

/**
 * Earlier trials as observations for this study's search, marked `earlier`: shifted by the mean
 * change of the earlier points this study has re-measured (new data move the whole curve: 20%
 * more rows lower every RMSE a little), and without those points (the new measurement replaces
 * them).
 */
export function priorObservations(
  prior: readonly PriorTrial[],
  history: readonly Observation[],
): Observation[] {
  const measured = new Map<string, number>();
  for (const h of history)
    if (h.state === 'SUCCEEDED' && h.objective !== undefined)
      measured.set(parameterKey(h.parameters), h.objective);
  const shifts: number[] = [];
  const unmeasured: PriorTrial[] = [];
  for (const t of prior) {
    const now = measured.get(parameterKey(t.parameters));
    if (now === undefined) unmeasured.push(t);
    else shifts.push(now - t.objective);
  }
  const shift = shifts.length ? shifts.reduce((a, b) => a + b, 0) / shifts.length : 0;
  return unmeasured.map((t) => ({
    parameters: t.parameters,
    state: 'SUCCEEDED',
    objective: t.objective + shift,
    earlier: true,
  }));
}

/** Parameters as a key independent of their order. */
function parameterKey(p: ParamValues): string {
  return JSON.stringify(
    Object.keys(p)
      .sort()
      .map((k) => [k, p[k]]),
  );
}

/**
 * The k-th point of the full grid (cycling), last parameter varying fastest. Each point is
 * computed, never the grid nor an axis materialised: an INTEGER range of 1..500,000,000 costs
 * what 1..5 costs.
 */
export function gridPoint(params: ParamSpec[], k: number): ParamValues {
  const axes = params.map(gridAxis);
  const total = axes.reduce((n, a) => n * a.length, 1);
  let index = Number.isFinite(total) && total <= Number.MAX_SAFE_INTEGER ? k % total : k;
  const out: ParamValues = {};
  for (let i = params.length - 1; i >= 0; i--) {
    out[params[i].name] = axes[i].at(index % axes[i].length);
    index = Math.floor(index / axes[i].length);
  }
  return out;
}

interface GridAxis {
  length: number;
  at(i: number): number | string;
}

function gridAxis(p: ParamSpec): GridAxis {
  if (p.type === 'CATEGORICAL')
    return { length: p.categoricalValues!.length, at: (i) => p.categoricalValues![i] };
  if (p.type === 'DISCRETE') {
    const values = [...p.discreteValues!].sort((a, b) => a - b);
    return { length: values.length, at: (i) => values[i] };
  }
  if (p.type === 'INTEGER') return { length: p.max! - p.min! + 1, at: (i) => p.min! + i };
  throw new Error(`GRID_SEARCH cannot enumerate DOUBLE parameter ${p.name}`);
}
