/**
 * TensorBoard event files, read back by a reader that shares nothing with the writer but the
 * .proto definitions: TFRecord framing checked here with another CRC-32C implementation
 * (@aws-crypto/crc32c) and its own masking, events decoded by protobufjs from the .proto files
 * themselves (not the writer's generated descriptor; google.protobuf.Value is protobufjs'
 * bundled copy, its fields in camelCase), a few records' bytes spelled out from upstream's
 * field numbers.
 */
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { crc32c as awsCrc32c } from '@aws-crypto/crc32c';
import {
  crc32c,
  EventFileWriter,
  maskedCrc32c,
  TrainingEvents,
  tensorboardLogDir,
} from '@bucketml/trainer';
import { TENSORBOARD_PROTOS } from '../packages/trainer/src/tensorboard-descriptor.ts';
import { loadProtos, protoDescriptor } from '../scripts/tensorboard-protos.ts';
import { tempDir } from './helpers.ts';

const protos = loadProtos();
const EventType = protos.lookupType('tensorflow.Event');
const PluginData = protos.lookupType('tensorboard.hparams.HParamsPluginData');
const DT_FLOAT = protos.lookupEnum('tensorflow.DataType').values.DT_FLOAT;
const DATA_CLASS_SCALAR = protos.lookupEnum('tensorflow.DataClass').values.DATA_CLASS_SCALAR;
const STATUS = protos.lookupEnum('tensorboard.hparams.Status').values;

/** TFRecord's mask, written out again here: rotate right by 15, add a constant (mod 2^32). */
const mask = (crc: number) => ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) % 2 ** 32;

/** The records of a TFRecord file; throws at the first bad length, checksum or truncation. */
function readRecords(file: Buffer): Buffer[] {
  const records: Buffer[] = [];
  let at = 0;
  while (at < file.length) {
    if (at + 12 > file.length) throw new Error(`truncated header at byte ${at}`);
    const header = file.subarray(at, at + 8);
    if (file.readUInt32LE(at + 8) !== mask(awsCrc32c(header)))
      throw new Error(`bad length checksum at byte ${at}`);
    const length = Number(file.readBigUInt64LE(at));
    const start = at + 12;
    if (start + length + 4 > file.length) throw new Error(`truncated record at byte ${at}`);
    const data = file.subarray(start, start + length);
    if (file.readUInt32LE(start + length) !== mask(awsCrc32c(data)))
      throw new Error(`bad data checksum at byte ${at}`);
    records.push(data);
    at = start + length + 4;
  }
  return records;
}

interface Scalar {
  tag: string;
  step: number;
  value: number;
  wallTime: number;
  metadata?: any;
}

interface Decoded {
  events: any[];
  scalars: Scalar[];
  starts: any[];
  ends: any[];
}

/** Every event of a file, decoded; scalars and hparams data picked out (and checked in form). */
function decode(file: Buffer): Decoded {
  const events = readRecords(file).map((r) =>
    EventType.toObject(EventType.decode(r), { longs: Number }),
  );
  const scalars: Scalar[] = [];
  const starts: any[] = [];
  const ends: any[] = [];
  for (const e of events.slice(1)) {
    for (const v of e.summary.value) {
      const plugin = v.metadata?.plugin_data?.plugin_name;
      if (v.tag.startsWith('_hparams_/')) {
        assert.equal(plugin, 'hparams');
        assert.equal(e.step ?? 0, 0);
        // upstream's NULL_TENSOR: DT_FLOAT, shape [0]
        assert.deepEqual(v.tensor, { dtype: DT_FLOAT, tensor_shape: { dim: [{}] } });
        const data = PluginData.toObject(PluginData.decode(v.metadata.plugin_data.content), {
          longs: Number,
        });
        assert.equal(data.version ?? 0, 0);
        if (v.tag === '_hparams_/session_start_info') starts.push(data.session_start_info);
        else if (v.tag === '_hparams_/session_end_info') ends.push(data.session_end_info);
        else assert.fail(`unexpected hparams tag ${v.tag}`);
        continue;
      }
      assert.equal(v.tensor.dtype, DT_FLOAT, v.tag);
      assert.deepEqual(v.tensor.tensor_shape, {}, `${v.tag}: rank 0`);
      assert.equal(v.tensor.float_val.length, 1);
      scalars.push({
        tag: v.tag,
        step: e.step,
        value: v.tensor.float_val[0],
        wallTime: e.wall_time,
        ...(v.metadata ? { metadata: v.metadata } : {}),
      });
    }
  }
  return { events, scalars, starts, ends };
}

