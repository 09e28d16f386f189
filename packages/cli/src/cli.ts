/**
 * @module cli
 * The `bucketml` command's entry: the registry of verbs and `main`, which runs one and maps
 * what it throws to the exit code: 0 ok, 1 bad data / spec / model / instances, 2 bad usage
 * (one line on stderr naming the flag). A new verb is one file under verbs/ and one entry in
 * VERBS.
 */
import { DataError, ModelFormatError, SpecError } from '@bucketml/model';
import { TrainingOptionsError } from '@bucketml/trainer';
import { UsageError } from './flags.js';
import { runVerb, type Verb } from './verb.js';
import { deploy } from './verbs/deploy.js';
import { cancel } from './verbs/cancel.js';
import { inferSpecVerb } from './verbs/infer-spec.js';
import { models } from './verbs/models.js';
import { predict } from './verbs/predict.js';
import { rollback } from './verbs/rollback.js';
import { run } from './verbs/run.js';
import { runs } from './verbs/runs.js';
import { stageFunctions } from './verbs/stage-functions.js';
import { train } from './verbs/train.js';

/** Every verb, in the order `bucketml --help` lists them. */
export const VERBS: readonly Verb[] = [
  train,
  predict,
  inferSpecVerb,
  runs,
  run,
  models,
  rollback,
  cancel,
  deploy,
  stageFunctions,
];

function help(): string {
  const width = Math.max(...VERBS.map((v) => v.name.length));
  const lines = VERBS.map((v) => `  ${v.name.padEnd(width)}  ${v.summary}`);
  return `usage: bucketml <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nRun \`bucketml <command> --help\` for a command's options.\n`;
}

export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    process.stderr.write(help());
    return 2;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(help());
    return 0;
  }
  const verb = VERBS.find((v) => v.name === name);
  if (!verb) {
    process.stderr.write(
      `bucketml: unknown command ${JSON.stringify(name)} (commands: ${VERBS.map((v) => v.name).join(', ')})\n`,
    );
    return 2;
  }
  try {
    return await runVerb(verb, rest);
  } catch (err) {
    if (err instanceof UsageError || err instanceof TrainingOptionsError) {
      process.stderr.write(`bucketml ${name}: ${err.message}\n`);
      return 2;
    }
    if (err instanceof DataError || err instanceof SpecError || err instanceof ModelFormatError) {
      process.stderr.write(`bucketml ${name}: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}
