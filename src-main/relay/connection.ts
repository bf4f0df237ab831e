// One link's life with a gateway: open, greet each session and await its welcome, pump what
// is owed (resends, gaps, frames within the in-flight window, the `end`), batch writes under
// one write callback, time out writes the peer does not read, beat the heartbeat, settle
// frames in flight from welcomes and receipts, and close. What outlives the link (the queue,
// the outboxes, the accounts) belongs to the target and is reached through ConnectionHost.
import { PROTOCOL_VERSION, parseGatewayMessage, type Receipt, type Welcome } from '../../src-shared/protocol';
import type { TargetEventKind, TargetTuning } from './target';
import type { FrameQueue } from './queue';
import type { SessionOutbox, Unconfirmed } from './outbox';
import type { OpenTransport, Transport, TransportEvents } from './transport';
import type { Lifecycle } from './lifecycle';
import { CONFIRMED, RESENT, type Accounting } from './accounting';
import type { AckTracker } from './acks';
import { joinClock } from './shared-clock';

/** What a connection needs of its target: the state that outlives one link, and where to report. */
export interface ConnectionHost {
  readonly url: string;
  readonly token: string | undefined;
  /** Tells the gateway which older socket this one replaces (see the protocol's hello.instance). */
  readonly instance: string;
  readonly tuning: TargetTuning;
  readonly life: Lifecycle;
  readonly queue: FrameQueue;
  /** The sessions with something owed, oldest first. */
  readonly outboxes: ReadonlyMap<string, SessionOutbox>;
  readonly book: Accounting;
  readonly acks: AckTracker;
  lastSendOkMs: number | null;
  /** This is the target's one live connection (an older one only winds down). */
  isCurrent(c: Connection): boolean;
  /** The session to greet on a link with nothing owed, or null (the run is ending). */
  sessionToGreet(): SessionOutbox | null;
  /** The link held for the stable time: the retry schedule starts over. */
  stable(): void;
  /** A welcome named this gateway; `first`: the first on this link, which is connected now. */
  welcomed(gateway: string, first: boolean): void;
  /** Nothing more to do for the session with any link. */
  settled(box: SessionOutbox): void;
  /** Draining and nothing is left queued or in flight. */
  drained(): void;
  /** A receipt, welcome or close: whoever waits for the work to be done looks again. */
  progress(): void;
  closed(c: Connection, code: number, reason: string, wasOpen: boolean): void;
  badMessage(message: string): void;
  recordError(message: string): void;
  emit(kind: TargetEventKind, detail: string): void;
}

const RESEND_PREFIX = Buffer.from('{"type":"frame",');
const RESEND_HEAD = Buffer.from('{"type":"frame","resend":true,');

function resendPayload(payload: Buffer): Buffer {
  const prefixed = payload.length >= RESEND_PREFIX.length && RESEND_PREFIX.equals(payload.subarray(0, RESEND_PREFIX.length));
  return prefixed ? Buffer.concat([RESEND_HEAD, payload.subarray(RESEND_PREFIX.length)]) : payload;
}

/**
 * Where a link stands. `greeting`: hello sent, welcome awaited, nothing else is written
 * meanwhile. `ready`: the session greeted and welcomed on this link, whose frames may be written.
 */
type LinkPhase =
  | { kind: 'connecting' }
  | { kind: 'open' }
  | { kind: 'greeting'; box: SessionOutbox }
  | { kind: 'ready'; session: SessionOutbox }
  | { kind: 'closed' };

