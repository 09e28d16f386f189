import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { csvBatches, scanCsv } from '@bucketml/model';
import { DATA } from './helpers.ts';

/** csv-parse with the options the readers used before the scanner replaced it. */
function csvParse(text: Buffer): { records: string[][]; lines: number[] } | 'error' {
  try {
    const rows = parse(text, {
      bom: true,
      relax_column_count: true,
      skip_empty_lines: true,
      trim: true,
      info: true,
    }) as { record: string[]; info: { lines: number } }[];
    return { records: rows.map((r) => r.record), lines: rows.map((r) => r.info.lines) };
  } catch {
    return 'error';
  }
}

/** The scanner over `text` cut into chunks at `cuts`. */
async function scan(
  text: Buffer,
  cuts: number[] = [],
): Promise<{ records: string[][]; lines: number[] } | 'error'> {
  const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
  const chunks = [0, ...points, text.length]
    .slice(1)
    .map((end, i, ends) => text.subarray(i === 0 ? 0 : ends[i - 1], end));
  async function* source() {
    yield* chunks;
  }
  try {
    const out = { records: [] as string[][], lines: [] as number[] };
    for await (const batch of csvBatches(source()))
      for (const r of batch) {
        out.records.push(r.fields);
        out.lines.push(r.line);
      }
    return out;
  } catch {
    return 'error';
  }
}

