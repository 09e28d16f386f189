import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import { FUNCTIONS, VERTEX_LOG_FILTER, VERTEX_SERVING } from '@bucketml/contracts';
import { stageFunction } from '@bucketml/cli';
import { FunctionProcess, freePort } from '@bucketml/local-stack';
import { DirectoryBucket } from '@bucketml/ports/directory-bucket';
import { ROOT, runCli, tempDir } from './helpers.ts';
import { BABY, deployVersion, trainSmallModel } from './serving-fixture.ts';

const run = promisify(execFile);
const ARGS = ['deploy', '--dry-run', '--project', 'p', '--region', 'us-central1', '--bucket', 'b'];

/** Steps of the printed plan: [title, command]. */
function steps(script: string): [string, string][] {
  const lines = script.split('\n');
  const out: [string, string][] = [];
  lines.forEach((l, i) => {
    const m = /^# \d+\/\d+: (.*)$/.exec(l);
    if (m) out.push([m[1], lines[i + 1]]);
  });
  return out;
}

/**
 * Runs the printed plan with fake gcloud and npx on PATH that record their arguments; with
 * `exists`, every existence check succeeds, as on a project already deployed.
 */
async function execute(script: string, exists: boolean): Promise<string[]> {
  const dir = await tempDir();
  const log = join(dir, 'calls');
  for (const tool of ['gcloud', 'npx']) {
    // Guarded existence checks are `describe` without --format; lookups (--format) always answer.
    const fake = `#!/usr/bin/env bash\necho "${tool} $*" >> ${log}\nif [[ "$*" == *"describe "* && "$*" != *"--format"* ]]; then exit ${exists ? 0 : 1}; fi\necho value\n`;
    await writeFile(join(dir, tool), fake);
    await chmod(join(dir, tool), 0o755);
  }
  await writeFile(join(dir, 'plan.sh'), script);
  await run('bash', [join(dir, 'plan.sh')], {
    cwd: dir,
    env: { ...process.env, PATH: `${dir}:${process.env.PATH}` },
  });
  return (await readFile(log, 'utf8')).trimEnd().split('\n');
}

