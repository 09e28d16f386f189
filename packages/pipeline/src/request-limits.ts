/**
 * @module request-limits
 * Which request bodies a server refuses from their headers alone, before reading them: an
 * encoded (compressed) body, whose inflated size its headers do not tell — functions-framework
 * would inflate it whole (its limit is 1 GB) before any check of ours; one over
 * MAX_REQUEST_BYTES; and, for a server that buffers the body before we see it, one of unknown
 * length (chunked). The predict function (in Cloud Functions and locally), the local function
 * processes and the Vertex AI container all refuse with these answers.
 */
import type {
  IncomingHttpHeaders,
  IncomingMessage,
  Server as HttpServer,
  ServerResponse,
} from 'node:http';
import { MAX_REQUEST_BYTES } from '@bucketml/contracts';

export interface Refusal {
  status: number;
  error: string;
}

/**
 * The refusal for a request's body, or undefined to read it. `unknownLength: 'read'` is for a
 * server that counts the bytes as it reads them (it stops at the limit itself).
 */
export function bodyRefusal(
  headers: IncomingHttpHeaders,
  { unknownLength }: { unknownLength: 'refuse' | 'read' },
): Refusal | undefined {
  const length = headers['content-length'];
  const chunked = headers['transfer-encoding'] !== undefined;
  if (!chunked && (length === undefined || Number(length) === 0)) return undefined; // no body
  const encoding = headers['content-encoding']?.trim().toLowerCase();
  if (encoding && encoding !== 'identity')
    return {
      status: 415,
      error: `Content-Encoding ${headers['content-encoding']} is not accepted: send the JSON uncompressed (up to ${MAX_REQUEST_BYTES} bytes)`,
    };
  if (chunked && length === undefined)
    return unknownLength === 'read'
      ? undefined
      : { status: 411, error: 'send the body with a Content-Length header' };
  if (Number(length) > MAX_REQUEST_BYTES)
    return {
      status: 413,
      error: `the body is ${length} bytes; the limit is ${MAX_REQUEST_BYTES}: send fewer instances per request`,
    };
  return undefined;
}

/** Servers already guarded: the local preload and the predict function may both guard one. */
const guarded = new WeakSet<HttpServer>();

/**
 * Puts bodyRefusal in front of the server's request handlers (a framework's app, which buffers
 * and parses bodies before its handlers run). A refused request's body is not read: the answer
 * closes the connection.
 */
export function guardBodies(http: HttpServer): void {
  if (guarded.has(http)) return;
  guarded.add(http);
  const handlers = http.listeners('request') as ((...a: unknown[]) => void)[];
  http.removeAllListeners('request');
  http.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const refusal = bodyRefusal(req.headers, { unknownLength: 'refuse' });
    if (!refusal) {
      for (const handle of handlers) handle.call(http, req, res);
      return;
    }
    res.writeHead(refusal.status, { 'content-type': 'application/json', connection: 'close' });
    res.end(JSON.stringify({ error: refusal.error }));
    req.socket.destroySoon();
  });
}
