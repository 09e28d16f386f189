/**
 * @module search
 * The one place a study's algorithm is chosen: Bayesian by default (Vertex's
 * ALGORITHM_UNSPECIFIED), random or grid search on request.
 */
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

/** The next trial's parameters given every trial so far (running ones included). */
export function suggestTrial(space: SearchSpace, history: Observation[], rng: Rng): ParamValues {
  switch (space.algorithm) {
    case 'RANDOM_SEARCH':
      return sampleRandom(space.params, rng);
    case 'GRID_SEARCH':
      return gridPoint(space.params, history.length);
    default:
      return suggestBayesian(space.params, space.goal, history, rng);
  }
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
