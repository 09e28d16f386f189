import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { layout } from '@bucketml/contracts';
import {
  listModelVersions,
  readServingHistory,
  readServingPointer,
  recordServingChange,
  rollbackServing,
  RollbackError,
} from '@bucketml/pipeline/admin';
import { PreconditionFailedError } from '@bucketml/ports';
import { MemoryBucket } from '@bucketml/ports/testing';
import { trainSmallModel } from '../serving-fixture.ts';

/**
 * The serving history and rollback on the in-memory bucket: one history line per pointer
 * write, a rollback by compare-and-swap to a version that loads, clear refusals otherwise.
 */
describe('serving history and rollback', async () => {
  const files = await trainSmallModel(5, 2000);

  /** Deploys `version` as the deploy stage does: files, pointer swap, history line. */
  async function deploy(bucket: MemoryBucket, version: string, value: number) {
    const prefix = layout.modelVersionPrefix('babyweight', version);
    await bucket.write(prefix + 'weights.bin', files.weightsBin);
    await bucket.write(prefix + 'model.json', files.modelJson);
    const previous = await readServingPointer(bucket, 'babyweight');
    const pointer = {
      model: 'babyweight',
      version,
      prefix,
      metric: 'rmse',
      value,
      runId: version,
      deployedAt: new Date().toISOString(),
      ...(previous ? { previousVersion: previous.pointer.version } : {}),
    };
    const pointerGeneration = await bucket.write(
      layout.servingPointer('babyweight'),
      JSON.stringify(pointer),
      { ifGenerationMatch: previous?.generation ?? '0' },
    );
    await recordServingChange(bucket, {
      at: pointer.deployedAt,
      model: 'babyweight',
      reason: 'deploy',
      ...(previous ? { from: previous.pointer.version } : {}),
      to: version,
      runId: version,
      metric: 'rmse',
      value,
      pointerGeneration,
    });
    return pointerGeneration;
  }

  it('a change is recorded once per pointer generation, however often it is recorded', async () => {
    const bucket = new MemoryBucket();
    const generation = await deploy(bucket, 'v1', 1.1);
    const [first] = await readServingHistory(bucket, 'babyweight');
    await recordServingChange(bucket, first);
    await recordServingChange(bucket, { ...first, at: 'later' });
    assert.equal((await readServingHistory(bucket, 'babyweight')).length, 1);
    assert.equal(first.pointerGeneration, generation);
  });

  it('rolls back to the previous version: pointer, history (three lines) and periods served', async () => {
    const bucket = new MemoryBucket();
    await deploy(bucket, 'v1', 1.1);
    await deploy(bucket, 'v2', 1.05);
    const change = await rollbackServing(bucket, 'babyweight', { reason: 'v2 answers oddly' });
    assert.deepEqual(
      [change.from, change.to, change.reason, change.value],
      ['v2', 'v1', 'rollback', 1.1],
    );
    assert.equal((await readServingPointer(bucket, 'babyweight'))!.pointer.version, 'v1');
    const history = await readServingHistory(bucket, 'babyweight');
    assert.deepEqual(
      history.map((c) => `${c.reason} ${c.from ?? '-'}→${c.to}`),
      ['deploy -→v1', 'deploy v1→v2', 'rollback v2→v1'],
    );
    assert.equal(history[2].note, 'v2 answers oddly');
    const listing = await listModelVersions(bucket, 'babyweight');
    assert.equal(listing.serving, 'v1');
    const v1 = listing.versions.find((v) => v.version === 'v1')!;
    assert.equal(v1.served.length, 2, 'v1 served, then v2, then v1 again');
    assert.equal(v1.served[1].until, undefined);
  });

  it('refuses clearly: nothing serving, nothing before, the same version, a version that does not load', async () => {
    const bucket = new MemoryBucket();
    await assert.rejects(rollbackServing(bucket, 'babyweight'), /nothing serves model babyweight/);
    await deploy(bucket, 'v1', 1.1);
    await assert.rejects(rollbackServing(bucket, 'babyweight'), /v1 is the first version/);
    await assert.rejects(rollbackServing(bucket, 'babyweight', { to: 'v1' }), /already serving/);
    await assert.rejects(
      rollbackServing(bucket, 'babyweight', { to: 'v9' }),
      /v9 of babyweight is not deployed/,
    );
    await deploy(bucket, 'v2', 1.05);
    // v1's weights damaged: it does not load, and v2 keeps serving.
    await bucket.write(
      layout.modelVersionPrefix('babyweight', 'v1') + 'weights.bin',
      Buffer.alloc(7),
    );
    const refused = await rollbackServing(bucket, 'babyweight').catch((e) => e);
    assert.ok(refused instanceof RollbackError);
    assert.match(refused.message, /version v1 does not load .*keeps serving v2/);
    assert.equal((await readServingPointer(bucket, 'babyweight'))!.pointer.version, 'v2');
    assert.equal((await readServingHistory(bucket, 'babyweight')).length, 2);
  });

  it('a deployment that moves the pointer meanwhile is not undone', async () => {
    const bucket = new MemoryBucket();
    await deploy(bucket, 'v1', 1.1);
    await deploy(bucket, 'v2', 1.05);
    const original = bucket.write.bind(bucket);
    // v3 is deployed between the rollback's read of the pointer and its swap.
    bucket.write = async (name, data, options) => {
      if (name === layout.servingPointer('babyweight') && options?.ifGenerationMatch) {
        bucket.write = original;
        await deploy(bucket, 'v3', 1.0);
      }
      return original(name, data, options);
    };
    await assert.rejects(rollbackServing(bucket, 'babyweight'), PreconditionFailedError);
    assert.equal((await readServingPointer(bucket, 'babyweight'))!.pointer.version, 'v3');
  });
});
