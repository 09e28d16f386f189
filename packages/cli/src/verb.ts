/**
 * @module verb
 * What a `bucketml` verb is: a name, its help, one flag table and the function that runs with
 * the parsed flags. A verb lives in its own file under verbs/ and is listed once in the
 * registry of cli.ts; parsing, --help and usage errors are the same for all of them.
 */
import { formatHelp, parseFlags, wantsHelp, type Flag, type FlagValues } from './flags.js';

export interface Verb<T extends readonly Flag[] = readonly Flag[]> {
  name: string;
  /** One line for `bucketml --help`. */
  summary: string;
  /** What `bucketml <verb> --help` says above the flags. */
  description: string;
  flags: T;
  /**
   * Runs with the parsed flags; resolves to the exit code (0 ok, 1 bad data / model /
   * instances). Throws UsageError (exit 2) for a usage problem the table cannot express.
   */
  run(flags: FlagValues<T>): Promise<number>;
}

/** Declares a verb with its flag table typed, so `run` sees each flag's value type. */
export function defineVerb<const T extends readonly Flag[]>(verb: Verb<T>): Verb<T> {
  return verb;
}

/** Parses argv with the verb's table and runs it, or prints its help. */
export async function runVerb(verb: Verb, argv: readonly string[]): Promise<number> {
  if (wantsHelp(argv)) {
    process.stdout.write(formatHelp(verb.name, verb.description, verb.flags));
    return 0;
  }
  return verb.run(parseFlags(argv, verb.flags));
}
