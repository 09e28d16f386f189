/**
 * @module gcs-bucket
 * The storage port on Cloud Storage: the bucket of the cloud runtime.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Storage as GcsClient, type Bucket, type File } from '@google-cloud/storage';
import { checkObjectName, PreconditionFailedError } from './storage.js';
import type { ObjectInfo, Storage, StoredObject, WriteOptions } from './storage.js';

/**
 * A Cloud Storage bucket behind the storage port. Generations are Cloud Storage's own object
 * generations; conditional writes pass `ifGenerationMatch` to the service, which enforces it
 * atomically (412 → PreconditionFailedError). Conditional requests are retried by the client
 * library (its default only retries idempotent ones).
 *
 * `root` puts every object under a prefix: tests share one bucket this way.
 */
export class GcsBucket implements Storage {
  readonly uri: string;
  private readonly bucket: Bucket;

  constructor(
    readonly bucketName: string,
    private readonly root = '',
    client: GcsClient = new GcsClient(),
  ) {
    if (root && !root.endsWith('/')) throw new Error(`root must end with '/': ${root}`);
    this.bucket = client.bucket(bucketName);
    this.uri = `gs://${bucketName}/${root}`;
  }

  uriOf(name: string): string {
    return `gs://${this.bucketName}/${this.root}${checkObjectName(name)}`;
  }

  private file(name: string, generation?: string): File {
    return this.bucket.file(
      this.root + checkObjectName(name),
      generation ? { generation: Number(generation) } : {},
    );
  }

  async stat(name: string): Promise<ObjectInfo | null> {
    try {
      const [metadata] = await this.file(name).getMetadata();
      return info(name, metadata);
    } catch (err) {
      if (status(err) === 404) return null;
      throw err;
    }
  }

  /** Data and generation of one version: the bytes are downloaded at the generation stat saw. */
  async read(name: string): Promise<StoredObject | null> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await this.stat(name);
      if (!current) return null;
      try {
        const [data] = await this.file(name, current.generation).download();
        return { ...current, data };
      } catch (err) {
        // Overwritten between stat and download: that generation is gone; read the new one.
        if (status(err) !== 404) throw err;
      }
    }
    throw new Error(`gs://${this.bucketName}/${this.root}${name} kept changing while being read`);
  }

  async write(name: string, data: Buffer | string, options: WriteOptions = {}): Promise<string> {
    return this.upload(name, options, (file, settings) =>
      file.save(typeof data === 'string' ? Buffer.from(data) : data, {
        ...settings,
        resumable: false,
      }),
    );
  }

  /**
   * A resumable upload: Cloud Storage creates the object only when the upload is finalized
   * (its last chunk), so a stream that fails or a process that dies leaves no partial object;
   * ifGenerationMatch is checked then.
   */
  async writeStream(
    name: string,
    chunks: AsyncIterable<Buffer | string>,
    options: WriteOptions = {},
  ): Promise<string> {
    return this.upload(name, options, (file, settings) =>
      pipeline(Readable.from(chunks), file.createWriteStream({ ...settings, resumable: true })),
    );
  }

  /** One upload with the write's settings: a failed precondition as the port's error, the generation made. */
  private async upload(
    name: string,
    options: WriteOptions,
    send: (
      file: File,
      settings: { contentType?: string; preconditionOpts?: { ifGenerationMatch: number } },
    ) => Promise<unknown>,
  ): Promise<string> {
    const file = this.file(name);
    try {
      await send(file, {
        contentType: options.contentType,
        ...(options.ifGenerationMatch !== undefined
          ? { preconditionOpts: { ifGenerationMatch: Number(options.ifGenerationMatch) } }
          : {}),
      });
    } catch (err) {
      if (status(err) === 412)
        throw new PreconditionFailedError(
          name,
          options.ifGenerationMatch!,
          (await this.stat(name))?.generation ?? null,
        );
      throw err;
    }
    const generation = file.metadata.generation;
    if (generation === undefined)
      throw new Error(`Cloud Storage returned no generation for ${name}`);
    return String(generation);
  }

  async copy(source: string, destination: string, sourceGeneration: string): Promise<string> {
    let response: { resource?: { generation?: string | number } } | undefined;
    try {
      // The source named at its generation: Cloud Storage copies exactly that version.
      [, response] = (await this.file(source, sourceGeneration).copy(this.file(destination))) as [
        unknown,
        typeof response,
      ];
    } catch (err) {
      // 404: that generation is gone (overwritten or deleted), unless the bucket itself is.
      if (status(err) === 404 && (await this.bucket.exists())[0])
        throw new PreconditionFailedError(
          source,
          sourceGeneration,
          (await this.stat(source))?.generation ?? null,
        );
      throw err;
    }
    const generation = response?.resource?.generation;
    if (generation === undefined)
      throw new Error(`Cloud Storage returned no generation for ${destination}`);
    return String(generation);
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const [files] = await this.bucket.getFiles({ prefix: this.root + prefix, autoPaginate: true });
    return files
      .filter((f) => !f.name.endsWith('/')) // folder placeholders some tools create
      .map((f) => info(f.name.slice(this.root.length), f.metadata))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async openRead(name: string): Promise<NodeJS.ReadableStream> {
    return this.file(name).createReadStream();
  }
}

function info(
  name: string,
  metadata: { generation?: string | number; size?: string | number; updated?: string },
): ObjectInfo {
  return {
    name,
    generation: String(metadata.generation),
    size: Number(metadata.size ?? 0),
    updated: new Date(metadata.updated ?? 0),
  };
}

function status(err: unknown): number | undefined {
  return (err as { code?: unknown }).code as number | undefined;
}
