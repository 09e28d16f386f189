/**
 * @module tensorboard
 * TensorBoard event files, written without TensorFlow (tfjs' own writer needs native
 * libtensorflow): TFRecord framing (length, masked CRC32C, data, masked CRC32C) around
 * `tensorflow.Event` protobufs, encoded by protobufjs from the subset of TensorFlow's and
 * TensorBoard's definitions in proto/ (upstream's names and field numbers; proto/README.md
 * says from where). `EventFileWriter` writes one file and throws; `TrainingEvents` is what a
 * training uses: it never throws, and a write error is one warning.
 *
 * What a training writes, all at the step axis of examples trained (trials of different batch
 * sizes then line up): per evaluation `loss` (training loss since the previous evaluation),
 * each eval metric under its hypertune tag as reported to the tuning service (the best so
 * far: the model the training keeps), `eval/<tag>` (this evaluation's own measure) and
 * `examples/sec`; at the start the hyperparameters as the HParams plugin's session_start_info,
 * at the end its session_end_info. Scalars are rank-0 DT_FLOAT tensors with the scalars
 * plugin's metadata and DATA_CLASS_SCALAR, as TensorFlow 2's tf.summary.scalar writes them
 * (simple_value is the legacy form TensorBoard converts to that); float32, as TensorBoard stores
 * every scalar.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import type protobuf from 'protobufjs';
import { jobOutput } from '@bucketml/contracts';
import { HYPERPARAMETER_FLAGS, type Hyperparameters } from '@bucketml/model';
import { localPathOf } from './gcs-fuse.js';
import { TENSORBOARD_PROTOS } from './tensorboard-descriptor.js';
import type { EvaluationReport } from './train.js';

// CRC-32C (Castagnoli), reflected polynomial 0x82f63b78, table-driven: TFRecord's checksum.
const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32c(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++) crc = CRC_TABLE[(crc ^ data[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** TFRecord's masked CRC: a CRC of data that itself holds CRCs would be weak (TF's crc32c::Mask). */
export function maskedCrc32c(data: Uint8Array): number {
  const crc = crc32c(data);
  return (((crc >>> 15) | (crc << 17)) + 0xa282ead8) >>> 0;
}

/** One TFRecord: uint64 length, masked CRC of the length, data, masked CRC of the data (little-endian). */
function tfRecord(data: Uint8Array): Buffer {
  const record = Buffer.alloc(data.length + 16);
  record.writeBigUInt64LE(BigInt(data.length), 0);
  record.writeUInt32LE(maskedCrc32c(record.subarray(0, 8)), 8);
  record.set(data, 12);
  record.writeUInt32LE(maskedCrc32c(data), 12 + data.length);
  return record;
}

/** The protobuf types, built on first use: a verb that writes no events pays nothing for them. */
interface Protos {
  Event: protobuf.Type;
  HParamsPluginData: protobuf.Type;
  DT_FLOAT: number;
  DATA_CLASS_SCALAR: number;
  STATUS: Record<string, number>;
}
let loaded: Protos | undefined;

function protos(): Protos {
  if (loaded) return loaded;
  // protobufjs is CommonJS: required synchronously, so the writer's API stays synchronous.
  const { Root } = createRequire(import.meta.url)('protobufjs') as typeof protobuf;
  // The descriptor's literal types are narrower than protobufjs' INamespace (its map fields' keyType).
  const root = Root.fromJSON(TENSORBOARD_PROTOS as unknown as protobuf.INamespace);
  // Upstream's enum values, by name.
  loaded = {
    Event: root.lookupType('tensorflow.Event'),
    HParamsPluginData: root.lookupType('tensorboard.hparams.HParamsPluginData'),
    DT_FLOAT: root.lookupEnum('tensorflow.DataType').values.DT_FLOAT,
    DATA_CLASS_SCALAR: root.lookupEnum('tensorflow.DataClass').values.DATA_CLASS_SCALAR,
    STATUS: root.lookupEnum('tensorboard.hparams.Status').values,
  };
  return loaded;
}

/** The HParams plugin's names and version (tensorboard/plugins/hparams/metadata.py). */
const HPARAMS_PLUGIN = 'hparams';
const HPARAMS_PLUGIN_VERSION = 0;
const SESSION_START_TAG = '_hparams_/session_start_info';
const SESSION_END_TAG = '_hparams_/session_end_info';
/**
 * The tensor of a summary that only carries metadata: a float vector of length 0, upstream's 6
 * bytes (the dim's size 0 is proto3's default, so left out; protobufjs writes what it is given).
 */
const nullTensor = () => ({ dtype: protos().DT_FLOAT, tensor_shape: { dim: [{}] } });

