/**
 * @module features
 * Turns raw values (CSV strings or JSON values) into model inputs, identically for training and
 * serving:
 * - dense: numeric/derived deep features (raw here; normalised with the training statistics),
 *   a piecewise feature as its parts,
 * - wide: one id per wide sparse feature, offset into one shared linear table,
 * - embed: one id per deep sparse feature, offset into one shared embedding table.
 * The spec is compiled once into slot-indexed steps so encoding a row allocates nothing.
 * Missing numeric cells are imputed (with an indicator) where the spec says so; values outside a
 * vocabulary go to its OOV bucket where it has one.
 */
import { parseDate } from './dates.js';
import {
  datePartName,
  missingIndicator,
  piecewiseParts,
  sparseCardinalities,
  type DerivedOp,
  type ModelSpec,
  type RangeLimits,
} from './spec.js';

export interface SparseSlot {
  name: string;
  cardinality: number;
  /** First row of this feature in the shared table. */
  offset: number;
}

export interface FeatureLayout {
  dense: string[];
  wide: SparseSlot[];
  wideTableSize: number;
  embed: SparseSlot[];
  embedTableSize: number;
}

/** Where encoded rows go: row r occupies [r*width, (r+1)*width) of each array. */
export interface EncodedRows {
  dense: Float32Array;
  wide: Int32Array;
  embed: Int32Array;
}

/** Reads one raw value by column name; undefined when absent. */
export type ValueReader = (name: string) => unknown;

/**
 * One row's raw cells by the index of the encoder's input column (`FeatureEncoder.inputs`): a
 * CSV record's fields or a JSON instance's values. Encoding reads through it, so one compiled
 * encoder serves both, and a CSV reader needs no string for a number.
 */
export interface RowCells {
  /** The raw value (a CSV field's text, a JSON value); undefined when absent. */
  value(input: number): unknown;
  /** Whether the cell is missing: absent, null, or an empty or white-space string. */
  missing(input: number): boolean;
  /**
   * The id `vocabulary` gives the cell (a string, trimmed; a number or boolean as its text), or
   * -1 when none does (absent, missing, another type, not in it).
   */
  categoryId(input: number, vocabulary: ReadonlyMap<string, number>): number;
  /**
   * Writes the cell's number to out[at] and returns true when it is quick to tell (a plain CSV
   * decimal, a finite JSON number); false leaves the parsing to the caller.
   */
  numberInto(input: number, out: Float64Array, at: number): boolean;
}

type Step = (values: Float64Array, cells: RowCells) => string | null;

/** A JSON instance's (or any named reader's) values as RowCells. */
class NamedCells implements RowCells {
  read: ValueReader = () => undefined;
  constructor(private readonly names: string[]) {}
  value(input: number): unknown {
    return this.read(this.names[input]);
  }
  categoryId(input: number, vocabulary: ReadonlyMap<string, number>): number {
    const raw = this.read(this.names[input]);
    if (typeof raw === 'string') return vocabulary.get(raw.trim()) ?? -1;
    if (typeof raw === 'number' || typeof raw === 'boolean')
      return vocabulary.get(String(raw)) ?? -1;
    return -1;
  }
  missing(input: number): boolean {
    return isMissing(this.read(this.names[input]));
  }
  numberInto(input: number, out: Float64Array, at: number): boolean {
    const raw = this.read(this.names[input]);
    if (typeof raw !== 'number' || !Number.isFinite(raw)) return false;
    out[at] = raw;
    return true;
  }
}

export function featureLayout(spec: ModelSpec): FeatureLayout {
  const card = sparseCardinalities(spec);
  const slots = (names: string[]) => {
    let offset = 0;
    const out = names.map((name) => {
      const slot = { name, cardinality: card.get(name)!, offset };
      offset += slot.cardinality;
      return slot;
    });
    return { slots: out, size: offset };
  };
  const wide = slots(spec.wide);
  const embed = slots(spec.deep.filter((n) => card.has(n)));
  const parts = new Map(spec.piecewise.map((p) => [p.name, piecewiseParts(p)]));
  return {
    dense: spec.deep.filter((n) => !card.has(n)).flatMap((n) => parts.get(n) ?? [n]),
    wide: wide.slots,
    wideTableSize: wide.size,
    embed: embed.slots,
    embedTableSize: embed.size,
  };
}

