// The WebSocket link to a gateway, over `ws`: the only relay module that uses it.
import WebSocket from 'ws';
import { MAX_MESSAGE_BYTES } from '../../src-shared/protocol';
import type { OpenTransport, Transport, TransportEvents, TransportOptions } from './transport';

class WsTransport implements Transport {
  private readonly ws: WebSocket;

  constructor(url: string, options: TransportOptions, events: TransportEvents) {
    const headers: Record<string, string> = {};
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    this.ws = new WebSocket(url, {
      headers,
      handshakeTimeout: options.connectTimeoutMs,
      perMessageDeflate: false,
      maxPayload: MAX_MESSAGE_BYTES,
    });
    const ws = this.ws;
    ws.on('open', () => events.open());
    ws.on('message', (data, isBinary) => events.message(isBinary ? null : data.toString()));
    ws.on('pong', () => events.pong());
    ws.on('unexpected-response', (_req, res) => {
      const status = res.statusCode ?? 0;
      const hint = status === 401 ? " (the gateway wants a valid token: check this backend's token)" : status === 403 ? ' (forbidden)' : '';
      res.resume();
      events.error(`gateway refused the upgrade: HTTP ${status} ${res.statusMessage ?? ''}`.trim() + hint, `HTTP ${status}`);
    });
    ws.on('error', (err) => events.error(describeSocketError(err)));
    ws.on('close', (code, reason) => events.close(code, reason.toString()));
  }

  get writable(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  send(text: string | Buffer, onWritten?: (err?: Error | null) => void): void {
    this.ws.send(text, TEXT, onWritten);
  }

  ping(): void {
    this.ws.ping();
  }

  close(code: number, reason: string): void {
    this.ws.close(code, reason);
  }

  terminate(): void {
    this.ws.terminate();
  }
}

/**
 * Every message is a text frame, a frame's encoded bytes too (ws sends a Buffer as binary
 * unless told): one options object for every send, so the socket sees one shape. ws masks a
 * copy of a Buffer it is given (it never masks the shared payload in place).
 */
const TEXT = { binary: false } as const;

export const openWsTransport: OpenTransport = (url, options, events) => new WsTransport(url, options, events);

function describeSocketError(err: Error & { code?: string }): string {
  switch (err.code) {
    case 'ECONNREFUSED':
      return 'connection refused: nothing is listening at that address (is the gateway running?)';
    case 'ENOTFOUND':
      return 'host not found: check the backend URL';
    case 'ECONNRESET':
      return 'connection reset by the gateway';
    case 'ETIMEDOUT':
      return 'connection timed out';
    case 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH':
      return `the gateway sent a message over ${MAX_MESSAGE_BYTES} bytes (${err.message}); connection closed`;
    default:
      return err.message || String(err);
  }
}
