import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { layout } from '@bucketml/contracts';
import { binShares, BUILTIN_SPECS, jensenShannon, parseSpec } from '@bucketml/model';
import { onObjectFinalized } from '@bucketml/pipeline';
import { DATA } from '../helpers.ts';
import { handlePredict, ModelServer } from '@bucketml/pipeline/serving';
import {
  BABY,
  deployVersion,
  drop,
  EVAL_CSV,
  harness,
  MODEL,
  onlyStudy,
  paths,
  TRAIN_CSV,
  trainedModels,
} from './fixtures.ts';

const V1 = 'babyweight-0000000000a1';

/** babyweight rows (weight_pounds,is_male,mother_age,plurality,gestation_weeks,key) changed. */
const shifted = (csv: string, change: (cells: string[]) => void) =>
  csv
    .trimEnd()
    .split('\n')
    .map((l) => {
      const cells = l.split(',');
      change(cells);
      return cells.join(',');
    })
    .join('\n') + '\n';

interface Report {
  rows: { read: number; used: number; rejected: number };
  columns: {
    name: string;
    role: string;
    std?: number;
    quantiles?: number[];
    topValues?: [string, number][];
  }[];
  reference: { version: string } | null;
  drift: {
    features: {
      name: string;
      metric: string;
      distance: number;
      drifted: boolean;
      newValues?: string[];
    }[];
    drifted: string[];
    missingColumns: string[];
    newColumns: string[];
  } | null;
  verdict: string;
}

/**
 * A births model whose spec makes mother_age's drift blocking (its own threshold 0.2), its
 * first drop made; `dropOlder` drops the same births with mothers 15 years older.
 */
async function blockingMotherAge() {
  const h = harness();
  const header = 'weight_pounds,is_male,mother_age,plurality,gestation_weeks,key';
  const births = (csv: string) => `${header}\n${csv}`;
  h.bucket.put(
    'config/births/schema.json',
    JSON.stringify({
      label: 'weight_pounds',
      validation: { features: { mother_age: { threshold: 0.2, blocking: true } } },
    }),
  );
  const files = (train: string) => ({
    'data/births/train.csv': births(train),
    'data/births/eval.csv': births(EVAL_CSV),
  });
  for (const e of drop(h.bucket, files(TRAIN_CSV))) await onObjectFinalized(h.ctx, e);
  return {
    h,
    first: onlyStudy(h.training).runId,
    async dropOlder() {
      const older = shifted(TRAIN_CSV, (c) => (c[2] = String(Number(c[2]) + 15)));
      for (const e of drop(h.bucket, files(older))) await onObjectFinalized(h.ctx, e);
    },
  };
}

