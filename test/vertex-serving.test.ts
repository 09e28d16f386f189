import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { deserializeModel, MODEL_FILE, Predictor, WEIGHTS_FILE } from '@bucketml/model';
import { ROOT, tempDir } from './helpers.ts';
import { BABY, trainSmallModel } from './serving-fixture.ts';

/**
 * The predict server under Vertex AI's custom-container contract, as Vertex runs it: a process
 * started with AIP_HTTP_PORT, AIP_HEALTH_ROUTE, AIP_PREDICT_ROUTE and AIP_STORAGE_URI.
 */
interface Container {
  child: ChildProcess;
  base: string;
  logs: string;
}

describe('Vertex AI custom-container contract', () => {
  // Routes as Vertex gives them for a deployed model.
  const health = '/v1/endpoints/123/deployedModels/456';
  const predict = '/v1/endpoints/123/deployedModels/456:predict';
  let modelDir: string;
  let base: string;
  let child: ChildProcess;
  let served: Container;
  let files: { modelJson: Buffer; weightsBin: Buffer };

  /** The container as Vertex starts it, serving `storageUri`; resolves once it listens. */
  async function startContainer(storageUri: string): Promise<Container> {
    const started: Container = {
      child: spawn(process.execPath, [join(ROOT, 'functions/predict/dist/vertex.js')], {
        env: {
          ...process.env,
          AIP_HTTP_PORT: '0',
          AIP_HEALTH_ROUTE: health,
          AIP_PREDICT_ROUTE: predict,
          AIP_STORAGE_URI: storageUri,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
      base: '',
      logs: '',
    };
    started.child.stderr!.on('data', (d) => (started.logs += d));
    const port = await new Promise<number>((resolve, reject) => {
      started.child.once('exit', (code) => reject(new Error(`exited ${code}: ${started.logs}`)));
      started.child.stdout!.on('data', (d) => {
        started.logs += d;
        const m = /on port (\d+)/.exec(started.logs);
        if (m) resolve(Number(m[1]));
      });
    });
    started.base = `http://127.0.0.1:${port}`;
    return started;
  }

  before(async () => {
    modelDir = join(await tempDir(), 'models/babyweight/babyweight-0123456789ab');
    await mkdir(modelDir, { recursive: true });
    served = await startContainer(modelDir);
    ({ child, base } = served);
  });

  after(() => child?.kill('SIGTERM'));

  const post = (body: unknown, path = predict) =>
    fetch(base + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  it('health answers 503 until the model is loaded, predict too', async () => {
    const res = await fetch(base + health);
    assert.equal(res.status, 503);
    assert.match(((await res.json()) as { error: string }).error, /no complete model/);
    assert.equal((await post({ instances: [BABY] })).status, 503);
  });

  it('once the artifacts are there: health 200, predict answers {"predictions": [...]} as the predict function does', async () => {
    files = await trainSmallModel(3, 4000);
    await writeFile(join(modelDir, WEIGHTS_FILE), files.weightsBin);
    await writeFile(join(modelDir, MODEL_FILE), files.modelJson);
    const deadline = Date.now() + 20_000;
    let status = 0;
    while (Date.now() < deadline && (status = (await fetch(base + health)).status) !== 200)
      await new Promise((r) => setTimeout(r, 200));
    assert.equal(status, 200, served.logs);

    const res = await post({
      instances: [BABY, { ...BABY, is_male: 'False', key: 'k2' }],
      parameters: {},
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { predictions: { weight_pounds: number; key?: string }[] };
    const local = new Predictor(deserializeModel(files.modelJson, files.weightsBin));
    assert.equal(body.predictions.length, 2);
    assert.equal(body.predictions[0].weight_pounds, local.predictInstance(BABY).value);
    assert.equal(body.predictions[1].key, 'k2');
  });

  /** What the server sends back for raw request bytes, until it closes or 3 s pass. */
  const raw = (bytes: string | Buffer, hangUpAfterMs?: number) =>
    new Promise<string>((resolve, reject) => {
      const { hostname, port } = new URL(base);
      const socket = connect(Number(port), hostname, () => socket.write(bytes));
      let got = '';
      socket.on('data', (d) => (got += d));
      socket.on('close', () => resolve(got));
      socket.on('error', reject);
      setTimeout(() => (socket.destroy(), resolve(got)), hangUpAfterMs ?? 3000).unref();
    });
  const head = (headers: string) =>
    `POST ${predict} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${headers}\r\n\r\n`;

  it('a client that hangs up mid-body or before the answer is dropped; the server keeps serving', async () => {
    for (let i = 0; i < 3; i++) {
      await raw(head('Content-Length: 1000') + '{"instances":[', 100);
      const whole = JSON.stringify({ instances: Array.from({ length: 2000 }, () => BABY) });
      await raw(head(`Content-Length: ${Buffer.byteLength(whole)}`) + whole, 1);
    }
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(child.exitCode, null, served.logs);
    assert.equal((await fetch(base + health)).status, 200);
    assert.equal((await post({ instances: [BABY] })).status, 200);
  });

  it('a compressed body is refused before it is inflated; one over the limit before it is read', async () => {
    // 100 KB of gzip inflating to 100 MB: refused from its Content-Encoding.
    const bomb = gzipSync(Buffer.alloc(100e6, ' '), { level: 9 });
    const gzipped = await fetch(base + predict, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: bomb,
    });
    assert.equal(gzipped.status, 415);
    assert.match(
      ((await gzipped.json()) as { error: string }).error,
      /Content-Encoding gzip is not accepted: send the JSON uncompressed/,
    );
    const started = performance.now();
    const big = await raw(head('Content-Length: 50000000') + '{"instances": [' + ' '.repeat(1000));
    assert.match(big, /^HTTP\/1\.1 413/);
    assert.match(big, /the body is 50000000 bytes; the limit is 1500000/);
    assert.ok(performance.now() - started < 2000, 'answered without waiting for the body');
    // Of unknown length: counted as it arrives.
    const chunk = ' '.repeat(500_000);
    const chunked = await raw(
      head('Transfer-Encoding: chunked') +
        `${(chunk.length + 15).toString(16)}\r\n{"instances": [${chunk}\r\n` +
        `${chunk.length.toString(16)}\r\n${chunk}\r\n`.repeat(3),
    );
    assert.match(chunked, /^HTTP\/1\.1 413/);
    assert.match(chunked, /over 1500000 bytes/);
    assert.equal((await post({ instances: [BABY] })).status, 200);
  });

  it('bad requests get a 4xx with a reason', async () => {
    const cases: [Promise<Response>, number, RegExp][] = [
      [post({ instances: [{ ...BABY, plurality: 'Nine' }] }), 400, /1 of 1 instance/],
      [post('{"instances": ['), 400, /must be JSON/],
      [post({ instances: [BABY], parameters: 5 }), 400, /parameters\W+ must be an object/],
      [post({ instances: [BABY], parameters: [1] }), 400, /parameters\W+ must be an object/],
      [post({ rows: [BABY] }), 400, /instances\W+ array/],
      [post({ instances: [BABY] }, '/elsewhere'), 404, /routes: GET/],
      [fetch(base + predict), 405, /use POST/],
    ];
    for (const [response, status, reason] of cases) {
      const res = await response;
      assert.equal(res.status, status);
      assert.match(JSON.stringify(await res.json()), reason);
    }
  });

  it('a missing AIP_STORAGE_URI, the filesystem root or another scheme is a clear error at start', async () => {
    const cases: [string, RegExp][] = [
      ['', /AIP_STORAGE_URI is not set/],
      ['/', /AIP_STORAGE_URI=\/: the filesystem root is not a model directory/],
      ['file:///', /the filesystem root is not a model directory/],
      [
        's3://bucket/models/m/v',
        /expected gs:\/\/<bucket>\/<path>, file:\/\/\/<path> or a directory/,
      ],
    ];
    for (const [uri, reason] of cases) {
      const run = spawn(process.execPath, [join(ROOT, 'functions/predict/dist/vertex.js')], {
        env: { ...process.env, AIP_HTTP_PORT: '0', AIP_STORAGE_URI: uri },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let err = '';
      run.stderr!.on('data', (d) => (err += d));
      setTimeout(() => run.kill('SIGKILL'), 5000).unref(); // it should not start at all
      const code = await new Promise((resolve) => run.once('exit', resolve));
      assert.ok(typeof code === 'number' && code !== 0, `${uri}: exited ${code}`);
      assert.match(err, reason);
    }
  });

  it('a file:// AIP_STORAGE_URI serves the directory it names', async () => {
    const fromUrl = await startContainer(pathToFileURL(modelDir).href);
    try {
      const deadline = Date.now() + 20_000;
      let res: Response;
      while ((res = await fetch(fromUrl.base + health)).status !== 200) {
        assert.ok(Date.now() < deadline, fromUrl.logs);
        await new Promise((r) => setTimeout(r, 100));
      }
      const body = (await res.json()) as { model: { version: string } };
      assert.equal(body.model.version, 'babyweight-0123456789ab');
    } finally {
      fromUrl.child.kill('SIGTERM');
    }
  });

  it('a model that cannot be loaded is logged once while it fails the same way, and retried', async () => {
    const broken = join(await tempDir(), 'models/babyweight/broken');
    await mkdir(broken, { recursive: true });
    await writeFile(join(broken, WEIGHTS_FILE), files.weightsBin.subarray(0, 100));
    await writeFile(join(broken, MODEL_FILE), files.modelJson);
    const container = await startContainer(broken);
    try {
      await new Promise((r) => setTimeout(r, 3500)); // three retries
      const errors = container.logs.split('\n').filter((l) => /"severity":"ERROR"/.test(l));
      assert.equal(errors.length, 1, container.logs);
      const res = await fetch(container.base + health);
      assert.equal(res.status, 503);
      assert.match(((await res.json()) as { error: string }).error, /cannot be loaded/);
      // Repaired: loaded on the next retry.
      await writeFile(join(broken, WEIGHTS_FILE), files.weightsBin);
      const deadline = Date.now() + 10_000;
      while ((await fetch(container.base + health)).status !== 200) {
        assert.ok(Date.now() < deadline, container.logs);
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      container.child.kill('SIGTERM');
    }
  });
});
