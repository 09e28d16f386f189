import { DataError, ModelFormatError, SpecError } from '@bucketml/model';
import { UsageError } from './args.js';
import { predictCommand } from './predict-command.js';
import { trainCommand } from './train-command.js';

// deploy and stage-functions load their package only when used: the trainer image never does.
const COMMANDS: Record<string, (argv: string[]) => Promise<number>> = {
  train: trainCommand,
  predict: predictCommand,
  deploy: async (argv) => (await import('@bucketml/cloud-deploy')).deployCommand(argv),
  'stage-functions': async (argv) => (await import('@bucketml/cloud-deploy')).stageFunctionsCommand(argv),
};

const HELP = `usage: bucketml <command> [options]

commands:
  train     train a model on CSV files and write a model directory
  predict   predict from JSON instances with a model directory
  deploy    stand BucketML up on Google Cloud (--dry-run prints the gcloud plan)

Run \`bucketml <command> --help\` for a command's options.
`;

/** Exit codes: 0 success, 1 bad data / model / instances, 2 bad usage. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === 'help') {
    process.stdout.write(HELP);
    return command ? 0 : 2;
  }
  const run = COMMANDS[command];
  if (!run) {
    process.stderr.write(`bucketml: unknown command "${command}"\n\n${HELP}`);
    return 2;
  }
  try {
    return await run(rest);
  } catch (err) {
    if (err instanceof UsageError || (err as Error).name === 'DeployUsageError' || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`bucketml ${command}: ${(err as Error).message}\n`);
      return 2;
    }
    if (err instanceof DataError || err instanceof SpecError || err instanceof ModelFormatError) {
      process.stderr.write(`bucketml ${command}: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}
