import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { before, describe, it } from 'node:test';
import { layout } from '@bucketml/contracts';
import {
  csvInstances,
  deserializeModel,
  jsonLineInstances,
  Predictor,
  type InstanceItem,
} from '@bucketml/model';
import {
  onBatchInput,
  onObjectFinalized,
  type BatchPredictionSummary,
  type PipelineContext,
} from '@bucketml/pipeline';
import type { Storage } from '@bucketml/ports';
import {
  BABY,
  babyweightCsv,
  crashing,
  deployVersion,
  harness,
  MODEL,
  SimulatedCrash,
  trainedModels,
  type Harness,
  type ModelFiles,
} from './fixtures.ts';

const VERSION = 'babyweight-0000000000b1';
const HEADER = 'weight_pounds,is_male,mother_age,plurality,gestation_weeks,key';
const INPUT = `predict/${MODEL}/jan.csv`;
const ANSWERS = layout.batchPredictions(MODEL, 'jan.csv');
const SUMMARY = layout.batchSummary(MODEL, 'jan.csv');

/** 50 eval rows under a header, the 11th row broken (a gestation that is no number). */
const ROWS = babyweightCsv('eval.csv', 50).trimEnd().split('\n');
const BROKEN = 10;
ROWS[BROKEN] = '7.1,True,30,Single(1),not-a-number,broken-row';
const CSV = [HEADER, ...ROWS].join('\n') + '\n';

const lines = (text: string | undefined) =>
  (text ?? '')
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

/** The harness's context over its bucket with some storage calls replaced (faults, delays). */
function withStorage(h: Harness, override: Partial<Storage>): PipelineContext {
  return { ...h.ctx, storage: Object.assign(Object.create(h.bucket) as Storage, override) };
}

/** A stream that yields `data` in two halves, failing between them with a network error. */
function resetMidway(data: Buffer): NodeJS.ReadableStream {
  return Readable.from(
    (async function* () {
      yield data.subarray(0, data.length >> 1);
      throw Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    })(),
  );
}

/** Drops an object as a user's upload would; returns its finalized event. */
function dropInput(h: Harness, name: string, data: string) {
  return { bucket: h.bucket.bucketName, name, generation: h.bucket.put(name, data) };
}

