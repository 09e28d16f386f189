/**
 * @module loopback
 * Preloaded into each local function process (`node --import …/loopback.js`):
 * functions-framework listens on every interface and has no host option, so a server that is
 * told only a port listens on 127.0.0.1 instead — the local functions have no authentication
 * and must not be reachable from other machines.
 */
import { Server } from 'node:net';

const listen = Server.prototype.listen;
Server.prototype.listen = function (this: Server, ...args: unknown[]) {
  const port = args[0];
  const isPort = typeof port === 'number' || (typeof port === 'string' && /^\d+$/.test(port));
  if (isPort && (args.length === 1 || typeof args[1] === 'function')) {
    args.splice(1, 0, '127.0.0.1');
  }
  return (listen as (...a: unknown[]) => Server).apply(this, args);
} as typeof Server.prototype.listen;
