import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BUILTIN_SPECS,
  heldOutPart,
  isHeldOut,
  scanCsv,
  type HeldOutOptions,
} from '@bucketml/model';

/** A part of `text`, fed in chunks cut at `cuts` (byte offsets), as a string. */
async function part(
  text: string,
  which: 'train' | 'eval',
  cuts: number[] = [],
  spec: HeldOutOptions['spec'] = null,
) {
  const bytes = Buffer.from(text);
  const chunks: Buffer[] = [];
  let at = 0;
  for (const c of [...cuts, bytes.length]) {
    chunks.push(bytes.subarray(at, c));
    at = c;
  }
  async function* feed() {
    yield* chunks;
  }
  const out: Buffer[] = [];
  for await (const b of heldOutPart(feed(), { part: which, every: 5, spec, file: 'f.csv' }))
    out.push(b);
  return Buffer.concat(out).toString();
}

/** The records the CSV reader reads from `text`, as field lists. */
async function records(text: string): Promise<string[][]> {
  const out: string[][] = [];
  async function* feed() {
    yield Buffer.from(text);
  }
  await scanCsv(feed(), (row) => out.push(row.fields()));
  return out;
}

const rows = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => `${from + i},"name ${from + i}",${(from + i) * 0.5}`);
const dataRows = (text: string) => text.split('\n').slice(1).filter(Boolean);
const sorted = (r: string[][]) => r.map((f) => JSON.stringify(f)).sort();

