import { spawn } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..');
export const DATA = join(ROOT, 'data');
export const BIN = join(ROOT, 'packages/cli/bin/bucketml.js');

export async function tempDir(prefix = 'bucketml-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** Writes the first `rows` lines of a shipped CSV (plus any extra lines) to `dir/name`. */
export async function sampleCsv(
  dir: string,
  name: string,
  source: string,
  rows: number,
  extra: string[] = [],
): Promise<string> {
  const lines = (await readFile(join(DATA, source), 'utf8')).split('\n').slice(0, rows);
  const path = join(dir, name);
  await writeFile(path, [...lines, ...extra].join('\n') + '\n');
  return path;
}

/** The JSON objects of a command's JSON-lines output (bucketml predict), in order (any, as JSON.parse's, unless T is given). */
export function jsonLines<T = any>(text: string): T[] {
  return text
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as T);
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the `bucketml` command as a user would, in a separate process. */
export function runCli(
  args: string[],
  env: Record<string, string> = {},
  stdin?: string,
): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, ...env },
      cwd: ROOT,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(stdin ?? '');
  });
}