async function eventFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.startsWith('events.out.tfevents.'));
}

async function onlyEventFile(dir: string): Promise<Decoded & { name: string }> {
  const files = await eventFiles(dir);
  assert.equal(files.length, 1, `one event file in ${dir}: ${files.join(', ')}`);
  return { name: files[0], ...decode(await readFile(join(dir, files[0]))) };
}

describe('TensorBoard event files: framing and protobufs, read back independently', () => {
  it("CRC-32C is Castagnoli's: the check value, and the same as another implementation", () => {
    assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
    let seed = 1;
    for (const length of [0, 1, 7, 8, 64, 1000]) {
      const data = Buffer.alloc(length);
      for (let i = 0; i < length; i++) data[i] = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
      assert.equal(crc32c(data), awsCrc32c(data), `length ${length}`);
      assert.equal(maskedCrc32c(data), mask(awsCrc32c(data)));
    }
  });

  it('the writer encodes from the .proto files: the generated descriptor is up to date', () => {
    assert.deepEqual(
      JSON.parse(JSON.stringify(TENSORBOARD_PROTOS)),
      protoDescriptor(),
      'run `npm run protos` after editing packages/trainer/proto/',
    );
  });

  it('every scalar and the hparams read back: tag, step, value, wall time; file name and version', async () => {
    const dir = join(await tempDir(), 'tb');
    const started = 1_700_000_000.25;
    const writer = new EventFileWriter(dir, started);
    writer.sessionStart(
      { batch_size: 64, nnsize: '64 32', learning_rate: 0.003, class_weights: 'balanced', x: true },
      { modelUri: 'gs://b/runs/r/trials/3/model/', startTime: started },
    );
    const written: Scalar[] = [];
    for (let i = 1; i <= 5; i++) {
      const wallTime = started + i;
      const values = { loss: 1 / i, rmse: 1.05 + 0.1 / i, 'examples/sec': 20_000 + i };
      writer.scalars(i * 512, values, wallTime);
      for (const [tag, value] of Object.entries(values))
        written.push({ tag, step: i * 512, value, wallTime });
      writer.flush();
      // Readable mid-run: what was written so far is a whole, valid file.
      const partial = decode(await readFile(writer.path));
      assert.equal(partial.scalars.length, written.length);
    }
    writer.sessionEnd('success', started + 10);
    writer.close();

    const d = await onlyEventFile(dir);
    assert.equal(join(dir, d.name), writer.path);
    // Bytes spelled out from upstream's field numbers, not from any descriptor: the first
    // event (wall_time 1: double; file_version 3: string; source_metadata 10 → writer 1) …
    const raw = await readFile(writer.path);
    const wall = Buffer.alloc(8);
    wall.writeDoubleLE(started);
    const text = (s: string) => [s.length, ...Buffer.from(s)];
    assert.deepEqual(
      readRecords(raw)[0],
      Buffer.from([
        0x09,
        ...wall,
        0x1a,
        ...text('brain.Event:2'),
        0x52,
        18,
        0x0a,
        ...text('bucketml.trainer'),
      ]),
    );
    // … and upstream's 6-byte NULL_TENSOR as Summary.Value's tensor (8): dtype 1 = DT_FLOAT 1,
    // tensor_shape 2 holding one dim 2 of size 0.
    assert.ok(raw.includes(Buffer.from([0x42, 6, 0x08, 0x01, 0x12, 0x02, 0x12, 0x00])));
    assert.match(
      d.name,
      new RegExp(`^events\\.out\\.tfevents\\.1700000000\\.${hostname()}\\.${process.pid}\\.\\d+$`),
    );
    assert.deepEqual(d.events[0], {
      wall_time: started,
      file_version: 'brain.Event:2',
      source_metadata: { writer: 'bucketml.trainer' },
    });
    assert.deepEqual(
      d.scalars.map(({ metadata: _m, ...s }) => s),
      written.map((s) => ({ ...s, value: Math.fround(s.value) })),
    );
    // The scalars plugin's metadata, on each tag's first value only.
    for (const s of d.scalars)
      if (s.step === 512)
        assert.deepEqual(s.metadata, {
          plugin_data: { plugin_name: 'scalars' },
          data_class: DATA_CLASS_SCALAR,
        });
      else assert.equal(s.metadata, undefined);

    assert.deepEqual(d.starts, [
      {
        hparams: {
          batch_size: { numberValue: 64 },
          class_weights: { stringValue: 'balanced' },
          learning_rate: { numberValue: 0.003 },
          nnsize: { stringValue: '64 32' },
          x: { boolValue: true },
        },
        model_uri: 'gs://b/runs/r/trials/3/model/',
        start_time_secs: started,
      },
    ]);
    assert.deepEqual(d.ends, [{ status: STATUS.STATUS_SUCCESS, end_time_secs: started + 10 }]);
  });

  it('a corrupted file is rejected: a byte flipped in the data, in the length, or a cut', async () => {
    const dir = join(await tempDir(), 'tb');
    const writer = new EventFileWriter(dir);
    writer.scalars(100, { rmse: 1.2345 });
    writer.close();
    const good = await readFile(writer.path);
    assert.equal(decode(good).scalars.length, 1);
    const first = 12 + Number(good.readBigUInt64LE(0)) + 4; // the second record: the scalar
    const flipped = (at: number) => {
      const b = Buffer.from(good);
      b[at] ^= 0x01;
      return b;
    };
    assert.throws(() => readRecords(flipped(first + 12 + 5)), /bad data checksum/);
    assert.throws(() => readRecords(flipped(first)), /bad length checksum/);
    assert.throws(() => readRecords(flipped(first + 9)), /bad length checksum/); // its CRC
    assert.throws(() => readRecords(flipped(good.length - 1)), /bad data checksum/); // data CRC
    assert.throws(() => readRecords(good.subarray(0, good.length - 3)), /truncated record/);
    assert.throws(() => readRecords(good.subarray(0, first + 5)), /truncated header/);
  });

  it('where events go: AIP_TENSORBOARD_LOG_DIR, else beside the model', () => {
    assert.equal(
      tensorboardLogDir('/b/runs/r/trials/3/model', {}),
      '/b/runs/r/trials/3/tensorboard',
    );
    assert.equal(tensorboardLogDir('/b/runs/r/final/model/', {}), '/b/runs/r/final/tensorboard');
    assert.equal(tensorboardLogDir('out/m1', {}), 'out/m1.tensorboard');
    assert.equal(
      tensorboardLogDir('/b/x/model', { AIP_TENSORBOARD_LOG_DIR: '/logs/t3' }),
      '/logs/t3',
    );
  });

  it('never fails a training: a write error is one warning, and later calls do nothing', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'file'), 'not a directory');
    const warnings: string[] = [];
    const events = TrainingEvents.start({
      dir: () => join(dir, 'file', 'tensorboard'),
      hparams: { batch_size: 8 },
      warn: (line) => warnings.push(line),
    });
    events.scalars(1, { rmse: 1 });
    events.end('success');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /^warning: TensorBoard events not written to .*file\/tensorboard: /);
    assert.equal(events.failed, true);
    assert.equal(events.path, undefined);

    const unmounted: string[] = [];
    TrainingEvents.start({
      dir: () => tensorboardLogDir('x/model', { AIP_TENSORBOARD_LOG_DIR: 'gs://absent/logs' }),
      hparams: {},
      warn: (line) => unmounted.push(line),
    }).end('success');
    assert.equal(unmounted.length, 1);
    assert.match(unmounted[0], /AIP_TENSORBOARD_LOG_DIR gs:\/\/absent\/logs: .*not mounted/);
  });
});
