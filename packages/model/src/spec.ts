/**
 * @module spec
 * The declarative tabular model spec: which CSV columns exist, which one is the label, and how
 * raw values become wide (linear) and deep (DNN) features. Built-in models, user-supplied
 * `schema.json` files and inferred specs are all this shape; `parseSpec` is the one gate every
 * spec passes, and it names unknown fields as such.
 */
import type { ProblemType } from '@bucketml/contracts';

/** The operations a derived numeric feature may apply. */
export const DERIVED_OPS = [
  'difference',
  'ratio',
  'abs',
  'log1p',
  'euclidean',
  'haversine_km',
] as const;
export type DerivedOp = (typeof DERIVED_OPS)[number];

/** Number of inputs each derived op takes. */
const DERIVED_ARITY: Record<DerivedOp, number> = {
  difference: 2,
  ratio: 2,
  abs: 1,
  log1p: 1,
  euclidean: 4,
  haversine_km: 4,
};

export interface RangeLimits {
  /** Smallest valid value (inclusive); rows below it are rejected. */
  min?: number;
  /** Largest valid value (inclusive); rows above it are rejected. */
  max?: number;
}

export interface NumericColumnSpec extends RangeLimits {
  name: string;
  /**
   * With a value, a missing cell is replaced by it (the training median, when inferred) and the
   * dense feature `<name>_is_missing` (1 or 0) exists; without one, a missing cell is invalid.
   */
  impute?: number;
}

export interface LabelSpec extends RangeLimits {
  name: string;
  /**
   * categorical: a classifier over `classes` (binary with two, multiclass with more); numeric
   * (the default): a regressor.
   */
  type?: 'numeric' | 'categorical';
  /** The classes of a categorical label, in the order of the model's outputs. */
  classes?: string[];
  /** log1p: the model learns log(1 + y) (for positive, right-skewed targets) and answers in y. */
  transform?: 'log1p';
  /** The model learns (y - mean) / std of the training labels and answers in y. */
  standardize?: boolean;
}

export interface CategoricalColumnSpec {
  name: string;
  vocabulary: string[];
  /**
   * One extra bucket for values outside the vocabulary and for missing cells (as
   * tf.feature_column's num_oov_buckets): not refused. Without it they are invalid.
   */
  oov?: boolean;
}

export const DATE_PARTS = ['year', 'month', 'day', 'dayofweek', 'dayofyear', 'hour'] as const;
export type DatePart = (typeof DATE_PARTS)[number];

/** A date or timestamp column, expanded into numeric features `<name>_<part>`. */
export interface DateColumnSpec {
  name: string;
  parts: DatePart[];
  /** A missing cell sets every part to 0 and the dense feature `<name>_is_missing` to 1. */
  allowMissing?: boolean;
}

/** A numeric feature computed from other numeric features (raw or derived, declared earlier). */
export interface DerivedFeatureSpec extends RangeLimits {
  name: string;
  op: DerivedOp;
  inputs: string[];
}

export interface BucketizedFeatureSpec {
  name: string;
  source: string;
  /** Sorted boundaries; bucket i holds boundaries[i-1] <= v < boundaries[i]. */
  boundaries: number[];
}

/**
 * A piecewise-linear encoding of a numeric feature (Gorishniy et al., "On Embeddings for
 * Numerical Features in Tabular Deep Learning", 2022): with edges e0 < e1 < … < eK it is K dense
 * values, part t being (x − e(t−1)) / (e(t) − e(t−1)) clamped to [0, 1]. A DNN reads a number's
 * shape through it (thresholds, plateaus, non-monotone effects) far more easily than through the
 * normalised number; used in the deep part only.
 */
export interface PiecewiseFeatureSpec {
  name: string;
  source: string;
  /** At least two strictly increasing edges (K + 1 edges give K parts). */
  edges: number[];
}

/** The most parts a piecewise feature may have. */
export const MAX_PIECEWISE_PARTS = 64;

