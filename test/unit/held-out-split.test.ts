import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isHeldOut, splitPart } from '../../packages/pipeline/src/held-out-split.ts';

/** A part of `text`, fed in chunks cut at `cuts` (byte offsets), as a string. */
async function part(text: string, which: 'train' | 'eval', cuts: number[] = [], header = true) {
  const bytes = Buffer.from(text);
  const chunks: Buffer[] = [];
  let at = 0;
  for (const c of [...cuts, bytes.length]) {
    chunks.push(bytes.subarray(at, c));
    at = c;
  }
  const out: Buffer[] = [];
  for await (const b of splitPart(chunks, { part: which, every: 5, header, file: 'f.csv' }))
    out.push(b);
  return Buffer.concat(out).toString();
}

const rows = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => `${from + i},"name ${from + i}",${(from + i) * 0.5}`);
const dataRows = (part: string) => part.split('\n').slice(1).filter(Boolean);

describe('held-out split of a training CSV', () => {
  it('puts every row in exactly one part, the header in both, about 1 in 5 held out', async () => {
    const text = ['id,name,x', ...rows(0, 2000)].join('\n') + '\n';
    const train = await part(text, 'train');
    const evaluation = await part(text, 'eval');
    assert.ok(train.startsWith('id,name,x\n') && evaluation.startsWith('id,name,x\n'));
    assert.deepEqual(
      [...dataRows(train), ...dataRows(evaluation)].sort(),
      rows(0, 2000).sort(),
      'the parts are the rows, each once',
    );
    const share = dataRows(evaluation).length / 2000;
    assert.ok(share > 0.17 && share < 0.23, `held out ${share}`);
  });

  it('decides by the row, not its position: reordered, added and duplicated rows keep their side', async () => {
    const earlier = rows(0, 300);
    const held = new Set(dataRows(await part(['h', ...earlier].join('\n'), 'eval')));
    // The later drop: more rows, another order, one row three times.
    const later = [...rows(300, 400), ...earlier.slice().reverse(), earlier[7], earlier[7]];
    const heldLater = dataRows(await part(['h', ...later].join('\n') + '\n', 'eval'));
    for (const r of earlier) assert.equal(heldLater.includes(r), held.has(r), r);
    assert.equal(heldLater.filter((r) => r === earlier[7]).length, held.has(earlier[7]) ? 3 : 0);
  });

  it('keeps quoted line breaks inside their record whatever the chunking, with CRLF and no final newline', async () => {
    const header = 'a,b';
    const records = Array.from({ length: 200 }, (_, i) => `${i},"line one\r\nline ""two"" ${i}"`);
    const text = [header, ...records].join('\r\n'); // no final newline
    // Expected: each record whole, with its own line ending (the last one gets a \n).
    const expected = (which: 'train' | 'eval') =>
      `${header}\r\n` +
      records
        .map((r, i) =>
          isHeldOut(Buffer.from(r), 5) === (which === 'eval')
            ? r + (i < records.length - 1 ? '\r\n' : '\n')
            : '',
        )
        .join('');
    for (const cuts of [
      [],
      [1],
      [5, 6, 7, 40],
      [text.indexOf('\n') + 1],
      [text.length - 1],
      [text.indexOf('""') + 1],
    ]) {
      assert.equal(await part(text, 'train', cuts), expected('train'), `train, cut at ${cuts}`);
      assert.equal(await part(text, 'eval', cuts), expected('eval'), `eval, cut at ${cuts}`);
    }
    assert.ok(expected('eval').length > header.length + 2, 'some records are held out');
  });

  it('without a header (a headerless spec) the first record is split like the others', async () => {
    const text = rows(0, 50).join('\n') + '\n';
    const train = (await part(text, 'train', [], false)).split('\n').filter(Boolean);
    const evaluation = (await part(text, 'eval', [], false)).split('\n').filter(Boolean);
    assert.deepEqual([...train, ...evaluation].sort(), rows(0, 50).sort(), 'each row once');
  });

  it('refuses a record longer than the reader would read (an unclosed quote), naming its line', async () => {
    const text = 'a,b\n1,2\n3,"unclosed\n' + '4,5\n'.repeat(5_000_000);
    const cuts = Array.from({ length: 25 }, (_, i) => (i + 1) * (1 << 20));
    await assert.rejects(part(text, 'train', cuts), (err: Error & { line?: number }) => {
      assert.equal(err.name, 'DataError');
      assert.match(
        err.message,
        /^f\.csv: a record longer than 16 MB starts at line 3 \(an unclosed quote\?\)/,
      );
      assert.equal(err.line, 3);
      return true;
    });
  });

  it('leaves blank lines out; a one-row file gives one part with the row, one with the header only', async () => {
    const text = 'a,b\n\n\n1,2\n\n';
    const parts = [await part(text, 'train'), await part(text, 'eval')].sort();
    assert.deepEqual(parts, ['a,b\n', 'a,b\n1,2\n']);
  });
});