export class Connection {
  private readonly link: Transport;
  private phase: LinkPhase = { kind: 'connecting' };
  /** The gateway answered a hello on this link (at some point: the link counts as connected). */
  welcomed = false;
  private announcedHello: string | null = null;
  /** Sessions whose unconfirmed frames this link's welcome has settled. */
  private readonly resolved = new Set<SessionOutbox>();
  private readonly endSent = new Set<SessionOutbox>();
  /** Frames to write again on this link (the welcome said the gateway lacks them). */
  private resend: Unconfirmed[] = [];
  /** A text held back so that a batch is handed to the link in one go (see release()). */
  private held: string | Buffer | null = null;
  /** performance.now() of each batch handed to the link with a callback and not yet written. */
  private readonly batches: number[] = [];
  /**
   * performance.now() of a batch handed over without a callback that the link could not
   * write at once, or null. Writes complete in order: a later batch's callback, or nothing
   * left buffered, says it is written.
   */
  private untracked: number | null = null;
  private awaitingPong = false;
  private lastReceiptAt = performance.now();
  /** Leaves the shared heartbeat clock. */
  private stopHeartbeat?: () => void;
  private sendTimer?: NodeJS.Timeout;
  private readonly connectTimer: NodeJS.Timeout;
  private stableTimer?: NodeJS.Timeout;
  private welcomeTimer?: NodeJS.Timeout;
  private graceTimer?: NodeJS.Timeout;
  private graceDeadline = Infinity;
  /** Why the relay ended this link (absent: the gateway or the network did). */
  closeReason?: string;
  /** Resolves once the link is down. */
  readonly closed: Promise<void>;
  private markClosed!: () => void;

  /** Opens the link at once; throws when the transport cannot even try. */
  constructor(
    private readonly host: ConnectionHost,
    openTransport: OpenTransport,
  ) {
    const events: TransportEvents = {
      open: () => this.onOpen(),
      message: (text) => this.onMessage(text),
      pong: () => {
        this.awaitingPong = false;
      },
      error: (message, closing) => this.onError(message, closing),
      close: (code, reason) => this.onClose(code, reason),
    };
    this.link = openTransport(host.url, { token: host.token, connectTimeoutMs: host.tuning.connectTimeoutMs }, events);
    this.closed = new Promise<void>((resolve) => {
      this.markClosed = resolve;
    });
    // The transport's handshake timeout covers the upgrade; this also bounds a connect that never answers.
    this.connectTimer = setTimeout(() => {
      if (!this.open) {
        this.host.recordError(`connection timeout: no WebSocket upgrade within ${this.host.tuning.connectTimeoutMs} ms`);
        this.terminate('connection timeout');
      }
    }, host.tuning.connectTimeoutMs);
  }

  /** Upgraded and not closed yet. */
  get open(): boolean {
    const k = this.phase.kind;
    return k === 'open' || k === 'greeting' || k === 'ready';
  }

  /** The session welcomed on this link, whose frames may be written now. */
  get session(): SessionOutbox | null {
    return this.phase.kind === 'ready' ? this.phase.session : null;
  }

  /** Closes politely (close frame) but gives the peer a bounded time to answer. */
  drop(reason: string, code: number, graceMs: number): void {
    this.closeReason = reason;
    if (!this.open) {
      this.terminate(reason);
      return;
    }
    try {
      this.link.close(code, reason);
    } catch {
      /* fall through to terminate */
    }
    // Asked again (a drain's close, then the end of the run): the earliest deadline holds.
    const deadline = performance.now() + graceMs;
    if (this.graceTimer && this.graceDeadline <= deadline) return;
    clearTimeout(this.graceTimer);
    this.graceDeadline = deadline;
    this.graceTimer = setTimeout(() => this.terminate(reason), graceMs);
    this.graceTimer.unref?.();
  }

  /**
   * Tells the gateway why with a close frame, then frees the link at once instead of waiting
   * for the peer's answer (the kill switch must bite within 100 ms).
   */
  closeNow(code: number, reason: string): void {
    if (this.open) {
      try {
        this.link.close(code, reason);
      } catch {
        /* already closing */
      }
    }
    this.terminate(reason);
  }

  terminate(reason: string): void {
    this.closeReason ??= reason;
    try {
      this.link.terminate();
    } catch {
      /* already gone */
    }
  }

  private onOpen(): void {
    clearTimeout(this.connectTimer);
    if (!this.host.isCurrent(this)) return;
    this.phase = { kind: 'open' };
    // Connected only once the gateway has welcomed the relay (see onWelcome): a link that
    // upgraded but never answers proves nothing.
    this.stableTimer = setTimeout(() => this.host.stable(), this.host.tuning.stableAfterMs);
    this.stopHeartbeat = joinClock(this.host.tuning.heartbeatIntervalMs, () => this.beat());
    this.pump();
    // Nothing owed yet: greet the current session anyway, so the gateway knows it before the first frame.
    if (this.phase.kind === 'open') {
      const box = this.host.sessionToGreet();
      if (box) {
        this.greet(box);
        this.release();
      }
    }
  }

