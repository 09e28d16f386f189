import assert from 'node:assert/strict';
import { MAX_REQUEST_BYTES } from '@bucketml/contracts';
import { before, describe, it } from 'node:test';
import { deserializeModel, Predictor } from '@bucketml/model';
import {
  handlePredict,
  MAX_INSTANCES,
  ModelServer,
  type PredictRequest,
} from '@bucketml/pipeline/serving';
import { MemoryBucket } from '@bucketml/ports/testing';
import { BABY, deployVersion, MODEL, paths, trainedModels, type ModelFiles } from './fixtures.ts';

const V1 = 'babyweight-0000000000a1';
const V2 = 'babyweight-0000000000a2';
const V3 = 'babyweight-0000000000a3';

const post = (body: unknown, extra: Partial<PredictRequest> = {}): PredictRequest => ({
  method: 'POST',
  path: `/${MODEL}`,
  contentType: 'application/json',
  bodyBytes: JSON.stringify(body ?? null).length,
  body,
  ...extra,
});

/** Polls until `check` holds (a background swap), failing after `ms`. */
async function eventually(check: () => Promise<boolean>, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail('condition not reached in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Serving: handlePredict and the ModelServer behind it, on a memory bucket. */
describe('serving: handlePredict / ModelServer', () => {
  let good: ModelFiles;
  let poor: ModelFiles;
  before(async () => void ({ good, poor } = await trainedModels()));

  async function served(files = good, revalidateMs = 1000) {
    const bucket = new MemoryBucket();
    await deployVersion(bucket, V1, files);
    const loadErrors: { model: string; err: unknown }[] = [];
    const server = new ModelServer(bucket, revalidateMs, (model, err) =>
      loadErrors.push({ model, err }),
    );
    return { bucket, server, loadErrors };
  }

  const versionOf = async (server: ModelServer) =>
    (
      (await handlePredict(server, post({ instances: [BABY] }))).body as {
        model?: { version: string };
      }
    ).model?.version;

  it("POST predicts with the serving version, as the lean predictor computes on the model's own weights", async () => {
    const { server } = await served();
    const instances = [BABY, { ...BABY, key: 'k-1', is_male: 'False', gestation_weeks: 35 }];
    const res = await handlePredict(server, post({ instances }));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const body = res.body as {
      predictions: { key?: string; weight_pounds: number }[];
      model: { name: string; version: string };
    };
    assert.deepEqual(body.model, { name: MODEL, version: V1 });
    const reference = new Predictor(deserializeModel(good.modelJson, good.weightsBin));
    assert.equal(body.predictions.length, 2);
    instances.forEach((instance, i) => {
      const expected = reference.predictInstance(instance);
      assert.ok(Number.isFinite(body.predictions[i].weight_pounds));
      assert.equal(body.predictions[i].weight_pounds, expected.value);
    });
    assert.equal(body.predictions[0].key, undefined);
    assert.equal(body.predictions[1].key, 'k-1', 'the key comes back');
  });

  it('GET describes the serving model: version, metrics, inputs, label and key', async () => {
    const { server } = await served();
    const res = await handlePredict(server, { method: 'GET', path: `/${MODEL}/`, body: undefined });
    assert.equal(res.status, 200);
    const body = res.body as {
      model: { name: string; version: string; metrics: { rmse: number } };
      inputs: unknown[];
      label: string;
      key: string;
    };
    assert.equal(body.model.version, V1);
    assert.equal(body.model.metrics.rmse, good.rmse);
    assert.equal(body.label, 'weight_pounds');
    assert.equal(body.key, 'key');
    assert.ok(Array.isArray(body.inputs) && body.inputs.length > 0);
  });

  it('rejects bad requests with the right status, before any model is read', async () => {
    const { bucket, server } = await served();
    const cases: [PredictRequest, number, RegExp][] = [
      [post({ instances: [BABY] }, { path: '/' }), 404, /use POST \/<model>/],
      [post({ instances: [BABY] }, { path: '/babyweight/x' }), 404, /use POST/],
      [post({ instances: [BABY] }, { path: '/../models' }), 404, /use POST/],
      [post({ instances: [BABY] }, { method: 'PUT' }), 405, /not allowed/],
      [
        post({ instances: [BABY] }, { contentType: 'text/plain' }),
        415,
        /Content-Type: application\/json/,
      ],
      [post({ instances: [BABY] }, { contentType: undefined }), 415, /JSON/],
      [post({ instances: [BABY] }, { bodyBytes: MAX_REQUEST_BYTES + 1 }), 413, /limit is 1500000/],
    ];
    for (const [req, status, error] of cases) {
      const res = await handlePredict(server, req);
      assert.equal(res.status, status, `${req.method} ${req.path} ${req.contentType}`);
      assert.match((res.body as { error: string }).error, error);
    }
    assert.equal(bucket.readCount(), 0, 'no storage read for a request rejected on its face');
  });

  it('rejects bad bodies and bad instances with 400, naming the instance', async () => {
    const { server } = await served();
    for (const body of [
      null,
      {},
      { instances: 'x' },
      { instances: [] },
      { instances: Array.from({ length: MAX_INSTANCES + 1 }, () => BABY) },
    ]) {
      const res = await handlePredict(server, post(body));
      assert.equal(res.status, 400, JSON.stringify(body)?.slice(0, 80));
    }
    const res = await handlePredict(
      server,
      post({ instances: [BABY, { ...BABY, key: 'bad', mother_age: 'old' }, 7] }),
    );
    assert.equal(res.status, 400);
    const body = res.body as {
      error: string;
      instances: { index: number; key?: string; error: string }[];
    };
    assert.match(body.error, /2 of 3 instance\(s\) are invalid/);
    assert.deepEqual(
      body.instances.map((e) => [e.index, e.key]),
      [
        [1, 'bad'],
        [2, undefined],
      ],
    );
    assert.match(body.instances[0].error, /mother_age/);
  });

  it('keys are echoed as bounded strings or numbers only: a deeply nested or huge key cannot break the answer', async () => {
    const { server } = await served();
    let deep: unknown = 'k';
    for (let i = 0; i < 20_000; i++) deep = [deep];
    const res = await handlePredict(
      server,
      // Not through post(): its own JSON.stringify of the body would overflow on this key.
      {
        method: 'POST',
        path: `/${MODEL}`,
        contentType: 'application/json',
        bodyBytes: 140_000,
        body: {
          instances: [
            { ...BABY, key: deep },
            { ...BABY, key: 'x'.repeat(100_000) },
            { ...BABY, key: 7 },
          ],
        },
      },
    );
    assert.equal(res.status, 200);
    const text = JSON.stringify(res.body);
    assert.ok(text.length < 5_000, `the answer is ${text.length} bytes`);
    const [first, second, third] = (res.body as { predictions: { key?: unknown }[] }).predictions;
    assert.equal(first.key, undefined, 'an object key is not echoed');
    assert.ok(typeof second.key === 'string' && second.key.length <= 1000);
    assert.equal(third.key, 7);
  });

  it('a model that is not deployed is a 404', async () => {
    const { server } = await served();
    const res = await handlePredict(server, { ...post({ instances: [BABY] }), path: '/taxifare' });
    assert.equal(res.status, 404);
    assert.match((res.body as { error: string }).error, /no model named taxifare is deployed/);
  });

  it('requests for names that are not deployed leave nothing behind in the server', async () => {
    const { server } = await served();
    await handlePredict(server, post({ instances: [BABY] }));
    for (let i = 0; i < 2000; i++) {
      const res = await handlePredict(server, {
        ...post({ instances: [BABY] }),
        path: `/nosuch${i}`,
      });
      assert.equal(res.status, 404);
    }
    assert.equal(server.size, 1, 'only the deployed model is held');
  });

  it('a deployed model that cannot be loaded is a 503, its load error reported once while it fails the same way', async () => {
    const bucket = new MemoryBucket();
    await deployVersion(bucket, V1, good);
    const weights = `${paths.versionPrefix(V1)}weights.bin`;
    const intact = bucket.bytes(weights)!;
    bucket.delete(weights);
    const errors: string[] = [];
    const server = new ModelServer(bucket, 0, (model) => errors.push(model));
    for (let i = 0; i < 5; i++) {
      const res = await handlePredict(server, post({ instances: [BABY] }));
      assert.equal(res.status, 503);
      assert.match((res.body as { error: string }).error, /model babyweight cannot be loaded/);
    }
    assert.deepEqual(errors, [MODEL], 'retried at each request, reported once');
    bucket.put(weights, intact);
    assert.equal((await handlePredict(server, post({ instances: [BABY] }))).status, 200);
  });

  it('concurrent first requests on a cold server all get predictions, from one load', async () => {
    const { bucket, server } = await served();
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => handlePredict(server, post({ instances: [BABY] }))),
    );
    assert.deepEqual(
      responses.map((r) => r.status),
      Array(20).fill(200),
    );
    assert.equal(bucket.readCount(`${paths.versionPrefix(V1)}model.json`), 1);
  });

  it('requests during preload wait for it instead of getting a 404', async () => {
    const { bucket, server } = await served();
    const preloading = server.preload();
    // A request arrives while preload is loading (it has read the pointer, not yet the model).
    while (bucket.readCount(paths.pointer) === 0) await new Promise((r) => setImmediate(r));
    const res = await handlePredict(server, post({ instances: [BABY] }));
    await preloading;
    assert.equal(res.status, 200, JSON.stringify(res.body));
  });

  it('sequential first requests share one load', async () => {
    const { bucket, server } = await served();
    for (let i = 0; i < 5; i++)
      assert.equal((await handlePredict(server, post({ instances: [BABY] }))).status, 200);
    assert.equal(bucket.readCount(`${paths.versionPrefix(V1)}model.json`), 1);
  });

  it('a new pointer is picked up on revalidation and swapped in', async () => {
    const { bucket, server } = await served(good, 0);
    assert.equal(await versionOf(server), V1);
    await deployVersion(bucket, V2, poor);
    await eventually(async () => (await versionOf(server)) === V2);
    const reference = new Predictor(deserializeModel(poor.modelJson, poor.weightsBin));
    const res = await handlePredict(server, post({ instances: [BABY] }));
    assert.equal(
      (res.body as { predictions: { weight_pounds: number }[] }).predictions[0].weight_pounds,
      reference.predictInstance(BABY).value,
    );
  });

  it('an idle server answers the first request after a deploy with the new version', async () => {
    const { bucket, server } = await served(good, 100);
    assert.equal(await versionOf(server), V1);
    await deployVersion(bucket, V2, poor);
    await new Promise((r) => setTimeout(r, 250)); // idle: no request for over 2 × 100 ms
    assert.equal(await versionOf(server), V2);
  });

  it('between revalidations the pointer is not re-read: the loaded version keeps serving', async () => {
    const { bucket, server } = await served(good, 60_000);
    assert.equal(await versionOf(server), V1);
    await deployVersion(bucket, V2, poor);
    for (let i = 0; i < 5; i++) assert.equal(await versionOf(server), V1);
    assert.equal(bucket.readCount(paths.pointer), 1);
  });

  it('a version that fails to load is reported and the serving one keeps answering; it loads once complete', async () => {
    const { bucket, server, loadErrors } = await served(good, 0);
    assert.equal(await versionOf(server), V1);
    // A pointer to a version whose files are not (yet) there.
    const pointer = {
      model: MODEL,
      version: V3,
      prefix: paths.versionPrefix(V3),
      rmse: 1,
      runId: V3,
      deployedAt: new Date().toISOString(),
    };
    await bucket.write(paths.pointer, JSON.stringify(pointer));
    await eventually(async () => (await versionOf(server), loadErrors.length > 0)); // requests drive revalidation
    assert.equal(loadErrors[0].model, MODEL);
    assert.match(String(loadErrors[0].err), /incomplete/);
    for (let i = 0; i < 3; i++) {
      const res = await handlePredict(server, post({ instances: [BABY] }));
      assert.equal(res.status, 200);
      assert.equal((res.body as { model: { version: string } }).model.version, V1);
    }
    await deployVersion(bucket, V3, poor);
    await eventually(async () => (await versionOf(server)) === V3);
  });

  it('preload loads every deployed model before the first request', async () => {
    const { bucket, server } = await served();
    bucket.put('models/README.txt', 'not a pointer');
    bucket.put(`models/${MODEL}/notes/serving.json.bak`, '{}');
    assert.deepEqual(await server.preload(), [MODEL]);
    const reads = bucket.readCount();
    const res = await handlePredict(server, post({ instances: [BABY] }));
    assert.equal(res.status, 200);
    assert.equal(bucket.readCount(), reads, 'the first request read nothing');
  });
});