/** The dense features a piecewise feature expands into, in order. */
export const piecewiseParts = (p: PiecewiseFeatureSpec): string[] =>
  Array.from({ length: p.edges.length - 1 }, (_, t) => `${p.name}_${t + 1}`);

export interface CrossFeatureSpec {
  name: string;
  /** Categorical, bucketized or (earlier) cross features. */
  columns: string[];
  /**
   * When the product of the columns' cardinalities exceeds this, ids are hashed into this many
   * buckets; otherwise the cross is exact (no collisions).
   */
  hashBuckets?: number;
}

export interface Hyperparameters {
  batchSize: number;
  /** DNN hidden layer sizes. */
  nnsize: number[];
  /** Embedding dimension of every sparse deep feature. */
  nembeds: number;
  learningRate: number;
  /** Total examples to train on (cycles through the data, like the course's train_examples). */
  trainExamples: number;
  /** Stop when the eval objective has not improved for this many evaluations (keeping the best weights). */
  patience?: number;
  /**
   * Networks trained from different seeds whose outputs are averaged (default 1). Averaging
   * cancels much of one network's seed-to-seed variance, which on small tables is as large as
   * the gap to gradient boosting.
   */
  ensemble?: number;
  /**
   * balanced: a classifier's loss weighs each class by rows / (classes × its rows), so rare
   * classes count as much as common ones (sklearn's class_weight="balanced"). It trades log loss
   * and accuracy for recall of rare classes: for a study tuning f1_macro, not the default.
   */
  classWeights?: 'balanced';
  /**
   * A classifier's cross-entropy against targets pulled this far towards uniform: (1 − ε) on
   * the row's class and ε / classes on each class (tf.losses' labelSmoothing; 0 or unset: none).
   * Kept off the most confident answers, a network overfits its training rows later.
   */
  labelSmoothing?: number;
}

/**
 * Each hyperparameter's `bucketml train` flag (a study's parameterName is the same in
 * snake_case): what the command line reads and what a training's TensorBoard hparams name.
 */
export const HYPERPARAMETER_FLAGS = {
  'batch-size': 'batchSize',
  nnsize: 'nnsize',
  nembeds: 'nembeds',
  'learning-rate': 'learningRate',
  'train-examples': 'trainExamples',
  patience: 'patience',
  ensemble: 'ensemble',
  'class-weights': 'classWeights',
  'label-smoothing': 'labelSmoothing',
} as const satisfies Record<string, keyof Hyperparameters>;

/** The most classes a categorical label may have (one output each). */
export const MAX_CLASSES = 100;

/** What the model predicts: from the label's type and class count. */
export function problemType(spec: Pick<ModelSpec, 'label'>): ProblemType {
  if (spec.label.type !== 'categorical') return 'regression';
  return spec.label.classes!.length === 2 ? 'binary' : 'multiclass';
}

/** The network's outputs: one for regression and binary (a logit), one logit per class else. */
export function outputUnits(spec: Pick<ModelSpec, 'label'>): number {
  return problemType(spec) === 'multiclass' ? spec.label.classes!.length : 1;
}

/** The most networks a model may average (each costs a full training). */
export const MAX_ENSEMBLE = 10;

export interface ModelSpec {
  name: string;
  description?: string;
  /** All CSV columns in file order; optional with `header: true` (columns are matched by name). */
  columns: string[];
  header?: boolean;
  label: LabelSpec;
  /** Passed through to predictions, never a feature. */
  key?: string;
  numeric: NumericColumnSpec[];
  categorical: CategoricalColumnSpec[];
  dates: DateColumnSpec[];
  derived: DerivedFeatureSpec[];
  bucketized: BucketizedFeatureSpec[];
  /** Piecewise-linear encodings of numeric features (deep only); optional, default none. */
  piecewise: PiecewiseFeatureSpec[];
  crosses: CrossFeatureSpec[];
  /** Sparse features (categorical, bucketized, cross) in the linear part. */
  wide: string[];
  /**
   * Numeric/derived features (normalised), piecewise encodings and sparse features (embedded in
   * `nembeds` dims) in the DNN.
   */
  deep: string[];
  /** Defaults for this model; flags override them. */
  hyperparameters: Hyperparameters;
  /** How the spec was inferred and the training data's statistics (inferred specs only). */
  inferred?: InferenceRecord;
  /** Data validation of each drop against the serving model's data. */
  validation?: ValidationSpec;
}

