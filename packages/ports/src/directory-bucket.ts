/**
 * @module directory-bucket
 * A bucket that is a directory: the embedded default. Files copied in with `cp` are objects.
 *
 * Generations are modification times in microseconds, like Cloud Storage's. Our own writes go
 * to a temporary file whose mtime is set to max(now, previous + 1 µs) before it is renamed into
 * place, so every write yields a new, larger generation even on filesystems with coarse clocks.
 * Conditional writes hold an exclusive lock file (O_EXCL, safe across processes) around
 * check-then-rename; a lock left by a killed process is broken once it is LOCK_STALE_MS old.
 * Names starting with '.' are internal (locks, temporaries) and never listed.
 */
import { createReadStream, createWriteStream, realpathSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  copyFile,
  lstat,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { checkObjectName, InvalidObjectNameError, PreconditionFailedError } from './storage.js';
import type { ObjectInfo, Storage, StoredObject, WriteOptions } from './storage.js';

const LOCK_STALE_MS = 10_000;
const LOCK_WAIT_MS = 30_000;

/** A bucket that is a directory: the storage port of the embedded default. */
export class DirectoryBucket implements Storage {
  readonly root: string;
  readonly uri: string;

  constructor(root: string) {
    // The root's own real path: a bucket may live behind a link (/tmp on some systems), but
    // nothing inside it may lead out of it.
    const resolved = resolve(root);
    this.root = (() => {
      try {
        return realpathSync(resolved);
      } catch {
        return resolved;
      }
    })();
    this.uri = pathToFileURL(this.root).href;
  }

  /**
   * The object's path, checked not to pass through a link: the bucket never follows symbolic
   * links (a linked models/<m>/ or data/<m>/ could otherwise lead reads and writes out of the
   * root). Names are checked in this one place for every operation. Components that do not
   * exist yet are fine (writes create real directories).
   */
  private async realPathOf(name: string): Promise<string> {
    const path = this.pathOf(name);
    const parts = relative(this.root, path).split(sep);
    let at = this.root;
    for (const part of parts) {
      at = join(at, part);
      const info = await lstat(at).catch(() => null);
      if (!info) break;
      if (info.isSymbolicLink())
        throw new InvalidObjectNameError(
          `${name}: ${relative(this.root, at)} is a link, and the bucket does not follow links`,
        );
    }
    return path;
  }

  /** The file behind an object name; the name is checked so it cannot escape the root. */
  pathOf(name: string): string {
    const path = resolve(this.root, checkObjectName(name));
    if (!path.startsWith(this.root + sep))
      throw new Error(`object name escapes the bucket: ${name}`);
    return path;
  }

  uriOf(name: string): string {
    return pathToFileURL(this.pathOf(name)).href;
  }

  async stat(name: string): Promise<ObjectInfo | null> {
    const path = await this.realPathOf(name).catch((err) => {
      if (err instanceof InvalidObjectNameError) return null; // a link is no object
      throw err;
    });
    if (!path) return null;
    const info = await stat(path, { bigint: true }).catch(() => null);
    if (!info || !info.isFile()) return null;
    return {
      name,
      generation: String(info.mtimeNs / 1000n),
      size: Number(info.size),
      updated: new Date(Number(info.mtimeMs)),
    };
  }

  async read(name: string): Promise<StoredObject | null> {
    // Read, then stat, then re-read if the generation moved: the pair is consistent.
    for (let attempt = 0; attempt < 5; attempt++) {
      const before = await this.stat(name);
      if (!before) return null;
      const data = await readFile(this.pathOf(name)).catch(() => null);
      const after = await this.stat(name);
      if (data && after && after.generation === before.generation) return { ...after, data };
    }
    throw new Error(`${name} keeps changing while being read`);
  }

  async openRead(name: string): Promise<NodeJS.ReadableStream> {
    const path = await this.realPathOf(name);
    await stat(path);
    // 1 MiB chunks: the 64 KiB default costs more per byte than scanning the CSV they carry.
    return createReadStream(path, { highWaterMark: 1 << 20 });
  }

  async write(name: string, data: Buffer | string, options: WriteOptions = {}): Promise<string> {
    return this.writeWith(name, options, (tmp) => writeFile(tmp, data));
  }

  /**
   * Streams into a staging file beside the object first, without the lock (a long stream would
   * outlive LOCK_STALE_MS), then moves it into place as any write does: a crash mid-stream
   * leaves only a dot-file, which is never listed.
   */
  async writeStream(
    name: string,
    chunks: AsyncIterable<Buffer | string>,
    options: WriteOptions = {},
  ): Promise<string> {
    const path = await this.realPathOf(name);
    await mkdir(dirname(path), { recursive: true });
    const staged = join(dirname(path), `.${randomBytes(6).toString('hex')}.staged`);
    try {
      await pipeline(Readable.from(chunks), createWriteStream(staged));
      return await this.writeWith(name, options, (tmp) => rename(staged, tmp));
    } finally {
      await rm(staged, { force: true });
    }
  }

  async copy(source: string, destination: string, sourceGeneration: string): Promise<string> {
    const from = await this.realPathOf(source);
    const unchanged = async () => {
      const now = await this.stat(source);
      if (now?.generation !== sourceGeneration)
        throw new PreconditionFailedError(source, sourceGeneration, now?.generation ?? null);
    };
    await unchanged();
    return this.writeWith(destination, {}, async (tmp) => {
      await copyFile(from, tmp);
      // A file rewritten in place while it was copied has a new mtime by now.
      await unchanged();
    });
  }

  /** Writes an object through a temporary file that `fill` creates, then renames into place. */
  private async writeWith(
    name: string,
    options: WriteOptions,
    fill: (tmp: string) => Promise<void>,
  ): Promise<string> {
    const path = await this.realPathOf(name);
    await mkdir(dirname(path), { recursive: true });
    const unlock = await this.lock(path);
    try {
      const current = await this.stat(name);
      const expected = options.ifGenerationMatch;
      if (expected !== undefined && (current?.generation ?? '0') !== expected) {
        throw new PreconditionFailedError(name, expected, current?.generation ?? null);
      }
      const tmp = join(dirname(path), `.${randomBytes(6).toString('hex')}.tmp`);
      const generation = BigInt(
        Math.max(Date.now() * 1000, current ? Number(current.generation) + 1 : 0),
      );
      try {
        await fill(tmp);
        // + 0.5 µs so float rounding of the seconds value cannot land on the previous microsecond.
        const seconds = (Number(generation) + 0.5) / 1e6;
        await utimes(tmp, seconds, seconds);
        await rename(tmp, path);
      } catch (err) {
        await rm(tmp, { force: true });
        throw err;
      }
      return (await this.stat(name))!.generation;
    } finally {
      await unlock();
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const out: ObjectInfo[] = [];
    const walk = async (dir: string) => {
      const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
      for (const e of entries) {
        if (e.name.startsWith('.')) continue;
        const full = join(dir, e.name);
        if (e.isDirectory()) await walk(full);
        else if (e.isFile()) {
          const name = relative(this.root, full).split(sep).join('/');
          if (!name.startsWith(prefix)) continue;
          const info = await this.stat(name);
          if (info) out.push(info);
        }
      }
    };
    // Start from the deepest directory the prefix names, not the root.
    const dirPart = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    // readdir's entries that are links are neither files nor directories: never walked.
    const start = dirPart ? await this.realPathOf(dirPart).catch(() => null) : this.root;
    if (start) await walk(start);
    return out.sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  private async lock(path: string): Promise<() => Promise<void>> {
    const lockPath = join(dirname(path), `.${path.slice(dirname(path).length + 1)}.lock`);
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (let attempt = 0; ; attempt++) {
      try {
        const handle = await open(lockPath, 'wx');
        await handle.close();
        return () => rm(lockPath, { force: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        // Judge staleness by the lock file's own age: a holder killed at any instant leaves it.
        const held = await stat(lockPath).catch(() => null);
        if (held && Date.now() - held.mtimeMs > LOCK_STALE_MS) await rm(lockPath, { force: true });
        else if (Date.now() > deadline)
          throw new Error(`${path} is locked by another writer for more than ${LOCK_WAIT_MS} ms`);
        else await new Promise((r) => setTimeout(r, Math.min(50, 2 + attempt)));
      }
    }
  }
}
