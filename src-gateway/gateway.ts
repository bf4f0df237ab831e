// The reference gateway: a real server that relays connect to, used by the tests, the
// demo and cutover rehearsals. One HTTP server on one port carries the WebSocket ingest
// at /relay and the health, diagnostics and metrics endpoints. What each relay message
// means is ingest.ts's; this file is the socket side.
import { createHash, timingSafeEqual } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { isAllowedHost } from '../src-shared/host-check';
import type { GatewayParity } from '../src-shared/gateway-api';
import { ERROR_CODES, MAX_MESSAGE_BYTES, parseRelayMessage, type Frame } from '../src-shared/protocol';
import { CaptureFile } from './capture';
import { newConnection, TokenBucket, type Connection } from './connection';
import { handleRequest, readPackageVersion, RELAY_PATH, splitUrl, type RouteContext } from './http-routes';
import { Ingest } from './ingest';
import { GatewayMetrics } from './metrics';
import { isOrigin, originAllowed, originSet } from './origins';
import { MAX_SESSIONS, ParityBook } from './parity';

export type { GatewayParity, StreamParity } from '../src-shared/gateway-api';

export interface GatewayOptions {
  port?: number;
  host?: string;
  name?: string;
  /** When set, the WebSocket upgrade needs `Authorization: Bearer <token>`, else HTTP 401. */
  token?: string;
  /** When false, /api/dev/diagnostics/* answer 404 and no acks are sent. */
  diagnosticsEnabled?: boolean;
  /** When false, GET /metrics answers 404. */
  metricsEnabled?: boolean;
  /** Largest WebSocket message; a bigger one closes the connection with 1009. */
  maxPayloadBytes?: number;
  /** Per connection token bucket. */
  rateLimit?: { messagesPerSecond: number; burst: number };
  /**
   * Origins (`scheme://host[:port]`) whose pages may open the relay WebSocket. An upgrade
   * carrying any other Origin header is refused with 403; relays send none.
   */
  allowedOrigins?: string[];
  /** Appends every relay message to this JSON-lines file, synchronously as it arrives. */
  capture?: string;
  /** Sessions remembered at once (default MAX_SESSIONS). */
  maxSessions?: number;
  log?: (level: 'info' | 'warn' | 'error', message: string) => void;
}

export interface GatewayEvents {
  /** Every frame the gateway did not hold before (new, late or resent), with process.hrtime.bigint() taken on receipt. */
  frame: [frame: Frame, receivedAtNs: bigint];
  connection: [];
  close: [];
}

export interface Gateway extends EventEmitter<GatewayEvents> {
  readonly port: number;
  readonly name: string;
  /** `ws://127.0.0.1:<port>/relay` */
  readonly url: string;
  /** `http://127.0.0.1:<port>` */
  readonly httpUrl: string;
  /** Open relay connections now. */
  connections(): number;
  parity(sessionId: string): GatewayParity | undefined;
  sessions(): string[];
  /** Terminates every socket at once and closes the server; resolves when all is closed. */
  close(): Promise<void>;
}

export const DEFAULT_RATE_LIMIT = { messagesPerSecond: 5000, burst: 10_000 } as const;
/** A relay that stops reading its acks is cut off before its send buffer grows without end. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
/** Half-open TCP connections would otherwise count as open relay connections forever. */
const HEARTBEAT_MS = 30_000;
const INTERNAL_ERROR = 'internal';

const LOOPBACK_NAMES = new Set(['localhost', '::1']);
// Wildcard binds include 127.0.0.1, the address every local client can use.
const LOCAL_URL_HOSTS = new Set(['127.0.0.1', '0.0.0.0', '::', '']);

