// What the gateway does with each relay message of protocol 2: greet and resume sessions,
// count frames and announced gaps, close streams on `end`, and confirm all of it in receipts.
// The socket side (upgrade, rate limit, parsing, sending) is gateway.ts's.
import {
  ERROR_CODES,
  MAX_RESUME_SKIP,
  MAX_SEQ_ADVANCE,
  PROTOCOL_VERSION,
  type End,
  type Frame,
  type Gap,
  type Hello,
  type RelayMessage,
  type Sync,
  type Welcome,
} from '../src-shared/protocol';
import type { CaptureFile } from './capture';
import type { Connection } from './connection';
import type { GatewayMetrics } from './metrics';
import { MAX_STREAMS_PER_SESSION, type ParityBook, type SessionRecord, type StreamRecord } from './parity';
import { receiptMessage, streamReceipts } from './receipts';

/** A relay keeps one session per connection; a socket greeting more is spraying hellos. */
export const MAX_SESSIONS_PER_CONNECTION = 16;

/** What the ingest needs from the socket side. */
export interface Transport {
  connections(): Iterable<Connection>;
  send(conn: Connection, text: string): void;
  /** Counts the error against the connection's session and tells the relay. */
  reject(conn: Connection, code: string, message: string): void;
  close(conn: Connection, code: number, reason: string): void;
  /** Closes at once, unread bytes and all. */
  terminate(conn: Connection): void;
  /** A frame the gateway did not hold before (new, late or resent). */
  accepted(frame: Frame, receivedAtNs: bigint): void;
  log(level: 'info' | 'warn' | 'error', message: string): void;
}

export interface IngestOptions {
  name: string;
  /** When false, no acks are sent (receipts are protocol and always are). */
  diagnosticsEnabled: boolean;
  book: ParityBook;
  maxSessions: number;
  metrics: GatewayMetrics;
  capture: CaptureFile | null;
}

type SessionMessage = Frame | Gap | End | Sync;

export class Ingest {
  constructor(
    private readonly options: IngestOptions,
    private readonly transport: Transport,
  ) {}

  handle(conn: Connection, message: RelayMessage, receivedAtNs: bigint): void {
    if (message.type === 'frame') {
      this.frame(conn, message, receivedAtNs);
      return;
    }
    this.options.capture?.write(conn.id, message);
    if (message.type === 'hello') this.hello(conn, message);
    else if (message.type === 'gap') this.gap(conn, message);
    else if (message.type === 'end') this.end(conn, message);
    else this.sync(conn, message);
  }

  /** Sends a receipt for the connection's session: the named streams, or all of them. */
  receipt(conn: Connection, streams?: Iterable<string>, final = false): void {
    if (!conn.session || conn.closing) return;
    this.transport.send(conn, JSON.stringify(receiptMessage(conn.session, streams, final)));
    this.options.metrics.receipt();
  }

  disconnected(conn: Connection): void {
    conn.pacer.reset();
    this.detach(conn);
  }

  private hello(conn: Connection, hello: Hello): void {
    const { transport } = this;
    if (hello.protocol !== PROTOCOL_VERSION) {
      transport.reject(conn, ERROR_CODES.protocolMismatch, `protocol ${hello.protocol} not supported; expected ${PROTOCOL_VERSION}`);
      transport.close(conn, 1002, `protocol mismatch: expected ${PROTOCOL_VERSION}`);
      return;
    }
    if (!conn.greeted.has(hello.sessionId) && conn.greeted.size >= MAX_SESSIONS_PER_CONNECTION) {
      this.refuseHello(conn, null, ERROR_CODES.tooManySessions, `this connection already greeted ${MAX_SESSIONS_PER_CONNECTION} sessions; expected one session per relay connection`);
      return;
    }
    const known = this.options.book.get(hello.sessionId);
    const implausible = known ? implausibleResume(known, hello) : null;
    if (implausible) {
      this.refuseHello(conn, known ?? null, ERROR_CODES.implausible, implausible);
      return;
    }
    // Confirm what the connection had of the session it leaves before greeting another.
    conn.pacer.flush();
    this.detach(conn);
    this.supersede(conn, hello);
    const session = this.options.book.open(hello.sessionId);
    if (!session) {
      this.refuseHello(
        conn,
        null,
        ERROR_CODES.tooManySessions,
        `session ${JSON.stringify(hello.sessionId)} refused: the gateway holds ${this.options.maxSessions} sessions, each with an open relay connection; expected one of them to close first`,
      );
      return;
    }
    conn.session = session;
    conn.attached = true;
    session.openConnections++;
    conn.instance = hello.instance ?? null;
    conn.greeted.add(hello.sessionId);
    for (const [name, seq] of Object.entries(hello.resume ?? {})) session.streams.get(name)?.resumeAt(seq);
    for (const name of hello.streams) {
      const stride = hello.tickStrides?.[name] ?? 1;
      session.tickStrides.set(name, stride);
      const stream = session.streams.get(name);
      if (stream) stream.tickStride = stride;
    }
    const welcome: Welcome = { type: 'welcome', protocol: PROTOCOL_VERSION, gateway: this.options.name, sessionId: session.sessionId, holds: streamReceipts(session) };
    transport.send(conn, JSON.stringify(welcome));
  }

  private refuseHello(conn: Connection, named: SessionRecord | null, code: string, message: string): void {
    if (named && named !== conn.session) named.lastError = `${code}: ${message}`;
    this.transport.reject(conn, code, message);
    this.transport.close(conn, 1008, code);
  }

