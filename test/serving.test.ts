import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import autocannon from 'autocannon';
import fc from 'fast-check';
import { deserializeModel, Predictor } from '@bucketml/model';
import { FunctionProcess, freePort } from '@bucketml/local-stack';
import { DirectoryBucket } from '@bucketml/ports/directory-bucket';
import { ROOT, runCli, tempDir } from './helpers.ts';
import { BABY, deployVersion, trainSmallModel } from './serving-fixture.ts';

// The framework the predict function depends on, as Cloud Functions runs it.
const require = createRequire(join(ROOT, 'functions/predict/package.json'));

/**
 * The predict function as it runs: a functions-framework process over HTTP, serving from a
 * directory bucket, with models deployed the way the deploy stage does it.
 */
describe('predict function over HTTP', () => {
  let bucket: DirectoryBucket;
  let fn: FunctionProcess;
  let url: string;
  const lines: string[] = [];
  const models: { modelJson: Buffer; weightsBin: Buffer }[] = [];

  const post = (body: unknown, contentType = 'application/json', path = '/babyweight') =>
    fetch(url + path, {
      method: 'POST',
      headers: { 'content-type': contentType },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const servedVersion = async () =>
    ((await (await fetch(url + '/babyweight')).json()) as { model: { version: string } }).model
      .version;
  async function waitForVersion(version: string): Promise<void> {
    const deadline = Date.now() + 10_000;
    while ((await servedVersion()) !== version) {
      assert.ok(Date.now() < deadline, `version ${version} was not served within 10 s`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** 4 s of predict requests on 16 connections, with `action` run 1.5 s in. */
  async function underLoad<T>(action: () => Promise<T>) {
    const load = autocannon({
      url: url + '/babyweight',
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ instances: [BABY] }),
      connections: 16,
      duration: 4,
    });
    const acted = (async () => {
      await new Promise((r) => setTimeout(r, 1500));
      return action();
    })();
    return Promise.all([load, acted]);
  }

  before(async () => {
    bucket = new DirectoryBucket(await tempDir());
    models.push(await trainSmallModel(1, 5000), await trainSmallModel(2, 5000));
    await deployVersion(bucket, 'babyweight', 'v1', models[0]);
    fn = new FunctionProcess(
      {
        name: 'predict',
        source: join(ROOT, 'functions/predict'),
        target: 'predict',
        signatureType: 'http',
        port: await freePort(),
      },
      { ...process.env, BUCKETML_BUCKET: bucket.root, BUCKETML_REVALIDATE_MS: '100' },
      (_, line) => lines.push(line),
    );
    fn.start();
    await fn.ready();
    url = fn.url;
  });

  after(async () => {
    await fn?.stop();
  });

  it('GET describes the serving model; POST predicts what the lean predictor computes', async () => {
    const info = (await (await fetch(url + '/babyweight')).json()) as Record<string, any>;
    assert.equal(info.model.version, 'v1');
    assert.equal(info.label, 'weight_pounds');
    assert.deepEqual(info.inputs.map((c: { name: string }) => c.name).sort(), [
      'gestation_weeks',
      'is_male',
      'mother_age',
      'plurality',
    ]);
    const res = await post({ instances: [BABY, { ...BABY, is_male: 'False', key: 'k2' }] });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { predictions: { weight_pounds: number; key?: string }[] };
    const local = new Predictor(deserializeModel(models[0].modelJson, models[0].weightsBin));
    assert.equal(body.predictions[0].weight_pounds, local.predictInstance(BABY).value);
    assert.equal(body.predictions[1].key, 'k2');
  });

  it('refuses bad requests with 4xx and a reason', async () => {
    const cases: [Promise<Response>, number, RegExp][] = [
      [post('x', 'text/plain'), 415, /Content-Type: application\/json/],
      [fetch(url + '/babyweight', { method: 'PUT' }), 405, /method PUT not allowed/],
      [
        post({ instances: [BABY] }, 'application/json', '/no_such_model'),
        404,
        /no model named no_such_model/,
      ],
      [post({ instances: [BABY] }, 'application/json', '/a/b'), 404, /use POST \/<model>/],
      [post({ instances: [] }), 400, /1 to 10000 instances; it holds 0/],
      [post({ rows: [BABY] }), 400, /"instances" array/],
      [post({ instances: [BABY], parameters: 5 }), 400, /"parameters" must be an object/],
      [post({ instances: [BABY], parameters: [] }), 400, /"parameters" must be an object/],
      [post({ instances: Array.from({ length: 10_001 }, () => ({})) }), 400, /holds 10001/],
      [
        post({ instances: [BABY, { ...BABY, plurality: 'Nine' }, { ...BABY, mother_age: 'old' }] }),
        400,
        /2 of 3 instance\(s\) are invalid/,
      ],
      [
        post({
          instances: Array.from({ length: 9_000 }, () => ({ ...BABY, note: 'x'.repeat(150) })),
        }),
        413,
        /limit is 1500000/,
      ],
    ];
    for (const [response, status, message] of cases) {
      const res = await response;
      const body = (await res.json()) as { error: string };
      assert.equal(res.status, status, body.error);
      assert.match(body.error, message);
    }
    const bad = (await (
      await post({ instances: [BABY, { ...BABY, plurality: 'Nine' }] })
    ).json()) as { instances: { index: number; error: string }[] };
    assert.equal(bad.instances[0].index, 1);
    assert.match(bad.instances[0].error, /plurality/);
    assert.equal((await post({ instances: [BABY], parameters: {} })).status, 200);
  });

  it('a body over the limit is refused from its Content-Length, before it is sent, and one of unknown length too', async () => {
    // Headers announcing 50 MB and only 1 KB of body: a server that reads before it checks
    // would wait for the rest; this one answers at once.
    const answer = (head: string, body: string) =>
      new Promise<string>((resolve, reject) => {
        const { hostname, port } = new URL(url);
        const socket = connect(Number(port), hostname, () => socket.write(head + body));
        let got = '';
        socket.on('data', (d) => (got += d));
        socket.on('close', () => resolve(got));
        socket.on('error', reject);
        setTimeout(() => (socket.destroy(), resolve(got)), 3000).unref();
      });
    const started = performance.now();
    const big = await answer(
      'POST /babyweight HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 50000000\r\n\r\n',
      '{"instances": [' + ' '.repeat(1000),
    );
    assert.match(big, /^HTTP\/1\.1 413/);
    assert.match(big, /the body is 50000000 bytes; the limit is 1500000/);
    assert.ok(performance.now() - started < 2000, 'answered without waiting for the body');
    const chunked = await answer(
      'POST /babyweight HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n',
      '5\r\n{"ins\r\n',
    );
    assert.match(chunked, /^HTTP\/1\.1 411/);
    assert.match(chunked, /Content-Length/);
    // The server still answers the next client.
    assert.equal((await post({ instances: [BABY] })).status, 200);
  });

  it('a compressed body is refused before it is inflated, locally and as Cloud Functions runs it (no preload)', async () => {
    // 100 KB of gzip inflating to 100 MB: the framework would inflate and parse it whole.
    const bomb = gzipSync(Buffer.alloc(100e6, ' '), { level: 9 });
    const gzipped = (at: string) =>
      fetch(at + '/babyweight', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
        body: bomb,
      });
    const port = await freePort();
    const bare = spawn(
      process.execPath,
      [
        join(dirname(require.resolve('@google-cloud/functions-framework')), 'main.js'),
        '--target=predict',
        `--port=${port}`,
      ],
      {
        cwd: join(ROOT, 'functions/predict'),
        env: { ...process.env, NODE_ENV: 'production', BUCKETML_BUCKET: bucket.root },
        stdio: 'ignore',
      },
    );
    try {
      const cloud = `http://127.0.0.1:${port}`;
      const deadline = Date.now() + 20_000;
      while (!(await fetch(cloud + '/babyweight').catch(() => null))?.ok) {
        assert.ok(Date.now() < deadline, 'the bare function did not start within 20 s');
        await new Promise((r) => setTimeout(r, 100));
      }
      for (const at of [url, cloud]) {
        const res = await gzipped(at);
        const body = (await res.json()) as { error: string };
        assert.equal(res.status, 415, body.error);
        assert.match(
          body.error,
          /Content-Encoding gzip is not accepted: send the JSON uncompressed/,
        );
        const identity = await fetch(at + '/babyweight', {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-encoding': 'identity' },
          body: JSON.stringify({ instances: [BABY] }),
        });
        assert.equal(identity.status, 200);
      }
    } finally {
      bare.kill('SIGKILL');
    }
  });

  it('unparseable JSON is a 400 from the framework, without a stack trace', async () => {
    const res = await post('{"instances": [');
    assert.equal(res.status, 400);
    assert.doesNotMatch(await res.text(), /\bat JSON\.parse|node_modules/);
  });

  it('10,000 fuzzed bodies: no response ≥ 500 and no crash', async () => {
    const instance = fc.record(
      {
        is_male: fc.oneof(fc.constantFrom('True', 'False', 'Unknown'), fc.jsonValue()),
        mother_age: fc.oneof(fc.double(), fc.jsonValue()),
        plurality: fc.oneof(fc.constantFrom('Single(1)', 'Twins(2)'), fc.string()),
        gestation_weeks: fc.oneof(fc.integer(), fc.jsonValue()),
        key: fc.jsonValue(),
      },
      { requiredKeys: [] },
    );
    const body = fc.oneof(
      fc.string(), // arbitrary text, mostly not JSON
      fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('latin1')),
      fc.jsonValue().map((v) => JSON.stringify(v)),
      fc.jsonValue().map((v) => JSON.stringify({ instances: v })),
      fc
        .array(fc.oneof(instance, fc.jsonValue()), { maxLength: 20 })
        .map((instances) => JSON.stringify({ instances })),
      fc
        .tuple(fc.array(instance, { maxLength: 5 }), fc.nat(60))
        .map(([instances, cut]) => JSON.stringify({ instances }).slice(0, -cut - 1)), // truncated
    );
    const contentType = fc.constantFrom(
      'application/json',
      'application/json; charset=utf-8',
      'application/json; charset=latin-9',
      'text/plain',
      'application/octet-stream',
      'application/x-www-form-urlencoded',
      '',
    );
    const method = fc.constantFrom('POST', 'POST', 'POST', 'GET', 'PUT', 'DELETE', 'PATCH');
    const path = fc.constantFrom(
      '/babyweight',
      '/babyweight/',
      '/',
      '/taxifare',
      '/%E0%A4%A',
      '/babyweight?x=1',
    );
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(body, contentType, method, path, async (b, type, m, p) => {
        const res = await fetch(url + p, {
          method: m,
          headers: type ? { 'content-type': type } : {},
          body: m === 'GET' ? undefined : b,
        });
        await res.arrayBuffer();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        return res.status < 500;
      }),
      { numRuns: 10_000, seed: 42 },
    );
    assert.equal(fn.restarts, 0, 'the function process crashed');
    // The fuzzing reached the model: some bodies were valid predictions, many were refused.
    assert.ok(
      (statuses.get(200) ?? 0) > 0 && (statuses.get(400) ?? 0) > 1000,
      JSON.stringify([...statuses]),
    );
  });

  it('a new version is swapped in under load without a failed request', async () => {
    const [result] = await underLoad(() => deployVersion(bucket, 'babyweight', 'v2', models[1]));
    assert.equal(result.errors, 0);
    assert.equal(result.non2xx, 0);
    assert.ok(result.requests.total > 500, `only ${result.requests.total} requests`);
    await waitForVersion('v2');
    const local = new Predictor(deserializeModel(models[1].modelJson, models[1].weightsBin));
    const body = (await (await post({ instances: [BABY] })).json()) as {
      predictions: { weight_pounds: number }[];
    };
    assert.equal(body.predictions[0].weight_pounds, local.predictInstance(BABY).value);
  });

  it('bucketml rollback under load: no failed request, answers switch back to v1, three history lines', async () => {
    assert.equal(await servedVersion(), 'v2', 'the test above deployed v2');
    const [result, cli] = await underLoad(() =>
      runCli(['rollback', '--bucket', bucket.root, '--model', 'babyweight']),
    );
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /babyweight: serving v1 \(was v2\)/);
    assert.match(cli.stderr, /"severity":"NOTICE".*rolled back babyweight from v2 to v1/);
    assert.equal(result.errors, 0);
    assert.equal(result.non2xx, 0);
    await waitForVersion('v1');
    const v1 = new Predictor(deserializeModel(models[0].modelJson, models[0].weightsBin));
    const body = (await (await post({ instances: [BABY] })).json()) as {
      predictions: { weight_pounds: number }[];
    };
    assert.equal(body.predictions[0].weight_pounds, v1.predictInstance(BABY).value);
    const history = (await readFile(join(bucket.root, 'models/babyweight/history.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { reason: string; to: string });
    assert.deepEqual(
      history.map((c) => `${c.reason} ${c.to}`),
      ['deploy v1', 'deploy v2', 'rollback v1'],
    );
    const listed = await runCli(['models', '--bucket', bucket.root]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /babyweight: serving v1/);
    assert.match(listed.stdout, /\*\s+v1\s+\d\.\d{4}/, 'the serving version with its rmse');
    assert.match(listed.stdout, /version\s+rmse\s+served/);
  });

  it('a version that cannot be loaded is logged and the serving one keeps answering', async () => {
    // v1, since the rollback above.
    await waitForVersion('v1');
    const prefix = 'models/babyweight/broken/';
    await bucket.write(prefix + 'weights.bin', models[0].weightsBin.subarray(0, 100));
    await bucket.write(prefix + 'model.json', models[0].modelJson);
    await bucket.write(
      'models/babyweight/serving.json',
      JSON.stringify({
        model: 'babyweight',
        version: 'broken',
        prefix,
        rmse: 1,
        runId: 'r',
        deployedAt: new Date().toISOString(),
      }),
    );
    const deadline = Date.now() + 10_000;
    // Requests drive revalidation; every one of them is answered by v1 meanwhile.
    while (
      !lines.some((l) =>
        /"severity":"ERROR".*model babyweight could not be loaded: .*weights/.test(l),
      )
    ) {
      assert.ok(Date.now() < deadline, 'no ERROR log line for the broken version');
      assert.equal((await post({ instances: [BABY] })).status, 200);
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(await servedVersion(), 'v1');
    assert.equal(fn.restarts, 0);
  });
});