describe('batch-predict: onBatchInput', () => {
  let model: ModelFiles;
  before(async () => void ({ good: model } = await trainedModels()));

  async function deployed() {
    const h = harness();
    await deployVersion(h.bucket, VERSION, model);
    return h;
  }

  it('answers every row in order with the serving version, as the predictor does; a broken row gets an error line', async () => {
    const h = await deployed();
    const summary = await onBatchInput(h.ctx, dropInput(h, INPUT, CSV));
    const predictor = new Predictor(deserializeModel(model.modelJson, model.weightsBin));
    const header = HEADER.split(',');
    const expected = ROWS.map((row, i) => {
      const instance = Object.fromEntries(row.split(',').map((v, j) => [header[j], v]));
      const p = predictor.predictInstance(instance);
      return p.error !== undefined
        ? { row: i + 1, ...p.key, error: p.error }
        : predictor.roundedAnswer(p);
    });
    const answers = lines(h.bucket.text(ANSWERS));
    assert.deepEqual(answers, expected);
    assert.equal(answers.length, 50);
    assert.equal(answers[BROKEN].row, BROKEN + 1);
    assert.equal(answers[BROKEN].key, 'broken-row');
    assert.match(String(answers[BROKEN].error), /gestation_weeks/);
    assert.equal(typeof answers[0].weight_pounds, 'number');
    assert.equal(answers[0].key, ROWS[0].split(',')[5]);
    const stored = h.bucket.json<BatchPredictionSummary>(SUMMARY)!;
    assert.deepEqual(stored, summary);
    assert.deepEqual(
      { ...stored, seconds: 0, finishedAt: '' },
      {
        input: { name: INPUT, generation: h.bucket.generationOf(INPUT), format: 'csv' },
        model: MODEL,
        version: VERSION,
        output: ANSWERS,
        rows: 50,
        errors: 1,
        seconds: 0,
        finishedAt: '',
      },
    );
    const jobEvents = h.logs.filter((e) => e.stage === 'batch-predict' && e.severity !== 'DEBUG');
    assert.equal(jobEvents.length, 1, 'one event per job');
    assert.equal(jobEvents[0].severity, 'INFO');
    assert.deepEqual(
      [jobEvents[0].rows, jobEvents[0].errors, jobEvents[0].version, typeof jobEvents[0].seconds],
      [50, 1, VERSION, 'number'],
    );
  });

  it('a redelivery of the same generation writes nothing; a new generation is answered again', async () => {
    const h = await deployed();
    const event = dropInput(h, INPUT, CSV);
    await onBatchInput(h.ctx, event);
    const writes = h.bucket.writeCount();
    const answersGeneration = h.bucket.generationOf(ANSWERS);
    await onBatchInput(h.ctx, event);
    await onBatchInput(h.ctx, event);
    assert.equal(h.bucket.writeCount(), writes, 'no write on redelivery');
    assert.equal(h.bucket.generationOf(ANSWERS), answersGeneration);

    const shorter = [HEADER, ...ROWS.slice(0, 5)].join('\n') + '\n';
    const second = dropInput(h, INPUT, shorter);
    await onBatchInput(h.ctx, event); // the old generation's late redelivery: no longer current
    assert.equal(h.bucket.writeCount(), writes);
    const summary = await onBatchInput(h.ctx, second);
    assert.equal(summary?.rows, 5);
    assert.equal(summary?.input.generation, second.generation);
    assert.equal(lines(h.bucket.text(ANSWERS)).length, 5);
  });

  it('a crash after the answers, before the summary, is redone cleanly by the redelivery', async () => {
    const h = await deployed();
    const event = dropInput(h, INPUT, CSV);
    const ctx = crashing(h.ctx, 'batch-predict:after-answers');
    await assert.rejects(onBatchInput(ctx, event), SimulatedCrash);
    assert.equal(h.bucket.text(SUMMARY), undefined, 'no summary: the job is not done');
    const summary = await onBatchInput(ctx, event);
    assert.equal(summary?.rows, 50);
    assert.equal(lines(h.bucket.text(ANSWERS)).length, 50);
    assert.equal(h.bucket.writeCount(ANSWERS), 2);
    assert.equal(h.bucket.writeCount(SUMMARY), 1);
  });

  it('JSON lines: each line an instance; a line that is not JSON or not an object gets an error line', async () => {
    const h = await deployed();
    const name = `predict/${MODEL}/feb.jsonl`;
    const text = [
      JSON.stringify({
        is_male: 'True',
        mother_age: 26,
        plurality: 'Single(1)',
        gestation_weeks: 39,
        key: 'a',
      }),
      '{not json',
      '',
      '[1, 2]',
      JSON.stringify({
        is_male: 'False',
        mother_age: 30,
        plurality: 'Twins(2)',
        gestation_weeks: 36,
        key: 'd',
      }),
    ].join('\n');
    const summary = await onBatchInput(h.ctx, dropInput(h, name, text));
    const answers = lines(h.bucket.text(layout.batchPredictions(MODEL, 'feb.jsonl')));
    assert.deepEqual(
      answers.map((a) => [a.key ?? null, a.row ?? null, typeof a.weight_pounds, 'error' in a]),
      [
        ['a', null, 'number', false],
        [null, 2, 'undefined', true],
        [null, 3, 'undefined', true],
        ['d', null, 'number', false],
      ],
    );
    assert.match(String(answers[1].error), /not valid JSON/);
    assert.deepEqual([summary?.rows, summary?.errors, summary?.input.format], [4, 2, 'jsonl']);
  });

  it('a CSV that cannot be parsed ends with an error line, and its summary says it stopped', async () => {
    const h = await deployed();
    const text = [HEADER, ROWS[0], ROWS[1], '7.1,"True,30,Single(1),39,k'].join('\n');
    const summary = await onBatchInput(h.ctx, dropInput(h, INPUT, text));
    const answers = lines(h.bucket.text(ANSWERS));
    assert.equal(answers.length, 3);
    assert.match(String(answers[2].error), /cannot parse the CSV/);
    assert.match(String(summary?.error), /cannot parse the CSV/);
    assert.equal(h.logs.filter((e) => e.severity === 'WARNING').length, 1);
  });

  it('no model deployed: an ERROR event and a summary saying so, no answers, no throw', async () => {
    const h = harness();
    const summary = await onBatchInput(h.ctx, dropInput(h, INPUT, CSV));
    assert.equal(summary?.version, null);
    assert.match(String(summary?.error), /no model named babyweight is deployed/);
    assert.equal(h.bucket.text(ANSWERS), undefined);
    assert.deepEqual(h.bucket.json(SUMMARY), summary);
    const errors = h.logs.filter((e) => e.severity === 'ERROR');
    assert.equal(errors.length, 1);
    assert.equal(errors[0].stage, 'batch-predict');
  });

  it('a slow job of a replaced generation does not overwrite the newer one: answers and summary agree', async () => {
    const h = await deployed();
    const first = dropInput(h, INPUT, CSV);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let reading!: () => void;
    const started = new Promise<void>((resolve) => (reading = resolve));
    // The first generation's read is held mid-file while the second is dropped and answered.
    const slow = withStorage(h, {
      openRead: async (name) => {
        const data = h.bucket.bytes(name)!;
        return Readable.from(
          (async function* () {
            yield data.subarray(0, 100);
            reading();
            await gate;
            yield data.subarray(100);
          })(),
        );
      },
    });
    const job1 = onBatchInput(slow, first);
    await started;
    const second = dropInput(h, INPUT, [HEADER, ROWS[0], ROWS[1]].join('\n') + '\n');
    assert.equal((await onBatchInput(h.ctx, second))?.rows, 2);
    release();
    assert.equal(await job1, null, 'the replaced generation records nothing');
    assert.equal(
      h.bucket.json<BatchPredictionSummary>(SUMMARY)?.input.generation,
      second.generation,
    );
    assert.equal(lines(h.bucket.text(ANSWERS)).length, 2);
  });

  it('a job whose input is replaced just before its answers land commits nothing', async () => {
    const h = await deployed();
    const first = dropInput(h, INPUT, CSV);
    let second!: ReturnType<typeof dropInput>;
    h.bucket.beforeNextWrite(ANSWERS, async () => {
      second = dropInput(h, INPUT, [HEADER, ROWS[0], ROWS[1]].join('\n') + '\n');
      await onBatchInput(h.ctx, second);
    });
    assert.equal(await onBatchInput(h.ctx, first), null);
    assert.equal(
      h.bucket.json<BatchPredictionSummary>(SUMMARY)?.input.generation,
      second.generation,
    );
    assert.equal(lines(h.bucket.text(ANSWERS)).length, 2);
    assert.equal(h.bucket.writeCount(SUMMARY), 1);
  });

  it('jan.csv and jan.jsonl have outputs of their own: a redelivery of either writes nothing', async () => {
    const h = await deployed();
    const csv = dropInput(h, INPUT, CSV);
    await onBatchInput(h.ctx, csv);
    const jsonl = dropInput(
      h,
      `predict/${MODEL}/jan.jsonl`,
      JSON.stringify({ ...BABY, key: 'from-jsonl' }) + '\n',
    );
    await onBatchInput(h.ctx, jsonl);
    const writes = h.bucket.writeCount();
    await onBatchInput(h.ctx, csv);
    await onBatchInput(h.ctx, jsonl);
    assert.equal(h.bucket.writeCount(), writes, 'no write on redelivery');
    assert.equal(lines(h.bucket.text(ANSWERS)).length, 50);
    const other = lines(h.bucket.text(layout.batchPredictions(MODEL, 'jan.jsonl')));
    assert.deepEqual(
      other.map((a) => a.key),
      ['from-jsonl'],
    );
    assert.deepEqual(h.bucket.names('predictions/'), [
      `predictions/${MODEL}/jan.csv.jsonl`,
      `predictions/${MODEL}/jan.csv.summary.json`,
      `predictions/${MODEL}/jan.jsonl.jsonl`,
      `predictions/${MODEL}/jan.jsonl.summary.json`,
    ]);
  });

  for (const [format, name, text] of [
    ['CSV', INPUT, CSV],
    [
      'JSON lines',
      `predict/${MODEL}/feb.jsonl`,
      ROWS.map((_, i) => JSON.stringify({ ...BABY, key: `r${i}` })).join('\n') + '\n',
    ],
  ] as const)
    it(`a ${format} read that fails mid-file throws (redelivered), records nothing, and the redelivery answers it all`, async () => {
      const h = await deployed();
      const event = dropInput(h, name, text);
      const failing = withStorage(h, { openRead: async (n) => resetMidway(h.bucket.bytes(n)!) });
      await assert.rejects(onBatchInput(failing, event), /ECONNRESET/);
      assert.deepEqual(h.bucket.names('predictions/'), [], 'nothing written');
      const summary = await onBatchInput(h.ctx, event);
      assert.deepEqual([summary?.rows, summary?.error], [50, undefined]);
    });

  it('a failure reading the serving pointer throws (redelivered) instead of recording "did not run"', async () => {
    const h = await deployed();
    const event = dropInput(h, INPUT, CSV);
    const failing = withStorage(h, {
      read: async (n) => {
        if (n === layout.servingPointer(MODEL)) throw new Error('503 Service Unavailable');
        return h.bucket.read(n);
      },
    });
    await assert.rejects(onBatchInput(failing, event), /503/);
    assert.deepEqual(h.bucket.names('predictions/'), []);
    assert.equal((await onBatchInput(h.ctx, event))?.version, VERSION);
  });

  for (const [what, pointer, reason] of [
    [
      'null',
      'null',
      /serving\.json \(generation \d+\) is not a valid serving pointer: it holds null/,
    ],
    [
      'not JSON',
      '{not json',
      /serving\.json \(generation \d+\) is not a valid serving pointer: not JSON/,
    ],
    [
      'a prefix outside the bucket',
      '{"version":"v","prefix":"../../"}',
      /its prefix "\.\.\/\.\.\/" is not its version's folder/,
    ],
    ['a version that is gone', '{"version":"v","prefix":"models/babyweight/v/"}', /incomplete/],
  ] as const)
    it(`a serving pointer with ${what}: an ERROR event and a summary with a plain reason, no throw`, async () => {
      const h = harness();
      h.bucket.put(layout.servingPointer(MODEL), pointer);
      const summary = await onBatchInput(h.ctx, dropInput(h, INPUT, CSV));
      assert.equal(summary?.version, null);
      assert.match(String(summary?.error), /^model babyweight cannot be loaded: /);
      assert.match(String(summary?.error), reason);
      assert.doesNotMatch(String(summary?.error), /Cannot read properties/);
      assert.equal(h.logs.filter((e) => e.severity === 'ERROR').length, 1);
    });

  it('an input name too long to name its outputs after gets shortened output names, not a throw', async () => {
    const h = await deployed();
    const name = `predict/${MODEL}/${'é'.repeat(480)}.csv`;
    const summary = await onBatchInput(h.ctx, dropInput(h, name, CSV));
    assert.equal(summary?.rows, 50);
    const outputs = h.bucket.names('predictions/');
    assert.equal(outputs.length, 2);
    for (const output of outputs)
      assert.ok(Buffer.byteLength(output.split('/').pop()!) <= 220, output);
    assert.equal(summary?.input.name, name);
    assert.equal(
      summary?.output,
      outputs.find((o) => o.endsWith('.jsonl')),
    );
  });

  for (const content of ['garbage', '{}', 'null'])
    it(`a summary object that is no summary (${content}) is overwritten by the job`, async () => {
      const h = await deployed();
      h.bucket.put(SUMMARY, content);
      const summary = await onBatchInput(h.ctx, dropInput(h, INPUT, CSV));
      assert.equal(summary?.rows, 50);
      assert.deepEqual(h.bucket.json(SUMMARY), summary);
    });

  it("the storage trigger routes predict/ objects here; the pipeline's own predictions/ objects start nothing", async () => {
    const h = await deployed();
    await onObjectFinalized(h.ctx, dropInput(h, INPUT, CSV));
    assert.equal(lines(h.bucket.text(ANSWERS)).length, 50);
    const writes = h.bucket.writeCount();
    for (const name of [ANSWERS, SUMMARY])
      await onObjectFinalized(h.ctx, {
        bucket: h.bucket.bucketName,
        name,
        generation: h.bucket.generationOf(name),
      });
    await onObjectFinalized(h.ctx, dropInput(h, `predict/${MODEL}/notes.txt`, 'hello'));
    assert.equal(h.bucket.writeCount(), writes);
    assert.deepEqual(h.bucket.names('runs/'), []);
  });
});