describe('held-out part of a training CSV', () => {
  it('puts every row in exactly one part, the header in both, about 1 in 5 held out', async () => {
    const text = ['id,name,x', ...rows(0, 2000)].join('\n') + '\n';
    const train = await part(text, 'train');
    const evaluation = await part(text, 'eval');
    assert.ok(train.startsWith('id,name,x\n') && evaluation.startsWith('id,name,x\n'));
    assert.deepEqual([...dataRows(train), ...dataRows(evaluation)].sort(), rows(0, 2000).sort());
    const share = dataRows(evaluation).length / 2000;
    assert.ok(share > 0.17 && share < 0.23, `held out ${share}`);
  });

  it('decides by the row, not its position: reordered, added and duplicated rows keep their side', async () => {
    const earlier = rows(0, 300);
    const held = new Set(dataRows(await part(['h', ...earlier].join('\n'), 'eval')));
    const later = [...rows(300, 400), ...earlier.slice().reverse(), earlier[7], earlier[7]];
    const heldLater = dataRows(await part(['h', ...later].join('\r\n') + '\r\n', 'eval'));
    for (const r of earlier) assert.equal(heldLater.includes(r), held.has(r), r);
    assert.equal(heldLater.filter((r) => r === earlier[7]).length, held.has(earlier[7]) ? 3 : 0);
  });

  it('holds exactly the records the reader reads, whatever the line endings and chunking', async () => {
    const body = Array.from(
      { length: 300 },
      (_, i) => `${i},"line one\r\nline ""two"" ${i}", x${i}`,
    );
    for (const [ending, name] of [
      ['\n', 'LF'],
      ['\r\n', 'CRLF'],
      ['\r', 'CR'],
    ]) {
      // A BOM, blank lines (spaces too), no final line break.
      const text =
        '\uFEFF' + ['a,b,c', '', ...body.slice(0, 150), '   ', ...body.slice(150)].join(ending);
      const expected = await records(text);
      const len = Buffer.byteLength(text);
      for (const cuts of [[], [1], [2, 3, 5, 40], [len - 1], [Math.floor(len / 2)]]) {
        const t = await part(text, 'train', cuts);
        const e = await part(text, 'eval', cuts);
        const [th, ...tr] = await records(t);
        const [eh, ...er] = await records(e);
        assert.deepEqual(th, expected[0], `${name} ${cuts}: the header starts the training part`);
        assert.deepEqual(eh, expected[0], `${name} ${cuts}: and the held-out part`);
        assert.deepEqual(sorted([...tr, ...er]), sorted(expected.slice(1)), `${name} ${cuts}`);
        assert.ok(er.length > 30 && tr.length > 200, `${name}: ${er.length} held out`);
      }
    }
  });

  it("a headerless spec: each part starts with the spec's names, or the header the file has in another order", async () => {
    const spec = BUILTIN_SPECS.babyweight;
    const data = Array.from(
      { length: 200 },
      (_, i) => `${5 + i / 100},True,${20 + (i % 20)},Single(1),${35 + (i % 5)},${i}`,
    );
    const plain = data.join('\n') + '\n';
    const names = spec.columns.join(',');
    const parts = [await part(plain, 'train', [], spec), await part(plain, 'eval', [], spec)];
    for (const p of parts) assert.ok(p.startsWith(names + '\n'), p.slice(0, 80));
    assert.deepEqual(
      parts.flatMap((p) => p.split('\n').slice(1).filter(Boolean)).sort(),
      [...data].sort(),
    );
    // A part split again (a redelivery counts its rows so) is itself.
    assert.equal(await part(parts[1], 'eval', [], spec), parts[1]);
    assert.equal(await part(parts[1], 'train', [], spec), names + '\n');
    // A header in another column order: the reader reads it by name, so both parts need it.
    const header = 'key,weight_pounds,mother_age,is_male,plurality,gestation_weeks';
    const withNames = [header, ...data].join('\n') + '\n';
    for (const which of ['train', 'eval'] as const)
      assert.ok((await part(withNames, which, [], spec)).startsWith(header + '\n'), which);
  });

  it("a headerless file's first row is checked as the reader checks it, with the file's line; a bad row later is left to the reader to count", async () => {
    const spec = BUILTIN_SPECS.babyweight;
    await assert.rejects(
      part('\n7.5,True,26,Single(1)6,39\n8.1,True,30,Single(1),40,k\n', 'train', [], spec),
      (err: Error & { line?: number }) => {
        assert.match(err.message, /^f\.csv: expected 6 columns \(.*\), found 5 on line 2$/);
        assert.equal(err.line, 2);
        return true;
      },
    );
    const rows = Array.from({ length: 50 }, (_, i) => `7.${i},True,26,Single(1),39,k${i}`);
    const text = [rows[0], '7.5,True,26,Single(1)6,39', ...rows.slice(1)].join('\n');
    const both = (await part(text, 'train', [], spec)) + (await part(text, 'eval', [], spec));
    assert.ok(both.includes('\n7.5,True,26,Single(1)6,39\n'), 'the bad row is in a part');
  });

  it('refuses a record longer than the reader reads (an unclosed quote), naming its line', async () => {
    const text = 'a,b\n1,2\n3,"unclosed\n' + '4,5\n'.repeat(5_000_000);
    const cuts = Array.from({ length: 25 }, (_, i) => (i + 1) * (1 << 20));
    await assert.rejects(part(text, 'train', cuts), (err: Error & { line?: number }) => {
      assert.equal(err.name, 'DataError');
      assert.match(err.message, /^f\.csv: cannot parse CSV at line 3: a record longer than 16 MB/);
      assert.equal(err.line, 3);
      return true;
    });
  });

  it('a row is held out by its values: not by quoting, white space around a value or line endings', async () => {
    const sides = async (text: string) => {
      const out: boolean[] = [];
      async function* feed() {
        yield Buffer.from(text);
      }
      await scanCsv(feed(), (row) => out.push(isHeldOut(row, 5)));
      return out;
    };
    const n = 10_000;
    const plain = Array.from({ length: n }, (_, i) => `${i},v${i % 7},café ${i}`);
    const quoted = Array.from({ length: n }, (_, i) => `"${i}", "v${i % 7}" ,"café ${i}"`);
    const spaced = Array.from({ length: n }, (_, i) => ` ${i} ,v${i % 7}\t,café ${i} `);
    const expected = await sides(plain.join('\n'));
    assert.deepEqual(await sides(quoted.join('\r\n')), expected);
    assert.deepEqual(await sides(spaced.join('\r')), expected);
    const held = expected.filter(Boolean).length;
    assert.ok(held > 1800 && held < 2200, `${held} of ${n}`);
  });
});
