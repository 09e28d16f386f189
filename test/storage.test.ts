import assert from 'node:assert/strict';
import { mkdir, readdir, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { DirectoryBucket } from '@bucketml/ports/directory-bucket';
import { GcsBucket } from '@bucketml/ports/gcs-bucket';
import { storageContract } from './storage-contract.ts';
import { tempDir } from './helpers.ts';

describe('storage contract: directory bucket', () => {
  storageContract('directory', async () => new DirectoryBucket(await tempDir()));
});

describe('storage contract: Cloud Storage', () => {
  const bucket = process.env.BUCKETML_TEST_GCS_BUCKET;
  if (!bucket) {
    it(
      'runs against a real bucket when BUCKETML_TEST_GCS_BUCKET is set',
      { skip: 'BUCKETML_TEST_GCS_BUCKET is not set: the GCS adapter was NOT tested' },
      () => {},
    );
  } else {
    // Each run works under its own prefix, so runs can share a bucket; its objects are left for
    // the bucket's lifecycle rules to remove.
    const root = `bucketml-contract/${Date.now()}-${process.pid}/`;
    let n = 0;
    storageContract('gcs', async () => new GcsBucket(bucket, `${root}${n++}/`));
  }
});

describe('directory bucket locks', () => {
  /** A bucket where another writer holds the lock of `name` (an empty lock file, as O_EXCL leaves it). */
  async function lockedBy(name: string) {
    const root = await tempDir();
    const dir = join(root, dirname(name));
    await mkdir(dir, { recursive: true });
    const lock = join(dir, `.${basename(name)}.lock`);
    await writeFile(lock, '');
    return { bucket: new DirectoryBucket(root), lock };
  }

  it('breaks a lock left empty by a writer killed mid-acquire, once it is stale', async () => {
    const { bucket, lock } = await lockedBy('runs/run.json');
    const old = (Date.now() - 60_000) / 1000;
    await utimes(lock, old, old);
    const started = Date.now();
    await bucket.write('runs/run.json', '{}', { ifGenerationMatch: '0' });
    assert.ok(Date.now() - started < 2000, 'did not wait for a stale lock');
  });

  it('waits for a live lock and proceeds when it is released', async () => {
    const { bucket, lock } = await lockedBy('a/b');
    setTimeout(() => void rm(lock), 300);
    const started = Date.now();
    await bucket.write('a/b', 'x');
    assert.ok(Date.now() - started >= 250, 'waited for the holder');
  });
});

describe('directory bucket: links never lead out of the root', () => {
  it('a linked folder or file is no object: not listed, not read, not written through', async () => {
    const root = await tempDir('bucketml-links-');
    const outside = await tempDir('bucketml-outside-');
    await writeFile(join(outside, 'secret.csv'), 'a,b\n1,2\n');
    await writeFile(join(outside, 'schema.json'), '{"secret": true}');
    const bucket = new DirectoryBucket(root);
    await bucket.write('data/ok/train.csv', 'x\n');
    // data/evil/ → outside; config/m/schema.json → an outside file; models/m/ → outside.
    await mkdir(join(root, 'config/m'), { recursive: true });
    await mkdir(join(root, 'models'), { recursive: true });
    await symlink(outside, join(root, 'data/evil'));
    await symlink(join(outside, 'schema.json'), join(root, 'config/m/schema.json'));
    await symlink(outside, join(root, 'models/m'));
    assert.deepEqual(
      (await bucket.list('data/')).map((o) => o.name),
      ['data/ok/train.csv'],
    );
    assert.deepEqual(await bucket.list('data/evil/'), []);
    assert.equal(await bucket.stat('data/evil/secret.csv'), null);
    assert.equal(await bucket.read('data/evil/secret.csv'), null);
    assert.equal(await bucket.read('config/m/schema.json'), null);
    await assert.rejects(
      bucket.openRead('data/evil/secret.csv'),
      /is a link, and the bucket does not follow links/,
    );
    await assert.rejects(bucket.write('models/m/v1/model.json', '{}'), /models\/m is a link/);
    assert.deepEqual(
      await readdir(outside),
      ['schema.json', 'secret.csv'],
      'nothing was written outside',
    );
  });
});
