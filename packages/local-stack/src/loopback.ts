/**
 * @module loopback
 * Preloaded into each local function process (`node --import …/loopback.js`):
 * functions-framework listens on every interface and has no host or timeout options, so a
 * server that is told only a port listens on 127.0.0.1 instead — the local functions have no
 * authentication and must not be reachable from other machines — and an HTTP server closes a
 * connection that sends nothing for 5 s (a client stuck in its headers does not hold a socket
 * for minutes) and one whose headers take more than 10 s.
 */
import type { Server as HttpServer } from 'node:http';
import { Server } from 'node:net';

const IDLE_MS = 5_000;
const HEADERS_MS = 10_000;

const listen = Server.prototype.listen;
Server.prototype.listen = function (this: Server, ...args: unknown[]) {
  const port = args[0];
  const isPort = typeof port === 'number' || (typeof port === 'string' && /^\d+$/.test(port));
  if (isPort && (args.length === 1 || typeof args[1] === 'function')) {
    args.splice(1, 0, '127.0.0.1');
  }
  if ('headersTimeout' in this) {
    const http = this as unknown as HttpServer;
    http.headersTimeout = HEADERS_MS;
    http.requestTimeout = Math.max(
      http.requestTimeout ? Math.min(http.requestTimeout, 60_000) : 60_000,
      HEADERS_MS + 1,
    );
    http.keepAliveTimeout = IDLE_MS;
    http.setTimeout(IDLE_MS, (socket) => socket.destroy());
  }
  return (listen as (...a: unknown[]) => Server).apply(this, args);
} as typeof Server.prototype.listen;