export class FeatureEncoder {
  readonly layout: FeatureLayout;
  private readonly steps: Step[] = [];
  /** The steps in order, up to the first that finds the row invalid, then the row written. */
  private readonly encodeRow: CompiledEncoder;
  private readonly slot = new Map<string, number>();
  private readonly values: Float64Array;
  /** The label `readLabel` read last (a double kept in an array: returned, it is allocated). */
  readonly labelValue = new Float64Array(1);
  /** A categorical label's class indices. */
  private readonly classIds?: Map<string, number>;
  /** The raw columns encoding reads, in the order RowCells indexes them. */
  readonly inputs: string[] = [];
  /** The label's and the key's input index (the key: -1 when the spec has none). */
  readonly labelInput: number;
  readonly keyInput: number;
  private readonly named: NamedCells;
  private readonly labelMin: number;
  private readonly labelMax: number;

  constructor(readonly spec: ModelSpec) {
    this.layout = featureLayout(spec);
    if (spec.label.classes) this.classIds = vocabularyIds(spec.label.classes);
    const card = sparseCardinalities(spec);
    const slotOf = (name: string) => {
      if (!this.slot.has(name)) this.slot.set(name, this.slot.size);
      return this.slot.get(name)!;
    };
    const inputOf = (name: string) => {
      const at = this.inputs.indexOf(name);
      return at >= 0 ? at : this.inputs.push(name) - 1;
    };
    this.labelInput = inputOf(spec.label.name);
    this.keyInput = spec.key !== undefined ? inputOf(spec.key) : -1;
    [this.labelMin, this.labelMax] = limitsOf(spec.label);

    for (const col of spec.numeric) {
      const s = slotOf(col.name);
      const impute = col.impute;
      const m = impute !== undefined ? slotOf(missingIndicator(col.name)) : -1;
      const k = inputOf(col.name);
      const [lo, hi] = limitsOf(col);
      this.steps.push((v, cells) => {
        if (impute !== undefined) {
          v[m] = 0;
          if (cells.missing(k)) {
            v[s] = impute;
            v[m] = 1;
            return null;
          }
        }
        if (!cells.numberInto(k, v, s)) {
          const parsed = parseNumber(cells.value(k), col.name);
          if (typeof parsed === 'string') return parsed;
          v[s] = parsed;
        }
        const x = v[s];
        return x < lo || x > hi ? outOfRange(x, col, col.name) : null;
      });
    }
    for (const col of spec.categorical) {
      const s = slotOf(col.name);
      const ids = vocabularyIds(col.vocabulary);
      const oov = col.oov ? col.vocabulary.length : -1;
      const allowed =
        col.vocabulary.length > 20
          ? `${col.vocabulary.slice(0, 20).join(', ')}, … (${col.vocabulary.length} values)`
          : col.vocabulary.join(', ');
      const k = inputOf(col.name);
      this.steps.push((v, cells) => {
        const known = cells.categoryId(k, ids);
        if (known >= 0) {
          v[s] = known;
          return null;
        }
        // Not in the vocabulary: out of it, missing or malformed.
        const raw = cells.value(k);
        if (
          raw !== undefined &&
          raw !== null &&
          typeof raw !== 'string' &&
          typeof raw !== 'number' &&
          typeof raw !== 'boolean'
        ) {
          return `${col.name}: expected a string, got ${Array.isArray(raw) ? 'an array' : typeof raw}`;
        }
        // categoryId tried the vocabulary already: what is left goes to OOV, or is refused.
        if (oov >= 0) {
          v[s] = oov;
          return null;
        }
        return isMissing(raw)
          ? `${col.name}: missing`
          : `${col.name}: ${JSON.stringify(raw)} is not one of ${allowed}`;
      });
    }
    for (const d of spec.dates) {
      const parts = d.parts.map((p) => ({ part: p, slot: slotOf(datePartName(d.name, p)) }));
      const m = d.allowMissing ? slotOf(missingIndicator(d.name)) : -1;
      const k = inputOf(d.name);
      this.steps.push((v, cells) => {
        const raw = cells.value(k);
        if (m >= 0) v[m] = 0;
        if (isMissing(raw)) {
          if (m < 0) return `${d.name}: missing`;
          for (const p of parts) v[p.slot] = 0;
          v[m] = 1;
          return null;
        }
        const date = typeof raw === 'string' ? parseDate(raw) : null;
        if (!date)
          return `${d.name}: ${JSON.stringify(raw)?.slice(0, 60)} is not a date (YYYY-MM-DD, optionally with a time)`;
        for (const p of parts) v[p.slot] = date[p.part];
        return null;
      });
    }
    for (const d of spec.derived) {
      const s = slotOf(d.name);
      const inputs = d.inputs.map((n) => this.slot.get(n)!);
      const fn = DERIVED[d.op];
      const [lo, hi] = limitsOf(d);
      this.steps.push((v) => {
        const x = fn(inputs.map((i) => v[i]));
        if (!Number.isFinite(x)) return `${d.name}: ${d.op}(${d.inputs.join(', ')}) is not finite`;
        v[s] = x;
        return x < lo || x > hi ? outOfRange(x, d, d.name) : null;
      });
    }
    for (const b of spec.bucketized) {
      const s = slotOf(b.name);
      const src = this.slot.get(b.source)!;
      const { boundaries } = b;
      this.steps.push((v) => {
        v[s] = bucketIndex(boundaries, v[src]);
        return null;
      });
    }
    for (const p of spec.piecewise) {
      const parts = piecewiseParts(p).map(slotOf);
      const src = this.slot.get(p.source)!;
      const e = p.edges;
      this.steps.push((v) => {
        const x = v[src];
        for (let t = 0; t < parts.length; t++)
          v[parts[t]] = Math.min(1, Math.max(0, (x - e[t]) / (e[t + 1] - e[t])));
        return null;
      });
    }
    for (const c of spec.crosses) {
      const s = slotOf(c.name);
      const parts = c.columns.map((n) => ({ slot: this.slot.get(n)!, card: card.get(n)! }));
      const size = card.get(c.name)!;
      const exact = parts.reduce((p, x) => p * x.card, 1) === size;
      this.steps.push((v) => {
        v[s] = exact ? mixedRadix(parts, v) : hashIds(parts, v) % size;
        return null;
      });
    }
    this.values = new Float64Array(this.slot.size);
    this.encodeRow = compileEncoder(this.steps, {
      dense: this.layout.dense.map((n) => ({ slot: this.slot.get(n)!, offset: 0 })),
      wide: this.layout.wide.map((w) => ({ slot: this.slot.get(w.name)!, offset: w.offset })),
      embed: this.layout.embed.map((e) => ({ slot: this.slot.get(e.name)!, offset: e.offset })),
    });
    this.named = new NamedCells(this.inputs);
  }