describe('CSV scanner: csv-parse’s records, lines and errors', () => {
  // One line-break style per file, as files are written. (Mixed, csv-parse ends records only at
  // the first style it met and keeps the others inside fields; the scanner ends them at each.)
  it('as csv-parse on random text of quotes, delimiters, line breaks, blanks and non-ASCII, cut into random chunks', async () => {
    const piece = fc.constantFrom(
      ...['a', '7', '-1.5', ' ', '\t', '\f', '\v', '\u00a0', '\u3000', '\ufeff'],
      ...[',', '"', '""', 'EOL', 'é', '日本', ''],
    );
    await fc.assert(
      fc.asyncProperty(
        fc.boolean(),
        fc.constantFrom('\n', '\r\n', '\r'),
        fc.array(piece, { maxLength: 40 }),
        fc.array(fc.nat(200), { maxLength: 6 }),
        async (bom, eol, pieces, cuts) => {
          const text = Buffer.concat([
            Buffer.from(bom ? '\ufeff' : ''),
            Buffer.from(pieces.join('').replaceAll('EOL', eol)),
          ]);
          const [ours, theirs] = [await scan(text, cuts), csvParse(text)];
          // What the scanner reads, csv-parse reads alike; what csv-parse refuses, it refuses.
          // (It may refuse more: csv-parse lets a few malformed quotings through, e.g. '"" ""'.)
          // Line numbers too, except after a CRLF inside quotes, which csv-parse counts as two.
          const sameLines = !(eol === '\r\n' && pieces.includes('"'));
          if (ours !== 'error' && theirs !== 'error' && !sameLines)
            assert.deepEqual(ours.records, theirs.records, JSON.stringify(text.toString()));
          else if (ours !== 'error' || theirs === 'error')
            assert.deepEqual(ours, theirs, JSON.stringify(text.toString()));
        },
      ),
      { numRuns: 3000, seed: 20261201 },
    );
  });

  it('equal to csv-parse on well-formed quoted CSV (fields with commas, quotes and line breaks)', async () => {
    const field = fc.oneof(
      fc.string({ maxLength: 6 }).map((s) => s.replace(/[",\r\n]/g, '')),
      fc.string({ maxLength: 6 }).map((s) => `"${s.replace(/"/g, '""')}"`),
    );
    const row = fc.array(field, { minLength: 1, maxLength: 5 }).map((f) => f.join(','));
    await fc.assert(
      fc.asyncProperty(
        fc.array(row, { maxLength: 8 }),
        fc.constantFrom('\n', '\r\n'),
        fc.array(fc.nat(300), { maxLength: 6 }),
        async (rows, eol, cuts) => {
          const text = Buffer.from(rows.join(eol) + eol);
          assert.deepEqual(await scan(text, cuts), csvParse(text), JSON.stringify(text.toString()));
        },
      ),
      { numRuns: 1000, seed: 7 },
    );
  });

  it('equal to csv-parse on large files in large chunks (a record carried into the next chunk, the index refilled mid-record)', async () => {
    // Big enough for the paths small texts never take: a carried record completed from the
    // next chunk's head, records longer than that head, and fields across the index's window.
    const field = fc.oneof(
      { weight: 8, arbitrary: fc.string({ maxLength: 8 }).map((s) => s.replace(/[",\r\n]/g, '')) },
      {
        weight: 3,
        arbitrary: fc.string({ maxLength: 8 }).map((s) => `"${s.replace(/"/g, '""')}"`),
      },
      {
        weight: 1,
        arbitrary: fc.nat(20_000).map((n) => `"${'x,"\n'.repeat(n >> 2).replace(/"/g, '""')}"`),
      },
    );
    const row = fc.array(field, { minLength: 1, maxLength: 6 }).map((f) => f.join(','));
    await fc.assert(
      fc.asyncProperty(
        fc.array(row, { minLength: 100, maxLength: 3000 }),
        fc.constantFrom('\n', '\r\n'),
        fc.array(fc.nat(400_000), { maxLength: 40 }),
        async (rows, eol, cuts) => {
          const text = Buffer.from(rows.join(eol) + eol);
          assert.deepEqual(await scan(text, cuts), csvParse(text));
        },
      ),
      { numRuns: 15, seed: 24 },
    );
  });

  it('cut at every byte: the same records (a BOM, a CRLF or a quote split across chunks)', async () => {
    for (const text of ['\ufeffa,"b,""c"\r\nd,e\r\n', 'x\n\ufeffa,b\n', '"q\r\n"\r\n1,2']) {
      const bytes = Buffer.from(text);
      const whole = csvParse(bytes);
      for (let cut = 1; cut < bytes.length; cut++) {
        const ours = await scan(bytes, [cut]);
        assert.deepEqual(
          ours === 'error' ? ours : ours.records,
          whole === 'error' ? whole : whole.records,
          `${JSON.stringify(text)} cut at ${cut}`,
        );
      }
    }
  });

  it('a record that never ends (an unclosed quote) is refused past 16 MB, in linear time', async () => {
    const started = performance.now();
    async function* source() {
      yield Buffer.from('a,b\n"1,2,3');
      for (let i = 0; i < 300; i++) yield Buffer.alloc(65_536, 0x61);
    }
    await assert.rejects(async () => {
      for await (const _ of csvBatches(source()));
    }, /a record longer than 16 MB starts at line 2 \(an unclosed quote\?\)$/);
    assert.ok(performance.now() - started < 5000, 'linear, not a rescan per chunk');
  });

  it('a record past 16 MB without a quote is refused without guessing at a quote', async () => {
    async function* source() {
      yield Buffer.from('a,b\n1,');
      for (let i = 0; i < 300; i++) yield Buffer.alloc(65_536, 0x61);
    }
    await assert.rejects(async () => {
      for await (const _ of csvBatches(source()));
    }, /a record longer than 16 MB starts at line 2$/);
  });

  it('reads the shipped data files as csv-parse does', async () => {
    for (const file of ['babyweight/train.csv', 'taxifare/taxi-valid.csv']) {
      const text = readFileSync(join(DATA, file));
      assert.deepEqual(await scan(text, [65_536, 131_072]), csvParse(text), file);
    }
  });

  it('bad quoting is an error naming the line', async () => {
    for (const [text, pattern] of [
      ['a,b\nc"d,e\n', /Invalid Opening Quote: .* at line 2/],
      ['a,b\n"cd"e,f\n', /Invalid Closing Quote: got "e" at line 2/],
      ['a,b\nc,"d\ne\n', /Quote Not Closed: .* at line 2/],
    ] as const) {
      async function* source() {
        yield Buffer.from(text);
      }
      await assert.rejects(async () => {
        for await (const _ of csvBatches(source()));
      }, pattern);
    }
  });

  it('a field read as a number from its bytes is Number of its text, or NaN (the caller parses the text)', async () => {
    const plain = fc
      .tuple(
        fc.constantFrom('', '-', '+'),
        fc.stringMatching(/^[0-9]{0,17}$/),
        fc.option(fc.stringMatching(/^[0-9]{0,8}$/)),
        fc.option(fc.tuple(fc.constantFrom('e', 'E'), fc.constantFrom('', '-', '+'), fc.nat(400))),
      )
      .map(
        ([sign, whole, fraction, exp]) =>
          `${sign}${whole}${fraction === null ? '' : `.${fraction}`}${exp === null ? '' : `${exp[0]}${exp[1]}${exp[2]}`}`,
      );
    const other = fc.constantFrom(
      '0x1A',
      'Infinity',
      '1_0',
      '  ',
      '1 ',
      ' 7',
      '"5"',
      '.',
      '-',
      'e5',
      '1e',
    );
    const cell = fc.oneof(plain, other, fc.double().map(String), fc.integer().map(String));
    await fc.assert(
      fc.asyncProperty(fc.array(cell, { minLength: 1, maxLength: 4 }), async (cells) => {
        const vocabulary = new Map(cells.map((c, i) => [c.trim(), i]));
        const seen: { text: string; number: number; id: number }[] = [];
        const scratch = new Float64Array(1);
        async function* source() {
          yield Buffer.from(`${cells.join(',')}\n`);
        }
        await scanCsv(source(), (row) => {
          for (let i = 0; i < row.count; i++)
            seen.push({
              text: row.text(i)!,
              number: row.numberInto(i, scratch, 0) ? scratch[0] : NaN,
              id: row.categoryId(i, vocabulary),
            });
        });
        for (const { text, number, id } of seen) {
          assert.equal(id, vocabulary.get(text.trim()) ?? -1);
          if (!Number.isNaN(number))
            assert.ok(Object.is(number, Number(text)), `${text}: ${number}`);
        }
        // A plain decimal of at most 15 significant digits is always read from its bytes.
        if (seen.length === cells.length)
          cells.forEach((raw, i) => {
            const digits = raw.replace(/[-+.]/g, '').replace(/^0+/, '').length;
            if (/^[-+]?(\d+\.?\d*|\.\d+)$/.test(raw) && digits <= 15)
              assert.ok(!Number.isNaN(seen[i].number), raw);
          });
      }),
      { numRuns: 3000, seed: 16 },
    );
  });
});
