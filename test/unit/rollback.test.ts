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
    const { change, moved } = await rollbackServing(bucket, 'babyweight', {
      reason: 'v2 answers oddly',
    });
    assert.equal(moved, true);
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
    const lost = await rollbackServing(bucket, 'babyweight').catch((e) => e);
    assert.ok(lost instanceof RollbackError, 'a one-line refusal, not a raw precondition failure');
    assert.match(lost.message, /serving\.json changed while rolling back .*nothing was changed/);
    assert.equal((await readServingPointer(bucket, 'babyweight'))!.pointer.version, 'v3');
  });

  /** Makes the next append to the history fail, as a crash or a transient error would. */
  function failNextHistoryWrite(bucket: MemoryBucket) {
    const original = bucket.write.bind(bucket);
    bucket.write = async (name, data, options) => {
      if (name !== layout.servingHistory('babyweight')) return original(name, data, options);
      bucket.write = original;
      throw new Error('injected: cut off before the history append');
    };
  }

  it('a rollback cut off before its history line, retried, records the line and does not roll back again', async () => {
    const bucket = new MemoryBucket();
    await deploy(bucket, 'v1', 1.1);
    await deploy(bucket, 'v2', 1.05);
    failNextHistoryWrite(bucket);
    await assert.rejects(
      rollbackServing(bucket, 'babyweight', { reason: 'v2 answers oddly' }),
      (e) =>
        e instanceof RollbackError && /now serves v1, but its history line was not/.test(e.message),
    );
    const retried = await rollbackServing(bucket, 'babyweight');
    assert.equal(retried.moved, false, 'the pointer is left on v1');
    const pointer = (await readServingPointer(bucket, 'babyweight'))!;
    assert.equal(pointer.pointer.version, 'v1');
    const history = await readServingHistory(bucket, 'babyweight');
    assert.deepEqual(
      history.map((c) => `${c.reason} ${c.from ?? '-'}→${c.to}`),
      ['deploy -→v1', 'deploy v1→v2', 'rollback v2→v1'],
    );
    assert.equal(history[2].pointerGeneration, pointer.generation, 'under the write it records');
    assert.equal(history[2].note, 'v2 answers oddly', 'the reason, kept in the pointer');
    assert.deepEqual(retried.change, history[2]);
  });

  it('history behind the pointer: the unrecorded write is recorded first, and "previous" is its from', async () => {
    const bucket = new MemoryBucket();
    await deploy(bucket, 'v1', 1.1);
    await deploy(bucket, 'v2', 1.05);
    await rollbackServing(bucket, 'babyweight'); // v1 again: v1's last line says from v2
    failNextHistoryWrite(bucket);
    await assert.rejects(deploy(bucket, 'v3', 1.0), /injected/);
    // v3 serves without a line; the listing counts it, and rollback records it, then leaves v3.
    const listing = await listModelVersions(bucket, 'babyweight');
    assert.equal(listing.unrecorded?.to, 'v3');
    assert.equal(listing.versions.find((v) => v.version === 'v3')!.served.length, 1);
    const { change, reconciled } = await rollbackServing(bucket, 'babyweight');
    assert.deepEqual(
      [reconciled?.reason, reconciled?.from, reconciled?.to],
      ['deploy', 'v1', 'v3'],
    );
    assert.deepEqual([change.from, change.to], ['v3', 'v1']);
    assert.deepEqual(
      (await readServingHistory(bucket, 'babyweight')).map((c) => `${c.from ?? '-'}→${c.to}`),
      ['-→v1', 'v1→v2', 'v2→v1', 'v1→v3', 'v3→v1'],
    );
  });

  for (const [text, problem] of [
    ['{broken', /not JSON/],
    ['null', /it holds null, not an object/],
    ['[]', /it holds an array, not an object/],
    ['{"version":"../../../etc"}', /its version "\.\.\/\.\.\/\.\.\/etc" is not a version name/],
    ['{"model":"babyweight"}', /it names no version/],
    ['{"version":"v1","prefix":"../v1/"}', /its prefix "\.\.\/v1\/" is not its version's folder/],
  ] as const)
    it(`a serving.json holding ${text} is named as broken, and only --to replaces it`, async () => {
      const bucket = new MemoryBucket();
      await deploy(bucket, 'v1', 1.1);
      const generation = await bucket.write(layout.servingPointer('babyweight'), text);
      const named = new RegExp(
        `^models/babyweight/serving\\.json \\(generation ${generation}\\) is not a valid serving pointer: ${problem.source}`,
      );
      const listing = await listModelVersions(bucket, 'babyweight');
      assert.equal(listing.serving, undefined);
      assert.match(listing.pointerError ?? '', named);
      assert.equal(listing.versions.length, 1);
      await assert.rejects(
        rollbackServing(bucket, 'babyweight'),
        (e) =>
          e instanceof RollbackError && named.test(e.message) && /--to VERSION/.test(e.message),
      );
      const { change } = await rollbackServing(bucket, 'babyweight', { to: 'v1' });
      assert.deepEqual([change.from, change.to], [undefined, 'v1']);
      const repaired = (await readServingPointer(bucket, 'babyweight'))!;
      assert.equal(repaired.pointer.version, 'v1');
      assert.equal(repaired.pointer.value, 1.1, 'the figure v1 was deployed with');
      assert.equal(
        (await readServingHistory(bucket, 'babyweight')).at(-1)!.pointerGeneration,
        repaired.generation,
      );
    });

  it('a version folder with model.json only is listed as incomplete, without metrics', async () => {
    const bucket = new MemoryBucket();
    await deploy(bucket, 'v1', 1.1);
    await bucket.write(
      layout.modelVersionPrefix('babyweight', 'v0') + 'model.json',
      files.modelJson,
    );
    const v0 = (await listModelVersions(bucket, 'babyweight')).versions.find(
      (v) => v.version === 'v0',
    )!;
    assert.equal(v0.incomplete, 'no weights.bin');
    assert.deepEqual(v0.metrics, {});
    await assert.rejects(
      rollbackServing(bucket, 'babyweight', { to: 'v0' }),
      /v0 of babyweight is not deployed/,
    );
  });

  it('a target that is no version name is refused before anything is read', async () => {
    const bucket = new MemoryBucket();
    await deploy(bucket, 'v1', 1.1);
    for (const to of ['../x', '/etc', 'a\nb', ''])
      await assert.rejects(
        rollbackServing(bucket, 'babyweight', { to }),
        (e) => e instanceof RollbackError && /is not a version name/.test(e.message),
      );
  });
});
