/**
 * @module progress
 * Training progress for people, on stderr.
 */
import type { TrainProgress } from './train.js';

/**
 * Training progress for people: one redrawn line on a terminal, a line per evaluation when
 * stderr is a file or pipe (so logs stay readable).
 */
export function progressPrinter(
  stream: NodeJS.WriteStream = process.stderr,
): (p: TrainProgress) => void {
  const tty = stream.isTTY === true;
  let lastEval: number | undefined;
  return (p) => {
    if (p.phase === 'reading') {
      if (tty) stream.write(`\r\x1b[Kreading ${p.file}: ${p.rows.toLocaleString('en-US')} rows`);
      return;
    }
    if (p.phase === 'done') {
      if (tty) stream.write('\r\x1b[K');
      return;
    }
    const pct = Math.floor((100 * p.examples) / p.totalExamples);
    const width = 24;
    const filled = Math.round((width * p.examples) / p.totalExamples);
    const bar = '█'.repeat(filled) + '·'.repeat(width - filled);
    const evalPart =
      p.evalValue !== undefined ? `  eval ${p.objective} ${p.evalValue.toFixed(4)}` : '';
    const member = p.members ? ` network ${p.member}/${p.members}` : '';
    const text =
      `training${member} ${String(pct).padStart(3)}% ${bar} ${p.examples.toLocaleString('en-US')}/${p.totalExamples.toLocaleString('en-US')} examples` +
      `  ${Math.round(p.examplesPerSecond).toLocaleString('en-US')} ex/s  loss ${p.loss.toFixed(4)}${evalPart}`;
    if (tty) stream.write(`\r\x1b[K${text}`);
    else if (p.evalValue !== undefined && p.evalValue !== lastEval) stream.write(text + '\n');
    lastEval = p.evalValue;
  };
}
