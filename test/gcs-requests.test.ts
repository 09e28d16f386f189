import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createHash } from 'node:crypto';
import { CRC32C, Storage as GcsClient } from '@google-cloud/storage';
import { PreconditionFailedError } from '@bucketml/ports';
import { GcsBucket } from '@bucketml/ports/gcs-bucket';

/**
 * What the GCS adapter sends to the Cloud Storage JSON API, and how it reads the documented
 * responses (object resources with int64 generations as strings, 412 for a failed
 * precondition). A recording HTTP server answers with canned responses: this checks request
 * shapes, not Cloud Storage's behaviour — that is the contract suite's job on a real bucket.
 */
function crc32c(data: string): string {
  const c = new CRC32C();
  c.update(Buffer.from(data));
  return c.toString();
}

type Answer = { status: number; body: string | object; type?: string };
const object = (name: string, generation: string) => ({
  kind: 'storage#object',
  bucket: 'bk',
  name,
  generation,
  size: '3',
  updated: '2026-11-22T10:00:00.000Z',
});

describe('GCS adapter: requests to the Cloud Storage JSON API', () => {
  let server: http.Server;
  let bucket: GcsBucket;
  const requests: { method: string; url: URL; body: string }[] = [];
  let answers: ((r: { method: string; url: URL }) => Answer | undefined)[] = [];

  before(async () => {
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const r = {
          method: req.method!,
          url: new URL(req.url!, 'http://x'),
          body: Buffer.concat(chunks).toString(),
        };
        requests.push(r);
        const a: Answer = answers.map((f) => f(r)).find((x) => x) ?? {
          status: 404,
          body: { error: { code: 404, message: 'No such object' } },
        };
        res.writeHead(a.status, { 'content-type': a.type ?? 'application/json' });
        res.end(typeof a.body === 'string' ? a.body : JSON.stringify(a.body));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const client = new GcsClient({
      apiEndpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      projectId: 'p',
      useAuthWithCustomEndpoint: false,
      retryOptions: { maxRetries: 0 },
    });
    bucket = new GcsBucket('bk', 'root/', client);
  });
  after(() => server.close());
  const reset = (...a: typeof answers) => {
    requests.length = 0;
    answers = a;
  };

  it('create-if-absent uploads with ifGenerationMatch=0 and returns the new generation', async () => {
    // The client checks the stored object's hashes against what it sent.
    const hashes = {
      md5Hash: createHash('md5').update('{}').digest('base64'),
      crc32c: crc32c('{}'),
    };
    reset((r) =>
      r.method === 'POST'
        ? {
            status: 200,
            body: { ...object('root/runs/r/run.json', '1795000000000001'), ...hashes },
          }
        : undefined,
    );
    assert.equal(
      await bucket.write('runs/r/run.json', '{}', { ifGenerationMatch: '0' }),
      '1795000000000001',
    );
    const [upload] = requests;
    assert.equal(upload.url.pathname, '/upload/storage/v1/b/bk/o');
    assert.equal(upload.url.searchParams.get('name'), 'root/runs/r/run.json');
    assert.equal(upload.url.searchParams.get('ifGenerationMatch'), '0');
    assert.match(upload.body, /\r\n\r\n\{\}\r\n--/); // the object's bytes, in the multipart body
  });

  it('a failed precondition (412) becomes PreconditionFailedError with the current generation', async () => {
    reset(
      (r) =>
        r.method === 'POST'
          ? {
              status: 412,
              body: {
                error: {
                  code: 412,
                  message: 'At least one of the pre-conditions you specified did not hold.',
                },
              },
            }
          : undefined,
      (r) =>
        r.method === 'GET'
          ? { status: 200, body: object('root/models/m/serving.json', '9') }
          : undefined,
    );
    await assert.rejects(
      bucket.write('models/m/serving.json', 'x', { ifGenerationMatch: '8' }),
      (err: unknown) => {
        assert.ok(err instanceof PreconditionFailedError);
        assert.deepEqual(
          [err.object, err.expected, err.actual],
          ['models/m/serving.json', '8', '9'],
        );
        return true;
      },
    );
    assert.equal(requests[0].url.searchParams.get('ifGenerationMatch'), '8');
  });

  it('a read downloads exactly the generation its metadata named', async () => {
    reset((r) =>
      r.url.searchParams.get('alt') === 'media'
        ? { status: 200, body: 'abc', type: 'application/octet-stream' }
        : { status: 200, body: object('root/data/m/a.csv', '42') },
    );
    const read = await bucket.read('data/m/a.csv');
    assert.equal(read?.data.toString(), 'abc');
    assert.equal(read?.generation, '42');
    const media = requests.find((r) => r.url.searchParams.get('alt') === 'media')!;
    assert.equal(decodeURIComponent(media.url.pathname), '/storage/v1/b/bk/o/root/data/m/a.csv');
    assert.equal(media.url.searchParams.get('generation'), '42');
  });

  it('a copy rewrites exactly the source generation it names; a generation that is gone is a PreconditionFailedError', async () => {
    reset((r) =>
      r.method === 'POST' && r.url.pathname.includes('/rewriteTo/')
        ? {
            status: 200,
            body: {
              kind: 'storage#rewriteResponse',
              done: true,
              totalBytesRewritten: '3',
              objectSize: '3',
              resource: object('root/runs/r/inputs/a.csv', '77'),
            },
          }
        : undefined,
    );
    assert.equal(await bucket.copy('data/m/a.csv', 'runs/r/inputs/a.csv', '42'), '77');
    const [rewrite] = requests;
    assert.equal(
      decodeURIComponent(rewrite.url.pathname),
      '/storage/v1/b/bk/o/root/data/m/a.csv/rewriteTo/b/bk/o/root/runs/r/inputs/a.csv',
    );
    assert.equal(rewrite.url.searchParams.get('sourceGeneration'), '42');
    reset((r) =>
      r.method === 'GET' ? { status: 200, body: object('root/data/m/a.csv', '43') } : undefined,
    );
    await assert.rejects(
      bucket.copy('data/m/a.csv', 'runs/r/inputs/a.csv', '42'),
      (err: unknown) => {
        assert.ok(err instanceof PreconditionFailedError);
        assert.deepEqual([err.expected, err.actual], ['42', '43']);
        return true;
      },
    );
  });

  it('a missing object reads and stats as null', async () => {
    reset();
    assert.equal(await bucket.read('nope'), null);
    assert.equal(await bucket.stat('nope'), null);
  });

  it('lists by prefix under its root, without folder placeholders, sorted', async () => {
    reset((r) =>
      r.url.pathname === '/storage/v1/b/bk/o'
        ? {
            status: 200,
            body: {
              kind: 'storage#objects',
              items: [
                object('root/data/m/b.csv', '2'),
                object('root/data/m/', '1'),
                object('root/data/m/a.csv', '3'),
              ],
            },
          }
        : undefined,
    );
    const listed = await bucket.list('data/m/');
    assert.equal(requests[0].url.searchParams.get('prefix'), 'root/data/m/');
    assert.deepEqual(
      listed.map((o) => [o.name, o.generation, o.size]),
      [
        ['data/m/a.csv', '3', 3],
        ['data/m/b.csv', '2', 3],
      ],
    );
    assert.equal(bucket.uriOf('data/m/a.csv'), 'gs://bk/root/data/m/a.csv');
  });
});
