/**
 * TensorBoard event files, read back by a reader that shares nothing with the writer but the
 * .proto definitions: TFRecord framing checked here with another CRC-32C implementation
 * (@aws-crypto/crc32c) and its own masking, events decoded by protobufjs from the .proto files
 * themselves (not the writer's generated descriptor; google.protobuf.Value is protobufjs'
 * bundled copy, its fields in camelCase), a few records' bytes spelled out from upstream's
 * field numbers. Then real trainings: `bucketml train`,
 * one-shot and on a warm worker, leave event files whose values are the ones it reported.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { crc32c as awsCrc32c } from '@aws-crypto/crc32c';
import { TRAINER_WORKER_EXIT } from '@bucketml/contracts';
import {
  crc32c,
  EventFileWriter,
  maskedCrc32c,
  TrainingEvents,
  tensorboardLogDir,
} from '@bucketml/trainer';
import { TENSORBOARD_PROTOS } from '../packages/trainer/src/tensorboard-descriptor.ts';
import { loadProtos, protoDescriptor } from '../scripts/tensorboard-protos.ts';
import { ROOT, runCli, sampleCsv, tempDir } from './helpers.ts';

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

const series = (d: Decoded, tag: string) => d.scalars.filter((s) => s.tag === tag);

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

/** The hypertune metric file's entries: {global_step, rmse, …} as numbers. */
async function hypertuneEntries(file: string): Promise<Record<string, number>[]> {
  return (await readFile(file, 'utf8'))
    .trimEnd()
    .split('\n')
    .map((l) => Object.fromEntries(Object.entries(JSON.parse(l)).map(([k, v]) => [k, Number(v)])));
}

/** A small babyweight drop in `dir`: train.csv and eval.csv of the shipped rows. */
async function babyweightSample(dir: string, trainRows: number, evalRows: number) {
  return {
    train: await sampleCsv(dir, 'train.csv', 'babyweight/train.csv', trainRows),
    evalPath: await sampleCsv(dir, 'eval.csv', 'babyweight/eval.csv', evalRows),
  };
}

/** A one-network babyweight training of `examples` examples, two evaluations. */
const smallTraining = (train: string, evalPath: string, examples: number, ...flags: string[]) => [
  'train',
  '--model=babyweight',
  '--train-data',
  train,
  '--eval-data',
  evalPath,
  '--ensemble=1',
  ...flags,
  `--train-examples=${examples}`,
  '--evaluations=2',
];

