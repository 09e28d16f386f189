/**
 * @module test/page-server
 * The local stack's page server: it serves the bucket's runs/ and models/ read-only and nothing
 * else — no path out of the bucket, no dotfile (the bucket's internal files), no link, no write.
 */
import assert from 'node:assert/strict';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PageServer, servedObjectName } from '@bucketml/local-stack';
import { DirectoryBucket } from '@bucketml/ports/directory-bucket';
import { tempDir } from './helpers.ts';

/** A raw request: the path is sent as written (fetch would normalise `..` away). */
function get(url: string, path: string, method = 'GET') {
  return new Promise<{ status: number; body: string; type?: string; cache?: string }>(
    (resolve, reject) => {
      const { hostname, port } = new URL(url);
      const req = request({ hostname, port, path, method }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () =>
          resolve({
            status: res.statusCode!,
            body,
            type: res.headers['content-type'],
            cache: res.headers['cache-control'],
          }),
        );
      });
      req.on('error', reject);
      req.end();
    },
  );
}

describe('page server', () => {
  let server: PageServer;
  let url: string;
  let root: string;

  before(async () => {
    const outside = await tempDir();
    await writeFile(join(outside, 'secret.txt'), 'outside the bucket');
    root = join(await tempDir(), 'bucket');
    await mkdir(join(root, 'runs/r-1/trials/1'), { recursive: true });
    await mkdir(join(root, 'models/m'), { recursive: true });
    await mkdir(join(root, '.training-jobs'), { recursive: true });
    await mkdir(join(root, 'data/m'), { recursive: true });
    await writeFile(join(root, 'runs/r-1/index.html'), '<h1>run</h1>');
    await writeFile(join(root, 'runs/r-1/page.json'), '{"revision":1}');
    await writeFile(join(root, 'runs/r-1/trials/1/hypertune.metrics'), '{"rmse":1}\n');
    await writeFile(join(root, 'runs/r-1/.lock'), 'internal');
    await writeFile(join(root, 'models/m/index.html'), '<h1>model</h1>');
    await writeFile(join(root, '.training-jobs/job.json'), '{}');
    await writeFile(join(root, 'data/m/train.csv'), 'a,b\n');
    await symlink(outside, join(root, 'runs/linked'));
    await symlink(join(outside, 'secret.txt'), join(root, 'runs/r-1/secret.txt'));
    server = new PageServer(new DirectoryBucket(root));
    url = await server.start(0);
  });
  after(() => server?.stop());

  it('serves the pages and the objects beside them, uncached, with their content types', async () => {
    const page = await get(url, '/runs/r-1/index.html');
    assert.equal(page.status, 200);
    assert.equal(page.body, '<h1>run</h1>');
    assert.equal(page.type, 'text/html; charset=utf-8');
    assert.equal(page.cache, 'no-store');
    assert.equal((await get(url, '/runs/r-1/')).body, '<h1>run</h1>', 'a folder is its index.html');
    assert.equal((await get(url, '/runs/r-1/page.json')).type, 'application/json');
    assert.equal((await get(url, '/runs/r-1/trials/1/hypertune.metrics')).status, 200);
    assert.equal((await get(url, '/models/m/index.html')).body, '<h1>model</h1>');
  });

  it('serves nothing outside the bucket, no dotfile, no link and nothing but runs/ and models/', async () => {
    for (const path of [
      '/runs/../../secret.txt',
      '/runs/%2e%2e/%2e%2e/secret.txt',
      '/runs%2f..%2f..%2fsecret.txt',
      '/runs/r-1/..%5c..%5csecret.txt',
      '/runs/r-1/.lock',
      '/.training-jobs/job.json',
      '/runs/%2etraining-jobs/job.json',
      '/runs/linked/secret.txt',
      '/runs/r-1/secret.txt',
      '/data/m/train.csv',
      '/runs/r-1/%00index.html',
      '/runs/%E0%A4%A',
      '/',
    ]) {
      const res = await get(url, path);
      assert.equal(res.status, 404, `${path} → ${res.status} ${res.body}`);
      assert.doesNotMatch(res.body, /outside the bucket|internal/);
    }
  });

  it('is read-only', async () => {
    for (const method of ['PUT', 'POST', 'DELETE']) {
      assert.equal((await get(url, '/runs/r-1/index.html', method)).status, 405);
    }
    assert.equal((await get(url, '/runs/r-1/index.html', 'HEAD')).status, 200);
  });

  it('maps request paths to object names, refusing what it does not serve', () => {
    assert.equal(servedObjectName('/runs/r-1/'), 'runs/r-1/index.html');
    assert.equal(servedObjectName('/models/m/page.json'), 'models/m/page.json');
    assert.equal(servedObjectName('/runs//x'), null);
    assert.equal(servedObjectName('/runs/./x'), null);
    assert.equal(servedObjectName('/config/m/schema.json'), null);
  });
});
