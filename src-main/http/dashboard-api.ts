// The dashboard over HTTP, on the debug server (127.0.0.1, Host header checked, no CORS):
// the built renderer as static files, read-only views anyone on this machine may read, live
// snapshots as server-sent events, and actions that need the per-run secret, the way
// Jupyter and Syncthing guard their local UIs. A page on another site cannot send the
// secret header without a CORS preflight, which this server never grants.
import { createHash, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import {
  BRIDGE_OPERATIONS,
  HTTP_OPERATIONS,
  HTTP_ROUTES,
  SECRET_HEADER,
  SNAPSHOT_INTERVAL_MS,
  failure,
  parseRequest,
  type ActionFailure,
  type Handler,
  type HttpOperation,
} from '../../src-shared/bridge';
import type { HttpMethod } from '../../src-shared/bridge-operations';
import { sendJson } from './http-json';
import { resolveStaticFile } from './static-files';
import { PACKAGE_DIR } from '../runtime/version';

export const MAX_BODY_BYTES = 64 * 1024;
export const MAX_SSE_CLIENTS = 16;
const KEEP_ALIVE_MS = 15_000;

/** Where `npm run build:renderer` puts the dashboard: dist/renderer of the package, found from the sources and from the built CLI alike. */
export const DEFAULT_DASHBOARD_ROOT = path.join(PACKAGE_DIR, 'dist', 'renderer');

export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";

const HTML_HEADERS = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

/** The relay's actions, one per HTTP operation of the map (the desktop shell's IPC calls the same relay). */
export type RelayActions = { readonly [N in HttpOperation]: Handler<N> };

export interface DashboardApiOptions {
  secret: string;
  /** The built renderer; a test points it elsewhere. */
  staticRoot?: string;
  maxSseClients?: number;
  snapshotIntervalMs?: number;
  /** Allowed Origin values for actions (a browser adds it to every POST): this server's own. */
  origins: () => string[];
}

export interface DashboardApi {
  /** Answers the request if it is the dashboard's; false leaves it to the caller. */
  handle(req: IncomingMessage, res: ServerResponse, pathname: string): boolean;
  sseClients(): number;
  close(): void;
}

// ---- the per-run secret ---------------------------------------------------------------------

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

export function secretMatches(given: string | string[] | undefined, secret: string): boolean {
  if (typeof given !== 'string' || given.length === 0) return false;
  // Equal-length digests, compared in constant time: the answer's timing says nothing about the secret.
  return timingSafeEqual(digest(given), digest(secret));
}

// ---- HTTP -----------------------------------------------------------------------------------

const isFailure = (result: unknown): result is ActionFailure =>
  typeof result === 'object' && result !== null && (result as { ok?: unknown }).ok === false && typeof (result as { status?: unknown }).status === 'number';

/** An operation's answer: a refusal with its own status, anything else 200. */
function sendResult(res: ServerResponse, result: unknown, headers: Record<string, string> = {}): void {
  sendJson(res, isFailure(result) ? result.status : 200, result, headers);
}

function sendHtml(res: ServerResponse, status: number, html: string, method: string): void {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'content-length': String(Buffer.byteLength(html)), 'cache-control': 'no-store', ...HTML_HEADERS });
  res.end(method === 'HEAD' ? undefined : html);
}

