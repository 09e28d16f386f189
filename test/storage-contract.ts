import assert from 'node:assert/strict';
import { it } from 'node:test';
import { InvalidObjectNameError, PreconditionFailedError, type Storage } from '@bucketml/ports';

/**
 * The storage port's contract. Every adapter runs this same suite (the directory bucket always;
 * a real Cloud Storage bucket when one is configured), so the pipeline can rely on it.
 */
export function storageContract(name: string, make: () => Promise<Storage>): void {
  const unique = () => `contract-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;

  it(`${name}: writes and reads back bytes with a generation`, async () => {
    const s = await make();
    const key = `${unique()}/a.json`;
    const g = await s.write(key, '{"x":1}');
    const obj = await s.read(key);
    assert.equal(obj?.data.toString(), '{"x":1}');
    assert.equal(obj?.generation, g);
    assert.equal((await s.stat(key))?.size, 7);
    assert.equal(await s.read(`${key}.missing`), null);
  });

  it(`${name}: every write gives a new generation, even in quick succession`, async () => {
    const s = await make();
    const key = `${unique()}/g.txt`;
    const gens = [];
    for (let i = 0; i < 20; i++) gens.push(await s.write(key, String(i)));
    assert.equal(new Set(gens).size, 20);
    for (let i = 1; i < gens.length; i++)
      assert.ok(BigInt(gens[i]) > BigInt(gens[i - 1]), 'generations increase');
  });

  it(`${name}: create-if-absent succeeds once`, async () => {
    const s = await make();
    const key = `${unique()}/once`;
    await s.write(key, 'first', { ifGenerationMatch: '0' });
    await assert.rejects(
      s.write(key, 'second', { ifGenerationMatch: '0' }),
      PreconditionFailedError,
    );
    assert.equal((await s.read(key))?.data.toString(), 'first');
  });

  it(`${name}: compare-and-swap: of concurrent writers on one generation exactly one wins`, async () => {
    const s = await make();
    const key = `${unique()}/cas`;
    const g0 = await s.write(key, 'v0');
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => s.write(key, `v${i + 1}`, { ifGenerationMatch: g0 })),
    );
    const won = results.filter((r) => r.status === 'fulfilled');
    assert.equal(won.length, 1);
    for (const r of results)
      if (r.status === 'rejected') assert.ok(r.reason instanceof PreconditionFailedError);
    const after = await s.read(key);
    assert.equal(after?.generation, (won[0] as PromiseFulfilledResult<string>).value);
    await assert.rejects(s.write(key, 'stale', { ifGenerationMatch: g0 }), PreconditionFailedError);
  });

  it(`${name}: lists by prefix, sorted, without other prefixes`, async () => {
    const s = await make();
    const root = unique();
    for (const n of ['b.csv', 'a.csv', 'sub/c.csv']) await s.write(`${root}/data/${n}`, n);
    await s.write(`${root}/other/x.csv`, 'x');
    const names = (await s.list(`${root}/data/`)).map((o) => o.name);
    assert.deepEqual(names, [`${root}/data/a.csv`, `${root}/data/b.csv`, `${root}/data/sub/c.csv`]);
    assert.deepEqual(await s.list(`${root}/nothing/`), []);
  });

  it(`${name}: copies the generation it is given, and refuses one the source has left`, async () => {
    const s = await make();
    const root = unique();
    const first = await s.write(`${root}/data/eval.csv`, 'first');
    const copied = await s.copy(`${root}/data/eval.csv`, `${root}/runs/r/eval.csv`, first);
    assert.equal((await s.read(`${root}/runs/r/eval.csv`))!.data.toString(), 'first');
    assert.equal((await s.stat(`${root}/runs/r/eval.csv`))!.generation, copied);
    await s.write(`${root}/data/eval.csv`, 'second');
    await assert.rejects(
      s.copy(`${root}/data/eval.csv`, `${root}/runs/r2/eval.csv`, first),
      PreconditionFailedError,
    );
    assert.equal(await s.stat(`${root}/runs/r2/eval.csv`), null, 'nothing half-copied');
    assert.equal((await s.read(`${root}/runs/r/eval.csv`))!.data.toString(), 'first');
  });

  it(`${name}: rejects object names that could escape the bucket`, async () => {
    const s = await make();
    for (const bad of ['../x', 'a/../../x', '/etc/passwd', 'a//b', 'a/./b', 'a\\b', '']) {
      await assert.rejects(s.write(bad, 'x'), InvalidObjectNameError, bad);
    }
  });

  it(`${name}: a streamed write appears whole, with a generation, and honours its precondition`, async () => {
    const s = await make();
    const key = `${unique()}/out.jsonl`;
    async function* lines(n: number) {
      for (let i = 0; i < n; i++) yield `{"row":${i}}\n`;
    }
    const g = await s.writeStream(key, lines(5000), { ifGenerationMatch: '0' });
    const obj = await s.read(key);
    assert.equal(obj?.generation, g);
    const text = obj!.data.toString();
    assert.equal(text.split('\n').length, 5001);
    assert.ok(text.startsWith('{"row":0}\n') && text.endsWith('{"row":4999}\n'));
    await assert.rejects(
      s.writeStream(key, lines(1), { ifGenerationMatch: '0' }),
      PreconditionFailedError,
    );
    assert.equal((await s.read(key))?.generation, g);
  });

  it(`${name}: a streamed write that fails mid-way leaves nothing visible`, async () => {
    const s = await make();
    const root = unique();
    const key = `${root}/out/answers.jsonl`;
    const g = await s.write(key, 'previous');
    async function* failing() {
      yield 'half of ';
      yield Buffer.from('an answer');
      throw new Error('the source failed');
    }
    await assert.rejects(s.writeStream(key, failing()), /the source failed/);
    await assert.rejects(s.writeStream(`${root}/out/new.jsonl`, failing()), /the source failed/);
    assert.equal((await s.read(key))?.data.toString(), 'previous');
    assert.equal((await s.stat(key))?.generation, g);
    assert.deepEqual(
      (await s.list(`${root}/`)).map((o) => o.name),
      [key],
    );
  });
}
