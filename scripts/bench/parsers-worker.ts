/**
 * @module bench/parsers-worker
 * One parser over one CSV in a fresh process (data.ts's side-by-side comparison): argv[2] is
 * `bucketml` (our scanner, csv.ts), `csv-parse`, `papaparse` or `udsv`; argv[3] `fields` (each
 * record's fields as strings) or `encode` (then each record encoded by the babyweight spec's
 * FeatureEncoder, by column name: what a reader built on that parser would do; for bucketml
 * this is readDataset itself, which encodes from the bytes). Every parser streams the file in
 * 1 MiB chunks with the options our reader needs (BOM, trim where offered). Prints {rows, seconds}.
 */
import { createReadStream } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { parse as csvParse } from 'csv-parse';
import Papa from 'papaparse';
import { initParser, inferSchema } from 'udsv';
import {
  BUILTIN_SPECS,
  FeatureEncoder,
  fileSource,
  readDataset,
  scanCsv,
  type EncodedRows,
} from '@bucketml/model';

const [parser, mode, file] = process.argv.slice(2);
const CHUNK = 1 << 20;
const spec = BUILTIN_SPECS.babyweight;
const encoder = new FeatureEncoder(spec);
const scratch: EncodedRows = {
  dense: new Float32Array(encoder.layout.dense.length),
  wide: new Int32Array(encoder.layout.wide.length),
  embed: new Int32Array(encoder.layout.embed.length),
};
const column = new Map(spec.columns.map((c, i) => [c, i]));
const labelColumn = column.get(spec.label.name)!;
const [labelMin, labelMax] = [spec.label.min ?? -Infinity, spec.label.max ?? Infinity];
let rows = 0;
let bad = 0;
/** What every parser hands each record to. */
function onFields(fields: string[]): void {
  rows++;
  if (mode !== 'encode') return;
  const read = (name: string) => fields[column.get(name)!];
  const label = Number(fields[labelColumn]);
  if (!(label >= labelMin && label <= labelMax) || encoder.encode(read, scratch, 0) !== null) bad++;
}
const chunks = () => createReadStream(file, { highWaterMark: CHUNK });

const start = performance.now();
if (parser === 'bucketml') {
  if (mode === 'encode') rows = (await readDataset([fileSource(file)], encoder)).size;
  else await scanCsv(chunks(), (row) => onFields(row.fields()));
} else if (parser === 'csv-parse') {
  const records = chunks().pipe(
    csvParse({ bom: true, trim: true, relax_column_count: true, skip_empty_lines: true }),
  );
  for await (const record of records) onFields(record as string[]);
} else if (parser === 'papaparse') {
  await new Promise<void>((done, fail) => {
    const stream = Papa.parse(Papa.NODE_STREAM_INPUT, { skipEmptyLines: true });
    stream.on('data', (record: string[]) => onFields(record));
    stream.on('end', () => done());
    stream.on('error', fail);
    chunks().pipe(stream);
  });
} else if (parser === 'udsv') {
  const decoder = new StringDecoder('utf8');
  let p: ReturnType<typeof initParser> | undefined;
  // Called with each row; not appending it keeps the parser from holding the file's rows.
  const onData = (record: string[]) => onFields(record);
  for await (const buf of chunks()) {
    const text = decoder.write(buf as Buffer);
    // The schema from the first chunk; the course's files have no header row.
    p ??= initParser(inferSchema(text, { header: () => [] }));
    p.chunk<string[]>(text, p.stringArrs, onData);
  }
  p!.chunk<string[]>(decoder.end(), p!.stringArrs, onData);
  p!.end();
} else throw new Error(`unknown parser ${parser}`);
const seconds = (performance.now() - start) / 1000;
if (bad > 0) throw new Error(`${parser}: ${bad} rows did not encode`);
console.log(JSON.stringify({ rows, seconds }));
