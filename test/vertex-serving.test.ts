import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { deserializeModel, MODEL_FILE, Predictor, WEIGHTS_FILE } from '@bucketml/model';
import { ROOT, tempDir } from './helpers.ts';
import { BABY, trainSmallModel } from './serving-fixture.ts';

/**
 * The predict server under Vertex AI's custom-container contract, as Vertex runs it: a process
 * started with AIP_HTTP_PORT, AIP_HEALTH_ROUTE, AIP_PREDICT_ROUTE and AIP_STORAGE_URI.
 */
describe('Vertex AI custom-container contract', () => {
  // Routes as Vertex gives them for a deployed model.
  const health = '/v1/endpoints/123/deployedModels/456';
  const predict = '/v1/endpoints/123/deployedModels/456:predict';
  let modelDir: string;
  let base: string;
  let child: ReturnType<typeof spawn>;
  let logs = '';

  before(async () => {
    modelDir = join(await tempDir(), 'models/babyweight/babyweight-0123456789ab');
    await mkdir(modelDir, { recursive: true });
    child = spawn(process.execPath, [join(ROOT, 'functions/predict/dist/vertex.js')], {
      env: {
        ...process.env,
        AIP_HTTP_PORT: '0',
        AIP_HEALTH_ROUTE: health,
        AIP_PREDICT_ROUTE: predict,
        AIP_STORAGE_URI: modelDir,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stderr!.on('data', (d) => (logs += d));
    const port = await new Promise<number>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`exited ${code}: ${logs}`)));
      child.stdout!.on('data', (d) => {
        logs += d;
        const m = /on port (\d+)/.exec(logs);
        if (m) resolve(Number(m[1]));
      });
    });
    base = `http://127.0.0.1:${port}`;
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
    const files = await trainSmallModel(3, 4000);
    await writeFile(join(modelDir, WEIGHTS_FILE), files.weightsBin);
    await writeFile(join(modelDir, MODEL_FILE), files.modelJson);
    const deadline = Date.now() + 20_000;
    let status = 0;
    while (Date.now() < deadline && (status = (await fetch(base + health)).status) !== 200)
      await new Promise((r) => setTimeout(r, 200));
    assert.equal(status, 200, logs);

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

  it('bad requests get a 4xx with a reason', async () => {
    const cases: [Promise<Response>, number, RegExp][] = [
      [post({ instances: [{ ...BABY, plurality: 'Nine' }] }), 400, /1 of 1 instance/],
      [post('{"instances": ['), 400, /must be JSON/],
      [post({ instances: [BABY], parameters: 5 }), 400, /parameters\W+ must be an object/],
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

  it('a missing AIP_STORAGE_URI is a clear error at start', async () => {
    const run = spawn(process.execPath, [join(ROOT, 'functions/predict/dist/vertex.js')], {
      env: { ...process.env, AIP_STORAGE_URI: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    run.stderr!.on('data', (d) => (err += d));
    const code = await new Promise((resolve) => run.once('exit', resolve));
    assert.notEqual(code, 0);
    assert.match(err, /AIP_STORAGE_URI is not set/);
  });
});
