import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BUILTIN_SPECS, DataError, FeatureEncoder, fileSource, readDataset } from '@bucketml/model';
import { sampleCsv, tempDir } from './helpers.ts';

const encoder = new FeatureEncoder(BUILTIN_SPECS.babyweight);

async function expectDataError(promise: Promise<unknown>, pattern: RegExp): Promise<DataError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof DataError, `expected DataError, got ${err}`);
    assert.match(err.message, pattern);
    return err;
  }
  assert.fail(`expected an error matching ${pattern}`);
}

describe('reading CSV data', () => {
  it('reads the shipped babyweight file with lineage (size, sha256, rows)', async () => {
    const dir = await tempDir();
    const path = await sampleCsv(dir, 'train.csv', 'babyweight/train.csv', 1000);
    const ds = await readDataset([fileSource(path)], encoder);
    assert.equal(ds.size, 1000);
    assert.equal(ds.badRows, 0);
    assert.equal(ds.files[0].rows, 1000);
    assert.equal(ds.keys, undefined, 'keys are kept only when asked for');
    assert.match(ds.files[0].sha256, /^[0-9a-f]{64}$/);
    assert.ok(ds.files[0].bytes > 10_000);
  });

  it('skips and reports bad rows with line numbers and reasons', async () => {
    const dir = await tempDir();
    const path = await sampleCsv(dir, 'train.csv', 'babyweight/train.csv', 200, [
      '7.1,Maybe,30,Single(1),39,k1', // line 201: unknown category
      'heavy,True,30,Single(1),39,k2', // line 202: label not a number
      '7.1,True,30,Single(1)', // line 203: too few columns
      '7.1,True,30,Single(1),99,k3', // line 204: out of range
    ]);
    const ds = await readDataset([fileSource(path)], encoder, { maxBadFraction: 0.05 });
    assert.equal(ds.size, 200);
    assert.equal(ds.badRows, 4);
    assert.deepEqual(
      ds.badRowSamples.map((b) => [b.line, b.reason]),
      [
        [201, 'is_male: "Maybe" is not one of True, False, Unknown'],
        [202, 'weight_pounds: "heavy" is not a number'],
        [203, 'expected 6 columns, found 4'],
        [204, 'gestation_weeks: 99 is above the maximum 50'],
      ],
    );
  });

  it('stops with a clear error past the bad-row threshold', async () => {
    const dir = await tempDir();
    const bad = Array.from({ length: 10 }, (_, i) => `7.1,Maybe,30,Single(1),39,bad${i}`);
    const path = await sampleCsv(dir, 'train.csv', 'babyweight/train.csv', 90, bad);
    const err = await expectDataError(
      readDataset([fileSource(path)], encoder),
      /10 of 100 rows \(10\.0%\) are invalid, above the 5\.0% limit/,
    );
    assert.match(err.message, /train\.csv:91: is_male: "Maybe"/);
    assert.equal(err.line, 91);
  });

  it('names the file for empty, missing, header-only and wrong-width files', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'empty.csv'), '');
    await expectDataError(
      readDataset([fileSource(join(dir, 'empty.csv'))], encoder),
      /empty\.csv: file is empty/,
    );
    await expectDataError(
      readDataset([fileSource(join(dir, 'nope.csv'))], encoder),
      /nope\.csv: file not found/,
    );
    await writeFile(
      join(dir, 'header.csv'),
      'weight_pounds,is_male,mother_age,plurality,gestation_weeks,key\n',
    );
    await expectDataError(
      readDataset([fileSource(join(dir, 'header.csv'))], encoder),
      /header\.csv: no data rows/,
    );
    await writeFile(join(dir, 'taxi.csv'), '12.0,-73.98,40.75,-73.97,40.78,1,0\n');
    const err = await expectDataError(
      readDataset([fileSource(join(dir, 'taxi.csv'))], encoder),
      /taxi\.csv: expected 6 columns \(weight_pounds, is_male, mother_age, plurality, gestation_weeks, key\), found 7 on line 1/,
    );
    assert.equal(err.file, join(dir, 'taxi.csv'));
  });

  it('skips a header row that repeats the column names', async () => {
    const dir = await tempDir();
    await writeFile(
      join(dir, 'h.csv'),
      'weight_pounds,is_male,mother_age,plurality,gestation_weeks,key\n7.5,True,30,Single(1),39,a\n6.5,False,25,Twins(2),36,b\n',
    );
    const ds = await readDataset([fileSource(join(dir, 'h.csv'))], encoder, { keepKeys: true });
    assert.equal(ds.size, 2);
    assert.deepEqual([...ds.labels], [7.5, 6.5]);
    assert.deepEqual(ds.keys, ['a', 'b']);
  });

  it('a header of the column names in another order (any case) is read by name; one lacking columns names them', async () => {
    const dir = await tempDir();
    const rows = '30,Single(1),39,a,True,7.5\n25,Twins(2),36,b,False,6.5\n';
    await writeFile(
      join(dir, 'h.csv'),
      `Mother_Age,plurality,gestation_weeks,key,is_male,WEIGHT_POUNDS\n${rows}`,
    );
    const ds = await readDataset([fileSource(join(dir, 'h.csv'))], encoder, { keepKeys: true });
    assert.equal(ds.badRows, 0);
    assert.deepEqual([...ds.labels], [7.5, 6.5]);
    assert.deepEqual(ds.keys, ['a', 'b']);
    await writeFile(join(dir, 'l.csv'), `mother_age,key,is_male,weight_pounds\n30,a,True,7.5\n`);
    await expectDataError(
      readDataset([fileSource(join(dir, 'l.csv'))], encoder),
      /l\.csv: header lacks column\(s\) plurality, gestation_weeks$/,
    );
  });
});