  /** Encodes one row into `out` at index `row`; returns null, or the first reason it is invalid. */
  encode(read: ValueReader, out: EncodedRows, row: number): string | null {
    this.named.read = read;
    return this.encodeCells(this.named, out, row);
  }

  /** `encode`, reading the row's cells by input index. */
  encodeCells(cells: RowCells, out: EncodedRows, row: number): string | null {
    return this.encodeRow(this.values, cells, out, row);
  }

  /**
   * Reads a row's label (a class's index for a categorical label) into `labelValue[0]`; null, or
   * why it is invalid.
   */
  readLabel(cells: RowCells): string | null {
    const { label } = this.spec;
    const k = this.labelInput;
    const out = this.labelValue;
    if (this.classIds) {
      const known = cells.categoryId(k, this.classIds);
      if (known >= 0) {
        out[0] = known;
        return null;
      }
      const raw = cells.value(k);
      if (isMissing(raw)) return `${label.name}: missing`;
      const id = this.classIds.get(String(raw).trim());
      if (id !== undefined) {
        out[0] = id;
        return null;
      }
      const classes = label.classes!;
      return `${label.name}: ${JSON.stringify(raw)?.slice(0, 60)} is not one of the classes ${classes.slice(0, 20).join(', ')}${classes.length > 20 ? ', …' : ''}`;
    }
    if (!cells.numberInto(k, out, 0)) {
      const parsed = parseNumber(cells.value(k), label.name);
      if (typeof parsed === 'string') return parsed;
      out[0] = parsed;
    }
    const value = out[0];
    return value < this.labelMin || value > this.labelMax
      ? outOfRange(value, label, label.name)
      : null;
  }

  /** The raw input columns an instance must provide, for schemas and error messages. */
  inputColumns(): {
    name: string;
    type: 'number' | 'string' | 'date';
    values?: string[];
    min?: number;
    max?: number;
    optional?: boolean;
  }[] {
    const optional = (yes: boolean | undefined) => (yes ? { optional: true } : {});
    return [
      ...this.spec.numeric.map((c) => ({
        name: c.name,
        type: 'number' as const,
        min: c.min,
        max: c.max,
        ...optional(c.impute !== undefined),
      })),
      ...this.spec.categorical.map((c) => ({
        name: c.name,
        type: 'string' as const,
        values: c.vocabulary,
        ...optional(c.oov),
      })),
      ...this.spec.dates.map((d) => ({
        name: d.name,
        type: 'date' as const,
        ...optional(d.allowMissing),
      })),
    ];
  }
}

type CompiledEncoder = (
  values: Float64Array,
  cells: RowCells,
  out: EncodedRows,
  row: number,
) => string | null;

/** Where each output of a row comes from: a slot of the values, plus a table offset. */
type Outputs = Record<keyof EncodedRows, { slot: number; offset: number }[]>;