export type HParamValue = number | string | boolean;
export type SessionStatus = 'success' | 'failure' | 'running' | 'unknown';

/** The writer's name in the first event's source_metadata. */
const WRITER = 'bucketml.trainer';
/** Event files this process has opened: with the pid, unique on this host. */
let opened = 0;

/**
 * One event file, `events.out.tfevents.<secs>.<host>.<pid>.<n>` in `dir` (TensorFlow's name,
 * with the pid and a counter as TensorBoard's own Python writer adds: a warm worker runs many
 * trainings). Every method writes through to the file at once; `flush` makes it durable, and
 * on Cloud Storage FUSE uploads it, so the file is readable while the training runs.
 */
export class EventFileWriter {
  readonly path: string;
  private fd: number | undefined;
  /** Tags whose metadata was written: only a tag's first value carries it, as upstream's writers do. */
  private readonly described = new Set<string>();

  constructor(dir: string, now = Date.now() / 1000) {
    mkdirSync(dir, { recursive: true });
    const secs = String(Math.floor(now)).padStart(10, '0');
    this.path = join(dir, `events.out.tfevents.${secs}.${hostname()}.${process.pid}.${++opened}`);
    this.fd = openSync(this.path, 'wx');
    try {
      // Step 0 left out, as proto3 writers leave out defaults.
      this.write({
        wall_time: now,
        file_version: 'brain.Event:2',
        source_metadata: { writer: WRITER },
      });
    } catch (err) {
      closeSync(this.fd);
      this.fd = undefined;
      throw err;
    }
  }

  /** Scalars at `step`, one event: each a rank-0 DT_FLOAT tensor of the scalars plugin. */
  scalars(step: number, values: Record<string, number>, wallTime = Date.now() / 1000): void {
    const value = Object.entries(values).map(([tag, v]) => ({
      tag,
      ...this.metadataOnce(tag, {
        plugin_data: { plugin_name: 'scalars' },
        data_class: protos().DATA_CLASS_SCALAR,
      }),
      tensor: { dtype: protos().DT_FLOAT, tensor_shape: {}, float_val: [v] },
    }));
    this.write({ wall_time: wallTime, step, summary: { value } });
  }

  /**
   * The HParams plugin's session_start_info: this training's hyperparameters (scalars), where
   * its model is and when it started. The session is this file's run (its directory); its
   * metrics are the run's scalars, their last values the session's.
   */
  sessionStart(
    hparams: Record<string, HParamValue>,
    options: { modelUri?: string; startTime?: number } = {},
  ): void {
    const startTime = options.startTime ?? Date.now() / 1000;
    const values = Object.fromEntries(
      Object.keys(hparams)
        .sort()
        .map((name) => [name, protobufValue(hparams[name])]),
    );
    this.hparams(SESSION_START_TAG, startTime, {
      session_start_info: {
        hparams: values,
        ...(options.modelUri ? { model_uri: options.modelUri } : {}),
        start_time_secs: startTime,
      },
    });
  }

  /** The HParams plugin's session_end_info: how the training ended. */
  sessionEnd(status: SessionStatus, endTime = Date.now() / 1000): void {
    this.hparams(SESSION_END_TAG, endTime, {
      session_end_info: {
        status: protos().STATUS[`STATUS_${status.toUpperCase()}`],
        end_time_secs: endTime,
      },
    });
  }

  /** Makes what was written durable (fsync; Cloud Storage FUSE uploads the file then). */
  flush(): void {
    if (this.fd !== undefined) fsyncSync(this.fd);
  }