describe('batch-predict: the instance readers', () => {
  const read = async (items: AsyncIterable<InstanceItem>) => {
    const all: InstanceItem[] = [];
    for await (const item of items) all.push(item);
    return all;
  };

  it('a CSV that cannot be parsed ends with a fatal error item; a line that cannot be read is an error item, not fatal', async () => {
    const csv = await read(
      csvInstances(Readable.from([[HEADER, ROWS[0], '7.1,"True,30,Single(1),39,k'].join('\n')])),
    );
    assert.equal(csv.length, 2);
    assert.ok('instance' in csv[0]);
    const last = csv[1];
    assert.ok('error' in last);
    assert.match(last.error, /cannot parse the CSV/);
    assert.equal(last.fatal, true);

    const jsonl = await read(jsonLineInstances(Readable.from(['{not json\n{"key": "b"}\n'])));
    assert.equal(jsonl.length, 2);
    const bad = jsonl[0];
    assert.ok('error' in bad);
    assert.match(bad.error, /not valid JSON/);
    assert.equal(bad.fatal, undefined, 'the lines after it are still read');
    assert.deepEqual(jsonl[1], { instance: { key: 'b' } });
  });

  it('a stream that fails is thrown, not read as a broken input', async () => {
    const data = Buffer.from([HEADER, ...ROWS].join('\n') + '\n');
    await assert.rejects(read(csvInstances(resetMidway(data))), /ECONNRESET/);
    await assert.rejects(read(jsonLineInstances(resetMidway(data))), /ECONNRESET/);
  });

  it('JSON lines: a UTF-8 BOM before the first line is dropped, as in a CSV', async () => {
    const items = await read(
      jsonLineInstances(Readable.from(['\uFEFF{"key": "a"}\n{"key": "b"}\n'])),
    );
    assert.deepEqual(items, [{ instance: { key: 'a' } }, { instance: { key: 'b' } }]);
  });

  it('JSON lines: a line past 16 MB is an error line and the lines after it are read; CRLF and a last line without LF too', async () => {
    async function* input() {
      yield Buffer.from('{"key": "a"}\r\n{"key": "');
      for (let i = 0; i < 300; i++) yield Buffer.alloc(65_536, 0x7a); // 19.7 MB, one line
      yield Buffer.from('"}\n{"key": "é');
      yield Buffer.from('"}');
    }
    const items = await read(jsonLineInstances(Readable.from(input())));
    assert.deepEqual(items, [
      { instance: { key: 'a' } },
      { error: 'line 2: longer than 16 MB' },
      { instance: { key: 'é' } },
    ]);
  });
});