  private onError(message: string, closing: string | undefined): void {
    if (closing !== undefined) {
      this.host.recordError(message);
      this.terminate(closing);
      return;
    }
    if (this.closeReason) return; // we closed it ourselves, and said why
    this.closeReason = message;
    this.host.recordError(message);
  }

  private onClose(code: number, reason: string): void {
    clearTimeout(this.connectTimer);
    clearTimeout(this.stableTimer);
    clearTimeout(this.sendTimer);
    clearTimeout(this.welcomeTimer);
    clearTimeout(this.graceTimer);
    this.stopHeartbeat?.();
    const wasOpen = this.open;
    this.phase = { kind: 'closed' };
    this.resend = [];
    this.markClosed();
    this.host.closed(this, code, reason, wasOpen);
  }

  /**
   * Writes what this link owes, in order: for each session with work (oldest first) the
   * hello and its welcome, resends, gap announcements, queued frames within the in-flight
   * window, and the `end` once the relay has moved past the session.
   */
  pump(): void {
    if ((this.phase.kind !== 'open' && this.phase.kind !== 'ready') || !this.link.writable) return;
    const { life, queue, book, tuning } = this.host;
    if (!life.maySend) return;
    const windowFrames = Math.min(tuning.maxInFlightFrames, tuning.queueMaxFrames);
    const windowBytes = Math.min(tuning.maxInFlightBytes, tuning.queueMaxBytes);
    for (;;) {
      const box = this.nextOutbox();
      if (!box) break;
      if (this.session !== box || this.announcedHello !== box.hello) {
        this.greet(box);
        break;
      }
      for (const u of this.resend) {
        this.write(resendPayload(u.frame.payload));
        book.settle(u.frame.stream, [u], RESENT);
      }
      this.resend = [];
      for (const [stream, s] of box.streams) {
        if (!s.hasGaps) continue;
        for (const g of s.takeGaps()) this.write(JSON.stringify({ type: 'gap', sessionId: box.sessionId, stream, from: g.from, to: g.to, reason: g.reason }));
      }
      let full = false;
      const now = performance.now();
      for (let f = queue.peek(); f && f.sessionId === box.sessionId; f = queue.peek()) {
        if (book.inFlightFrames >= windowFrames || book.inFlightBytes + f.bytes > windowBytes) {
          full = book.inFlightFrames > 0;
          if (full) break;
        }
        queue.shift();
        this.write(f.payload);
        book.written(f);
        box.stream(f.stream).written({ frame: f, retained: true });
        if (f.ack) this.host.acks.track(f.sessionId, f.stream, f.seq, now);
      }
      if (full) break;
      if (box.ended && !box.empty && !this.endSent.has(box)) {
        this.write(JSON.stringify({ type: 'end', sessionId: box.sessionId, last: box.lastSeqs() }));
        this.endSent.add(box);
      }
      if (this.nextOutbox() === box) break; // nothing more it can do now
    }
    this.release();
    if (life.draining && queue.length === 0 && book.inFlightFrames === 0) this.host.drained();
  }

  /** The oldest session with something to do on this link. */
  private nextOutbox(): SessionOutbox | null {
    const head = this.host.queue.peek()?.sessionId;
    // Resends owed on this link go out as soon as the session is welcomed, not with the
    // session's next frame: a paused stream would otherwise leave them in flight indefinitely.
    if (this.resend.length > 0 && this.session !== null) return this.session;
    for (const box of this.host.outboxes.values()) {
      if (box.hasGaps || head === box.sessionId) return box;
      if (box.unconfirmedCount > 0 && !this.resolved.has(box)) return box;
      if (box.ended && !box.empty && !this.endSent.has(box)) return box;
    }
    return null;
  }