function isLoopback(host: string): boolean {
  return LOOPBACK_NAMES.has(host.toLowerCase()) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function urlHost(host: string): string {
  if (LOCAL_URL_HOSTS.has(host.toLowerCase())) return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

const noop = (): void => {};

function rawText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

function validateOptions(options: GatewayOptions): void {
  const { port, maxPayloadBytes, rateLimit, token, name, allowedOrigins, capture, maxSessions } = options;
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) {
    throw new RangeError(`port ${port} is invalid; expected an integer from 0 to 65535`);
  }
  if (maxPayloadBytes !== undefined && (!Number.isInteger(maxPayloadBytes) || maxPayloadBytes < 1)) {
    throw new RangeError(`maxPayloadBytes ${maxPayloadBytes} is invalid; expected a positive integer`);
  }
  if (rateLimit !== undefined && !(rateLimit.messagesPerSecond > 0 && rateLimit.burst >= 1)) {
    throw new RangeError(`rateLimit ${JSON.stringify(rateLimit)} is invalid; expected messagesPerSecond > 0 and burst >= 1`);
  }
  if (token !== undefined && token.length === 0) {
    throw new RangeError('token is empty; expected a non-empty string, or no token for no authentication');
  }
  if (name !== undefined && (name.length === 0 || name.length > 200)) {
    throw new RangeError(`name of ${name.length} characters is invalid; expected 1 to 200 characters`);
  }
  for (const origin of allowedOrigins ?? []) {
    if (!isOrigin(origin)) {
      throw new RangeError(`allowed origin ${JSON.stringify(origin)} is invalid; expected scheme://host[:port] such as http://localhost:5173`);
    }
  }
  if (capture !== undefined && capture.length === 0) {
    throw new RangeError('capture file is empty; expected a file path, or no capture');
  }
  if (maxSessions !== undefined && (!Number.isInteger(maxSessions) || maxSessions < 1)) {
    throw new RangeError(`maxSessions ${maxSessions} is invalid; expected a positive integer`);
  }
}

class GatewayServer extends EventEmitter<GatewayEvents> implements Gateway {
  readonly name: string;
  port = 0;
  private readonly host: string;
  private readonly tokenDigest: Buffer | null;
  private readonly diagnosticsEnabled: boolean;
  private readonly metricsEnabled: boolean;
  private readonly rate: { messagesPerSecond: number; burst: number };
  private readonly log: NonNullable<GatewayOptions['log']>;
  private readonly checkHost: boolean;
  private readonly allowedOrigins: ReadonlySet<string>;
  private readonly book: ParityBook;
  private readonly metrics: GatewayMetrics;
  private readonly capture: CaptureFile | null;
  private readonly ingest: Ingest;
  private connectionCount = 0;
  private readonly server: Server;
  private readonly wss: WebSocketServer;
  private readonly open = new Set<Connection>();
  private readonly startedAt = performance.now();
  private heartbeat: NodeJS.Timeout | null = null;
  private closing: Promise<void> | null = null;

  constructor(options: GatewayOptions) {
    super();
    this.name = options.name ?? 'gateway';
    this.host = options.host ?? '127.0.0.1';
    this.tokenDigest = options.token === undefined ? null : sha256(options.token);
    this.diagnosticsEnabled = options.diagnosticsEnabled ?? true;
    this.metricsEnabled = options.metricsEnabled ?? true;
    this.rate = options.rateLimit ?? DEFAULT_RATE_LIMIT;
    this.log = options.log ?? noop;
    this.checkHost = isLoopback(this.host);
    this.allowedOrigins = originSet(options.allowedOrigins ?? []);
    const maxSessions = options.maxSessions ?? MAX_SESSIONS;
    this.book = new ParityBook(maxSessions);
    this.metrics = new GatewayMetrics(this.name, readPackageVersion(), () => this.book.totalMissing());
    this.capture = options.capture === undefined ? null : CaptureFile.open(options.capture, (m) => this.log('error', m));
    this.ingest = new Ingest(
      { name: this.name, diagnosticsEnabled: this.diagnosticsEnabled, book: this.book, maxSessions, metrics: this.metrics, capture: this.capture },
      {
        connections: () => this.open,
        send: (conn, text) => this.send(conn, text),
        reject: (conn, code, message) => this.reject(conn, code, message),
        close: (conn, code, reason) => this.closeConnection(conn, code, reason),
        terminate: (conn) => conn.ws.terminate(),
        accepted: (frame, receivedAtNs) => this.emitSafely('frame', frame, receivedAtNs),
        log: (level, message) => this.log(level, message),
      },
    );
    // No compression: frames are a few hundred bytes, and inflating every message costs CPU on the hot path.
    this.wss = new WebSocketServer({ noServer: true, maxPayload: options.maxPayloadBytes ?? MAX_MESSAGE_BYTES, perMessageDeflate: false });
    this.wss.on('error', (e) => this.log('error', `websocket server error: ${e.message}`));
    this.wss.on('connection', (ws) => this.onConnection(ws));

    const routeContext: RouteContext = {
      name: this.name,
      port: () => this.port,
      checkHost: this.checkHost,
      diagnosticsEnabled: this.diagnosticsEnabled,
      metricsEnabled: this.metricsEnabled,
      startedAt: this.startedAt,
      connections: () => this.open.size,
      parity: (id) => this.parity(id),
      sessions: () => this.sessions(),
      metrics: async () => ({ contentType: this.metrics.registry.contentType, body: await this.metrics.registry.metrics() }),
    };
    this.server = createServer((req, res) => handleRequest(routeContext, req, res));
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(req, socket, head));
  }

  get url(): string {
    return `ws://${urlHost(this.host)}:${this.port}${RELAY_PATH}`;
  }

  get httpUrl(): string {
    return `http://${urlHost(this.host)}:${this.port}`;
  }

  connections(): number {
    return this.open.size;
  }

  parity(sessionId: string): GatewayParity | undefined {
    return this.book.get(sessionId)?.toJSON();
  }

  sessions(): string[] {
    return this.book.sessions();
  }

  async listen(port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, this.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.server.on('error', (e) => this.log('error', `http server error: ${e.message}`));
    this.port = (this.server.address() as AddressInfo).port;
    this.heartbeat = setInterval(() => this.beat(), HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      if (this.heartbeat) clearInterval(this.heartbeat);
      for (const conn of this.open) {
        conn.closing = true;
        conn.ws.terminate();
      }
      let pending = 2;
      const done = (): void => {
        if (--pending > 0) return;
        this.capture?.close();
        resolve();
      };
      this.wss.close(() => done());
      this.server.close(() => done());
      this.server.closeAllConnections();
    });
    return this.closing;
  }

  private beat(): void {
    for (const conn of this.open) {
      if (!conn.alive) {
        conn.ws.terminate();
        continue;
      }
      conn.alive = false;
      conn.ws.ping();
    }
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', noop);
    try {
      if (this.closing) {
        socket.destroy();
        return;
      }
      if (this.checkHost && !isAllowedHost(req.headers.host, this.port)) {
        rejectUpgrade(socket, 403, 'Forbidden', `Host header ${JSON.stringify(req.headers.host ?? null)} refused; expected 127.0.0.1:${this.port} or localhost:${this.port}`);
        return;
      }
      const { path } = splitUrl(req.url);
      if (path !== RELAY_PATH) {
        rejectUpgrade(socket, 404, 'Not Found', `no WebSocket endpoint at ${path}; expected ${RELAY_PATH}`);
        return;
      }
      const origin = req.headers.origin;
      if (!originAllowed(this.allowedOrigins, origin)) {
        this.log('warn', `refused a WebSocket upgrade from a page of origin ${JSON.stringify(origin)}`);
        rejectUpgrade(
          socket,
          403,
          'Forbidden',
          `Origin ${JSON.stringify(origin)} refused: a web page may not feed the relay ingest; relays send no Origin header. To allow this origin, start the gateway with --allow-origin ${origin} (allowedOrigins)`,
        );
        return;
      }
      if (this.tokenDigest && !this.authorized(req.headers.authorization)) {
        this.log('warn', `refused a relay connection from ${req.socket.remoteAddress ?? '?'}: missing or wrong bearer token`);
        rejectUpgrade(socket, 401, 'Unauthorized', 'missing or wrong token; expected an Authorization: Bearer <token> header', { 'WWW-Authenticate': 'Bearer' });
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.wss.emit('connection', ws, req));
    } catch (e) {
      this.log('error', `upgrade failed: ${(e as Error).message}`);
      socket.destroy();
    }
  }

  private authorized(header: string | undefined): boolean {
    const match = header ? /^Bearer[ ]+(\S+)\s*$/i.exec(header) : null;
    if (!match?.[1] || !this.tokenDigest) return false;
    // Equal-length digests: timingSafeEqual then leaks neither the token nor its length.
    return timingSafeEqual(sha256(match[1]), this.tokenDigest);
  }

  private onConnection(ws: WebSocket): void {
    const bucket = new TokenBucket(this.rate.messagesPerSecond / 1000, this.rate.burst);
    const conn = newConnection(++this.connectionCount, ws, bucket, (c, streams) => this.ingest.receipt(c, streams));
    if (this.closing) {
      ws.terminate();
      return;
    }
    this.open.add(conn);
    this.metrics.connectionsGauge.set(this.open.size);
    ws.on('pong', () => {
      conn.alive = true;
    });
    ws.on('message', (data: RawData, isBinary: boolean) => {
      const receivedAtNs = process.hrtime.bigint();
      if (conn.closing) return;
      try {
        this.onMessage(conn, data, isBinary, receivedAtNs);
      } catch (e) {
        this.log('error', `error handling a message: ${(e as Error)?.stack ?? String(e)}`);
        this.reject(conn, INTERNAL_ERROR, 'internal error while handling the message; it was not counted');
      }
    });
    ws.on('error', (e: Error & { code?: string }) => {
      // ws closes the socket itself after a receive error (1009 for oversize, 1002/1007 for bad frames).
      const tooLarge = e.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH';
      const code = tooLarge ? ERROR_CODES.tooLarge : ERROR_CODES.invalidMessage;
      this.count(conn, code, tooLarge ? `message over ${this.wss.options.maxPayload} bytes; connection closed with 1009` : e.message);
      this.log('warn', `relay connection error (${code}): ${e.message}`);
    });
    ws.on('close', (code: number) => {
      conn.closing = true;
      this.ingest.disconnected(conn);
      if (!this.open.delete(conn)) return;
      this.metrics.connectionsGauge.set(this.open.size);
      this.log('info', `relay disconnected (${code})${conn.session ? ` from session ${conn.session.sessionId}` : ''}; ${this.open.size} open`);
      this.emitSafely('close');
    });
    this.log('info', `relay connected; ${this.open.size} open`);
    this.emitSafely('connection');
  }

  private onMessage(conn: Connection, data: RawData, isBinary: boolean, receivedAtNs: bigint): void {
    if (!conn.bucket.take()) {
      this.reject(conn, ERROR_CODES.rateLimited, `more than ${this.rate.messagesPerSecond} messages/s (burst ${this.rate.burst}); expected the relay to slow down`);
      this.closeConnection(conn, 1008, 'rate limit exceeded');
      return;
    }
    if (isBinary) {
      this.reject(conn, ERROR_CODES.binaryNotSupported, 'binary message refused; expected JSON text messages');
      return;
    }
    const parsed = parseRelayMessage(rawText(data));
    if (!parsed.ok) {
      this.reject(conn, parsed.code, parsed.error);
      return;
    }
    this.ingest.handle(conn, parsed.message, receivedAtNs);
  }

  /** Counts the error against the connection's session and tells the relay. */
  private reject(conn: Connection, code: string, message: string): void {
    this.count(conn, code, message);
    this.send(conn, JSON.stringify({ type: 'error', code, message: message.slice(0, 2000) }));
  }

  private count(conn: Connection, code: string, message: string): void {
    this.metrics.error(code);
    if (conn.session) conn.session.lastError = `${code}: ${message}`;
  }

  private send(conn: Connection, text: string): void {
    const ws = conn.ws;
    if (ws.readyState !== WebSocket.OPEN) return;
    if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
      this.closeConnection(conn, 1008, 'not reading replies');
      return;
    }
    ws.send(text);
  }

  private closeConnection(conn: Connection, code: number, reason: string): void {
    if (conn.closing) return;
    conn.closing = true;
    this.log('warn', `closing a relay connection (${code} ${reason})`);
    conn.ws.close(code, reason);
  }

  private emitSafely<K extends keyof GatewayEvents>(event: K, ...args: GatewayEvents[K]): void {
    try {
      (this.emit as (e: K, ...a: GatewayEvents[K]) => boolean)(event, ...args);
    } catch (e) {
      this.log('error', `a '${event}' listener threw: ${(e as Error)?.stack ?? String(e)}`);
    }
  }
}

function rejectUpgrade(socket: Duplex, status: number, statusText: string, error: string, headers: Record<string, string> = {}): void {
  const body = JSON.stringify({ error });
  const lines = [
    `HTTP/1.1 ${status} ${statusText}`,
    'Connection: close',
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ];
  socket.once('finish', () => socket.destroy());
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
}

export async function startGateway(options: GatewayOptions = {}): Promise<Gateway> {
  validateOptions(options);
  const gateway = new GatewayServer(options);
  try {
    await gateway.listen(options.port ?? 0);
  } catch (e) {
    await gateway.close();
    throw e;
  }
  return gateway;
}
