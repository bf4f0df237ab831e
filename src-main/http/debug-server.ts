// The relay's loopback debug endpoints. Bound to 127.0.0.1 only, Host header checked
// (DNS rebinding), no CORS headers: a web page in the racer's browser cannot read it.
// The dashboard (static files, /api/*) is served by the same server behind the same checks.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { isAllowedHost } from '../../src-shared/host-check';
import { sendJson } from './http-json';

export type Route = () => unknown;

export interface DebugServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Takes the requests that are not /debug/*; false means "not mine", and the server answers 404. */
export type ExtraHandler = (req: http.IncomingMessage, res: http.ServerResponse, pathname: string) => boolean;

export function startDebugServer(port: number, routes: Record<string, Route>, extra?: ExtraHandler): Promise<DebugServer> {
  let boundPort = port;
  const server = http.createServer((req, res) => {
    // Pretty-printed: these endpoints are read by people with curl as much as by tools.
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => sendJson(res, status, body, headers, true);
    try {
      if (!isAllowedHost(req.headers.host, boundPort)) {
        send(403, { error: `Host header ${JSON.stringify(req.headers.host ?? '')} is not allowed; expected 127.0.0.1:${boundPort} or localhost:${boundPort}` });
        return;
      }
      const pathname = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
      const route = Object.hasOwn(routes, pathname) ? routes[pathname] : undefined;
      if (!route && extra?.(req, res, pathname)) return;
      if (!route) {
        send(404, { error: `no such endpoint ${pathname}; expected one of ${Object.keys(routes).join(', ')}` });
        return;
      }
      if (req.method !== 'GET') {
        send(405, { error: `method ${req.method} not allowed on ${pathname}; expected GET` }, { allow: 'GET' });
        return;
      }
      const body = route();
      if (body === undefined) {
        send(503, { error: 'the relay is still starting; try again in a moment' }, { 'retry-after': '1' });
        return;
      }
      send(200, body);
    } catch (e) {
      if (res.headersSent) res.destroy();
      else send(500, { error: `internal error: ${(e as Error).message}` });
    }
  });
  // Bounded request handling: a slow or half-open client cannot pin a socket forever.
  server.requestTimeout = 5_000;
  server.headersTimeout = 5_000;
  server.keepAliveTimeout = 2_000;
  return new Promise((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      reject(new Error(e.code === 'EADDRINUSE' ? `debug port ${port} on 127.0.0.1 is already in use (set RELAY_DEBUG_PORT to a free port)` : `cannot start the debug server: ${e.message}`));
    });
    server.listen(port, '127.0.0.1', () => {
      boundPort = (server.address() as AddressInfo).port;
      resolve({
        port: boundPort,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}