  private greet(box: SessionOutbox): void {
    this.phase = { kind: 'greeting', box };
    this.announcedHello = box.hello;
    this.write(`${box.hello.slice(0, -1)},"instance":"${this.host.instance}"}`);
    clearTimeout(this.welcomeTimer);
    const waitMs = this.host.tuning.connectTimeoutMs;
    this.welcomeTimer = setTimeout(() => {
      if (this.phase.kind !== 'greeting' || this.phase.box !== box) return;
      this.host.recordError(`no welcome within ${waitMs} ms after the hello: the gateway does not answer protocol ${PROTOCOL_VERSION}; reconnecting`);
      this.terminate('no welcome');
    }, waitMs);
  }

  // ---- write batching and the send timeout (moved from Target as one unit) ----------------

  private write(text: string | Buffer): void {
    if (this.held !== null) this.link.send(this.held);
    this.held = text;
  }

  /**
   * Hands the last held text over. When nothing of this link is waiting to be written, it
   * goes without a callback (a callback costs the stream a tick and an allocation per write,
   * at 60 Hz per target) and the link's buffered amount says at once whether it was all
   * written; otherwise it carries the batch's one write callback, and writes complete in order.
   */
  private release(): void {
    const text = this.held;
    if (text === null) return;
    this.held = null;
    const link = this.link;
    if (this.batches.length === 0 && link.bufferedAmount === 0) {
      this.untracked = null;
      link.send(text);
      if (link.bufferedAmount === 0) {
        this.host.lastSendOkMs = Date.now();
        return;
      }
      this.untracked = performance.now();
    } else {
      this.batches.push(performance.now());
      link.send(text, this.onWritten);
    }
    // The send timer is armed only for a batch still waiting, not re-armed a few times a
    // second for writes that are long done (each of those timers was a wake-up of its own).
    if (!this.sendTimer && link.bufferedAmount > 0) this.armSendTimer();
  }

  /** The write callback: made once per connection, not once per write. */
  private readonly onWritten = (err?: Error | null): void => {
    this.batches.shift();
    this.untracked = null;
    if (!err) this.host.lastSendOkMs = Date.now();
  };

  /** The oldest batch not yet written, by when it was handed over; undefined when none waits. */
  private oldestUnwritten(): number | undefined {
    if (this.untracked !== null && this.link.bufferedAmount === 0) {
      this.untracked = null;
      this.host.lastSendOkMs = Date.now();
    }
    return this.untracked ?? this.batches[0];
  }

  private armSendTimer(): void {
    const oldest = this.oldestUnwritten();
    if (oldest === undefined) return;
    const wait = Math.max(1, oldest + this.host.tuning.sendTimeoutMs - performance.now());
    this.sendTimer = setTimeout(() => {
      this.sendTimer = undefined;
      const head = this.oldestUnwritten();
      if (head !== undefined && performance.now() - head >= this.host.tuning.sendTimeoutMs) {
        // The peer is not reading: a fresh connection is the only way to make progress.
        // What was written stays in flight; the next welcome says what arrived.
        this.host.recordError(`send timeout: a write waited over ${this.host.tuning.sendTimeoutMs} ms (the gateway is not reading); reconnecting`);
        this.terminate('send timeout');
        return;
      }
      this.armSendTimer();
    }, wait);
  }

  // ---- what comes back -------------------------------------------------------------------

  private beat(): void {
    const { tuning } = this.host;
    if (this.awaitingPong) {
      this.host.recordError(`heartbeat timeout: no pong within ${tuning.heartbeatIntervalMs} ms, the gateway or the network is not responding`);
      this.terminate('heartbeat timeout');
      return;
    }
    this.awaitingPong = true;
    try {
      this.link.ping();
      // Frames wait for a receipt that does not come: ask for one.
      if (this.session && this.host.book.inFlightFrames > 0 && performance.now() - this.lastReceiptAt > tuning.heartbeatIntervalMs) {
        this.write(JSON.stringify({ type: 'sync', sessionId: this.session.sessionId }));
        this.release();
      }
    } catch {
      /* the close handler deals with it */
    }
    this.host.acks.expire(performance.now() - tuning.ackTimeoutMs);
  }