describe('bucketml deploy --dry-run', () => {
  it('prints the complete ordered plan: functions, triggers, topics, dead letters, service accounts, sink', async () => {
    const r = await runCli(ARGS);
    assert.equal(r.code, 0, r.stderr);
    const plan = steps(r.stdout);
    const commands = plan.map(([, c]) => c);
    const index = (re: RegExp) => commands.findIndex((c) => re.test(c));
    const all = r.stdout;

    for (const fn of FUNCTIONS) {
      const deploy = commands.find((c) => c.startsWith(`gcloud functions deploy ${fn.name} `));
      assert.ok(deploy, `${fn.name} is deployed`);
      assert.match(deploy, /--gen2 --runtime=nodejs20 --region=us-central1/);
      assert.match(
        deploy,
        new RegExp(
          `--entry-point=${fn.entryPoint} --service-account=bucketml-${fn.name}@p\\.iam\\.gserviceaccount\\.com`,
        ),
      );
      assert.match(deploy, /BUCKETML_BUCKET=gs:\/\/b,/);
      // Its own service account exists before and is granted bucket access.
      assert.ok(
        index(new RegExp(`service-accounts create bucketml-${fn.name} `)) <
          commands.indexOf(deploy),
      );
      assert.match(
        all,
        new RegExp(
          `buckets add-iam-policy-binding gs://b --member=serviceAccount:bucketml-${fn.name}@p\\.iam\\.gserviceaccount\\.com --role=roles/storage\\.object(User|Viewer)`,
        ),
      );
    }
    assert.match(
      all,
      /functions deploy data-upload .*--trigger-event-filters=type=google\.cloud\.storage\.object\.v1\.finalized --trigger-event-filters=bucket=b .*--retry/,
    );
    assert.match(all, /functions deploy predict .*--trigger-http --no-allow-unauthenticated/);
    assert.match(all, /roles\/iam\.serviceAccountUser/);

    for (const topic of [
      'bucketml-job-events',
      'bucketml-model-candidates',
      'bucketml-run-outcomes',
      'bucketml-dead-letter',
      'bucketml-vertex-logs',
    ]) {
      assert.ok(index(new RegExp(`pubsub topics create ${topic} `)) >= 0, `topic ${topic}`);
    }
    for (const [sub, topic, fn] of [
      ['bucketml-job-completed', 'bucketml-job-events', 'job-completed'],
      ['bucketml-deploy', 'bucketml-model-candidates', 'deploy'],
      ['bucketml-vertex-events', 'bucketml-vertex-logs', 'vertex-events'],
    ]) {
      const i = index(new RegExp(`subscriptions create ${sub} `));
      assert.ok(
        i > index(new RegExp(`functions deploy ${fn} `)),
        `${sub} is created after its function`,
      );
      assert.match(
        commands[i],
        new RegExp(
          `--topic=${topic} --push-endpoint=\\$\\(gcloud functions describe ${fn} .*\\)/projects/p/topics/${topic} `,
        ),
      );
      assert.match(
        commands[i],
        /--push-auth-service-account=bucketml-invoker@p\.iam\.gserviceaccount\.com/,
      );
      assert.match(
        commands[i],
        /--min-retry-delay=1s --max-retry-delay=20s --dead-letter-topic=bucketml-dead-letter --max-delivery-attempts=10/,
      );
    }
    assert.ok(
      index(/subscriptions create bucketml-dead-letter-pull --topic=bucketml-dead-letter/) >= 0,
    );
    const sink = index(
      /logging sinks create bucketml-vertex-jobs pubsub\.googleapis\.com\/projects\/p\/topics\/bucketml-vertex-logs/,
    );
    assert.ok(sink >= 0);
    assert.ok(commands[sink].includes(`--log-filter='${VERTEX_LOG_FILTER}'`));
    assert.ok(
      index(
        /topics add-iam-policy-binding bucketml-vertex-logs --member=\$\(gcloud logging sinks describe bucketml-vertex-jobs/,
      ) > sink,
    );

    const publicPlan = await runCli([...ARGS, '--public']);
    assert.match(
      publicPlan.stdout,
      /functions deploy predict .*--trigger-http --allow-unauthenticated/,
    );
  });

  it('is safe to run again: a second run creates nothing and nothing is ever deleted', async () => {
    const script = (await runCli(ARGS)).stdout;
    const first = await execute(script, false);
    const second = await execute(script, true);
    assert.ok(
      first.some((c) =>
        / (topics|subscriptions|service-accounts|sinks|buckets|repositories) create /.test(c),
      ),
      'a first run creates resources',
    );
    const creates = second.filter((c) => / create /.test(c));
    assert.deepEqual(creates, [], 'a second run recreates nothing');
    for (const c of [...first, ...second])
      assert.doesNotMatch(c, / (delete|remove-iam-policy-binding|clear)\b|--clear-/);
    // The second run converges: the same function deploys and bindings, no more.
    assert.equal(second.filter((c) => c.includes('functions deploy')).length, FUNCTIONS.length);
  });

  it('--vertex-endpoint refuses a --version that is not a run id of that model', async () => {
    for (const [version, message] of [
      ['v1', /--version must be a run id/],
      ['taxifare-0123456789ab', /is a version of taxifare, not of babyweight/],
    ] as const) {
      const r = await runCli([...ARGS, '--vertex-endpoint', 'babyweight', '--version', version]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.equal(r.stdout, '', 'no plan is printed');
    }
  });

  it('--vertex-endpoint: the predict container, the model upload with its routes and port, the endpoint and the deployment, each guarded', async () => {
    const args = [
      ...ARGS,
      '--vertex-endpoint',
      'babyweight',
      '--version',
      'babyweight-0123456789ab',
    ];
    const r = await runCli(args);
    assert.equal(r.code, 0, r.stderr);
    const commands = steps(r.stdout).map(([, c]) => c);
    const build = commands.find((c) => c.includes('gcloud builds submit'));
    assert.match(
      build!,
      /\.bucketml\/functions\/predict --pack='image=.*,env=GOOGLE_ENTRYPOINT=node dist\/vertex\.js'/,
    );
    const upload = commands.find((c) => c.includes('gcloud ai models upload'))!;
    for (const part of [
      `--container-ports=${VERTEX_SERVING.port}`,
      `--container-health-route=${VERTEX_SERVING.healthRoute}`,
      `--container-predict-route=${VERTEX_SERVING.predictRoute}`,
      '--artifact-uri=gs://b/models/babyweight/$VERSION/',
      'VERSION=babyweight-0123456789ab',
    ])
      assert.ok(upload.includes(part), `${part} in ${upload}`);
    assert.match(upload, /\|\| gcloud ai models upload/, 'uploaded only when not found');
    assert.match(
      commands.find((c) => c.includes('endpoints create'))!,
      /\|\| gcloud ai endpoints create/,
    );
    assert.match(
      commands.find((c) => c.includes('deploy-model'))!,
      /grep -qx "\$MODEL_NAME" \|\| gcloud ai endpoints deploy-model/,
    );
    // Where everything exists, a run uploads nothing and creates nothing.
    const calls = await execute(r.stdout, true);
    assert.ok(
      !calls.some((c) => / ai models upload | ai endpoints create /.test(c)),
      calls.join('\n'),
    );
    const bad = await runCli([...ARGS, '--vertex-endpoint', 'Baby Weight']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--vertex-endpoint must be a model name/);
  });

  it('refuses missing or malformed options with usage', async () => {
    const r = await runCli(['deploy', '--dry-run', '--project', 'p']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--region, --bucket are required/);
    const bad = await runCli(
      'deploy --dry-run --project p --region us-central1 --bucket gs://b'.split(' '),
    );
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--bucket must be a bucket name, not a gs:\/\/ URI/);
  });
});

describe('bucketml stage-functions', () => {
  it(
    'stages predict as a self-contained folder that installs from the registry and serves',
    { timeout: 180_000 },
    async () => {
      const out = await tempDir();
      const dir = await stageFunction(ROOT, 'predict', out);
      const manifest = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8'));
      assert.deepEqual(Object.keys(manifest.dependencies), [
        '@bucketml/contracts',
        '@bucketml/model',
        '@bucketml/pages',
        '@bucketml/pipeline',
        '@bucketml/ports',
        '@bucketml/tuning',
        '@google-cloud/functions-framework',
      ]);
      assert.equal(manifest.dependencies['@bucketml/pipeline'], 'file:vendor/pipeline');
      const pipeline = JSON.parse(
        await readFile(join(dir, 'vendor/pipeline/package.json'), 'utf8'),
      );
      assert.equal(pipeline.dependencies['@bucketml/model'], 'file:../model');

      // As Cloud Build would: install the folder on its own, then serve a prediction from it.
      await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: dir });
      const bucket = new DirectoryBucket(await tempDir());
      await deployVersion(bucket, 'babyweight', 'v1', await trainSmallModel(1, 2000));
      const fn = new FunctionProcess(
        {
          name: 'predict',
          source: dir,
          target: 'predict',
          signatureType: 'http',
          port: await freePort(),
        },
        { ...process.env, BUCKETML_BUCKET: bucket.root },
        () => {},
      );
      fn.start();
      try {
        await fn.ready();
        const res = await fetch(`${fn.url}/babyweight`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ instances: [BABY] }),
        });
        assert.equal(res.status, 200);
      } finally {
        await fn.stop();
      }
    },
  );
});
