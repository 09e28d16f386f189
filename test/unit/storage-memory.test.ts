import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PreconditionFailedError } from '@bucketml/ports';
import { MemoryBucket } from '@bucketml/ports/testing';
import { storageContract } from '../storage-contract.ts';

describe('storage contract: memory bucket', () => {
  storageContract('memory', async () => new MemoryBucket());
});

describe('memory bucket: test helpers', () => {
  it('put() stores a settled object without counting it as a write; writes are counted per name', async () => {
    const b = new MemoryBucket();
    const g = b.put('data/m/train.csv', 'a,b\n', 10_000);
    const info = await b.stat('data/m/train.csv');
    assert.equal(info?.generation, g);
    assert.ok(Date.now() - info!.updated.getTime() >= 10_000, 'updated lies in the past');
    assert.equal(b.writeCount(), 0);
    await b.write('x/y', '1');
    await b.write('x/y', '2');
    assert.equal(b.writeCount('x/y'), 2);
    assert.equal(b.writeCount(), 2);
    assert.deepEqual(b.names(), ['data/m/train.csv', 'x/y']);
    assert.equal(b.text('x/y'), '2');
  });

  it('openRead streams the bytes; reads are counted; a missing object rejects', async () => {
    const b = new MemoryBucket();
    b.put('a.csv', 'hello');
    const chunks: Buffer[] = [];
    for await (const c of await b.openRead('a.csv')) chunks.push(Buffer.from(c as Buffer));
    assert.equal(Buffer.concat(chunks).toString(), 'hello');
    await b.read('a.csv');
    assert.equal(b.readCount('a.csv'), 2);
    await assert.rejects(b.openRead('missing.csv'), /no such object/);
  });

  it('a read returns a copy: changing it does not change the object', async () => {
    const b = new MemoryBucket();
    await b.write('k', 'abc');
    const obj = await b.read('k');
    obj!.data[0] = 0x7a;
    assert.equal(b.text('k'), 'abc');
  });

  it('failNextWrite fails exactly one write and leaves the object as it was', async () => {
    const b = new MemoryBucket();
    const g = await b.write('k', 'v1');
    b.failNextWrite('k');
    await assert.rejects(b.write('k', 'v2'), /injected fault/);
    assert.equal(b.generationOf('k'), g);
    assert.equal(b.text('k'), 'v1');
    await b.write('k', 'v3');
    assert.equal(b.text('k'), 'v3');
  });

  it('beforeNextWrite runs a competing write first: the conditional write then fails', async () => {
    const b = new MemoryBucket();
    const g = await b.write('ptr', 'mine');
    b.beforeNextWrite('ptr', async () => void (await b.write('ptr', 'theirs')));
    await assert.rejects(b.write('ptr', 'late', { ifGenerationMatch: g }), PreconditionFailedError);
    assert.equal(b.text('ptr'), 'theirs');
  });

  it('uriOf names the object and checks the name', () => {
    const b = new MemoryBucket('bkt');
    assert.equal(b.uriOf('data/x.csv'), 'memory://bkt/data/x.csv');
    assert.throws(() => b.uriOf('../x'));
  });
});
