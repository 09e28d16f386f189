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
  /** Why it counts as drifted: the distance past its threshold, a shift of the missing rate. */
  reasons: string[];
  /** A drift of this feature fails the run (spec validation.features.<name>.blocking). */
  blocking: boolean;
  missingRate: { reference: number; current: number };
  /** Share of the drop's numbers outside the reference's [min, max] (informational). */
  outOfRange?: number;
  /** Frequent values of the drop the reference never saw (categories; informational). */
  newValues?: string[];
  /** Frequent values of the reference absent from the drop (categories). */
  vanishedValues?: string[];
}

export interface DriftReport {
  features: FeatureDrift[];
  /** Columns of the reference that the drop lacks (not in its header) or leaves empty. */
  missingColumns: string[];
  /** Columns the model reads now that the reference did not have (a schema change). */
  newColumns: string[];
  drifted: string[];
  /** Drifted features whose drift fails the run. */
  blocking: string[];
}

/** A column's kind for profiling: numbers (deciles) or categories (value counts). */
export type ProfiledKind = 'numeric' | 'categorical';

/** Cells longer than this are profiled cut: a huge cell costs neither memory nor report size. */
const MAX_CELL = 200;

/**
 * Profiles the accepted rows' raw cells column by column (bounded memory: ColumnProfile's caps),
 * each as its role in the spec says: a numeric column's statistics are its finite numbers'.
 */
export class DataProfiler {
  readonly profiles: Map<string, ColumnProfile>;

  constructor(readonly kinds: Record<string, ProfiledKind>) {
    const rng = new Rng(20240601);
    this.profiles = new Map(Object.keys(kinds).map((c) => [c, new ColumnProfile(c, rng)]));
  }

  /** For ReadOptions.onRecord (called for accepted rows). */
  readonly add = (cell: (column: string) => string | undefined): void => {
    for (const [name, p] of this.profiles) {
      const raw = (cell(name) ?? '').trim();
      p.add(raw.length > MAX_CELL ? raw.slice(0, MAX_CELL) : raw);
    }
  };

  /** Each column's statistics, in the form inference records (deciles or top values). */
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
      if (this.kinds[p.name] === 'numeric' && p.sample.length > 0) {
        const m = p.moments();
        const quantiles = p.quantiles();
        return {
          ...base,
          min: p.min,
          max: p.max,
          mean: round(m.mean),
          std: round(m.std),
          quantiles,
          decileShares: binShares(quantiles, p.sample).map(round),
        };
      }
      return { ...base, topValues: p.topValues() };
    });
  }
}

/**
 * Compares the drop's profiles with a reference's statistics, column by column: only the
 * columns both have (a column the spec no longer reads is not compared) and only well-formed
 * reference entries (a reference is a bucket object: it may be anything).
 */
