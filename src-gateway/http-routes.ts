// The gateway's plain HTTP side: health, build and parity diagnostics, Prometheus metrics.
// Every error is JSON saying what was wrong and what was expected; no CORS headers, since
// nothing in a browser has any business reading these.
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isAllowedHost } from '../src-shared/host-check';
import type { GatewayParity } from '../src-shared/gateway-api';

export const RELAY_PATH = '/relay';

export interface RouteContext {
  readonly name: string;
  port(): number;
  /** Whether Host headers are checked (loopback binds only: DNS-rebinding defence). */
  readonly checkHost: boolean;
  readonly diagnosticsEnabled: boolean;
  readonly metricsEnabled: boolean;
  /** performance.now() when the gateway started. */
  readonly startedAt: number;
  connections(): number;
  parity(sessionId: string): GatewayParity | undefined;
  sessions(): string[];
  metrics(): Promise<{ contentType: string; body: string }>;
}

export interface BuildInfo {
  gitSha: string;
  buildTime: string;
  version: string;
  environment: string;
}

const processStartIso = new Date(Date.now() - process.uptime() * 1000).toISOString();
let packageVersion: string | undefined;

export function readPackageVersion(): string {
  if (packageVersion === undefined) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown };
      packageVersion = typeof pkg.version === 'string' ? pkg.version : 'unknown';
    } catch {
      // Bundled or copied without its package.json: say so rather than fail the endpoint.
      packageVersion = 'unknown';
    }
  }
  return packageVersion;
}

/** Read per request, so a process whose environment is set late still reports it. */
export function buildInfo(env: NodeJS.ProcessEnv = process.env): BuildInfo {
  return {
    gitSha: env.GIT_SHA || 'unknown',
    buildTime: env.BUILD_TIME || processStartIso,
    version: readPackageVersion(),
    environment: env.NODE_ENV || 'development',
  };
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(text)),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    ...headers,
  });
  res.end(text);
}

/** The raw path and query, split by hand: `new URL()` would read `//host/x` as a host. */
export function splitUrl(url: string | undefined): { path: string; query: URLSearchParams } {
  const raw = url ?? '/';
  const q = raw.indexOf('?');
  return q === -1 ? { path: raw, query: new URLSearchParams() } : { path: raw.slice(0, q), query: new URLSearchParams(raw.slice(q + 1)) };
}

type Handler = (ctx: RouteContext, res: ServerResponse, query: URLSearchParams) => void | Promise<void>;

interface Route {
  handler: Handler;
  enabled(ctx: RouteContext): boolean;
}

const always = (): boolean => true;
const diagnostics = (ctx: RouteContext): boolean => ctx.diagnosticsEnabled;

const routes: Record<string, Route> = {
  '/api/health': {
    enabled: always,
    handler(ctx, res) {
      sendJson(res, 200, { status: 'ok', connections: ctx.connections(), name: ctx.name, uptimeMs: Math.round(performance.now() - ctx.startedAt) });
    },
  },
  '/api/dev/diagnostics/build': {
    enabled: diagnostics,
    handler(_ctx, res) {
      sendJson(res, 200, buildInfo());
    },
  },
  '/api/dev/diagnostics/parity': {
    enabled: diagnostics,
    handler(ctx, res, query) {
      const sessionId = query.get('sessionId');
      if (!sessionId) {
        sendJson(res, 400, { error: 'missing sessionId; expected /api/dev/diagnostics/parity?sessionId=<id> with one of the known sessions', sessions: ctx.sessions() });
        return;
      }
      const parity = ctx.parity(sessionId);
      if (!parity) {
        sendJson(res, 404, { error: 'unknown session', sessionId });
        return;
      }
      sendJson(res, 200, parity);
    },
  },
  '/metrics': {
    enabled: (ctx) => ctx.metricsEnabled,
    async handler(ctx, res) {
      const { contentType, body } = await ctx.metrics();
      res.writeHead(200, { 'Content-Type': contentType, 'Content-Length': String(Buffer.byteLength(body)), 'Cache-Control': 'no-store' });
      res.end(body);
    },
  },
  [RELAY_PATH]: {
    enabled: always,
    handler(_ctx, res) {
      sendJson(res, 426, { error: `${RELAY_PATH} takes WebSocket connections only; expected an Upgrade: websocket request` }, { Upgrade: 'websocket' });
    },
  },
};

export function handleRequest(ctx: RouteContext, req: IncomingMessage, res: ServerResponse): void {
  const fail = (e: unknown): void => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    sendJson(res, 500, { error: `internal error: ${(e as Error)?.message ?? String(e)}` });
  };
  try {
    if (ctx.checkHost && !isAllowedHost(req.headers.host, ctx.port())) {
      sendJson(res, 403, { error: `Host header ${JSON.stringify(req.headers.host ?? null)} refused; expected 127.0.0.1:${ctx.port()} or localhost:${ctx.port()}` });
      return;
    }
    const { path, query } = splitUrl(req.url);
    const route = Object.hasOwn(routes, path) ? routes[path] : undefined;
    if (!route || !route.enabled(ctx)) {
      sendJson(res, 404, { error: `no such endpoint: ${path}; expected one of ${Object.keys(routes).filter((p) => routes[p]?.enabled(ctx)).join(', ')}` });
      return;
    }
    if (req.method !== 'GET') {
      sendJson(res, 405, { error: `method ${req.method ?? '(none)'} not allowed on ${path}; expected GET` }, { Allow: 'GET' });
      return;
    }
    const done = route.handler(ctx, res, query);
    if (done) done.catch(fail);
  } catch (e) {
    fail(e);
  }
}
