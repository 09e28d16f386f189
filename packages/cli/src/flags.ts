/**
 * @module flags
 * The one flag parser of every `bucketml` verb: node:util `parseArgs` driven by a verb's flag
 * table, plus what the trainer's Vertex-compatible contract needs on top of it:
 *
 * - snake_case aliases (`--batch_size` is `--batch-size`): Vertex passes tuned parameters under
 *   the names of the study spec;
 * - `--flag value` and `--flag=value`;
 * - list flags (`multiple`) taking several values, `--nnsize 64 32` (the course's nargs='+')
 *   or `--nnsize 64,32`;
 * - a repeated flag keeps its LAST value (a list flag its last list): Vertex appends the tuned
 *   parameters after the study's args.
 *
 * Every problem is one `UsageError` whose one-line message names the flag; the CLI prints it as
 * `bucketml <verb>: <message>` and exits 2.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A usage problem: bad, missing or unknown flags. Exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** `positive-int` is an integer > 0 (sizes, counts, seeds). */
export type FlagType = 'string' | 'number' | 'positive-int' | 'boolean';
type Scalar = string | number | boolean;

export interface Flag {
  /** The kebab-case name, without `--`. */
  readonly name: string;
  readonly type: FlagType;
  readonly help: string;
  /** The value when the flag is absent; shown by --help. Booleans default to false. */
  readonly default?: Scalar | readonly Scalar[];
  /** A list flag: `--name a b` or `--name a,b`; the value is an array. */
  readonly multiple?: boolean;
  /** The verb refuses to run without it. */
  readonly required?: boolean;
  /** Takes the verb's bare arguments too (`bucketml infer-spec --label y a.csv b.csv`). */
  readonly positional?: boolean;
}

type ScalarOf<T extends FlagType> = T extends 'boolean'
  ? boolean
  : T extends 'string'
    ? string
    : number;
type ValueOf<F extends Flag> = F['multiple'] extends true
  ? ScalarOf<F['type']>[]
  : ScalarOf<F['type']>;
type AlwaysSet<F extends Flag> = F['type'] extends 'boolean'
  ? true
  : F['required'] extends true
    ? true
    : F extends { default: unknown }
      ? true
      : false;

/** The parsed values of a flag table, typed: a flag without default or `required` may be undefined. */
export type FlagValues<T extends readonly Flag[]> = {
  [F in T[number] as F['name']]: AlwaysSet<F> extends true ? ValueOf<F> : ValueOf<F> | undefined;
};

/** Every verb takes --help (and -h); it is not part of the verb's own table. */
export const HELP_FLAG: Flag = { name: 'help', type: 'boolean', help: 'show this help and exit' };

/** Whether argv asks for help: checked before parsing, so `--help` works next to bad flags. */
export function wantsHelp(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).some((a) => a === '--help' || a === '-h');
}

/** `--batch_size=64` → `--batch-size=64`; values and everything after `--` are left alone. */
function kebabNames(argv: readonly string[]): string[] {
  const end = argv.indexOf('--');
  return argv.map((a, i) =>
    (end < 0 || i < end) && a.startsWith('--')
      ? a.replace(/^--([^=]*)/, (_, name: string) => `--${name.replace(/_/g, '-')}`)
      : a,
  );
}

