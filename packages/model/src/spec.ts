/**
 * The declarative tabular model spec: which CSV columns exist, which one is the label, and how
 * raw values become wide (linear) and deep (DNN) features. Built-in models and user-supplied
 * `schema.json` files are both this shape; `parseSpec` is the one gate every spec passes.
 */

export const DERIVED_OPS = ['difference', 'ratio', 'abs', 'log1p', 'euclidean', 'haversine_km'] as const;
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
}

export interface CategoricalColumnSpec {
  name: string;
  vocabulary: string[];
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
}

export interface ModelSpec {
  name: string;
  description?: string;
  /** All CSV columns in file order; with `header: true` they are matched by name instead. */
  columns: string[];
  header?: boolean;
  label: NumericColumnSpec;
  /** Passed through to predictions, never a feature. */
  key?: string;
  numeric: NumericColumnSpec[];
  categorical: CategoricalColumnSpec[];
  derived: DerivedFeatureSpec[];
  bucketized: BucketizedFeatureSpec[];
  crosses: CrossFeatureSpec[];
  /** Sparse features (categorical, bucketized, cross) in the linear part. */
  wide: string[];
  /** Numeric/derived features (normalised) and sparse features (embedded in `nembeds` dims) in the DNN. */
  deep: string[];
  /** Defaults for this model; flags override them. */
  hyperparameters: Hyperparameters;
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

  const name = str(input, 'name', fail);
  const columns = strList(input, 'columns', fail);
  const label = rangeColumn(input.label, 'label', fail);
  const numeric = list(input, 'numeric', fail).map((c, i) => rangeColumn(c, `numeric[${i}]`, fail));
  const categorical = list(input, 'categorical', fail).map((c, i) => {
    const at = `categorical[${i}]`;
    if (!isObject(c)) return fail(`${at} must be an object`), { name: '', vocabulary: [] };
    const vocabulary = strList(c, 'vocabulary', fail, at);
    if (vocabulary.length === 0) fail(`${at}.vocabulary must list at least one value`);
    if (new Set(vocabulary).size !== vocabulary.length) fail(`${at}.vocabulary has duplicate values`);
    return { name: str(c, 'name', fail, at), vocabulary };
  });
  const derived = list(input, 'derived', fail).map((d, i) => {
    const at = `derived[${i}]`;
    if (!isObject(d)) return fail(`${at} must be an object`), { name: '', op: 'abs' as DerivedOp, inputs: [] };
    const op = d.op as DerivedOp;
    if (!DERIVED_OPS.includes(op)) fail(`${at}.op must be one of ${DERIVED_OPS.join(', ')} (got ${JSON.stringify(d.op)})`);
    const inputs = strList(d, 'inputs', fail, at);
    if (DERIVED_OPS.includes(op) && inputs.length !== DERIVED_ARITY[op]) {
      fail(`${at}.inputs: ${op} takes ${DERIVED_ARITY[op]} inputs, got ${inputs.length}`);
    }
    return { ...rangeColumn(d, at, fail), op, inputs };
  });
  const bucketized = list(input, 'bucketized', fail).map((b, i) => {
    const at = `bucketized[${i}]`;
    if (!isObject(b)) return fail(`${at} must be an object`), { name: '', source: '', boundaries: [] };
    return { name: str(b, 'name', fail, at), source: str(b, 'source', fail, at), boundaries: boundaries(b.boundaries, `${at}.boundaries`, fail) };
  });
  const crosses = list(input, 'crosses', fail).map((c, i) => {
    const at = `crosses[${i}]`;
    if (!isObject(c)) return fail(`${at} must be an object`), { name: '', columns: [] };
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
    header: input.header === true,
    label,
    numeric,
    categorical,
    derived,
    bucketized,
    crosses,
    wide,
    deep,
    hyperparameters,
  };
  if (typeof input.description === 'string') spec.description = input.description;
  if (input.key !== undefined) spec.key = str(input, 'key', fail);
  if (problems.length === 0) checkReferences(spec, fail);
  if (problems.length > 0) throw new SpecError(problems);
  return spec;
}

/** Cross-field checks: names unique, every reference resolves to a feature of the right kind. */
function checkReferences(spec: ModelSpec, fail: (m: string) => void): void {
  const columnSet = new Set(spec.columns);
  if (columnSet.size !== spec.columns.length) fail('columns has duplicate names');
  const rawInputs = [spec.label.name, ...spec.numeric.map((c) => c.name), ...spec.categorical.map((c) => c.name)];
  if (spec.key) rawInputs.push(spec.key);
  for (const n of rawInputs) if (!columnSet.has(n)) fail(`"${n}" is used but not listed in columns`);

  const kinds = new Map<string, 'numeric' | 'sparse'>();
  const declare = (n: string, kind: 'numeric' | 'sparse', at: string) => {
    if (kinds.has(n) || n === spec.label.name || n === spec.key) fail(`${at}: the name "${n}" is already used`);
    kinds.set(n, kind);
  };
  spec.numeric.forEach((c, i) => declare(c.name, 'numeric', `numeric[${i}]`));
  spec.categorical.forEach((c, i) => declare(c.name, 'sparse', `categorical[${i}]`));
  spec.derived.forEach((d, i) => {
    for (const input of d.inputs) {
      if (kinds.get(input) !== 'numeric') fail(`derived[${i}].inputs: "${input}" is not a numeric feature declared before it`);
    }
    declare(d.name, 'numeric', `derived[${i}]`);
  });
  spec.bucketized.forEach((b, i) => {
    if (kinds.get(b.source) !== 'numeric') fail(`bucketized[${i}].source: "${b.source}" is not a numeric feature`);
    declare(b.name, 'sparse', `bucketized[${i}]`);
  });
  spec.crosses.forEach((c, i) => {
    for (const col of c.columns) {
      if (kinds.get(col) !== 'sparse') fail(`crosses[${i}].columns: "${col}" is not a categorical, bucketized or earlier cross feature`);
    }
    declare(c.name, 'sparse', `crosses[${i}]`);
  });
  spec.wide.forEach((w, i) => {
    if (kinds.get(w) !== 'sparse') fail(`wide[${i}]: "${w}" is not a categorical, bucketized or cross feature`);
  });
  spec.deep.forEach((d, i) => {
    if (!kinds.has(d)) fail(`deep[${i}]: "${d}" is not a declared feature`);
  });
  if (spec.deep.length === 0) fail('deep must list at least one feature');
}

export function parseHyperparameters(input: unknown, fail: (m: string) => void, base = DEFAULT_HYPERPARAMETERS): Hyperparameters {
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
      case 'learningRate':
        if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) fail('hyperparameters.learningRate must be a positive number');
        else hp.learningRate = v;
        break;
      case 'nnsize':
        if (!Array.isArray(v) || !v.every(isPositiveInt)) fail('hyperparameters.nnsize must be a list of positive integers');
        else hp.nnsize = v as number[];
        break;
      default:
        fail(`hyperparameters.${k} is not a hyperparameter (batchSize, nnsize, nembeds, learningRate, trainExamples)`);
    }
  }
  return hp;
}