  close(): void {
    if (this.fd === undefined) return;
    const fd = this.fd;
    this.fd = undefined;
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  /** As upstream's hparams summaries: step 0 (left out), the plugin data as metadata, a null tensor. */
  private hparams(tag: string, wallTime: number, data: Record<string, unknown>): void {
    const { HParamsPluginData } = protos();
    const content = HParamsPluginData.encode(
      HParamsPluginData.fromObject({ version: HPARAMS_PLUGIN_VERSION, ...data }),
    ).finish();
    this.write({
      wall_time: wallTime,
      summary: {
        value: [
          {
            tag,
            metadata: { plugin_data: { plugin_name: HPARAMS_PLUGIN, content } },
            tensor: nullTensor(),
          },
        ],
      },
    });
  }

  private metadataOnce(tag: string, metadata: object): { metadata?: object } {
    if (this.described.has(tag)) return {};
    this.described.add(tag);
    return { metadata };
  }

  private write(event: Record<string, unknown>): void {
    if (this.fd === undefined) throw new Error(`${this.path} is closed`);
    const { Event } = protos();
    const record = tfRecord(Event.encode(Event.fromObject(event)).finish());
    let written = 0;
    while (written < record.length) written += writeSync(this.fd, record, written);
  }
}

/** A google.protobuf.Value (protobufjs' bundled struct.proto names its fields in camelCase). */
function protobufValue(v: HParamValue): Record<string, HParamValue> {
  if (typeof v === 'boolean') return { boolValue: v };
  if (typeof v === 'number') return { numberValue: v };
  return { stringValue: v };
}

/**
 * Where a training's events go: `$AIP_TENSORBOARD_LOG_DIR` when set (Vertex AI's contract;
 * gs:// through the FUSE mount), else beside the model: `<job dir>/tensorboard/` when the model
 * directory is a job's `<job dir>/model` (AIP_MODEL_DIR), else `<model dir>.tensorboard/`, so
 * the model directory holds only the model. Throws when a gs:// directory is not mounted.
 */
export function tensorboardLogDir(modelDir: string, env = process.env): string {
  const fromEnv = env.AIP_TENSORBOARD_LOG_DIR;
  if (fromEnv) return localPathOf(fromEnv, 'AIP_TENSORBOARD_LOG_DIR');
  const dir = modelDir.replace(/[\\/]+$/, '');
  if (basename(dir) === 'model') return jobOutput.tensorboardDir(`${dirname(dir)}/`).slice(0, -1);
  return `${dir}.tensorboard`;
}

/**
 * A training's hyperparameters as HParams values, under the trainer's flag names in snake_case
 * (as a study's parameterName spells them: batch_size, nnsize, …). A list (nnsize) is a number
 * when it has one element, as a study tunes it, else its flag form ("64 32"): the plugin takes
 * scalars only.
 */
export function hparamsOf(
  hp: Hyperparameters,
  extra: Record<string, HParamValue> = {},
): Record<string, HParamValue> {
  const values: Record<string, HParamValue> = {};
  for (const [flag, key] of Object.entries(HYPERPARAMETER_FLAGS)) {
    const value = hp[key];
    if (value === undefined) continue;
    values[flag.replaceAll('-', '_')] = Array.isArray(value)
      ? value.length === 1
        ? value[0]
        : value.join(' ')
      : value;
  }
  return { ...values, ...extra };
}

/**
 * A training's event file, for the training loop's hooks. Nothing here fails a training: the
 * first error (a directory that cannot be made, a full disk) is one warning through `warn`, and
 * the events stop there.
 */
export class TrainingEvents {
  private writer: EventFileWriter | undefined;
  private dir: string | undefined;
  private live = true;
  /** The file's path, once it is open (and after it is closed); undefined if it never opened. */
  path: string | undefined;
  /** A write failed (and was warned of): the file, if any, stops short. */
  failed = false;

  private constructor(private readonly warn: (line: string) => void) {}

  /** Opens the file in `dir()` and records the session's start (its hyperparameters). */
  static start(options: {
    dir: () => string;
    hparams: Record<string, HParamValue>;
    modelUri?: string;
    warn: (line: string) => void;
  }): TrainingEvents {
    const events = new TrainingEvents(options.warn);
    events.guard(() => {
      events.dir = options.dir();
      const writer = (events.writer = new EventFileWriter(events.dir));
      events.path = writer.path;
      writer.sessionStart(options.hparams, options.modelUri ? { modelUri: options.modelUri } : {});
      writer.flush();
    });
    return events;
  }

  /** One evaluation's scalars, flushed: readable mid-run. */
  evaluation(e: EvaluationReport): void {
    this.scalars(e.examples, {
      loss: e.loss,
      ...e.metrics,
      ...Object.fromEntries(Object.entries(e.measured).map(([tag, v]) => [`eval/${tag}`, v])),
      'examples/sec': e.examplesPerSecond,
    });
  }

  /** Scalars at a step (e.g. an ensemble's final metrics), flushed. */
  scalars(step: number, values: Record<string, number>): void {
    this.guard(() => {
      this.writer!.scalars(step, values);
      this.writer!.flush();
    });
  }

  /** Records how the training ended and closes the file; later calls write nothing. */
  end(status: SessionStatus): void {
    this.guard(() => {
      this.writer!.sessionEnd(status);
      this.writer!.close();
    });
    this.live = false;
    this.writer = undefined;
  }

  private guard(write: () => void): void {
    if (!this.live) return;
    try {
      write();
    } catch (err) {
      this.live = false;
      this.failed = true;
      this.warn(
        `warning: TensorBoard events not written${this.dir ? ` to ${this.dir}` : ''}: ${(err as Error)?.message ?? String(err)} (training goes on)`,
      );
      try {
        this.writer?.close();
      } catch {
        // the first error is the one reported
      }
      this.writer = undefined;
    }
  }
}
