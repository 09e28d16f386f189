/**
 * @module verbs/run
 * `bucketml run RUN [--bucket DIR|gs://B]`: one run as its page shows it, in the terminal — its
 * state, data, the trials table in report.json's order (with each trial's learning curve as a
 * sparkline), the gate's verdict with both figures and the trail of explained decisions. Read
 * from runs/<runId>/page.json, so the numbers are the page's.
 */
import { layout, parsePageData, parseRunId, type RunPageData } from '@bucketml/contracts';
import { openBucketReader } from '../bucket-reader.js';
import { UsageError } from '../flags.js';
import { fmt, seconds, sparkline, textTable } from '../text-table.js';
import { defineVerb } from '../verb.js';

export const run = defineVerb({
  name: 'run',
  summary: "show one run: its trials, learning curves (sparklines), the gate's verdict, decisions",
  description: `Prints what the run page (runs/<run>/index.html) shows, from the same data
(runs/<run>/page.json): the run's state and duration, the data's rows, the trials sorted by the
study's objective with their parameters, state (and why a trial stopped or failed), duration
and learning curve as a sparkline (all on one scale, lower is lower), the gate's verdict with
both models' figures and the eval rows, and the decisions the run took.`,
  flags: [
    {
      name: 'run',
      type: 'string',
      required: true,
      positional: true,
      help: 'the run id, e.g. babyweight-93e2fa90eef7 (also as the bare argument)',
    },
    {
      name: 'bucket',
      type: 'string',
      default: '.bucket',
      help: 'the bucket: a directory (the embedded default) or gs://<bucket>',
    },
  ],
  async run(flags) {
    if (!parseRunId(flags.run))
      throw new UsageError(`run: ${JSON.stringify(flags.run)} is not a run id (<model>-<12 hex>)`);
    const bucket = await openBucketReader(flags.bucket);
    const text = await bucket.read(layout.runPageData(flags.run));
    const page = text ? parsePageData<RunPageData>(text) : null;
    if (!page) {
      process.stderr.write(
        `bucketml run: no page data for run ${flags.run} in ${bucket.name} (${layout.runPageData(flags.run)})\n`,
      );
      return 1;
    }
    process.stdout.write(formatRun(page));
    return 0;
  },
});

function formatRun(p: RunPageData): string {
  const metric = p.study?.metricTag ?? 'rmse';
  const out: string[] = [
    `run ${p.runId} (model ${p.model}): ${p.state}, ${seconds(p.durationSeconds)}${p.version ? `; deployed version ${p.version}` : ''}`,
  ];
  if (p.data)
    out.push(
      `data: ${p.data.rows.read} rows read, ${p.data.rows.used} used, ${p.data.rows.rejected} rejected; drift: ${p.data.verdict}`,
    );
  if (p.study)
    out.push(
      `study: ${metric} (${p.study.goal}), ${p.trials.filter((t) => t.state !== 'ACTIVE').length} of ${p.study.maxTrials} trials finished${p.best ? `; best trial ${p.best.trialId}, ${metric} ${fmt(p.best.objective)}` : ''}`,
    );
  if (p.error) out.push(`failed in ${p.error.stage}: ${p.error.message}`);
  if (p.trials.length > 0) {
    const params = [...new Set(p.trials.flatMap((t) => Object.keys(t.parameters)))];
    const all = p.trials.flatMap((t) => t.measurements);
    const [lo, hi] = [Math.min(...all), Math.max(...all)];
    out.push(
      '',
      textTable(
        ['rank', 'trial', 'state', metric, ...params, 'duration', 'curve'],
        p.trials.map((t) => [
          t.rank !== undefined ? String(t.rank) : '–',
          t.id,
          t.state,
          fmt(t.objective),
          ...params.map((n) => (t.parameters[n] === undefined ? '–' : String(t.parameters[n]))),
          seconds(t.durationSeconds),
          sparkline(t.measurements, lo, hi),
        ]),
      ).trimEnd(),
    );
  }
  const g = p.decision;
  if (g)
    out.push(
      '',
      `gate: ${g.deployed ? 'deployed' : 'rejected'}: candidate ${g.metric} ${fmt(g.candidateValue)}, serving ${g.servingVersion ? `${fmt(g.servingValue)} (version ${g.servingVersion})` : 'none'}, ${g.evalRows ?? '–'} eval rows`,
      `  ${g.reason}`,
    );
  if (p.decisions.length > 0)
    out.push(
      '',
      'decisions:',
      ...p.decisions.map(
        (d) => `  ${d.kind}${d.trialId ? ` (trial ${d.trialId})` : ''}: ${d.message}`,
      ),
    );
  return out.join('\n') + '\n';
}
