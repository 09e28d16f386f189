/**
 * @module body-guard
 * Refuses request bodies from their headers (request-limits.ts) in the predict function
 * itself, so Cloud Functions refuses them as the local processes do. functions-framework
 * inflates and parses a body (up to 1 GB) before it calls the function, and creates its server
 * after loading this code with no hook in between: the guard goes on each HTTP server as it
 * starts listening. Imported for its effect, before the framework creates its server.
 */
import { Server } from 'node:http';
import { guardBodies } from '@bucketml/pipeline/request-limits';

const listen = Server.prototype.listen;
Server.prototype.listen = function (this: Server, ...args: unknown[]) {
  guardBodies(this);
  return (listen as (...a: unknown[]) => Server).apply(this, args);
} as typeof Server.prototype.listen;
