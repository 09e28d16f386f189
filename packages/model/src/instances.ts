/**
 * @module instances
 * Prediction inputs read as a stream of instances, in order: JSON lines, or the rows of a CSV
 * with a header (field names from the header, every cell a string, an empty cell missing).
 * `bucketml predict` and batch prediction read their inputs here, so they see the same instances.
 */
import { csvBatches, CsvSyntaxError, MAX_RECORD_BYTES } from './csv.js';

/**
 * One input item: an instance, or why the item could not be read (kept in its place). A fatal
 * error is the input's last item: the rest could not be read.
 */
export type InstanceItem = { instance: unknown } | { error: string; fatal?: true };

/**
 * One JSON instance per line (LF or CRLF); blank lines are skipped, a line that is not JSON is
 * an error item, and so is a line longer than the CSV reader's record limit (16 MB), whose bytes
 * are skipped, never held. A UTF-8 BOM before the first line is dropped, as the CSV reader
 * drops it. A failure of the stream itself throws: it says nothing about the input.
 */
export async function* jsonLineInstances(
  input: NodeJS.ReadableStream,
): AsyncGenerator<InstanceItem> {
  let lineNo = 0;
  for await (let line of boundedLines(input as AsyncIterable<Buffer | string>)) {
    lineNo++;
    if (line === null) {
      yield { error: `line ${lineNo}: longer than ${MAX_RECORD_BYTES / 1024 / 1024} MB` };
      continue;
    }
    if (lineNo === 1 && line.startsWith('\uFEFF')) line = line.slice(1);
    if (line.trim() === '') continue;
    try {
      yield { instance: JSON.parse(line) };
    } catch (err) {
      yield { error: `line ${lineNo}: not valid JSON (${(err as Error).message})` };
    }
  }
}

/** The input's lines, decoded, a CR before the LF dropped; null for one over MAX_RECORD_BYTES. */
async function* boundedLines(input: AsyncIterable<Buffer | string>): AsyncGenerator<string | null> {
  let parts: Buffer[] = [];
  let length = 0;
  let tooLong = false;
  const line = () => {
    const text = tooLong ? null : Buffer.concat(parts, length).toString('utf8');
    parts = [];
    length = 0;
    tooLong = false;
    return text?.endsWith('\r') ? text.slice(0, -1) : text;
  };
  for await (const data of input) {
    const chunk = typeof data === 'string' ? Buffer.from(data) : data;
    for (let from = 0; ;) {
      const lf = chunk.indexOf(0x0a, from);
      const end = lf < 0 ? chunk.length : lf;
      if (!tooLong && length + (end - from) > MAX_RECORD_BYTES) {
        tooLong = true;
        parts = [];
      } else if (!tooLong && end > from) {
        parts.push(chunk.subarray(from, end));
        length += end - from;
      }
      if (lf < 0) break;
      yield line();
      from = lf + 1;
    }
  }
  if (length > 0 || tooLong) yield line();
}

/**
 * The rows of a CSV with a header as instances. Bad quoting ends the input: one fatal error
 * item, naming the line, is its last item (nothing after it can be told apart reliably). Any
 * other failure (the stream's: a connection reset) throws, so a caller can retry the read
 * instead of recording a good input as broken.
 */
export async function* csvInstances(input: NodeJS.ReadableStream): AsyncGenerator<InstanceItem> {
  let header: string[] | null = null;
  try {
    for await (const batch of csvBatches(input as AsyncIterable<Buffer>))
      for (const { fields } of batch) {
        if (!header) {
          header = fields;
          continue;
        }
        const instance: Record<string, string> = {};
        fields.forEach((value, i) => {
          if (i < header!.length) instance[header![i]] = value;
        });
        yield { instance };
      }
  } catch (err) {
    if (!(err instanceof CsvSyntaxError)) throw err;
    yield {
      error: `cannot parse the CSV: ${err.message.slice(0, 300)}`,
      fatal: true,
    };
  }
}