export function compareWithReference(
  profiler: DataProfiler,
  reference: unknown[],
  validation: ValidationSpec = { features: {} },
  header: string[] | null = null,
  referenceHeader?: string[],
): DriftReport {
  const t = DRIFT_THRESHOLDS;
  const rule = (name: string) => validation.features[name] ?? {};
  const features: FeatureDrift[] = [];
  const missingColumns: string[] = [];
  const entries = reference.filter(isColumnStatistics);
  const known = new Set(entries.map((c) => c.name));
  // New: not in the reference's header (when it kept one) nor among its statistics; a column
  // the spec now reads that the data had before is not new. A reference with no readable entry
  // says nothing of which columns are new.
  const lower = (names: Iterable<string>) => new Set([...names].map((n) => n.toLowerCase()));
  const before = lower([...known, ...(referenceHeader ?? [])]);
  const newColumns = known.size
    ? [...profiler.profiles.keys()].filter((name) => !before.has(name.toLowerCase()))
    : [];
  const inHeader = header ? lower(header) : null;
  for (const ref of entries) {
    // Dates are new by nature (a drop's are not the reference's): not compared.
    if (['dropped', 'key', 'date'].includes(ref.role)) continue;
    const p = profiler.profiles.get(ref.name);
    if (!p) {
      // Not read now: gone from the drop's header, or left out by the spec (not a drift).
      if (inHeader && !inHeader.has(ref.name.toLowerCase())) missingColumns.push(ref.name);
      continue;
    }
    if (p.count === p.missing) {
      missingColumns.push(ref.name);
      continue;
    }
    const missingRate = { reference: ref.missingRate, current: round(p.missing / p.count) };
    const missingShift = Math.abs(missingRate.current - missingRate.reference) > t.missingRate;
    // A distance against the feature's threshold (the spec's, else the metric's default).
    const judged = (
      metric: FeatureDrift['metric'],
      distance: number,
      fallback: number,
      change?: string,
    ) => {
      const threshold = rule(ref.name).threshold ?? fallback;
      const why = [
        ...(change ? [change] : []),
        ...(distance > threshold ? [`${metric} ${distance} > ${threshold}`] : []),
        ...(missingShift ? [`missing rate ${missingRate.reference} → ${missingRate.current}`] : []),
      ];
      return {
        name: ref.name,
        metric,
        distance,
        threshold,
        drifted: why.length > 0,
        reasons: why,
        blocking: rule(ref.name).blocking === true,
        missingRate,
      };
    };
    const numeric = profiler.kinds[ref.name] === 'numeric';
    const refKind =
      ref.role === 'numeric' || ref.role === 'categorical'
        ? ref.role
        : ref.quantiles
          ? 'numeric'
          : 'categorical';
    if (refKind !== profiler.kinds[ref.name]) {
      // Numbers became categories or the reverse: no distance compares them; the change is one.
      const change = `type ${refKind} → ${profiler.kinds[ref.name]}`;
      const metric = numeric ? 'js' : 'linfty';
      features.push(judged(metric, 1, numeric ? t.jensenShannon : t.linfty, change));
    } else if (numeric && ref.quantiles && p.sample.length > 0) {
      const distance = round(jensenShannon(ref.quantiles, p.sample, ref.decileShares));
      // The reference's own range (its deciles come from a sample and may miss the extremes).
      const lo = Number.isFinite(ref.min) ? ref.min! : ref.quantiles[0];
      const hi = Number.isFinite(ref.max) ? ref.max! : ref.quantiles[10];
      const outside = p.sample.filter((x) => x < lo || x > hi);
      features.push({
        ...judged('js', distance, t.jensenShannon),
        outOfRange: round(outside.length / p.sample.length),
      });
    } else if (!numeric && ref.topValues) {
      const refPresent = Math.max(1, ref.count - ref.missing);
      const present = Math.max(1, p.present);
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
      features.push({
        ...judged('linfty', distance, t.linfty),
        newValues: complete
          ? frequent
              .map(([v]) => v)
              .filter((v) => !refShare.has(v))
              .slice(0, MAX_LISTED)
          : [],
        vanishedValues: p.overflow
          ? [] // past the profile's value cap an absent value may just be uncounted
          : [...refShare]
              .filter(([v, q]) => q >= 0.01 && !p.values.has(v))
              .map(([v]) => v)
              .slice(0, MAX_LISTED),
      });
    }
  }
  return {
    features,
    missingColumns,
    newColumns,
    drifted: [
      ...features.filter((f) => f.drifted).map((f) => f.name),
      ...missingColumns,
      ...newColumns,
    ],
    blocking: features.filter((f) => f.drifted && f.blocking).map((f) => f.name),
  };
}

/** Values listed per feature in the report (new, vanished). */
const MAX_LISTED = 20;

/** A reference entry this comparison can read (finite figures, the shapes inference writes). */
function isColumnStatistics(c: unknown): c is ColumnStatistics {
  if (typeof c !== 'object' || c === null) return false;
  const s = c as Record<string, unknown>;
  const finite = (x: unknown) => typeof x === 'number' && Number.isFinite(x);
  const numbers = (x: unknown, n?: number) =>
    Array.isArray(x) && (n === undefined || x.length === n) && x.every(finite);
  return (
    typeof s.name === 'string' &&
    typeof s.role === 'string' &&
    finite(s.count) &&
    finite(s.missing) &&
    finite(s.missingRate) &&
    finite(s.distinct) &&
    (s.quantiles === undefined || numbers(s.quantiles, 11)) &&
    (s.decileShares === undefined || numbers(s.decileShares)) &&
    (s.topValues === undefined ||
      (Array.isArray(s.topValues) &&
        s.topValues.length <= 1000 &&
        s.topValues.every((e) => Array.isArray(e) && typeof e[0] === 'string' && finite(e[1]))))
  );
}

/**
 * Jensen-Shannon divergence (base 2, 0…1) between the reference's distribution over its decile
 * bins and the sample's over the same bins. The reference's shares per bin are its own counts
 * when it kept them (`shares`), else 1/10 per decile interval (tied deciles merge their bins).
 */
export function jensenShannon(deciles: number[], sample: number[], shares?: number[]): number {
  const edges = decileEdges(deciles);
  let p = new Array<number>(edges.length + 1).fill(0);
  if (shares && shares.length === p.length) p = [...shares];
  // Decile interval (q[k-1], q[k]] lies in the bin holding q[k].
  else for (let k = 1; k <= 10; k++) p[binOf(edges, deciles[k])] += 0.1;
  const q = binShares(deciles, sample);
  let js = 0;
  for (let i = 0; i < p.length; i++) {
    const m = (p[i] + q[i]) / 2;
    if (p[i] > 0) js += 0.5 * p[i] * Math.log2(p[i] / m);
    if (q[i] > 0) js += 0.5 * q[i] * Math.log2(q[i] / m);
  }
  return Math.max(0, Math.min(1, js));
}

/** The share of `sample` in each bin between the distinct interior deciles. */
export function binShares(deciles: number[], sample: number[]): number[] {
  const edges = decileEdges(deciles);
  const q = new Array<number>(edges.length + 1).fill(0);
  for (const x of sample) q[binOf(edges, x)] += 1 / sample.length;
  return q;
}

const decileEdges = (deciles: number[]) => [...new Set(deciles.slice(1, -1))].sort((a, b) => a - b);

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
