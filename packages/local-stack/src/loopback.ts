/**
 * @module loopback
 * Preloaded into each local function process (`node --import …/loopback.js`).
 * functions-framework listens on every interface and has no host or timeout options, so:
 * - a server told only a port listens on 127.0.0.1 — the local functions have no
 *   authentication and must not be reachable from other machines;
 * - an HTTP connection whose first request's headers have not arrived 5 s after it opened is
 *   closed, and an idle keep-alive connection after 5 s — a client stuck in its headers does
 *   not hold a socket for minutes. A request being handled is never cut off (event handlers
 *   may work for minutes);
 * - a request body over MAX_REQUEST_BYTES is refused (413) from its Content-Length, and one of
 *   unknown length (chunked) with 411, before the framework buffers and parses it (its own
 *   limit is 1 GB). Cloud Run's front end caps requests at 32 MB in the cloud.
 */
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import { Server, type Socket } from 'node:net';
import { MAX_REQUEST_BYTES } from '@bucketml/contracts';

const HEADERS_MS = 5_000;
const IDLE_MS = 5_000;

const listen = Server.prototype.listen;
Server.prototype.listen = function (this: Server, ...args: unknown[]) {
  const port = args[0];
  const isPort = typeof port === 'number' || (typeof port === 'string' && /^\d+$/.test(port));
  if (isPort && (args.length === 1 || typeof args[1] === 'function')) {
    args.splice(1, 0, '127.0.0.1');
  }
  if ('headersTimeout' in this) {
    limitSlowClients(this as unknown as HttpServer);
    limitBodies(this as unknown as HttpServer);
  }
  return (listen as (...a: unknown[]) => Server).apply(this, args);
} as typeof Server.prototype.listen;

function limitSlowClients(http: HttpServer): void {
  http.headersTimeout = HEADERS_MS;
  http.keepAliveTimeout = IDLE_MS;
  const waiting = new WeakMap<Socket, NodeJS.Timeout>();
  http.on('connection', (socket: Socket) => {
    const timer = setTimeout(() => socket.destroy(), HEADERS_MS);
    timer.unref();
    waiting.set(socket, timer);
    socket.once('close', () => clearTimeout(timer));
  });
  http.prependListener('request', (req) => {
    const timer = waiting.get(req.socket);
    if (timer) clearTimeout(timer);
    waiting.delete(req.socket);
  });
}

/** Puts a size check in front of the server's request handlers (the framework's app). */
function limitBodies(http: HttpServer): void {
  const handlers = http.listeners('request') as ((...a: unknown[]) => void)[];
  http.removeAllListeners('request');
  http.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const refusal = bodyRefusal(req);
    if (!refusal) {
      for (const handle of handlers) handle.call(http, req, res);
      return;
    }
    res.writeHead(refusal.status, { 'content-type': 'application/json', connection: 'close' });
    res.end(JSON.stringify({ error: refusal.error }));
    req.socket.destroySoon();
  });
}

function bodyRefusal(req: IncomingMessage): { status: number; error: string } | undefined {
  const length = req.headers['content-length'];
  if (length !== undefined) {
    if (Number(length) <= MAX_REQUEST_BYTES) return undefined;
    return {
      status: 413,
      error: `the body is ${length} bytes; the limit is ${MAX_REQUEST_BYTES}: send fewer instances per request`,
    };
  }
  if (req.headers['transfer-encoding'] === undefined) return undefined; // no body
  return { status: 411, error: 'send the body with a Content-Length header' };
}
