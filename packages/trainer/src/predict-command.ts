import { createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { Predictor, readModelDir } from '@bucketml/model';
import { parseFlags, usage, UsageError, type FlagSpec } from './args.js';

const FLAGS: Record<string, FlagSpec> = {
  'model-dir': { type: 'string', help: 'a model directory written by `bucketml train`' },
  'json-instances': { type: 'string', help: 'file with one JSON instance per line (- for stdin)' },
  help: { type: 'boolean', help: 'show this help' },
};

const SUMMARY = `Predicts from JSON instances, one per line, like the course's \`gcloud ai-platform local predict\`.
Prints one JSON object per instance, in order: {"key": …, "<label>": value}, or
{"key": …, "error": "<reason>"} for an invalid instance; exits 1 if any instance was invalid.`;

export async function predictCommand(argv: string[]): Promise<number> {
  const flags = parseFlags(argv, FLAGS);
  if (flags.help) {
    process.stdout.write(usage('predict', SUMMARY, FLAGS));
    return 0;
  }
  const modelDir = flags['model-dir'] as string | undefined;
  const file = flags['json-instances'] as string | undefined;
  if (!modelDir) throw new UsageError('--model-dir is required');
  if (!file) throw new UsageError('--json-instances is required');
  if (file !== '-') await access(file).catch(() => {
    throw new UsageError(`--json-instances ${file}: file not found`);
  });
  const predictor = new Predictor(await readModelDir(modelDir));
  const input = file === '-' ? process.stdin : createReadStream(file);
  let failures = 0;
  let lineNo = 0;
  for await (const line of createInterface({ input, crlfDelay: Infinity })) {
    lineNo++;
    if (line.trim() === '') continue;
    let instance: unknown;
    try {
      instance = JSON.parse(line);
    } catch (err) {
      failures++;
      process.stdout.write(JSON.stringify({ key: null, error: `line ${lineNo}: not valid JSON (${(err as Error).message})` }) + '\n');
      continue;
    }
    const p = predictor.predictInstance(instance);
    const key = p.key === undefined ? {} : { key: p.key };
    if (p.error !== undefined) {
      failures++;
      process.stdout.write(JSON.stringify({ ...key, error: p.error }) + '\n');
    } else {
      // float32 carries ~7 significant digits; more would be noise.
      process.stdout.write(JSON.stringify({ ...key, [predictor.labelName]: Number(p.value.toPrecision(7)) }) + '\n');
    }
  }
  if (failures > 0) process.stderr.write(`${failures} invalid instance(s)\n`);
  return failures > 0 ? 1 : 0;
}
