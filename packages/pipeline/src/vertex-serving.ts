/**
 * @module vertex-serving
 * The predict server under Vertex AI's custom-container contract (`VERTEX_SERVING` in the
 * contracts), so the model a run deployed can also serve from a Vertex endpoint: one model,
 * read from AIP_STORAGE_URI (a gs:// prefix, or a directory), served on AIP_HTTP_PORT;
 * AIP_HEALTH_ROUTE answers 200 only once the model is loaded (Vertex sends no traffic before),
 * AIP_PREDICT_ROUTE takes {"instances": [...], "parameters": {...}} and answers
 * {"predictions": [...]}, each instance as the predict function answers it.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MAX_REQUEST_BYTES, VERTEX_SERVING } from '@bucketml/contracts';
import { Predictor } from '@bucketml/model';
import { readModelObjects } from './model-store.js';
import { bodyRefusal, type Refusal } from './request-limits.js';
import { answerInstances } from './serving.js';
import { storageAt } from './storage-from-env.js';

export interface VertexServingConfig {
  port: number;
  healthRoute: string;
  predictRoute: string;
  /** The model's directory: gs://bucket/path/ or a local directory (given as a path or file://). */
  storageUri: string;
}

/** The contract's variables, checked, with Vertex's defaults where it has them. */
export function vertexServingConfig(env: NodeJS.ProcessEnv = process.env): VertexServingConfig {
  const { portEnv, healthRouteEnv, predictRouteEnv, storageUriEnv } = VERTEX_SERVING;
  const given = env[storageUriEnv];
  if (!given)
    throw new Error(
      `${storageUriEnv} is not set: Vertex sets it to the model's artifacts; locally, give a model directory (e.g. .bucket/models/babyweight/<version>)`,
    );
  const storageUri = modelLocation(`${storageUriEnv}=${given}`, given);
  const port = Number(env[portEnv] ?? VERTEX_SERVING.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new Error(`${portEnv}=${env[portEnv]}: not a port number`);
  const route = (name: string, fallback: string) => {
    const value = env[name] ?? fallback;
    if (!value.startsWith('/')) throw new Error(`${name}=${value}: a route starts with /`);
    return value;
  };
  return {
    port,
    healthRoute: route(healthRouteEnv, VERTEX_SERVING.healthRoute),
    predictRoute: route(predictRouteEnv, VERTEX_SERVING.predictRoute),
    storageUri,
  };
}

/** A model's location as storageAt takes it: gs://… as given, a file:// URL as its path. */
function modelLocation(what: string, uri: string): string {
  if (uri.startsWith('gs://')) return uri;
  let dir = uri;
  if (/^file:/i.test(uri)) {
    try {
      dir = fileURLToPath(uri);
    } catch (err) {
      throw new Error(`${what}: ${err instanceof Error ? err.message : String(err)}`);
    }
  } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(uri))
    throw new Error(`${what}: expected gs://<bucket>/<path>, file:///<path> or a directory`);
  // The root holds no model's files directly, and no bucket can be rooted there.
  if (parse(resolve(dir)).root === resolve(dir))
    throw new Error(`${what}: the filesystem root is not a model directory`);
  return dir;
}

export interface VertexServer {
  port: number;
  close(): Promise<void>;
}

/** How often to try loading again while the model is missing or unreadable. */
const RETRY_MS = 1000;

export interface VertexServerOptions {
  onLoadError?: (err: unknown) => void;
  /** A request that failed in the server itself (answered 500), not by its client. */
  onRequestError?: (err: unknown) => void;
}

/** Starts the server; the model loads in the background, retried until it loads. */
export async function startVertexServer(
  config: VertexServingConfig,
  options: VertexServerOptions = {},
): Promise<VertexServer> {
  const { storage, prefix } = await storageAt(config.storageUri);
  let predictor: Predictor | null = null;
  let model: { name: string; version: string } | undefined;
  let failure = 'the model is loading';
  let reported: string | undefined;
  let retry: NodeJS.Timeout | undefined;
  let closed = false;
  const load = async () => {
    try {
      const saved = await readModelObjects(storage, prefix);
      if (saved) {
        predictor = new Predictor(saved);
        model = { name: saved.meta.name, version: versionOf(config.storageUri) };
        return;
      }
      failure = `no complete model at ${config.storageUri} yet (model.json and its weights)`;
    } catch (err) {
      failure = `the model at ${config.storageUri} cannot be loaded: ${err instanceof Error ? err.message : String(err)}`;
      // Reported once while it fails the same way (retried every second meanwhile).
      if (failure !== reported) options.onLoadError?.(err);
      reported = failure;
    }
    if (!closed) retry = setTimeout(load, RETRY_MS);
  };
  void load();

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const send = (status: number, body: object) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const path = (req.url ?? '/').split('?')[0];
    if (path === config.healthRoute && (req.method === 'GET' || req.method === 'HEAD'))
      return predictor ? send(200, { status: 'ready', model }) : send(503, { error: failure });
    if (path !== config.predictRoute)
      return send(404, {
        error: `routes: GET ${config.healthRoute}, POST ${config.predictRoute}`,
      });
    if (req.method !== 'POST') return send(405, { error: `use POST ${config.predictRoute}` });
    if (!predictor) return send(503, { error: failure });
    const refusal = bodyRefusal(req.headers, { unknownLength: 'read' });
    if (refusal) return refuse(res, refusal);
    const body = await readJson(req);
    if ('status' in body)
      return body.status === 413 ? refuse(res, body) : send(body.status, { error: body.error });
    const { status, body: answer } = answerInstances(predictor, body.value);
    send(status, answer);
  };
  const server = createServer((req, res) => {
    // A client that hangs up makes the request stream fail (mid-body) or the response's writes:
    // that request is dropped, never the process, which serves everyone else.
    res.on('error', () => req.destroy());
    handle(req, res).catch((err: unknown) => {
      if (req.errored || res.destroyed) return req.destroy();
      options.onRequestError?.(err);
      if (res.headersSent) return res.destroy();
      res.writeHead(500, { 'content-type': 'application/json', connection: 'close' });
      res.end(JSON.stringify({ error: 'the server failed to answer this request' }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, resolve);
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => {
      closed = true;
      clearTimeout(retry);
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * The request's JSON body, refused past MAX_REQUEST_BYTES (Vertex's own limit is 1.5 MB) as it
 * arrives, whatever its headers said. Rejects when the client hangs up mid-body.
 */
async function readJson(req: IncomingMessage): Promise<{ value: unknown } | Refusal> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    if (bytes > MAX_REQUEST_BYTES)
      return {
        status: 413,
        error: `the body is over ${MAX_REQUEST_BYTES} bytes: send fewer instances per request`,
      };
    chunks.push(chunk);
  }
  try {
    return { value: JSON.parse(Buffer.concat(chunks).toString('utf8')) };
  } catch {
    return { status: 400, error: 'the body must be JSON: {"instances": [...]}' };
  }
}

/** Answers a body it will not read, and closes the connection rather than read the rest. */
function refuse(res: ServerResponse, { status, error }: Refusal): void {
  res.writeHead(status, { 'content-type': 'application/json', connection: 'close' });
  res.end(JSON.stringify({ error }));
}

/** The version a model directory holds: its last path segment (models/<model>/<version>/). */
function versionOf(uri: string): string {
  return uri.split('/').filter(Boolean).pop() ?? uri;
}
