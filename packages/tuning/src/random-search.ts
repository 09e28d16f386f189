/**
 * @module random-search
 * Random search, and the map from the unit interval to a parameter's values that the other
 * algorithms share.
 */
import { Rng } from '@bucketml/model';
import type { ParamSpec } from './study-spec.js';

export type ParamValues = Record<string, number | string>;

/** One point sampled uniformly in each parameter's scaled space. */
export function sampleRandom(params: ParamSpec[], rng: Rng): ParamValues {
  const out: ParamValues = {};
  for (const p of params) out[p.name] = fromUnit(p, rng.next());
  return out;
}

/** Maps u ∈ [0, 1) to a value of the parameter, honouring its type and scale. */
export function fromUnit(p: ParamSpec, u: number): number | string {
  if (p.type === 'CATEGORICAL')
    return p.categoricalValues![
      Math.min(p.categoricalValues!.length - 1, Math.floor(u * p.categoricalValues!.length))
    ];
  if (p.type === 'DISCRETE') {
    const values = [...p.discreteValues!].sort((a, b) => a - b);
    return values[Math.min(values.length - 1, Math.floor(u * values.length))];
  }
  const min = p.min!;
  const max = p.max!;
  let x: number;
  if (p.scale === 'UNIT_LOG_SCALE')
    x = Math.exp(Math.log(min) + u * (Math.log(max) - Math.log(min)));
  else if (p.scale === 'UNIT_REVERSE_LOG_SCALE')
    x = max + min - Math.exp(Math.log(min) + (1 - u) * (Math.log(max) - Math.log(min)));
  else x = min + u * (max - min);
  if (p.type === 'INTEGER') {
    // Integers: each value in [min, max] must be reachable, including max.
    const lo =
      p.scale === 'UNIT_LOG_SCALE' || p.scale === 'UNIT_REVERSE_LOG_SCALE'
        ? x
        : min - 0.5 + u * (max - min + 1);
    return Math.min(max, Math.max(min, Math.round(lo)));
  }
  return Math.min(max, Math.max(min, x));
}