export function parseFlags<const T extends readonly Flag[]>(
  argv: readonly string[],
  table: T,
): FlagValues<T> {
  const byName = new Map<string, Flag>(table.map((f) => [f.name, f]));
  const options: ParseArgsConfig['options'] = Object.fromEntries(
    table.map((f) => [f.name, { type: f.type === 'boolean' ? 'boolean' : 'string' }]),
  );
  // Not strict: the checks below name the flag in every message, and a list flag's further
  // values arrive as positionals right after it.
  const { tokens } = parseArgs({
    args: kebabNames(argv),
    options,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });

  const raw = new Map<string, string[] | true>();
  let list: string[] | undefined; // the values of the list flag just seen, which positionals extend
  const positional = table.find((f) => f.positional);
  for (const token of tokens) {
    if (token.kind === 'positional') {
      if (list) list.push(token.value);
      else if (positional) {
        const values = raw.get(positional.name);
        if (Array.isArray(values)) values.push(token.value);
        else raw.set(positional.name, [token.value]);
      } else
        throw new UsageError(`unexpected argument ${JSON.stringify(token.value)} (see --help)`);
      continue;
    }
    list = undefined;
    if (token.kind === 'option-terminator') continue;
    const flag = byName.get(token.name);
    if (!flag) throw new UsageError(`unknown option ${token.rawName} (see --help)`);
    if (flag.type === 'boolean') {
      if (token.inlineValue)
        throw new UsageError(`--${flag.name} takes no value (got "${token.value}")`);
      raw.set(flag.name, true);
      continue;
    }
    // parseArgs takes the next argument as the value even when it is the next flag.
    if (
      token.value === undefined ||
      token.value === '' ||
      (!token.inlineValue && token.value.startsWith('--'))
    ) {
      throw new UsageError(`--${flag.name} needs a value`);
    }
    const values = [token.value];
    raw.set(flag.name, values); // a repeated flag: the last one wins
    if (flag.multiple && !token.inlineValue) list = values;
  }

  const out: Record<string, unknown> = {};
  for (const flag of table) {
    const given = raw.get(flag.name);
    if (given === undefined)
      out[flag.name] = flag.type === 'boolean' ? (flag.default ?? false) : flag.default;
    else out[flag.name] = given === true ? true : convert(flag, given);
  }
  const missing = table
    .filter((f) => f.required && out[f.name] === undefined)
    .map((f) => `--${f.name}`);
  if (missing.length === 1) throw new UsageError(`${missing[0]} is required (see --help)`);
  if (missing.length > 1) throw new UsageError(`${missing.join(', ')} are required (see --help)`);
  return out as FlagValues<T>;
}

function convert(flag: Flag, values: string[]): Scalar | Scalar[] {
  const one = (v: string): Scalar => {
    if (flag.type === 'string') return v;
    const n = Number(v);
    const ok =
      v.trim() !== '' &&
      Number.isFinite(n) &&
      (flag.type === 'number' || (Number.isInteger(n) && n > 0));
    if (!ok)
      throw new UsageError(
        `--${flag.name} must be ${flag.type === 'number' ? 'a number' : 'a positive integer'} (got ${JSON.stringify(v)})`,
      );
    return n;
  };
  if (!flag.multiple) return one(values[0]);
  const items = values
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
  if (items.length === 0) throw new UsageError(`--${flag.name} needs a value`);
  return items.map(one);
}

/** A default as --help shows it (and as a user would type it). */
export function formatDefault(value: Scalar | readonly Scalar[]): string {
  return Array.isArray(value) ? value.join(' ') : String(value);
}

const PLACEHOLDER: Record<FlagType, string> = {
  string: '<value>',
  number: '<number>',
  'positive-int': '<n>',
  boolean: '',
};

/** A verb's --help: usage line, description, then one line per flag with its default. */
export function formatHelp(verb: string, description: string, table: readonly Flag[]): string {
  const flags = [...table, HELP_FLAG];
  const left = flags.map(
    (f) =>
      `--${f.name}${f.type === 'boolean' ? '' : ` ${PLACEHOLDER[f.type]}${f.multiple ? '…' : ''}`}`,
  );
  const width = Math.max(...left.map((l) => l.length));
  const lines = flags.map((f, i) => {
    const note = f.required
      ? ' (required)'
      : f.default !== undefined
        ? ` (default: ${formatDefault(f.default)})`
        : f.type === 'boolean' && f !== HELP_FLAG
          ? ' (default: false)'
          : '';
    return `  ${left[i].padEnd(width)}  ${f.help}${note}`;
  });
  const positional = table.find((f) => f.positional);
  return `usage: bucketml ${verb} [options]${positional ? ` [${positional.name.toUpperCase()}…]` : ''}\n\n${description}\n\noptions:\n${lines.join('\n')}\n`;
}