/**
 * One function that calls `steps` in order, each from a call site of its own, then writes the
 * row's outputs, unrolled. A loop would call every step from one site, which V8 then calls
 * generically and never inlines (with the per-output loops, the read's largest cost:
 * docs/benchmarks.md, data). The generated text holds only integers; the steps are its argument.
 */
function compileEncoder(steps: Step[], outputs: Outputs): CompiledEncoder {
  const int = (n: number) => {
    if (!Number.isSafeInteger(n)) throw new Error(`unreachable: ${n} is not an integer`);
    return String(n);
  };
  const calls = steps.map((_, i) => `p = steps[${int(i)}](v, cells); if (p !== null) return p;`);
  const writes = (Object.keys(outputs) as (keyof EncodedRows)[]).flatMap((kind) => {
    const width = outputs[kind].length;
    return outputs[kind].map(
      ({ slot, offset }, i) =>
        `out.${kind}[row * ${int(width)} + ${int(i)}] = ${int(offset)} + v[${int(slot)}];`,
    );
  });
  const make = new Function(
    'steps',
    `return (v, cells, out, row) => { let p; ${calls.join(' ')} ${writes.join(' ')} return null; };`,
  );
  return make(steps) as CompiledEncoder;
}

/**
 * Each word's id, the empty word left out: an empty cell is missing, never a value (the
 * lookups by a cell's text run before the missing check).
 */
function vocabularyIds(words: string[]): Map<string, number> {
  return new Map(words.flatMap((w, i): [string, number][] => (w === '' ? [] : [[w, i]])));
}

/** Only an empty cell (or an absent / null JSON value) is missing: "NA" and "None" are values. */
export function isMissing(raw: unknown): boolean {
  return raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === '');
}

/** Strict number parsing: CSV strings and JSON numbers; '' and non-finite values are errors. */
export function parseNumber(raw: unknown, name: string): number | string {
  if (typeof raw === 'number')
    return Number.isFinite(raw) ? raw : `${name}: ${raw} is not a finite number`;
  if (raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === ''))
    return `${name}: missing`;
  if (typeof raw !== 'string') return `${name}: ${JSON.stringify(raw)} is not a number`;
  const n = Number(raw);
  return Number.isFinite(n) ? n : `${name}: ${JSON.stringify(raw)} is not a number`;
}

/**
 * A range's limits as numbers (±Infinity when open), read once: the steps compare with them
 * (a spec's column objects differ in shape, so reading `min` per row is a megamorphic lookup).
 */
function limitsOf(limits: RangeLimits): [number, number] {
  return [limits.min ?? -Infinity, limits.max ?? Infinity];
}

/** Why x is outside its column's limits (it is). */
function outOfRange(x: number, limits: RangeLimits, name: string): string {
  return x < (limits.min ?? -Infinity)
    ? `${name}: ${x} is below the minimum ${limits.min}`
    : `${name}: ${x} is above the maximum ${limits.max}`;
}

/** Bucket i holds boundaries[i-1] <= x < boundaries[i] (TensorFlow's bucketized_column). */
export function bucketIndex(boundaries: number[], x: number): number {
  let lo = 0;
  let hi = boundaries.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (boundaries[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function mixedRadix(parts: { slot: number; card: number }[], v: Float64Array): number {
  let id = 0;
  for (const p of parts) id = id * p.card + v[p.slot];
  return id;
}

/** FNV-1a over the component ids: stable across runs, platforms and backends. */
function hashIds(parts: { slot: number }[], v: Float64Array): number {
  let h = 0x811c9dc5;
  for (const p of parts) {
    let x = v[p.slot] >>> 0;
    for (let b = 0; b < 4; b++) {
      h ^= x & 0xff;
      h = Math.imul(h, 0x01000193);
      x >>>= 8;
    }
  }
  return h >>> 0;
}

const EARTH_RADIUS_KM = 6371.0088;
const rad = (deg: number) => (deg * Math.PI) / 180;

const DERIVED: Record<DerivedOp, (x: number[]) => number> = {
  difference: ([a, b]) => a - b,
  ratio: ([a, b]) => a / b,
  abs: ([a]) => Math.abs(a),
  log1p: ([a]) => Math.log1p(a),
  euclidean: ([x1, y1, x2, y2]) => Math.hypot(x2 - x1, y2 - y1),
  // inputs: lon1, lat1, lon2, lat2 (degrees)
  haversine_km: ([lon1, lat1, lon2, lat2]) => {
    const a =
      Math.sin(rad(lat2 - lat1) / 2) ** 2 +
      Math.cos(rad(lat1)) * Math.cos(rad(lat2)) * Math.sin(rad(lon2 - lon1) / 2) ** 2;
    return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(a)));
  },
};