/**
 * Per column the spec reads: the drift threshold (L-infinity for categories, Jensen-Shannon for
 * numbers; default 0.1) and whether a drift past it fails the run (default: a WARNING only).
 */
export interface ValidationSpec {
  features: Record<string, { threshold?: number; blocking?: boolean }>;
}

/** Per-column statistics of the data a spec was inferred from (kept with the run and the model). */
export interface ColumnStatistics {
  name: string;
  /** What inference made of the column. */
  role: 'label' | 'key' | 'numeric' | 'categorical' | 'date' | 'dropped';
  reason?: string;
  count: number;
  missing: number;
  missingRate: number;
  distinct: number;
  min?: number;
  max?: number;
  mean?: number;
  std?: number;
  /** Deciles (0, 10, …, 100th percentile) of numeric values. */
  quantiles?: number[];
  /**
   * The share of the values in each bin between distinct deciles (ties merge bins), when the
   * sample was kept to count them: drift compares against these, not an assumed 1/10 each.
   */
  decileShares?: number[];
  /** The most frequent values and their counts (categorical and dropped string columns). */
  topValues?: [string, number][];
}

export interface InferenceRecord {
  rows: number;
  files: string[];
  columns: ColumnStatistics[];
  notes: string[];
}

export const DEFAULT_HYPERPARAMETERS: Hyperparameters = {
  batchSize: 512,
  nnsize: [64, 32],
  nembeds: 3,
  learningRate: 0.01,
  trainExamples: 100_000,
};

