/**
 * @module verbs/runs
 * `bucketml runs [--bucket DIR|gs://B] [--model M]`: the recent runs of a bucket, newest first,
 * with their state, best objective, deployed version and duration — read from each run's page
 * data (runs/<runId>/page.json), so the numbers are the run page's.
 */
import { parsePageData, type RunPageData } from '@bucketml/contracts';
import { openBucketReader } from '../bucket-reader.js';
import { fmt, seconds, textTable } from '../text-table.js';
import { defineVerb } from '../verb.js';

export const runs = defineVerb({
  name: 'runs',
  summary:
    "list a bucket's recent runs: state, best trial, final model, deployed version, duration",
  description: `Lists the runs in the bucket, newest first, from each run's page data (runs/<run>/page.json,
written by the pipeline at each step): the run id, its state, the study's metric, the best
trial's value and the final model's (trained with the best trial's parameters, measured by the
gate on the run's eval data), the version it deployed and how long it took (so far, for a run
still going).
\`bucketml run RUN\` shows one run's trials.`,
  flags: [
    {
      name: 'bucket',
      type: 'string',
      default: '.bucket',
      help: 'the bucket: a directory (the embedded default) or gs://<bucket>',
    },
    { name: 'model', type: 'string', help: "only this model's runs (default: every model's)" },
    { name: 'limit', type: 'positive-int', default: 20, help: 'at most this many runs' },
  ],
  async run(flags) {
    const bucket = await openBucketReader(flags.bucket);
    const pages = (await bucket.runPageTexts())
      .map((t) => parsePageData<RunPageData>(t))
      .filter((p): p is RunPageData => p !== null)
      .filter((p) => !flags.model || p.model === flags.model)
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
      .slice(0, flags.limit);
    if (pages.length === 0) {
      process.stdout.write(
        `no runs in ${bucket.name}${flags.model ? ` for model ${flags.model}` : ''}\n`,
      );
      return 0;
    }
    process.stdout.write(
      textTable(
        ['run', 'state', 'metric', 'best trial', 'final model', 'version', 'duration'],
        pages.map((p) => [
          p.runId,
          p.state,
          p.study?.metricTag ?? '–',
          fmt(p.best?.objective),
          // The model trained with the best trial's parameters, as the gate measured it.
          fmt(p.decision?.candidateValue ?? p.final?.value),
          p.version ?? '–',
          seconds(p.durationSeconds),
        ]),
      ),
    );
    return 0;
  },
});
