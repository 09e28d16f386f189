/**
 * @module drift
 * A drop's statistics against a reference's (the data the serving model was trained on), as
 * TFX's ExampleValidator compares spans: per column, the L-infinity distance between category
 * frequencies, the Jensen-Shannon divergence of a number over the reference's decile bins, the
 * change of the missing-value rate, values outside the reference's range, categories the
 * reference never saw and columns that appeared or vanished. Each distance has a threshold; the
 * statistics are the same form inference records with each model (ColumnStatistics).
 */
import { ColumnProfile } from './infer.js';
import { Rng } from './rng.js';
import type { ColumnStatistics, ValidationSpec } from './spec.js';

/** Default thresholds (TFX leaves them to the user; these flag a shift a person should see). */
export const DRIFT_THRESHOLDS = { linfty: 0.1, jensenShannon: 0.1, missingRate: 0.1 } as const;

export interface FeatureDrift {
  name: string;
  /** linfty for categories (and a categorical label), js for numbers. */
  metric: 'linfty' | 'js';
  distance: number;
  threshold: number;
  drifted: boolean;
  /** A drift of this feature fails the run (spec validation.features.<name>.blocking). */
  blocking: boolean;
  missingRate: { reference: number; current: number };
  /** Share of the drop's numbers outside the reference's [min, max]. */
  outOfRange?: number;
  /** Frequent values of the drop the reference never saw (categories). */
  newValues?: string[];
  /** Frequent values of the reference absent from the drop (categories). */
  vanishedValues?: string[];
}

export interface DriftReport {
  features: FeatureDrift[];
  /** Columns of the reference that the drop lacks or leaves empty. */
  missingColumns: string[];
  drifted: string[];
  /** Drifted features whose drift fails the run. */
  blocking: string[];
}

/** Profiles raw cells column by column (bounded memory: ColumnProfile's caps). */
export class DataProfiler {
  readonly profiles: Map<string, ColumnProfile>;

  constructor(columns: string[]) {
    const rng = new Rng(20240601);
    this.profiles = new Map(columns.map((c) => [c, new ColumnProfile(c, rng)]));
  }

  /** For ReadOptions.onRecord. */
  readonly add = (cell: (column: string) => string | undefined): void => {
    for (const [name, p] of this.profiles) p.add((cell(name) ?? '').trim());
  };

  /** Each column's statistics, as inference records them (numbers or top values). */
  statistics(roles: Record<string, ColumnStatistics['role']>): ColumnStatistics[] {
    return [...this.profiles.values()].map((p) => {
      const base = {
        name: p.name,
        role: roles[p.name] ?? 'dropped',
        count: p.count,
        missing: p.missing,
        missingRate: p.count ? round(p.missing / p.count) : 0,
        distinct: p.distinct,
      };
      if (p.present > 0 && p.numeric === p.present) {
        const m = p.moments();
        return {
          ...base,
          min: p.min,
          max: p.max,
          mean: round(m.mean),
          std: round(m.std),
          quantiles: p.quantiles(),
        };
      }
      return { ...base, topValues: p.topValues() };
    });
  }
}

/** Compares a drop's profiles with a reference's statistics, column by column. */
export function compareWithReference(
  profiler: DataProfiler,
  reference: ColumnStatistics[],
  validation: ValidationSpec = { features: {} },
): DriftReport {
  const t = DRIFT_THRESHOLDS;
  const rule = (name: string) => validation.features[name] ?? {};
  // Dates are new by nature (a drop's are not the reference's): not compared.
  const used = reference.filter((r) => !['dropped', 'key', 'date'].includes(r.role));
  const features: FeatureDrift[] = [];
  const missingColumns: string[] = [];
  for (const ref of used) {
    const p = profiler.profiles.get(ref.name);
    if (!p || p.count === p.missing) {
      missingColumns.push(ref.name);
      continue;
    }
    const missingRate = { reference: ref.missingRate, current: round(p.missing / p.count) };
    const missingShift = Math.abs(missingRate.current - missingRate.reference) > t.missingRate;
    if (ref.quantiles && ref.min !== undefined && ref.max !== undefined) {
      const distance = round(jensenShannon(ref.quantiles, p.sample));
      const outside = p.sample.filter((x) => x < ref.min! || x > ref.max!).length;
      const threshold = rule(ref.name).threshold ?? t.jensenShannon;
      features.push({
        name: ref.name,
        metric: 'js',
        distance,
        threshold,
        drifted: distance > threshold || missingShift,
        blocking: rule(ref.name).blocking === true,
        missingRate,
        outOfRange: round(p.sample.length ? outside / p.sample.length : 0),
      });
    } else if (ref.topValues) {
      const refPresent = ref.count - ref.missing;
      const present = p.present;
      const refShare = new Map(ref.topValues.map(([v, n]) => [v, n / refPresent]));
      const share = (v: string) => (p.values.get(v) ?? 0) / present;
      let top = 0;
      let distance = 0;
      for (const [v, q] of refShare) {
        top += share(v);
        distance = Math.max(distance, Math.abs(q - share(v)));
      }
      const refOther = 1 - [...refShare.values()].reduce((a, b) => a + b, 0);
      distance = round(Math.max(distance, Math.abs(refOther - (1 - top))));
      const frequent = p.topValues().filter(([, n]) => n / present >= 0.01);
      // Only a reference that lists every value it saw can say a value is new.
      const complete = ref.distinct <= ref.topValues.length;
      const threshold = rule(ref.name).threshold ?? t.linfty;
      features.push({
        name: ref.name,
        metric: 'linfty',
        distance,
        threshold,
        drifted: distance > threshold || missingShift,
        blocking: rule(ref.name).blocking === true,
        missingRate,
        newValues: complete ? frequent.map(([v]) => v).filter((v) => !refShare.has(v)) : [],
        vanishedValues: [...refShare]
          .filter(([v, q]) => q >= 0.01 && !p.values.has(v))
          .map(([v]) => v),
      });
    }
  }
  return {
    features,
    missingColumns,
    drifted: [...features.filter((f) => f.drifted).map((f) => f.name), ...missingColumns],
    blocking: features.filter((f) => f.drifted && f.blocking).map((f) => f.name),
  };
}

/**
 * Jensen-Shannon divergence (base 2, 0…1) between the reference's distribution over its decile
 * bins (each 1/10; tied deciles merge their bins) and the sample's over the same bins.
 */
export function jensenShannon(deciles: number[], sample: number[]): number {
  const edges = [...new Set(deciles.slice(1, -1))].sort((a, b) => a - b);
  const p = new Array<number>(edges.length + 1).fill(0);
  // The reference's mass per bin: decile interval (q[k-1], q[k]] lies in the bin holding q[k].
  for (let k = 1; k <= 10; k++) p[binOf(edges, deciles[k])] += 0.1;
  const q = new Array<number>(edges.length + 1).fill(0);
  for (const x of sample) q[binOf(edges, x)] += 1 / sample.length;
  let js = 0;
  for (let i = 0; i < p.length; i++) {
    const m = (p[i] + q[i]) / 2;
    if (p[i] > 0) js += 0.5 * p[i] * Math.log2(p[i] / m);
    if (q[i] > 0) js += 0.5 * q[i] * Math.log2(q[i] / m);
  }
  return Math.max(0, Math.min(1, js));
}

/** Bin i holds edges[i-1] < x <= edges[i]. */
function binOf(edges: number[], x: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (x <= edges[mid]) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

const round = (x: number) => Math.round(x * 1e4) / 1e4;