  private onMessage(text: string | null): void {
    if (!this.host.isCurrent(this)) return;
    if (text === null) {
      this.host.badMessage('gateway sent a binary message; expected JSON text');
      return;
    }
    const parsed = parseGatewayMessage(text);
    if (!parsed.ok) {
      this.host.badMessage(`invalid message from gateway (${parsed.code}): ${parsed.error}`);
      return;
    }
    const msg = parsed.message;
    switch (msg.type) {
      case 'welcome':
        this.onWelcome(msg);
        break;
      case 'receipt':
        this.onReceipt(msg);
        break;
      case 'ack':
        if (this.host.acks.answered(msg.sessionId, msg.stream, msg.seq)) this.host.book.account(msg.stream).acked++;
        break;
      case 'error':
        this.host.recordError(`gateway error ${msg.code}: ${msg.message}`);
        break;
    }
  }

  private onWelcome(msg: Welcome): void {
    const box = this.phase.kind === 'greeting' ? this.phase.box : null;
    if (msg.protocol !== PROTOCOL_VERSION) {
      this.host.welcomed(msg.gateway, false);
      this.host.recordError(`gateway speaks protocol ${msg.protocol}; this relay speaks ${PROTOCOL_VERSION}, so no delivery can be confirmed`);
      this.terminate('protocol mismatch');
      return;
    }
    if (!box || (msg.sessionId !== undefined && msg.sessionId !== box.sessionId)) {
      this.host.welcomed(msg.gateway, false);
      this.host.badMessage(`unexpected welcome for session ${JSON.stringify(msg.sessionId ?? null)}; expected one for ${JSON.stringify(box?.sessionId ?? null)}`);
      return;
    }
    clearTimeout(this.welcomeTimer);
    const first = !this.welcomed;
    this.welcomed = true;
    this.host.welcomed(msg.gateway, first);
    this.phase = { kind: 'ready', session: box };
    this.lastReceiptAt = performance.now();
    if (!this.resolved.has(box)) {
      this.resolved.add(box);
      this.settleWelcome(box, msg);
    }
    this.pump();
    this.host.progress();
  }

  /** The welcome says what the gateway holds of the session: in flight becomes confirmed, resent or lost. */
  private settleWelcome(box: SessionOutbox, msg: Welcome): void {
    const { book } = this.host;
    let confirmed = 0;
    let resent = 0;
    for (const [stream, s] of box.streams) {
      const holds = msg.holds?.[stream];
      const held: Unconfirmed[] = [];
      const lost: Unconfirmed[] = [];
      const resolution = s.resolve(
        holds,
        (u) => held.push(u),
        (u) => lost.push(u),
      );
      book.settle(stream, held, CONFIRMED);
      book.settle(stream, lost, { outcome: 'lost', reason: 'connectionLost' });
      confirmed += resolution.confirmed;
      this.resend.push(...resolution.resend);
      resent += resolution.resend.length;
      if (!s.beforeAddedDone) {
        s.beforeAddedDone = true;
        // The gateway holds earlier seqs of this session (this backend was removed and added
        // again): what was produced meanwhile was never this target's; say so, not "missing".
        const highest = holds?.highest ?? 0;
        if (highest > 0 && s.firstGiven !== null && highest < s.firstGiven - 1) {
          s.addGap(highest + 1, s.firstGiven - 1, 'beforeAdded');
          book.account(stream).notGiven += s.firstGiven - 1 - highest;
        }
      }
    }
    if (confirmed > 0 || resent > 0) this.host.emit('delivery', `welcome: ${confirmed} frame(s) written earlier confirmed, ${resent} to resend`);
  }

  private onReceipt(msg: Receipt): void {
    this.lastReceiptAt = performance.now();
    const box = this.host.outboxes.get(msg.sessionId);
    if (!box) return;
    for (const stream in msg.streams) {
      const s = box.streams.get(stream);
      if (!s) continue;
      const r = msg.streams[stream] as Receipt['streams'][string];
      this.host.book.settle(stream, s.confirmUpTo(r.upTo, r.from), CONFIRMED);
    }
    if (msg.final && this.endSent.has(box)) box.endConfirmed = true;
    if (box.settled) this.host.settled(box);
    this.pump();
    this.host.progress();
  }
}
