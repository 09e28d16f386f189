/**
 * @module page-server
 * The local stack's view of the bucket's pages: a read-only HTTP server over the directory
 * bucket's runs/ and models/ (the run pages, the models pages and the objects beside them that a
 * page fetches), on 127.0.0.1. Objects are read through the DirectoryBucket, which refuses
 * names that could leave the root and never follows a link; names with a segment starting with
 * '.' (the bucket's internal files) are not served. GET and HEAD only; nothing is cached, so a
 * page polling its page.json sees every rewrite.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { layout } from '@bucketml/contracts';
import type { DirectoryBucket } from '@bucketml/ports/directory-bucket';

const CONTENT_TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  json: 'application/json',
  txt: 'text/plain; charset=utf-8',
  log: 'text/plain; charset=utf-8',
  metrics: 'text/plain; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
};

/** The prefixes served: what the pages show and link to. */
const SERVED = [layout.runsRoot, layout.modelsRoot];

/** The object a request path names (a folder's index.html), or null when it is not served. */
export function servedObjectName(pathname: string): string | null {
  let name: string;
  try {
    name = decodeURIComponent(pathname).replace(/^\/+/, '');
  } catch {
    return null;
  }
  if (name === '' || name.endsWith('/')) name += 'index.html';
  const segments = name.split('/');
  if (
    segments.some((s) => s === '' || s.startsWith('.') || s.includes('\\')) ||
    // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
    /[\x00-\x1f\x7f]/.test(name) ||
    !SERVED.some((p) => name.startsWith(p))
  )
    return null;
  return name;
}

export class PageServer {
  private server?: Server;

  constructor(private readonly bucket: DirectoryBucket) {}

  /** Listens on 127.0.0.1:`port` (0: any free port); resolves with the base URL. */
  async start(port = 0): Promise<string> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(500).end('internal error\n');
      });
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, '127.0.0.1', () => resolve());
    });
    return `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) =>
      this.server ? this.server.close(() => resolve()) : resolve(),
    );
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end('read-only\n');
      return;
    }
    const name = servedObjectName(new URL(req.url ?? '/', 'http://localhost').pathname);
    const obj = name ? await this.bucket.read(name).catch(() => null) : null;
    if (!obj) {
      res
        .writeHead(404, { 'content-type': 'text/plain; charset=utf-8' })
        .end('not found: this server shows runs/<runId>/ and models/<model>/ of the bucket\n');
      return;
    }
    const ext = name!.slice(name!.lastIndexOf('.') + 1);
    res.writeHead(200, {
      'content-type': CONTENT_TYPES[ext] ?? 'application/octet-stream',
      'content-length': obj.data.length,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    });
    res.end(req.method === 'HEAD' ? undefined : obj.data);
  }
}
