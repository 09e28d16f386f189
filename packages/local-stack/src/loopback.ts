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
 * - request bodies are refused from their headers (request-limits.ts: compressed, over
 *   MAX_REQUEST_BYTES, or of unknown length) before the framework inflates, buffers and parses
 *   them (its own limit is 1 GB). The predict function guards itself the same way in the cloud.
 */
import type { Server as HttpServer } from 'node:http';
import { Server, type Socket } from 'node:net';
import { guardBodies } from '@bucketml/pipeline/request-limits';

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
    guardBodies(this as unknown as HttpServer);
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