describe('bucketml train leaves an event file of what it reported', () => {
  it('babyweight sample, an ensemble: beside the model, every reported value, the hparams', async () => {
    const dir = await tempDir();
    const { train, evalPath } = await babyweightSample(dir, 3000, 800);
    const metricFile = join(dir, 'hypertune.metrics');
    const job = join(dir, 'runs/r/trials/3/');
    const r = await runCli(
      [
        'train',
        '--model=babyweight',
        '--train_data',
        train,
        '--eval_data',
        evalPath,
        '--batch_size=256',
        '--train_examples=10240',
        '--evaluations=5',
      ],
      { AIP_MODEL_DIR: join(job, 'model'), CLOUD_ML_HP_METRIC_FILE: metricFile },
    );
    assert.equal(r.code, 0, r.stderr);
    const meta = JSON.parse(await readFile(join(job, 'model/model.json'), 'utf8'));
    const d = await onlyEventFile(join(job, 'tensorboard'));
    assert.match(r.stderr, new RegExp(`TensorBoard events written to .*${d.name}`));

    // The rmse series is what the tuning service was told, in order: per evaluation, then the
    // ensemble's own measure; steps as examples trained (the hypertune file counts steps).
    const reported = await hypertuneEntries(metricFile);
    assert.equal(meta.hyperparameters.ensemble, 3);
    assert.equal(reported.length, 6);
    assert.deepEqual(
      series(d, 'rmse').map((s) => [s.step, s.value]),
      reported.map((e) => [e.global_step * 256, Math.fround(e.rmse)]),
    );
    assert.equal(series(d, 'rmse').at(-1)!.step, meta.training.examples);
    assert.equal(series(d, 'rmse').at(-1)!.value, Math.fround(meta.metrics.rmse));
    assert.match(r.stdout, new RegExp(`eval rmse: ${meta.metrics.rmse.toFixed(4)}`));
    // Per evaluation, the loss, this evaluation's own rmse (never better than the best so far)
    // and the speed.
    const steps = reported.slice(0, 5).map((e) => e.global_step * 256);
    for (const tag of ['loss', 'eval/rmse', 'examples/sec'])
      assert.deepEqual(
        series(d, tag).map((s) => s.step),
        steps,
        tag,
      );
    series(d, 'eval/rmse').forEach((s, i) => assert.ok(s.value >= series(d, 'rmse')[i].value));
    for (const s of [...series(d, 'loss'), ...series(d, 'examples/sec')])
      assert.ok(Number.isFinite(s.value) && s.value > 0, `${s.tag} ${s.value}`);
    const walls = d.events.map((e) => e.wall_time);
    assert.deepEqual(
      walls,
      [...walls].sort((a, b) => a - b),
    );

    assert.equal(d.starts.length, 1);
    const { hparams, model_uri } = d.starts[0];
    assert.deepEqual(hparams, {
      batch_size: { numberValue: 256 },
      ensemble: { numberValue: 3 },
      learning_rate: { numberValue: meta.hyperparameters.learningRate },
      nembeds: { numberValue: meta.hyperparameters.nembeds },
      nnsize: { stringValue: meta.hyperparameters.nnsize.join(' ') },
      seed: { numberValue: 42 },
      train_examples: { numberValue: 10240 },
    });
    assert.equal(model_uri, join(job, 'model'));
    assert.equal(d.ends.length, 1);
    assert.equal(d.ends[0].status, STATUS.STATUS_SUCCESS);
  });

  it('to AIP_TENSORBOARD_LOG_DIR when set; a failed training ends its session as a failure', async () => {
    const dir = await tempDir();
    const { train, evalPath } = await babyweightSample(dir, 600, 200);
    const logs = join(dir, 'vertex-logs');
    const args = smallTraining(train, evalPath, 2048, '--nnsize=16');
    const r = await runCli(args, {
      AIP_MODEL_DIR: join(dir, 'job/model'),
      AIP_TENSORBOARD_LOG_DIR: logs,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await readdir(join(dir, 'job')), ['model']);
    const d = await onlyEventFile(logs);
    assert.equal(series(d, 'rmse').length, 2);
    assert.deepEqual(d.starts[0].hparams.nnsize, { numberValue: 16 });
    const printed = Number(/eval rmse: ([\d.]+)/.exec(r.stdout)![1]); // 4 decimals
    assert.ok(Math.abs(series(d, 'rmse').at(-1)!.value - printed) <= 0.00005 + 1e-6, r.stdout);

    // Bad data fails the training (exit 1): the session still ends, as a failure.
    const bad = join(dir, 'bad.csv');
    await writeFile(bad, 'not,the,right,header\n1,2,3,4\n');
    const failed = await runCli([...args.slice(0, 3), bad, ...args.slice(4)], {
      AIP_MODEL_DIR: join(dir, 'job2/model'),
    });
    assert.equal(failed.code, 1, failed.stderr);
    const f = await onlyEventFile(join(dir, 'job2/tensorboard'));
    assert.equal(f.scalars.length, 0);
    assert.equal(f.ends[0].status, STATUS.STATUS_FAILURE);
  });

  it('a warm worker: each job its own file in its own directory, its env only', async () => {
    const dir = await tempDir();
    const { train, evalPath } = await babyweightSample(dir, 600, 200);
    const argv = (examples: number) => smallTraining(train, evalPath, examples);
    const jobs = [
      { argv: argv(1024), env: { AIP_MODEL_DIR: join(dir, 'trials/1/model') } },
      {
        argv: argv(2048),
        env: {
          AIP_MODEL_DIR: join(dir, 'trials/2/model'),
          AIP_TENSORBOARD_LOG_DIR: join(dir, 'l2'),
        },
      },
      { argv: argv(1024), env: { AIP_MODEL_DIR: join(dir, 'trials/3/model') } },
    ];
    const worker = spawn(process.execPath, [join(ROOT, 'packages/cli/bin/bucketml-worker.js')], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let out = '';
    const done = new Promise<void>((resolve) => {
      worker.stdout.on('data', (chunk) => {
        out += chunk;
        if (out.split(TRAINER_WORKER_EXIT).length > jobs.length) resolve();
      });
    });
    for (const job of jobs) worker.stdin.write(JSON.stringify(job) + '\n');
    await done;
    worker.stdin.end();
    const codes = out
      .split(TRAINER_WORKER_EXIT)
      .slice(1)
      .map((s) => Number(s.split('\n')[0]));
    assert.deepEqual(codes, [0, 0, 0], out);

    const one = await onlyEventFile(join(dir, 'trials/1/tensorboard'));
    const two = await onlyEventFile(join(dir, 'l2'));
    const three = await onlyEventFile(join(dir, 'trials/3/tensorboard'));
    await assert.rejects(readdir(join(dir, 'trials/2/tensorboard')), { code: 'ENOENT' });
    assert.notEqual(one.name, three.name);
    assert.deepEqual(
      [one, two, three].map((d) => series(d, 'rmse').map((s) => s.step)),
      [
        [512, 1024],
        [1024, 2048],
        [512, 1024],
      ],
    );
    for (const d of [one, two, three]) assert.equal(d.ends[0].status, STATUS.STATUS_SUCCESS);
  });
});