export class SpecError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid model spec:\n  - ${problems.join('\n  - ')}`);
    this.name = 'SpecError';
  }
}

type Json = Record<string, unknown>;

/**
 * Validates an untrusted spec object (e.g. a user's schema.json) and returns a normalised spec.
 * Every problem found is reported, each naming the field at fault.
 */
export function parseSpec(input: unknown): ModelSpec {
  const problems: string[] = [];
  const fail = (msg: string) => problems.push(msg);
  if (!isObject(input)) throw new SpecError(['spec must be a JSON object']);
  knownFields(input, SPEC_FIELDS, '', fail);

  const name = str(input, 'name', fail);
  const header = input.header === true;
  const columns = header && input.columns === undefined ? [] : strList(input, 'columns', fail);
  const label = labelSpec(input.label, fail);
  const numeric = list(input, 'numeric', fail).map((c, i) => {
    const col = rangeColumn(c, `numeric[${i}]`, fail, ['impute']);
    const impute = isObject(c) ? c.impute : undefined;
    if (impute !== undefined) {
      if (typeof impute !== 'number' || !Number.isFinite(impute))
        fail(`numeric[${i}].impute must be a finite number`);
      else col.impute = impute;
    }
    return col;
  });
  const categorical = list(input, 'categorical', fail).map((c, i) => {
    const at = `categorical[${i}]`;
    if (!isObject(c)) return (fail(`${at} must be an object`), { name: '', vocabulary: [] });
    knownFields(c, ['name', 'vocabulary', 'oov'], at, fail);
    const vocabulary = strList(c, 'vocabulary', fail, at);
    if (vocabulary.length === 0) fail(`${at}.vocabulary must list at least one value`);
    if (new Set(vocabulary).size !== vocabulary.length)
      fail(`${at}.vocabulary has duplicate values`);
    const col: CategoricalColumnSpec = { name: str(c, 'name', fail, at), vocabulary };
    if (c.oov !== undefined) {
      if (typeof c.oov !== 'boolean') fail(`${at}.oov must be true or false`);
      else if (c.oov) col.oov = true;
    }
    return col;
  });
  const dates = list(input, 'dates', fail).map((d, i) => {
    const at = `dates[${i}]`;
    if (!isObject(d)) return (fail(`${at} must be an object`), { name: '', parts: [] });
    knownFields(d, ['name', 'parts', 'allowMissing'], at, fail);
    const parts = d.parts === undefined ? [...DATE_PARTS] : strList(d, 'parts', fail, at);
    for (const p of parts)
      if (!DATE_PARTS.includes(p as DatePart))
        fail(`${at}.parts: ${JSON.stringify(p)} is not one of ${DATE_PARTS.join(', ')}`);
    const col: DateColumnSpec = { name: str(d, 'name', fail, at), parts: parts as DatePart[] };
    if (d.allowMissing === true) col.allowMissing = true;
    return col;
  });
  const derived = list(input, 'derived', fail).map((d, i) => {
    const at = `derived[${i}]`;
    if (!isObject(d))
      return (fail(`${at} must be an object`), { name: '', op: 'abs' as DerivedOp, inputs: [] });
    const op = d.op as DerivedOp;
    if (!DERIVED_OPS.includes(op))
      fail(`${at}.op must be one of ${DERIVED_OPS.join(', ')} (got ${JSON.stringify(d.op)})`);
    const inputs = strList(d, 'inputs', fail, at);
    if (DERIVED_OPS.includes(op) && inputs.length !== DERIVED_ARITY[op]) {
      fail(`${at}.inputs: ${op} takes ${DERIVED_ARITY[op]} inputs, got ${inputs.length}`);
    }
    return { ...rangeColumn(d, at, fail, ['op', 'inputs']), op, inputs };
  });
  const bucketized = list(input, 'bucketized', fail).map((b, i) => {
    const at = `bucketized[${i}]`;
    if (!isObject(b))
      return (fail(`${at} must be an object`), { name: '', source: '', boundaries: [] });
    knownFields(b, ['name', 'source', 'boundaries'], at, fail);
    return {
      name: str(b, 'name', fail, at),
      source: str(b, 'source', fail, at),
      boundaries: boundaries(b.boundaries, `${at}.boundaries`, fail),
    };
  });
  const piecewise = list(input, 'piecewise', fail).map((p, i) => {
    const at = `piecewise[${i}]`;
    if (!isObject(p)) return (fail(`${at} must be an object`), { name: '', source: '', edges: [] });
    knownFields(p, ['name', 'source', 'edges'], at, fail);
    const edges = Array.isArray(p.edges) ? p.edges : [];
    const increasing = edges.every(
      (e, k) => typeof e === 'number' && Number.isFinite(e) && (k === 0 || e > edges[k - 1]),
    );
    if (!increasing || edges.length < 2 || edges.length > MAX_PIECEWISE_PARTS + 1)
      fail(
        `${at}.edges must be 2 to ${MAX_PIECEWISE_PARTS + 1} strictly increasing finite numbers`,
      );
    return {
      name: str(p, 'name', fail, at),
      source: str(p, 'source', fail, at),
      edges: edges as number[],
    };
  });
  const crosses = list(input, 'crosses', fail).map((c, i) => {
    const at = `crosses[${i}]`;
    if (!isObject(c)) return (fail(`${at} must be an object`), { name: '', columns: [] });
    knownFields(c, ['name', 'columns', 'hashBuckets'], at, fail);
    const cols = strList(c, 'columns', fail, at);
    if (cols.length < 2) fail(`${at}.columns must name at least two features`);
    const cross: CrossFeatureSpec = { name: str(c, 'name', fail, at), columns: cols };
    if (c.hashBuckets !== undefined) {
      if (!isPositiveInt(c.hashBuckets)) fail(`${at}.hashBuckets must be a positive integer`);
      else cross.hashBuckets = c.hashBuckets;
    }
    return cross;
  });
  const wide = strList(input, 'wide', fail, '', true);
  const deep = strList(input, 'deep', fail, '', true);
  const hyperparameters = parseHyperparameters(input.hyperparameters ?? {}, fail);

  const spec: ModelSpec = {
    name,
    columns,
    header,
    label,
    numeric,
    categorical,
    dates,
    derived,
    bucketized,
    piecewise,
    crosses,
    wide,
    deep,
    hyperparameters,
  };
  if (typeof input.description === 'string') spec.description = input.description;
  if (input.key !== undefined) spec.key = str(input, 'key', fail);
  // Statistics are a record, not configuration: kept as given (inference wrote them).
  if (isObject(input.inferred)) spec.inferred = input.inferred as unknown as InferenceRecord;
  if (input.validation !== undefined) spec.validation = parseValidation(input.validation, fail);
  if (problems.length === 0) checkReferences(spec, fail);
  if (problems.length > 0) throw new SpecError(problems);
  return spec;
}

function parseValidation(v: unknown, fail: (m: string) => void): ValidationSpec {
  const features: ValidationSpec['features'] = {};
  if (!isObject(v) || !isObject(v.features)) {
    fail('validation must be {"features": {"<column>": {"threshold": 0.1, "blocking": true}}}');
    return { features };
  }
  knownFields(v, ['features'], 'validation', fail);
  for (const [name, f] of Object.entries(v.features)) {
    const at = `validation.features.${name}`;
    if (!isObject(f)) {
      fail(`${at} must be an object`);
      continue;
    }
    knownFields(f, ['threshold', 'blocking'], at, fail);
    const rule: ValidationSpec['features'][string] = {};
    if (f.threshold !== undefined) {
      if (typeof f.threshold !== 'number' || !(f.threshold > 0 && f.threshold <= 1))
        fail(`${at}.threshold must be a number in (0, 1]`);
      else rule.threshold = f.threshold;
    }
    if (f.blocking !== undefined) {
      if (typeof f.blocking !== 'boolean') fail(`${at}.blocking must be true or false`);
      else rule.blocking = f.blocking;
    }
    features[name] = rule;
  }
  return { features };
}

/** Cross-field checks: names unique, every reference resolves to a feature of the right kind. */
function checkReferences(spec: ModelSpec, fail: (m: string) => void): void {
  const columnSet = new Set(spec.columns);
  if (columnSet.size !== spec.columns.length) fail('columns has duplicate names');
  const rawInputs = rawColumns(spec);
  const seen = new Set<string>();
  for (const n of rawInputs) {
    if (seen.has(n))
      fail(
        `column "${n}" is used twice (label, key, numeric, categorical and dates name distinct columns)`,
      );
    seen.add(n);
  }
  // With a header, columns are found by name: `columns` (when given) need not list them all.
  if (!spec.header || spec.columns.length > 0)
    for (const n of rawInputs)
      if (!columnSet.has(n)) fail(`"${n}" is used but not listed in columns`);

  // vector: a piecewise feature (deep only); part: one of its dense values (not referable).
  const kinds = new Map<string, 'numeric' | 'sparse' | 'vector' | 'part'>();
  const declare = (n: string, kind: 'numeric' | 'sparse' | 'vector' | 'part', at: string) => {
    if (kinds.has(n) || n === spec.label.name || n === spec.key)
      fail(`${at}: the name "${n}" is already used`);
    kinds.set(n, kind);
  };
  spec.numeric.forEach((c, i) => {
    declare(c.name, 'numeric', `numeric[${i}]`);
    if (c.impute !== undefined) declare(missingIndicator(c.name), 'numeric', `numeric[${i}]`);
  });
  spec.categorical.forEach((c, i) => declare(c.name, 'sparse', `categorical[${i}]`));
  spec.dates.forEach((d, i) => {
    for (const p of d.parts) declare(datePartName(d.name, p), 'numeric', `dates[${i}]`);
    if (d.allowMissing) declare(missingIndicator(d.name), 'numeric', `dates[${i}]`);
  });
  spec.derived.forEach((d, i) => {
    for (const input of d.inputs) {
      if (kinds.get(input) !== 'numeric')
        fail(`derived[${i}].inputs: "${input}" is not a numeric feature declared before it`);
    }
    declare(d.name, 'numeric', `derived[${i}]`);
  });
  spec.bucketized.forEach((b, i) => {
    if (kinds.get(b.source) !== 'numeric')
      fail(`bucketized[${i}].source: "${b.source}" is not a numeric feature`);
    declare(b.name, 'sparse', `bucketized[${i}]`);
  });
  spec.piecewise.forEach((p, i) => {
    if (kinds.get(p.source) !== 'numeric')
      fail(`piecewise[${i}].source: "${p.source}" is not a numeric feature`);
    declare(p.name, 'vector', `piecewise[${i}]`);
    for (const part of piecewiseParts(p)) declare(part, 'part', `piecewise[${i}]`);
  });
  spec.crosses.forEach((c, i) => {
    for (const col of c.columns) {
      if (kinds.get(col) !== 'sparse')
        fail(
          `crosses[${i}].columns: "${col}" is not a categorical, bucketized or earlier cross feature`,
        );
    }
    declare(c.name, 'sparse', `crosses[${i}]`);
  });
  spec.wide.forEach((w, i) => {
    if (kinds.get(w) !== 'sparse')
      fail(`wide[${i}]: "${w}" is not a categorical, bucketized or cross feature`);
  });
  spec.deep.forEach((d, i) => {
    if (!kinds.has(d) || kinds.get(d) === 'part')
      fail(`deep[${i}]: "${d}" is not a declared feature`);
  });
  if (spec.deep.length === 0) fail('deep must list at least one feature');
  for (const name of Object.keys(spec.validation?.features ?? {}))
    if (!rawInputs.includes(name))
      fail(`validation.features: "${name}" is not a column the model reads`);
}

export function parseHyperparameters(
  input: unknown,
  fail: (m: string) => void,
  base = DEFAULT_HYPERPARAMETERS,
): Hyperparameters {
  const hp = { ...base, nnsize: [...base.nnsize] };
  if (!isObject(input)) {
    fail('hyperparameters must be an object');
    return hp;
  }
  for (const [k, v] of Object.entries(input)) {
    switch (k) {
      case 'batchSize':
      case 'nembeds':
      case 'trainExamples':
        if (!isPositiveInt(v)) fail(`hyperparameters.${k} must be a positive integer`);
        else hp[k] = v;
        break;
      case 'patience':
        if (!isPositiveInt(v)) fail(`hyperparameters.${k} must be a positive integer`);
        else hp.patience = v;
        break;
      case 'ensemble':
        if (!isPositiveInt(v) || v > MAX_ENSEMBLE)
          fail(`hyperparameters.ensemble must be an integer from 1 to ${MAX_ENSEMBLE}`);
        else hp.ensemble = v;
        break;
      case 'classWeights':
        if (v === 'none') delete hp.classWeights;
        else if (v === 'balanced') hp.classWeights = v;
        else
          fail(
            `hyperparameters.classWeights must be "balanced" or "none" (got ${JSON.stringify(v)})`,
          );
        break;
      case 'labelSmoothing':
        if (typeof v !== 'number' || !(v >= 0 && v < 1))
          fail('hyperparameters.labelSmoothing must be a number from 0 up to (not including) 1');
        else if (v === 0) delete hp.labelSmoothing;
        else hp.labelSmoothing = v;
        break;
      case 'learningRate':
        if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v))
          fail('hyperparameters.learningRate must be a positive number');
        else hp.learningRate = v;
        break;
      case 'nnsize':
        if (!Array.isArray(v) || !v.every(isPositiveInt))
          fail('hyperparameters.nnsize must be a list of positive integers');
        else hp.nnsize = v as number[];
        break;
      default:
        fail(unknownField(`hyperparameters.${k}`, k, HYPERPARAMETER_FIELDS));
    }
  }
  return hp;
}

/** Cardinality of each sparse feature, in declaration order (needed by encoders and networks). */
export function sparseCardinalities(spec: ModelSpec): Map<string, number> {
  const card = new Map<string, number>();
  for (const c of spec.categorical) card.set(c.name, c.vocabulary.length + (c.oov ? 1 : 0));
  for (const b of spec.bucketized) card.set(b.name, b.boundaries.length + 1);
  for (const c of spec.crosses) card.set(c.name, crossCardinality(c, card));
  return card;
}

export function crossCardinality(cross: CrossFeatureSpec, card: Map<string, number>): number {
  const product = cross.columns.reduce((p, c) => p * (card.get(c) ?? 1), 1);
  return cross.hashBuckets !== undefined && product > cross.hashBuckets
    ? cross.hashBuckets
    : product;
}

function boundaries(v: unknown, at: string, fail: (m: string) => void): number[] {
  let out: number[];
  if (isObject(v)) {
    // {start, stop, step}: like numpy.arange(start, stop, step), as the course writes them.
    const { start, stop, step } = v;
    if (
      typeof start !== 'number' ||
      typeof stop !== 'number' ||
      typeof step !== 'number' ||
      !(step > 0)
    ) {
      fail(`${at} must be a sorted number list or {start, stop, step} with step > 0`);
      return [];
    }
    out = [];
    for (let i = 0; start + i * step < stop - 1e-9; i++) out.push(+(start + i * step).toFixed(10));
  } else if (Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    out = v as number[];
  } else {
    fail(`${at} must be a sorted number list or {start, stop, step}`);
    return [];
  }
  if (out.length === 0) fail(`${at} is empty`);
  for (let i = 1; i < out.length; i++) {
    if (!(out[i] > out[i - 1])) {
      fail(`${at} must be strictly increasing`);
      break;
    }
  }
  return out;
}

/** The raw CSV columns a spec reads (label, key, features), in a stable order. */
export function rawColumns(spec: ModelSpec): string[] {
  return [
    spec.label.name,
    ...(spec.key ? [spec.key] : []),
    ...spec.numeric.map((c) => c.name),
    ...spec.categorical.map((c) => c.name),
    ...spec.dates.map((d) => d.name),
  ];
}

/** The dense 0/1 feature that says a numeric or date column's cell was missing. */
export const missingIndicator = (column: string) => `${column}_is_missing`;
export const datePartName = (column: string, part: DatePart) => `${column}_${part}`;

const SPEC_FIELDS = [
  'name',
  'description',
  'columns',
  'header',
  'label',
  'key',
  'numeric',
  'categorical',
  'dates',
  'derived',
  'bucketized',
  'piecewise',
  'crosses',
  'wide',
  'deep',
  'hyperparameters',
  'inferred',
  'validation',
];
const HYPERPARAMETER_FIELDS = [
  'batchSize',
  'nnsize',
  'nembeds',
  'learningRate',
  'trainExamples',
  'patience',
  'ensemble',
  'classWeights',
  'labelSmoothing',
];

/** Reports every field of `o` not in `allowed`, with the closest allowed name as a suggestion. */
function knownFields(o: Json, allowed: string[], at: string, fail: (m: string) => void): void {
  for (const k of Object.keys(o))
    if (!allowed.includes(k)) fail(unknownField(at ? `${at}.${k}` : k, k, allowed));
}

function unknownField(path: string, key: string, allowed: string[]): string {
  const best = allowed
    .map((a) => [a, editDistance(a.toLowerCase(), key.toLowerCase())] as const)
    .sort((a, b) => a[1] - b[1])[0];
  const hint =
    best && best[1] <= Math.max(2, Math.floor(key.length / 3))
      ? ` — did you mean ${best[0]}?`
      : ` (known fields: ${allowed.join(', ')})`;
  return `unknown field ${path}${hint}`;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++)
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}

function labelSpec(v: unknown, fail: (m: string) => void): LabelSpec {
  const label: LabelSpec = rangeColumn(v, 'label', fail, [
    'transform',
    'standardize',
    'type',
    'classes',
  ]);
  if (!isObject(v)) return label;
  if (v.type !== undefined && v.type !== 'numeric' && v.type !== 'categorical')
    fail(`label.type must be "numeric" or "categorical" (got ${JSON.stringify(v.type)})`);
  if (v.type === 'categorical') {
    label.type = 'categorical';
    const classes = v.classes;
    if (
      !Array.isArray(classes) ||
      classes.length < 2 ||
      !classes.every((c) => typeof c === 'string' && c.trim() !== '' && c.trim() === c)
    )
      fail(
        'label.classes must list at least two class names, without leading or trailing spaces (a categorical label)',
      );
    else if (new Set(classes).size !== classes.length) fail('label.classes has duplicate names');
    else if (classes.length > MAX_CLASSES)
      fail(`label.classes lists ${classes.length} classes; at most ${MAX_CLASSES} are supported`);
    else label.classes = classes as string[];
    for (const f of ['transform', 'standardize', 'min', 'max'] as const)
      if (v[f] !== undefined) fail(`label.${f} applies to a numeric label, not a categorical one`);
    return label;
  }
  if (v.classes !== undefined) fail('label.classes needs "type": "categorical"');
  if (v.transform !== undefined) {
    if (v.transform !== 'log1p')
      fail(`label.transform must be "log1p" (got ${JSON.stringify(v.transform)})`);
    else label.transform = 'log1p';
  }
  if (v.standardize !== undefined) {
    if (typeof v.standardize !== 'boolean') fail('label.standardize must be true or false');
    else if (v.standardize) label.standardize = true;
  }
  return label;
}

function rangeColumn(
  v: unknown,
  at: string,
  fail: (m: string) => void,
  extraFields: string[] = [],
): NumericColumnSpec {
  if (!isObject(v)) {
    fail(`${at} must be an object with a name`);
    return { name: '' };
  }
  knownFields(v, ['name', 'min', 'max', ...extraFields], at, fail);
  const col: NumericColumnSpec = { name: str(v, 'name', fail, at) };
  for (const k of ['min', 'max'] as const) {
    if (v[k] === undefined) continue;
    if (typeof v[k] !== 'number' || !Number.isFinite(v[k]))
      fail(`${at}.${k} must be a finite number`);
    else col[k] = v[k] as number;
  }
  if (col.min !== undefined && col.max !== undefined && col.min > col.max)
    fail(`${at}: min (${col.min}) > max (${col.max})`);
  return col;
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isPositiveInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v > 0;
}

function str(o: Json, key: string, fail: (m: string) => void, at = ''): string {
  const v = o[key];
  if (typeof v !== 'string' || v.length === 0) {
    fail(`${at ? at + '.' : ''}${key} must be a non-empty string`);
    return '';
  }
  return v;
}

function list(o: Json, key: string, fail: (m: string) => void): unknown[] {
  const v = o[key];
  if (v === undefined) return [];
  if (!Array.isArray(v)) {
    fail(`${key} must be a list`);
    return [];
  }
  return v;
}

function strList(
  o: Json,
  key: string,
  fail: (m: string) => void,
  at = '',
  optional = false,
): string[] {
  const v = o[key];
  const where = `${at ? at + '.' : ''}${key}`;
  if (v === undefined && optional) return [];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string' && x.length > 0)) {
    fail(`${where} must be a list of non-empty strings`);
    return [];
  }
  return v as string[];
}