/** Cardinality of each sparse feature, in declaration order (needed by encoders and networks). */
export function sparseCardinalities(spec: ModelSpec): Map<string, number> {
  const card = new Map<string, number>();
  for (const c of spec.categorical) card.set(c.name, c.vocabulary.length);
  for (const b of spec.bucketized) card.set(b.name, b.boundaries.length + 1);
  for (const c of spec.crosses) card.set(c.name, crossCardinality(c, card));
  return card;
}

export function crossCardinality(cross: CrossFeatureSpec, card: Map<string, number>): number {
  const product = cross.columns.reduce((p, c) => p * (card.get(c) ?? 1), 1);
  return cross.hashBuckets !== undefined && product > cross.hashBuckets ? cross.hashBuckets : product;
}

function boundaries(v: unknown, at: string, fail: (m: string) => void): number[] {
  let out: number[];
  if (isObject(v)) {
    // {start, stop, step}: like numpy.arange(start, stop, step), as the course writes them.
    const { start, stop, step } = v;
    if (typeof start !== 'number' || typeof stop !== 'number' || typeof step !== 'number' || !(step > 0)) {
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

function rangeColumn(v: unknown, at: string, fail: (m: string) => void): NumericColumnSpec {
  if (!isObject(v)) {
    fail(`${at} must be an object with a name`);
    return { name: '' };
  }
  const col: NumericColumnSpec = { name: str(v, 'name', fail, at) };
  for (const k of ['min', 'max'] as const) {
    if (v[k] === undefined) continue;
    if (typeof v[k] !== 'number' || !Number.isFinite(v[k])) fail(`${at}.${k} must be a finite number`);
    else col[k] = v[k] as number;
  }
  if (col.min !== undefined && col.max !== undefined && col.min > col.max) fail(`${at}: min (${col.min}) > max (${col.max})`);
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

function strList(o: Json, key: string, fail: (m: string) => void, at = '', optional = false): string[] {
  const v = o[key];
  const where = `${at ? at + '.' : ''}${key}`;
  if (v === undefined && optional) return [];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string' && x.length > 0)) {
    fail(`${where} must be a list of non-empty strings`);
    return [];
  }
  return v as string[];
}
