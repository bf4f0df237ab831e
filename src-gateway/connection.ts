// One relay connection as the gateway tracks it.
import type { WebSocket } from 'ws';
import type { SessionRecord } from './parity';
import { ReceiptPacer } from './receipts';

export class TokenBucket {
  private tokens: number;
  private refilledAt = performance.now();

  constructor(
    private readonly perMs: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
  }

  take(): boolean {
    const now = performance.now();
    this.tokens = Math.min(this.burst, this.tokens + (now - this.refilledAt) * this.perMs);
    this.refilledAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

export interface Connection {
  /** Numbered from 1 in the order relays connected (capture lines name it). */
  readonly id: number;
  readonly ws: WebSocket;
  readonly bucket: TokenBucket;
  readonly pacer: ReceiptPacer;
  /** The session of the latest accepted hello. */
  session: SessionRecord | null;
  /** Whether this connection counts in session.openConnections (false once it left or was superseded). */
  attached: boolean;
  /** hello.instance of the latest accepted hello. */
  instance: string | null;
  /** Every session this connection greeted, to bound how many one socket may open. */
  readonly greeted: Set<string>;
  /** Set once we decided to close: messages still buffered in the socket are ignored. */
  closing: boolean;
  alive: boolean;
}

export function newConnection(
  id: number,
  ws: WebSocket,
  bucket: TokenBucket,
  onReceiptDue: (conn: Connection, streams: ReadonlySet<string>) => void,
): Connection {
  const conn: Connection = {
    id,
    ws,
    bucket,
    pacer: new ReceiptPacer((streams) => onReceiptDue(conn, streams)),
    session: null,
    attached: false,
    instance: null,
    greeted: new Set(),
    closing: false,
    alive: true,
  };
  return conn;
}
