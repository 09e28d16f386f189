/**
 * @module storage
 * The storage port: the bucket. Object names are relative ("data/babyweight/train.csv");
 * generations are opaque strings that change on every write, as in Cloud Storage. Conditional
 * writes implement create-if-absent (`ifGenerationMatch: '0'`) and compare-and-swap
 * (`ifGenerationMatch: g`).
 */
/** What a stat or listing tells of an object. */
export interface ObjectInfo {
  name: string;
  generation: string;
  size: number;
  updated: Date;
}

export interface StoredObject extends ObjectInfo {
  data: Buffer;
}

export interface WriteOptions {
  /** '0': only if absent; a generation: only if the object is still at it. */
  ifGenerationMatch?: string;
  contentType?: string;
}

/** The bucket, as DirectoryBucket, GcsBucket and the testing fake implement it. */
export interface Storage {
  /** A URI naming the bucket, for people and lineage: file:///… or gs://… */
  readonly uri: string;
  read(name: string): Promise<StoredObject | null>;
  stat(name: string): Promise<ObjectInfo | null>;
  /** Returns the new generation; throws PreconditionFailedError when ifGenerationMatch fails. */
  write(name: string, data: Buffer | string, options?: WriteOptions): Promise<string>;
  /**
   * Writes an object from a stream of chunks, for outputs too large to hold (memory stays
   * flat). The object appears whole once the stream ends, or not at all: a stream that fails
   * or a process that dies mid-way leaves the previous generation (or no object) in place.
   * Returns the new generation; ifGenerationMatch is checked when the object is finalized.
   */
  writeStream(
    name: string,
    chunks: AsyncIterable<Buffer | string>,
    options?: WriteOptions,
  ): Promise<string>;
  /**
   * Copies one generation of `source` to `destination` (a new generation of it, returned);
   * throws PreconditionFailedError when `source` is no longer at that generation, so the copy
   * is exactly the object that was seen.
   */
  copy(source: string, destination: string, sourceGeneration: string): Promise<string>;
  /** Objects whose names start with prefix, sorted by name. */
  list(prefix: string): Promise<ObjectInfo[]>;
  /** A readable stream of an object's bytes (for large CSVs). */
  openRead(name: string): Promise<NodeJS.ReadableStream>;
  /** The object's URI, e.g. for the trainer's --train-data. */
  uriOf(name: string): string;
}

export class PreconditionFailedError extends Error {
  override name = 'PreconditionFailedError';
  constructor(
    readonly object: string,
    readonly expected: string,
    readonly actual: string | null,
  ) {
    super(
      `precondition failed for ${object}: expected generation ${expected}, found ${actual ?? 'none'}`,
    );
  }
}

export class InvalidObjectNameError extends Error {
  override name = 'InvalidObjectNameError';
}

/**
 * Object names that are safe on every adapter: relative, no empty/'.'/'..' segments, no
 * backslashes or control characters — so a name can never escape a directory bucket.
 */
export function checkObjectName(name: string): string {
  if (typeof name !== 'string' || name.length === 0 || name.length > 1024)
    throw new InvalidObjectNameError(`invalid object name ${JSON.stringify(name)}`);
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (name.startsWith('/') || name.includes('\\') || /[\x00-\x1f\x7f]/.test(name)) {
    throw new InvalidObjectNameError(
      `invalid object name ${JSON.stringify(name)}: must be a relative path without backslashes or control characters`,
    );
  }
  for (const segment of name.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') {
      throw new InvalidObjectNameError(
        `invalid object name ${JSON.stringify(name)}: empty, '.' or '..' segment`,
      );
    }
  }
  return name;
}
