/**
 * @module verbs/infer-spec
 * `bucketml infer-spec --label COL FILE...`: prints the spec inference makes of CSV files with a
 * header, in the spec format a config/<model>/schema.json or `bucketml train --model` takes,
 * with the statistics it was made from — for review, or as a starting point to edit.
 */
import { basename } from 'node:path';
import { inferSpec } from '@bucketml/model';
import { expandDataFiles } from '@bucketml/trainer';
import { defineVerb } from '../verb.js';

export const inferSpecVerb = defineVerb({
  name: 'infer-spec',
  summary: 'print the spec inferred from CSV files with a header and a label column',
  description: `Reads CSV files with a header row and prints the full model spec inferred from them (JSON,
today's spec format): each column's role (numeric, categorical with an OOV bucket, date parts,
key, or left out and why), the features built from it, budgets that fit the row count, and the
statistics of the data. Save it as a spec file to edit it, or let \`bucketml train --label\` and
a bucket config of {"label": "<column>"} infer it for you.`,
  flags: [
    { name: 'label', type: 'string', required: true, help: 'the column to predict' },
    {
      name: 'data',
      type: 'string',
      multiple: true,
      positional: true,
      required: true,
      help: 'CSV files or globs with a header row (also as bare arguments)',
    },
    {
      name: 'name',
      type: 'string',
      help: 'the model name in the spec (default: the first file name without .csv)',
    },
    {
      name: 'key',
      type: 'string',
      help: 'a column to pass through to predictions (default: one named like an id)',
    },
    {
      name: 'exclude',
      type: 'string',
      multiple: true,
      help: 'columns to leave out (default: none)',
    },
  ],
  async run(flags) {
    const sources = await expandDataFiles(flags.data, '--data');
    const name =
      flags.name ??
      (basename(sources[0].name)
        .replace(/\.csv$/i, '')
        .replace(/[^A-Za-z0-9_-]/g, '_') ||
        'model');
    const spec = await inferSpec(sources, {
      name,
      label: flags.label,
      ...(flags.key ? { key: flags.key } : {}),
      ...(flags.exclude ? { exclude: flags.exclude } : {}),
    });
    for (const note of spec.inferred?.notes ?? []) process.stderr.write(`${note}\n`);
    process.stdout.write(JSON.stringify(spec, null, 2) + '\n');
    return 0;
  },
});
