/**
 * A small command-line parser for the trainer's Vertex-compatible contract: `--flag value`,
 * `--flag=value`, list flags taking several values (`--nnsize 64 32` like the course's nargs='+',
 * or `--nnsize 64,32`), and snake_case aliases (`--batch_size`), which is how Vertex passes
 * tuned hyperparameters named in the study spec.
 */
export interface FlagSpec {
  type: 'string' | 'number' | 'int' | 'list' | 'intlist' | 'boolean';
  help: string;
  default?: string;
}

export class UsageError extends Error {
  override name = 'UsageError';
}

export type ParsedFlags = Record<string, string | number | boolean | string[] | number[] | undefined>;

export function parseFlags(argv: string[], flags: Record<string, FlagSpec>): ParsedFlags {
  const out: ParsedFlags = {};
  const canonical = (raw: string) => raw.replace(/_/g, '-');
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument ${JSON.stringify(arg)}`);
    const eq = arg.indexOf('=');
    const name = canonical(arg.slice(2, eq < 0 ? undefined : eq));
    const spec = flags[name];
    if (!spec) throw new UsageError(`unknown option --${name} (see --help)`);
    if (spec.type === 'boolean') {
      out[name] = eq < 0 ? true : arg.slice(eq + 1) !== 'false';
      continue;
    }
    const values: string[] = [];
    if (eq >= 0) values.push(arg.slice(eq + 1));
    else {
      const multi = spec.type === 'list' || spec.type === 'intlist';
      while (i + 1 < argv.length && !argv[i + 1].startsWith('--')) {
        values.push(argv[++i]);
        if (!multi) break;
      }
    }
    if (values.length === 0) throw new UsageError(`--${name} needs a value`);
    out[name] = convert(name, spec, values);
  }
  for (const [name, spec] of Object.entries(flags)) {
    if (out[name] === undefined && spec.default !== undefined) out[name] = convert(name, spec, [spec.default]);
  }
  return out;
}

function convert(name: string, spec: FlagSpec, values: string[]): ParsedFlags[string] {
  const items = values.flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');
  const num = (v: string, int: boolean) => {
    const n = Number(v);
    if (!Number.isFinite(n) || (int && (!Number.isInteger(n) || n <= 0))) {
      throw new UsageError(`--${name} must be ${int ? 'a positive integer' : 'a number'} (got ${JSON.stringify(v)})`);
    }
    return n;
  };
  switch (spec.type) {
    case 'string':
      return values[0];
    case 'number':
      return num(values[0], false);
    case 'int':
      return num(values[0], true);
    case 'list':
      return items;
    case 'intlist':
      return items.map((v) => num(v, true));
    default:
      return values[0];
  }
}

export function usage(command: string, summary: string, flags: Record<string, FlagSpec>): string {
  const lines = Object.entries(flags).map(([name, f]) => {
    const def = f.default !== undefined ? ` (default: ${f.default})` : '';
    return `  --${name.padEnd(18)} ${f.help}${def}`;
  });
  return `usage: bucketml ${command} [options]\n\n${summary}\n\noptions:\n${lines.join('\n')}\n`;
}