describe('data report: statistics and drift against the serving model’s data', () => {
  it('the first drop has no reference; a later one is compared with the serving run’s data and its drift is a WARNING naming the features', async () => {
    const h = harness();
    for (const e of drop(h.bucket)) await onObjectFinalized(h.ctx, e);
    const first = onlyStudy(h.training).runId;
    const report = h.bucket.json<Report>(layout.dataReport(first))!;
    assert.equal(report.verdict, 'no reference');
    assert.equal(
      report.rows.read,
      TRAIN_CSV.trim().split('\n').length + EVAL_CSV.trim().split('\n').length,
    );
    assert.equal(report.rows.rejected, 0);
    const age = report.columns.find((c) => c.name === 'mother_age')!;
    assert.equal(age.role, 'numeric');
    assert.equal(age.quantiles!.length, 11);
    assert.equal(report.columns.find((c) => c.name === 'plurality')!.role, 'categorical');

    // The first run's model serves; the next drop's mothers are 15 years older, and a quarter of
    // its births are twins.
    h.bucket.put(paths.pointer, JSON.stringify({ version: first, metric: 'rmse', value: 1 }));
    const second = h;
    let row = 0;
    for (const e of drop(second.bucket, {
      [paths.train]: shifted(TRAIN_CSV, (c) => {
        c[2] = String(Number(c[2]) + 15);
        if (row++ % 4 === 0) c[3] = 'Twins(2)';
      }),
      [paths.eval]: EVAL_CSV,
    }))
      await onObjectFinalized(second.ctx, e);
    const runId = [...second.training.studies.values()].find((s) => s.runId !== first)!.runId;
    const later = second.bucket.json<Report>(layout.dataReport(runId))!;
    assert.equal(later.reference?.version, first);
    assert.equal(later.verdict, 'drift');
    const byName = new Map(later.drift!.features.map((f) => [f.name, f]));
    assert.ok(byName.get('mother_age')!.distance > 0.5, JSON.stringify(byName.get('mother_age')));
    assert.equal(byName.get('mother_age')!.metric, 'js');
    assert.ok(byName.get('plurality')!.drifted);
    assert.equal(byName.get('is_male')!.drifted, false);
    assert.ok(byName.get('gestation_weeks')!.distance < 0.05);
    const warning = second.logs.find(
      (l) => l.severity === 'WARNING' && /^data drift/.test(l.message),
    )!;
    assert.match(
      warning.message,
      new RegExp(`^data drift against version ${first}: .*mother_age \\(js `),
    );
    assert.doesNotMatch(warning.message, /is_male/);
    // A drift does not stop the run: the gate decides on the numbers.
    assert.equal(second.training.studies.size, 2);
  });

  it('real rows: a numeric shifted by its standard deviation, a new category and a column emptied by half give one WARNING naming exactly those three; the same data re-dropped gives none', async () => {
    // babyweight's sample is sorted by mother_age: every 30th row, from three offsets, are three
    // draws of one distribution.
    const lines = readFileSync(join(DATA, 'babyweight/train.csv'), 'utf8').trimEnd().split('\n');
    const draw = (offset: number) => lines.filter((_, i) => i % 30 === offset);
    const header = 'weight_pounds,is_male,mother_age,plurality,gestation_weeks,key';
    const h = harness();
    h.bucket.put('config/births/schema.json', JSON.stringify({ label: 'weight_pounds' }));
    const evalRows = `${header}\n${draw(29).join('\n')}\n`;
    const dropRows = async (rows: string[]) => {
      for (const e of drop(h.bucket, {
        'data/births/train.csv': `${header}\n${rows.join('\n')}\n`,
        'data/births/eval.csv': evalRows,
      }))
        await onObjectFinalized(h.ctx, e);
      return [...h.training.studies.values()].at(-1)!.runId;
    };
    const first = await dropRows(draw(0));
    const reference = h.bucket.json<Report>(layout.dataReport(first))!;
    const sd = reference.columns.find((c) => c.name === 'mother_age')!.std!;
    h.bucket.put('models/births/serving.json', JSON.stringify({ version: first }));
    const warnings = () =>
      h.logs.filter((l) => l.severity === 'WARNING' && /^data drift/.test(l.message));

    const same = await dropRows(draw(7));
    assert.equal(h.bucket.json<Report>(layout.dataReport(same))!.verdict, 'no drift');
    assert.equal(warnings().length, 0, 'the same distribution, drawn again: no warning');

    let n = 0;
    const drifted = await dropRows(
      draw(11).map((l) => {
        const c = l.split(',');
        c[2] = (Number(c[2]) + sd).toFixed(1); // mother_age + 1 sd
        if (n % 10 < 3) c[3] = 'Sextuplets(6)'; // a category the serving data never had
        if (n % 2 === 0) c[1] = ''; // is_male emptied in half the rows
        n++;
        return c.join(',');
      }),
    );
    const report = h.bucket.json<Report>(layout.dataReport(drifted))!;
    assert.equal(report.verdict, 'drift');
    assert.deepEqual([...report.drift!.drifted].sort(), ['is_male', 'mother_age', 'plurality']);
    const [warning] = warnings();
    assert.equal(warnings().length, 1);
    assert.match(warning.message, /mother_age \(js 0\.\d+ > 0\.1\)/);
    assert.match(warning.message, /plurality \(linfty 0\.\d+ > 0\.1\)/);
    assert.match(warning.message, /is_male \(missing rate 0 → 0\.5\)/);
    assert.doesNotMatch(warning.message, /gestation_weeks|weight_pounds/);
    const plurality = report.drift!.features.find((f) => f.name === 'plurality')!;
    assert.deepEqual(plurality.newValues, ['Sextuplets(6)']);
  });

  it('with nothing serving, a drop is compared with the previous validated run’s data; a column gone from the header and a new one are named', async () => {
    const lines = readFileSync(join(DATA, 'babyweight/train.csv'), 'utf8').trimEnd().split('\n');
    const draw = (offset: number) => lines.filter((_, i) => i % 30 === offset);
    const h = harness();
    h.bucket.put('config/births/schema.json', JSON.stringify({ label: 'weight_pounds' }));
    let events: ReturnType<typeof drop> = [];
    const dropRows = async (header: string, rows: string[], change = (l: string) => l) => {
      events = drop(h.bucket, {
        'data/births/train.csv': `${header}\n${rows.map(change).join('\n')}\n`,
        'data/births/eval.csv': `${header}\n${draw(29).map(change).join('\n')}\n`,
      });
      for (const e of events) await onObjectFinalized(h.ctx, e);
      return [...h.training.studies.values()].at(-1)!.runId;
    };
    const warnings = () =>
      h.logs.filter((l) => l.severity === 'WARNING' && /^data drift/.test(l.message));
    const header = 'weight_pounds,is_male,mother_age,plurality,gestation_weeks,key';
    const first = await dropRows(header, draw(0));
    assert.equal(h.bucket.json<Report>(layout.dataReport(first))!.verdict, 'no reference');

    const second = await dropRows(header, draw(7));
    const report = h.bucket.json<Report>(layout.dataReport(second))!;
    assert.deepEqual(report.reference, {
      version: first,
      source: layout.dataReport(first),
      as: 'previous run',
    });
    assert.equal(report.verdict, 'no drift');
    // A redelivery of the second drop's events compares with the first run still.
    for (const e of events) await onObjectFinalized(h.ctx, e);
    assert.equal(h.bucket.json<Report>(layout.dataReport(second))!.reference!.version, first);

    // The third drop lost plurality and gained the gestation in days (the schema is inferred
    // again from each drop, so the run goes on).
    const third = await dropRows(
      'weight_pounds,is_male,mother_age,gestation_weeks,gestation_days,key',
      draw(11),
      (l) => {
        const c = l.split(',');
        return [c[0], c[1], c[2], c[4], String(Math.round(Number(c[4]) * 7)), c[5]].join(',');
      },
    );
    const changed = h.bucket.json<Report>(layout.dataReport(third))!;
    assert.equal(changed.reference!.version, second);
    assert.deepEqual(changed.drift!.missingColumns, ['plurality']);
    assert.deepEqual(changed.drift!.newColumns, ['gestation_days']);
    assert.equal(warnings().length, 1);
    assert.match(
      warnings()[0].message,
      new RegExp(
        `^data drift against the previous run ${second}: plurality \\(column gone\\), gestation_days \\(new column\\)$`,
      ),
    );

    // The fourth gives gestation as term or preterm: numbers became categories.
    const fourth = await dropRows(header, draw(13), (l) => {
      const c = l.split(',');
      c[4] = Number(c[4]) < 37 ? 'preterm' : 'term';
      return c.join(',');
    });
    const typed = h.bucket.json<Report>(layout.dataReport(fourth))!;
    const gestation = typed.drift!.features.find((f) => f.name === 'gestation_weeks')!;
    assert.equal(gestation.drifted, true);
    assert.equal(warnings().length, 2);
    assert.match(
      warnings()[1].message,
      /gestation_weeks \(type numeric → categorical; linfty 1 > 0\.1\)/,
    );
  });

  it('a drop whose header lacks a column the model needs fails before any trial with an ERROR naming it; the serving model keeps answering', async () => {
    const { good } = await trainedModels();
    const h = harness();
    await deployVersion(h.bucket, V1, good);
    const server = new ModelServer(h.bucket, 0, () => {});
    const versionOf = async () =>
      (
        (
          await handlePredict(server, {
            method: 'POST',
            path: `/${MODEL}`,
            contentType: 'application/json',
            bodyBytes: 0,
            body: { instances: [BABY] },
          })
        ).body as { model?: { version: string } }
      ).model?.version;
    assert.equal(await versionOf(), V1);
    // The course's columns with a header, plurality left out.
    const without = (csv: string) =>
      [
        'weight_pounds,is_male,mother_age,gestation_weeks,key',
        ...csv
          .trimEnd()
          .split('\n')
          .map((l) => l.split(',').toSpliced(3, 1).join(',')),
      ].join('\n') + '\n';
    for (const e of drop(h.bucket, {
      [paths.train]: without(TRAIN_CSV),
      [paths.eval]: without(EVAL_CSV),
    }))
      await onObjectFinalized(h.ctx, e);
    assert.equal(h.training.studies.size, 0, 'no trial started');
    const error = h.logs.find((l) => l.severity === 'ERROR')!;
    assert.match(error.message, /data\/babyweight\/train\.csv: header lacks column\(s\) plurality/);
    assert.equal(await versionOf(), V1);
  });

  it('a spec can make a feature’s drift blocking, with its own threshold: the run fails naming it, the serving model keeps serving', async () => {
    const { h, first, dropOlder } = await blockingMotherAge();
    h.bucket.put('models/births/serving.json', JSON.stringify({ version: first }));
    await dropOlder();
    const run = h.bucket
      .names('runs/')
      .filter((n) => n.endsWith('/run.json') && !n.includes(first))
      .map((n) => h.bucket.json<{ state: string; error: { message: string } }>(n)!)[0];
    assert.equal(run.state, 'failed');
    assert.match(
      run.error.message,
      /^data drift in mother_age \(js [0-9.]+ > 0\.2\), which the spec makes blocking/,
    );
    assert.equal(h.training.studies.size, 1, 'no study for the blocked drop');
    assert.equal(h.bucket.json<{ version: string }>('models/births/serving.json')!.version, first);
  });

  it('a blocking feature that drifts against a previous run (nothing serves) warns and does not block: that run never deployed', async () => {
    const { h, first, dropOlder } = await blockingMotherAge();
    await dropOlder();
    assert.equal(h.training.studies.size, 2, 'the second drop tunes too');
    const second = [...h.training.studies.values()][1].runId;
    const report = h.bucket.json<Report>(layout.dataReport(second))!;
    assert.equal(report.reference?.version, first);
    assert.equal(report.verdict, 'drift');
    assert.ok(h.logs.some((l) => l.severity === 'WARNING' && /mother_age \(js/.test(l.message)));
  });

  it('a validation naming a column the model does not read, or a bad threshold, is refused naming the field', () => {
    const spec = (validation: unknown) => ({ ...BUILTIN_SPECS.babyweight, validation });
    assert.throws(
      () => parseSpec(spec({ features: { mothers_age: { threshold: 0.2 } } })),
      /validation.features: "mothers_age" is not a column the model reads/,
    );
    assert.throws(
      () => parseSpec(spec({ features: { mother_age: { threshold: 2, blocking: 'yes' } } })),
      /validation.features.mother_age.threshold must be a number in \(0, 1\].*\n?.*blocking must be true or false/s,
    );
  });

  it('a serving pointer or reference that is not what it should be is a warning and no reference, never a stuck run', async () => {
    for (const [pointer, report] of [
      ['not json', undefined],
      [JSON.stringify({ version: 'taxifare-0123456789ab' }), undefined], // another model's run
      [
        JSON.stringify({ version: 'babyweight-0123456789ab' }),
        '{"columns": [null, 5, {"name": 1}]}',
      ],
      [
        JSON.stringify({ version: 'babyweight-0123456789ab' }),
        '{"columns": [{"name": "mother_age", "role": "numeric", "count": 1, "missing": 0, "missingRate": 0, "distinct": 1, "quantiles": 5}]}',
      ],
    ] as const) {
      const h = harness();
      h.bucket.put(paths.pointer, pointer);
      if (report) h.bucket.put(layout.dataReport('babyweight-0123456789ab'), report);
      for (const e of drop(h.bucket)) await onObjectFinalized(h.ctx, e);
      const { runId } = onlyStudy(h.training);
      const got = h.bucket.json<Report>(layout.dataReport(runId))!;
      assert.ok(
        got.verdict === 'no reference' || got.verdict === 'no drift',
        `${pointer}: ${got.verdict}`,
      );
    }
  });

  it('identical data with tied deciles is no drift when the reference kept its bin shares', () => {
    const sample = Array.from({ length: 5000 }, (_, i) => (i % 5 === 0 ? 7 : (i * 7919) % 100));
    const sorted = [...sample].sort((a, b) => a - b);
    const deciles = Array.from(
      { length: 11 },
      (_, i) => sorted[Math.round((i / 10) * (sorted.length - 1))],
    );
    const shares = binShares(deciles, sample);
    assert.ok(jensenShannon(deciles, sample, shares) < 1e-9);
  });

  it('Jensen-Shannon over the reference deciles: 0 for the same distribution, 1 for disjoint ones', () => {
    const deciles = Array.from({ length: 11 }, (_, i) => i * 10);
    const same = Array.from({ length: 1000 }, (_, i) => i / 10);
    assert.ok(jensenShannon(deciles, same) < 0.01);
    const far = Array.from({ length: 1000 }, () => 500);
    assert.ok(jensenShannon(deciles, far) > 0.5);
  });
});