  /**
   * A relay has one socket to a gateway, so an older connection greeted for the same
   * session (and the same relay instance, when the hello names one) is stale: it goes at
   * once, so none of its late bytes can be counted after the new connection's frames.
   */
  private supersede(conn: Connection, hello: Hello): void {
    for (const other of this.transport.connections()) {
      if (other === conn || other.closing || !other.attached || other.session?.sessionId !== hello.sessionId) continue;
      if (hello.instance !== undefined && other.instance !== hello.instance) continue;
      this.transport.log('warn', `connection ${other.id} of session ${hello.sessionId} superseded by connection ${conn.id}: closed at once`);
      other.closing = true;
      this.disconnected(other);
      this.transport.terminate(other);
    }
  }

  private detach(conn: Connection): void {
    if (!conn.attached || !conn.session) return;
    conn.attached = false;
    conn.session.openConnections--;
  }

  private frame(conn: Connection, frame: Frame, receivedAtNs: bigint): void {
    const { metrics, capture } = this.options;
    const stream = this.streamFor(conn, frame, frame.stream);
    if (!stream) {
      capture?.write(conn.id, frame, 'refused');
      return;
    }
    const outcome = stream.record(frame.seq, frame.ts, frame.tick, frame.resend === true);
    capture?.write(conn.id, frame, outcome);
    if (outcome === 'refused') {
      this.refuseAdvance(conn, `frame ${frame.seq}`, frame.stream, frame.seq, stream);
      return;
    }
    this.options.book.touch(conn.session as SessionRecord);
    metrics.outcome(frame.stream, outcome);
    if (stream.lastSourceGap > 0) metrics.sourceGap(stream.lastSourceGap);
    conn.pacer.note(frame.stream);
    // A repeat is acked too: the relay asked, and its ack count must match what it sent.
    if (frame.ack && this.options.diagnosticsEnabled) {
      this.transport.send(conn, JSON.stringify({ type: 'ack', sessionId: frame.sessionId, stream: frame.stream, seq: frame.seq }));
      stream.acked++;
      metrics.ack(frame.stream);
    }
    if (outcome === 'new' || outcome === 'late' || outcome === 'resent') this.transport.accepted(frame, receivedAtNs);
  }

  private gap(conn: Connection, gap: Gap): void {
    const stream = this.streamFor(conn, gap, gap.stream);
    if (!stream) return;
    if (stream.exceedsAdvance(gap.to)) {
      this.refuseAdvance(conn, `gap ${gap.from}..${gap.to}`, gap.stream, gap.to, stream);
      return;
    }
    this.options.metrics.gapped(gap.reason, stream.gap(gap.from, gap.to, gap.reason));
    this.options.book.touch(conn.session as SessionRecord);
    conn.pacer.note(gap.stream);
  }

  private end(conn: Connection, end: End): void {
    const session = this.sessionFor(conn, end);
    if (!session) return;
    const named = Object.entries(end.last);
    for (const [name, last] of named) {
      const stream = session.streams.get(name);
      if (stream?.exceedsAdvance(last) ?? last > MAX_SEQ_ADVANCE) {
        this.refuseAdvance(conn, `end at ${last}`, name, last, stream);
        return;
      }
    }
    for (const [name, last] of named) session.stream(name)?.end(last);
    this.options.book.touch(session);
    conn.pacer.reset();
    this.receipt(conn, undefined, true);
  }

  private sync(conn: Connection, sync: Sync): void {
    if (!this.sessionFor(conn, sync)) return;
    conn.pacer.reset();
    this.receipt(conn);
  }

  private sessionFor(conn: Connection, message: SessionMessage): SessionRecord | null {
    const session = conn.session;
    if (!session) {
      this.transport.reject(conn, ERROR_CODES.helloRequired, `${message.type} before hello; expected a hello message first`);
      return null;
    }
    if (message.sessionId !== session.sessionId) {
      this.transport.reject(
        conn,
        ERROR_CODES.invalidMessage,
        `${message.type} for session ${JSON.stringify(message.sessionId)} on a connection greeted for ${JSON.stringify(session.sessionId)}; expected the hello's sessionId, or a new hello first`,
      );
      return null;
    }
    return session;
  }

  private streamFor(conn: Connection, message: Frame | Gap, name: string): StreamRecord | null {
    const session = this.sessionFor(conn, message);
    if (!session) return null;
    const stream = session.stream(name);
    if (!stream) {
      this.transport.reject(conn, ERROR_CODES.invalidMessage, `stream ${JSON.stringify(name)} refused; expected at most ${MAX_STREAMS_PER_SESSION} streams per session`);
      return null;
    }
    return stream;
  }

  private refuseAdvance(conn: Connection, what: string, name: string, seq: number, stream: StreamRecord | undefined): void {
    const highest = stream?.lastSeq ?? 0;
    this.transport.reject(
      conn,
      ERROR_CODES.implausible,
      `${what} of stream ${JSON.stringify(name)} refused: ${seq - highest} past the highest seq ${highest}; expected at most ${MAX_SEQ_ADVANCE} past it`,
    );
  }
}

/** Why a hello's resume marks are implausible for what the gateway holds, or null when they are not. */
function implausibleResume(session: SessionRecord, hello: Hello): string | null {
  for (const [name, mark] of Object.entries(hello.resume ?? {})) {
    const stream = session.streams.get(name);
    const skip = stream ? stream.resumeSkip(mark) : 0;
    if (skip > MAX_RESUME_SKIP) {
      return `resume mark ${mark} of stream ${JSON.stringify(name)} refused: it skips ${skip} seqs past the highest seq held (${stream?.lastSeq ?? 0}); expected at most ${MAX_RESUME_SKIP}`;
    }
  }
  return null;
}