export const NOT_BUILT_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Relay Agent dashboard: not built</title>
<style>body{font:15px/1.5 system-ui,sans-serif;margin:40px;max-width:640px;color:#1f2328}code{background:#f3f4f6;padding:2px 5px;border-radius:4px}</style></head>
<body><h1>The dashboard is not built</h1>
<p>The relay is running, but it has no built dashboard to serve from <code>dist/renderer/</code>.</p>
<p>Build it once with <code>npm run build:renderer</code>, then reload this page.</p>
<p>Meanwhile the relay's state is at <code>/debug/health</code>, <code>/debug/targets</code> and <code>/debug/parity</code>.</p>
</body></html>
`;

type BodyResult = { ok: true; text: string } | ActionFailure;

function readBody(req: IncomingMessage, limit: number): Promise<BodyResult> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    return Promise.resolve(failure(413, `the request body of ${declared} bytes is over the limit of ${limit} bytes`));
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (r: BodyResult) => {
      if (done) return;
      done = true;
      resolve(r);
    };
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limit) {
        // Stop buffering at once; the answer goes out and the connection closes.
        finish(failure(413, `the request body is over the limit of ${limit} bytes`));
        req.pause();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => finish({ ok: true, text: Buffer.concat(chunks).toString('utf8') }));
    req.on('error', (e) => finish(failure(400, `the request body could not be read: ${e.message}`)));
    req.on('aborted', () => finish(failure(400, 'the request was aborted')));
  });
}

interface SseClient {
  res: ServerResponse;
  /** The socket's buffer is full: skip snapshots until it drains, never queue them without bound. */
  blocked: boolean;
}

export function createDashboardApi(backend: RelayActions, options: DashboardApiOptions): DashboardApi {
  const root = path.resolve(options.staticRoot ?? DEFAULT_DASHBOARD_ROOT);
  const maxClients = options.maxSseClients ?? MAX_SSE_CLIENTS;
  const interval = options.snapshotIntervalMs ?? SNAPSHOT_INTERVAL_MS;
  const clients = new Set<SseClient>();
  let ticker: NodeJS.Timeout | undefined;
  let keepAlive: NodeJS.Timeout | undefined;
  let closed = false;

  const writeTo = (c: SseClient, text: string) => {
    if (c.blocked) return;
    if (!c.res.write(text)) {
      c.blocked = true;
      c.res.once('drain', () => (c.blocked = false));
    }
  };
  const broadcast = () => {
    if (clients.size === 0) return;
    // One snapshot per tick for every client: the cost does not grow with the number of tabs.
    const text = `event: state\ndata: ${JSON.stringify(backend.getState())}\n\n`;
    for (const c of clients) writeTo(c, text);
  };
  const startTimers = () => {
    if (ticker) return;
    ticker = setInterval(broadcast, interval);
    keepAlive = setInterval(() => {
      for (const c of clients) writeTo(c, ': keep-alive\n\n');
    }, KEEP_ALIVE_MS);
    ticker.unref();
    keepAlive.unref();
  };
  const stopTimers = () => {
    clearInterval(ticker);
    clearInterval(keepAlive);
    ticker = undefined;
    keepAlive = undefined;
  };

  const events = (req: IncomingMessage, res: ServerResponse) => {
    if (clients.size >= maxClients) {
      sendJson(res, 503, { error: `already ${clients.size} live dashboards connected (the most this relay serves at once); close one and retry` }, { 'retry-after': '5' });
      return;
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-content-type-options': 'nosniff',
      'x-accel-buffering': 'no',
    });
    const client: SseClient = { res, blocked: false };
    clients.add(client);
    const drop = () => {
      clients.delete(client);
      if (clients.size === 0) stopTimers();
    };
    req.on('close', drop);
    res.on('close', drop);
    res.on('error', drop);
    req.socket.setNoDelay(true);
    // An SSE stream is meant to stay open: the request timeouts of the debug endpoints do not apply.
    req.socket.setTimeout(0);
    writeTo(client, `retry: 1000\n\nevent: state\ndata: ${JSON.stringify(backend.getState())}\n\n`);
    startTimers();
  };

  /** A POST: the secret, the origin, a JSON body within the limit and the operation's schema, before the relay acts. */
  const action = async <N extends HttpOperation>(req: IncomingMessage, res: ServerResponse, name: N): Promise<void> => {
    if (!secretMatches(req.headers[SECRET_HEADER], options.secret)) {
      sendResult(
        res,
        failure(
          403,
          req.headers[SECRET_HEADER] === undefined
            ? `this action needs the relay's per-run secret in the ${SECRET_HEADER} header: open the dashboard with the URL the relay printed at start (it ends in #secret=...)`
            : `the ${SECRET_HEADER} header does not match this relay run's secret (it changes at every start): open the dashboard with the URL the relay printed at this start`,
        ),
      );
      return;
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !options.origins().includes(origin.toLowerCase())) {
      sendResult(res, failure(403, `requests from origin ${JSON.stringify(origin)} are refused; expected the dashboard's own page`));
      return;
    }
    const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
    if (type !== 'application/json') {
      sendResult(res, failure(415, `expected content-type: application/json (got ${JSON.stringify(req.headers['content-type'] ?? '')})`));
      return;
    }
    const body = await readBody(req, MAX_BODY_BYTES);
    if (!body.ok) {
      sendResult(res, body, { connection: 'close' });
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(body.text);
    } catch (e) {
      sendResult(res, failure(400, `the body is not valid JSON: ${(e as Error).message}`));
      return;
    }
    const parsed = parseRequest(name, value, '(body)');
    if (!parsed.ok) {
      sendResult(res, parsed.failure);
      return;
    }
    sendResult(res, await backend[name](parsed.value));
  };

  /** A GET: a read anyone on this machine may make, answered as the relay gives it. */
  const read = <N extends HttpOperation>(res: ServerResponse, name: N): void | Promise<void> => {
    const parsed = parseRequest(name, undefined, '(query)');
    if (!parsed.ok) return sendResult(res, parsed.failure);
    const result = backend[name](parsed.value);
    if (result instanceof Promise) return result.then((r) => sendResult(res, r));
    sendResult(res, result);
  };

  const serveStatic = (req: IncomingMessage, res: ServerResponse, pathname: string): boolean => {
    const found = resolveStaticFile(root, pathname);
    if (!found) {
      if (pathname === '/' || pathname === '/index.html') {
        sendHtml(res, 200, NOT_BUILT_HTML, req.method ?? 'GET');
        return true;
      }
      return false;
    }
    const { file, size, contentType: type } = found;
    res.writeHead(200, {
      'content-type': type,
      'content-length': String(size),
      // Built assets carry a hash in their names; index.html must be fetched fresh to point at the new ones.
      'cache-control': type.startsWith('text/html') ? 'no-store' : 'no-cache',
      'x-content-type-options': 'nosniff',
      ...(type.startsWith('text/html') ? HTML_HEADERS : {}),
    });
    if (req.method === 'HEAD') {
      res.end();
      return true;
    }
    const stream = fs.createReadStream(file);
    stream.on('error', () => res.destroy());
    stream.pipe(res);
    return true;
  };

  type Run = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;
  /** Path, then method: one path may serve a read and an action (the cutover's state and its steps). */
  const routes = new Map<string, Map<HttpMethod, Run>>([[HTTP_ROUTES.events, new Map([['GET', events]])]]);
  for (const name of HTTP_OPERATIONS) {
    const { method, path: route } = BRIDGE_OPERATIONS[name].http;
    const run: Run = method === 'POST' ? (req, res) => action(req, res, name) : (_req, res) => read(res, name);
    routes.set(route, (routes.get(route) ?? new Map<HttpMethod, Run>()).set(method, run));
  }

  return {
    handle(req, res, pathname) {
      if (closed) return false;
      const methods = routes.get(pathname);
      if (methods) {
        const run = methods.get(req.method as HttpMethod);
        if (!run) {
          const allowed = [...methods.keys()].sort();
          sendJson(res, 405, failure(405, `method ${req.method} not allowed on ${pathname}; expected ${allowed.join(' or ')}`), { allow: allowed.join(', ') });
          return true;
        }
        run(req, res)?.catch((e: unknown) => {
          if (res.headersSent) res.destroy();
          else sendJson(res, 500, failure(500, `internal error: ${(e as Error).message}`));
        });
        return true;
      }
      if (pathname.startsWith('/api/')) return false;
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        // Static files are read-only.
        if (pathname === '/' || pathname === '/index.html') {
          sendJson(res, 405, { error: `method ${req.method} not allowed on ${pathname}; expected GET` }, { allow: 'GET, HEAD' });
          return true;
        }
        return false;
      }
      return serveStatic(req, res, pathname);
    },
    sseClients: () => clients.size,
    close() {
      closed = true;
      stopTimers();
      for (const c of clients) c.res.end();
      clients.clear();
    },
  };
}
