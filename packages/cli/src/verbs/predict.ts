/**
 * @module verbs/predict
 * `bucketml predict`: predictions from JSON instances with a model directory, through the lean
 * predictor that serving uses (no TensorFlow.js).
 */
import { createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import { csvInstances, jsonLineInstances, Predictor, readModelDir } from '@bucketml/model';
import { UsageError } from '../flags.js';
import { defineVerb } from '../verb.js';

export const predict = defineVerb({
  name: 'predict',
  summary: 'predict from JSON instances with a model directory',
  description: `Predicts from JSON instances, one per line, like the course's \`gcloud ai-platform local predict\`,
or from the rows of a CSV file with a header (--csv-instances; an empty cell is a missing value).
Prints one JSON object per instance, in order: {"<key>": …, "<label>": value}, or
{"<key>": …, "error": "<reason>"} for an invalid instance, where <key> is the model's key column
or else the instance's own "key" field; exits 1 if any instance was invalid.`,
  flags: [
    {
      name: 'model-dir',
      type: 'string',
      required: true,
      help: 'a model directory written by `bucketml train`',
    },
    {
      name: 'json-instances',
      type: 'string',
      help: 'file with one JSON instance per line, - for stdin (default: none, or --csv-instances)',
    },
    {
      name: 'csv-instances',
      type: 'string',
      help: 'a CSV file with a header row, one instance per row, - for stdin (default: none)',
    },
  ],
  async run(flags) {
    const modelDir = flags['model-dir'];
    const csv = flags['csv-instances'];
    const json = flags['json-instances'];
    if ((csv === undefined) === (json === undefined))
      throw new UsageError('give one of --json-instances and --csv-instances');
    const file = (csv ?? json)!;
    const flag = csv !== undefined ? '--csv-instances' : '--json-instances';
    if (file !== '-')
      await access(file).catch(() => {
        throw new UsageError(`${flag} ${file}: file not found`);
      });
    const predictor = new Predictor(await readModelDir(modelDir));
    const input = file === '-' ? process.stdin : createReadStream(file);
    let failures = 0;
    for await (const item of csv !== undefined ? csvInstances(input) : jsonLineInstances(input)) {
      if ('error' in item) {
        failures++;
        process.stdout.write(JSON.stringify({ error: item.error }) + '\n');
        continue;
      }
      const { instance } = item;
      // p.key echoes the key column under its name, or the instance's own `key` field (as serving does).
      const p = predictor.predictInstance(instance);
      if (p.error !== undefined) {
        failures++;
        process.stdout.write(JSON.stringify({ ...p.key, error: p.error }) + '\n');
      } else process.stdout.write(JSON.stringify(predictor.roundedAnswer(p)) + '\n');
    }
    if (failures > 0) process.stderr.write(`${failures} invalid instance(s)\n`);
    return failures > 0 ? 1 : 0;
  },
});
