// One gateway backend: its own socket, queue, reconnect loop, heartbeat, and the proof of
// delivery. Nothing here ever blocks the producer: enqueue() returns at once whatever the
// socket does.
//
// A frame's life at a target: given -> queued -> written (in flight) -> confirmed by the
// gateway's receipt (delivered). A frame never written is dropped with a reason and
// announced to the gateway as a gap; a written one stays in flight, held for a resend, until
// the gateway confirms it (on this socket, or in the welcome of the next one), or the run
// ends without that (lost). Only one socket at a time: a new one opens after the old one
// has closed, and the gateway closes any older socket of the same relay instance.
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { MAX_MESSAGE_BYTES, PROTOCOL_VERSION, parseGatewayMessage, type Receipt, type Welcome } from '../../src-shared/protocol';
import type { DropReason, StreamCounts, TargetState } from '../../src-shared/debug-api';
import { maskUrl } from '../../src-shared/settings';
import { FrameQueue, type OutgoingFrame } from './queue';
import { SessionOutbox, type Unconfirmed } from './outbox';
import { sumStreams } from './stream-account';
import { joinHeartbeat } from './heartbeat';
import { Backoff } from './backoff';
import { AckTracker } from './acks';
import { Accounting, CONFIRMED, RESENT } from './accounting';
import { Lifecycle, type Activity } from './lifecycle';

export type { Activity } from './lifecycle';

export interface TargetTuning {
  connectTimeoutMs: number;
  sendTimeoutMs: number;
  queueMaxFrames: number;
  queueMaxBytes: number;
  backoffBaseMs: number;
  backoffCapMs: number;
  /** Connected this long without trouble resets the backoff. */
  stableAfterMs: number;
  heartbeatIntervalMs: number;
  ackTimeoutMs: number;
  /** Written but unconfirmed frames (and bytes) at most: beyond, frames wait in the queue. Also bounded by the queue caps. */
  maxInFlightFrames: number;
  maxInFlightBytes: number;
  latencySamples: number;
}

export const DEFAULT_TUNING: Omit<TargetTuning, 'connectTimeoutMs' | 'sendTimeoutMs' | 'queueMaxFrames' | 'queueMaxBytes'> = {
  backoffBaseMs: 250,
  backoffCapMs: 10_000,
  stableAfterMs: 5_000,
  heartbeatIntervalMs: 1_000,
  ackTimeoutMs: 10_000,
  maxInFlightFrames: 2048,
  maxInFlightBytes: 1024 * 1024,
  latencySamples: 512,
};

export type TargetEventKind = 'connecting' | 'connected' | 'disconnected' | 'error' | 'backoff' | 'state' | 'delivery';

export interface TargetEvent {
  ts: number;
  url: string;
  kind: TargetEventKind;
  detail: string;
}

/** The current session as the frame builder describes it. */
export interface SessionHello {
  sessionId: string;
  hello: string;
}

/** How a target's last delivery ended (the end of a run, or its removal). */
export interface FinishResult {
  url: string;
  /** Every frame given was confirmed or deliberately dropped. */
  complete: boolean;
  /** Per stream: frames written but never confirmed, and frames never written. */
  unconfirmed: Record<string, number>;
  queued: Record<string, number>;
}

interface Connection {
  readonly ws: WebSocket;
  open: boolean;
  /** The gateway answered a hello on this socket. */
  welcomed: boolean;
  /** The session greeted and welcomed on this socket: frames of it may be written. */
  session: SessionOutbox | null;
  /** Hello sent, welcome awaited: nothing else is written meanwhile. */
  greeting: SessionOutbox | null;
  announcedHello: string | null;
  /** Sessions whose unconfirmed frames this socket's welcome has settled. */
  readonly resolved: Set<SessionOutbox>;
  readonly endSent: Set<SessionOutbox>;
  /** Frames to write again on this socket (the welcome said the gateway lacks them). */
  resend: Unconfirmed[];
  /** A text held back so the last write of a batch carries the one write callback. */
  held: string | null;
  /** performance.now() of each batch handed to the socket and not yet written. */
  readonly batches: number[];
  awaitingPong: boolean;
  lastReceiptAt: number;
  /** Leaves the shared heartbeat clock. */
  stopHeartbeat?: () => void;
  sendTimer?: NodeJS.Timeout;
  /** The write callback: made once per connection, not once per write. */
  readonly onWritten: (err?: Error | null) => void;
  connectTimer?: NodeJS.Timeout;
  stableTimer?: NodeJS.Timeout;
  welcomeTimer?: NodeJS.Timeout;
  closeReason?: string;
  readonly closed: Promise<void>;
  markClosed: () => void;
}

const RESEND_PREFIX = '{"type":"frame",';
/** Sessions a target keeps state for; an older one beyond it is given up (its unconfirmed frames lost). */
const MAX_OUTBOXES = 64;

function resendPayload(payload: string): string {
  return payload.startsWith(RESEND_PREFIX) ? `{"type":"frame","resend":true,${payload.slice(RESEND_PREFIX.length)}` : payload;
}

export class Target {
  readonly displayUrl: string;
  /** Tells the gateway which older socket this one replaces (see the protocol's hello.instance). */
  readonly instance = randomBytes(9).toString('base64url');
  private tuning: TargetTuning;
  private readonly queue: FrameQueue;
  private conn: Connection | null = null;
  private readonly life = new Lifecycle();
  private drainTimer?: NodeJS.Timeout;
  private retryTimer?: NodeJS.Timeout;
  private readonly backoff = new Backoff();
  private readonly outboxes = new Map<string, SessionOutbox>();
  private current: SessionOutbox | null = null;
  private readonly book = new Accounting();
  private readonly acks: AckTracker;
  private readonly waiters = new Set<() => void>();
  private readonly dropQueueFull = (f: OutgoingFrame) => this.dropQueued(f, 'queueFull');

  badMessages = 0;
  lastSendOkMs: number | null = null;
  lastError: string | null = null;
  connects = 0;
  disconnects = 0;
  connectedSinceMs: number | null = null;
  nextRetryAtMs: number | null = null;
  gatewayName: string | null = null;

  constructor(
    readonly url: string,
    private token: string | undefined,
    tuning: TargetTuning,
    private readonly currentSession: () => SessionHello,
    private readonly onEvent: (event: TargetEvent) => void = () => {},
  ) {
    this.tuning = { ...tuning };
    this.displayUrl = maskUrl(url);
    this.queue = new FrameQueue(tuning.queueMaxFrames, tuning.queueMaxBytes);
    this.acks = new AckTracker(tuning.latencySamples);
  }

  // ---- what the manager sees --------------------------------------------------------

  get state(): TargetState {
    return this.life.view(this.conn !== null);
  }

  get currentActivity(): Activity {
    return this.life.activity;
  }

  /** Date.now() of the gateway's last confirmation. */
  get lastConfirmMs(): number | null {
    return this.book.lastConfirmMs;
  }

  get lastAckLatencyMs(): number | null {
    return this.acks.lastLatencyMs;
  }

  get acksMissing(): number {
    return this.acks.missing;
  }

  /** Frames not yet delivered and still in the relay's hands: queued, and written but unconfirmed. */
  get queued(): number {
    return this.queue.length;
  }

  get inFlight(): number {
    return this.book.inFlightFrames;
  }

  get queueBytes(): number {
    return this.queue.bytes + this.book.inFlightBytes;
  }

  get hasToken(): boolean {
    return Boolean(this.token);
  }

  get hasSocket(): boolean {
    return this.conn !== null;
  }

  ackLatency() {
    return this.acks.summary();
  }

  latencySamples(): readonly number[] {
    return this.acks.values();
  }

  /** Per stream, where every frame stands, with the reasons. */
  streams(): Record<string, StreamCounts> {
    return this.book.streams();
  }

  totals(): StreamCounts {
    return sumStreams(Object.values(this.streams()));
  }

  /** How long the oldest written frame has waited for its confirmation (ms), or null. */
  oldestUnconfirmedMs(): number | null {
    let oldest = Infinity;
    for (const box of this.outboxes.values()) {
      for (const s of box.streams.values()) {
        const u = s.oldestUnconfirmed();
        if (u && u.frame.producedAt < oldest) oldest = u.frame.producedAt;
      }
    }
    return oldest === Infinity ? null : Math.max(0, Math.round(performance.now() - oldest));
  }

  // ---- control ------------------------------------------------------------------------

  setActivity(next: Activity): void {
    if (this.life.done) return;
    // A run that is ending still obeys the kill switch, and nothing else.
    if (this.life.finishing && next !== 'killed') return;
    if (next === this.life.activity) return;
    const previous = this.life.activity;
    this.life.want(next);
    this.emit('state', `${previous} -> ${next}`);
    if (next === 'active') {
      clearTimeout(this.drainTimer);
      if (!this.conn) this.connectNow();
      else this.pump(this.conn);
      return;
    }
    if (next === 'killed') {
      this.kill();
      return;
    }
    this.deactivate(next === 'standby' ? 'standby' : 'disabled');
  }

  setToken(token: string | undefined): void {
    if (token === this.token) return;
    this.token = token;
    // The new credentials take effect on a fresh upgrade; queued frames stay for it.
    if (this.conn && this.life.activity === 'active') this.dropConnection('token changed', 1000);
  }

  retune(tuning: Partial<TargetTuning>): void {
    this.tuning = { ...this.tuning, ...tuning };
    this.queue.resize(this.tuning.queueMaxFrames, this.tuning.queueMaxBytes, this.dropQueueFull);
    // Frames held for a resend stay within the caps too: the oldest beyond them can no longer be resent.
    let keep = this.tuning.queueMaxFrames;
    for (const box of [...this.outboxes.values()].reverse()) {
      for (const s of box.streams.values()) {
        s.release(keep);
        keep = Math.max(0, keep - s.unconfirmedCount);
      }
    }
  }

  /**
   * Gives the target a frame; flush() writes it. The manager gives a frame to every target,
   * then flushes them all once per turn of the event loop (one microtask for all of them).
   */
  enqueue(frame: OutgoingFrame): void {
    const box = this.outboxFor(frame.sessionId, frame.hello);
    const out = box.stream(frame.stream);
    out.given(frame.seq);
    const account = this.account(frame.stream);
    const refused = this.refusalReason();
    if (refused) {
      account.givenAndDropped(refused);
      out.addGap(frame.seq, frame.seq, refused);
      return;
    }
    account.given();
    this.queue.push(frame, this.dropQueueFull);
  }

  /** Writes what was given since the last flush, as one batch with one write callback. */
  flush(): void {
    if (this.conn?.session) this.pump(this.conn);
  }

  /**
   * The end of this target's run (the relay stops, or the backend was removed): everything
   * queued is written, gaps announced, an `end` sent per session, and the gateway's final
   * receipt awaited, then the socket closed cleanly; all bounded by `timeoutMs`. What the
   * gateway did not confirm by then is counted lost and named in the result.
   */
  async finish(timeoutMs: number, options: { removed?: boolean } = {}): Promise<FinishResult> {
    const deadline = performance.now() + timeoutMs;
    clearTimeout(this.drainTimer);
    const canSend = this.life.activity === 'active' || this.life.draining;
    this.life.reach('finishing');
    this.life.stopDrain();
    for (const box of this.outboxes.values()) box.ended = true;
    if (canSend && this.hasWork()) {
      if (!this.conn) {
        this.backoff.reset();
        this.connectNow();
      } else this.pump(this.conn);
      await this.until(() => !this.hasWork() || this.life.activity === 'killed', deadline - performance.now());
    }
    const result = this.giveUp(options.removed ? 'removed' : null);
    const c = this.conn;
    if (c) {
      this.dropConnection(options.removed ? 'backend removed' : 'relay stopping', 1000, Math.max(200, Math.min(1000, deadline - performance.now())));
      await c.closed;
    }
    this.life.reach(options.removed ? 'removed' : 'done');
    clearTimeout(this.retryTimer);
    this.life.link = 'idle';
    return result;
  }

  /** Takes the target out at once, without waiting for its gateway (the manager closing). */
  dispose(): void {
    this.life.reach('finishing');
    clearTimeout(this.drainTimer);
    clearTimeout(this.retryTimer);
    // After finish() the account is final (what was still queued stays counted as queued).
    if (!this.life.done) this.giveUp('removed');
    this.life.reach('done');
    if (this.conn) this.terminate(this.conn, 'target removed');
  }

  // ---- the frame's life ---------------------------------------------------------------------

  private refusalReason(): DropReason | null {
    if (this.life.finishing) return 'removed';
    switch (this.life.activity) {
      case 'active':
        return null;
      case 'killed':
        return 'killSwitch';
      default:
        return this.life.activity;
    }
  }

  private account(stream: string) {
    return this.book.account(stream);
  }

  /** The session's outbox; a session other than the current one becomes current, and the relay owes the old one an `end`. */
  private outboxFor(sessionId: string, hello: string): SessionOutbox {
    const current = this.current;
    if (current?.sessionId === sessionId) {
      current.hello = hello;
      return current;
    }
    if (current) current.ended = true;
    let box = this.outboxes.get(sessionId);
    if (!box) {
      box = new SessionOutbox(sessionId, hello);
      this.outboxes.set(sessionId, box);
      if (this.outboxes.size > MAX_OUTBOXES) this.forgetOldestOutbox();
    }
    box.ended = false;
    this.current = box;
    return box;
  }

  private forgetOldestOutbox(): void {
    const [id, oldest] = this.outboxes.entries().next().value as [string, SessionOutbox];
    this.outboxes.delete(id);
    for (const [name, s] of oldest.streams) this.book.settle(name, s.abandon(), { outcome: 'lost', reason: 'connectionLost' });
    this.recordError(`more than ${MAX_OUTBOXES} sessions outstanding: gave up on session ${id}`);
  }

  private dropQueued(frame: OutgoingFrame, reason: DropReason): void {
    this.account(frame.stream).droppedFromQueue(reason);
    this.outboxes.get(frame.sessionId)?.stream(frame.stream).addGap(frame.seq, frame.seq, reason);
  }

  /** Something is still owed to the gateway: queued frames, gaps, unconfirmed frames or an `end`. */
  private hasWork(): boolean {
    if (this.queue.length > 0) return true;
    for (const box of this.outboxes.values()) if (!box.settled) return true;
    return false;
  }

  /** The run is over for this target: unconfirmed frames are lost, and (when removed) queued ones dropped. */
  private giveUp(queuedReason: DropReason | null): FinishResult {
    const unconfirmed: Record<string, number> = {};
    const queued: Record<string, number> = {};
    for (const box of this.outboxes.values()) {
      for (const [name, s] of box.streams) {
        const left = s.abandon();
        if (left.length > 0) unconfirmed[name] = (unconfirmed[name] ?? 0) + left.length;
        this.book.settle(name, left, { outcome: 'lost', reason: 'unconfirmedAtStop' });
      }
    }
    const snapshot = this.streams();
    for (const [name, s] of Object.entries(snapshot)) if (s.queued > 0) queued[name] = s.queued;
    if (queuedReason) this.queue.clear((f) => this.dropQueued(f, queuedReason));
    this.acks.clear();
    const complete = Object.keys(unconfirmed).length === 0 && Object.keys(queued).length === 0;
    return { url: this.displayUrl, complete, unconfirmed, queued };
  }

  private kill(): void {
    clearTimeout(this.drainTimer);
    clearTimeout(this.retryTimer);
    this.nextRetryAtMs = null;
    // Frames already written stay in flight: the gateway's next welcome says which it holds.
    this.queue.clear((f) => this.dropQueued(f, 'killSwitch'));
    if (this.conn) {
      const c = this.conn;
      // The close frame tells the gateway why; terminate() then frees the socket at once
      // instead of waiting for the peer's close frame (the switch must bite within 100 ms).
      if (c.open) {
        try {
          c.ws.close(4001, 'kill switch');
        } catch {
          /* already closing */
        }
      }
      this.terminate(c, 'kill switch');
    }
    this.life.link = 'idle';
    this.wake();
  }

  /** Standby or disabled: deliver what is queued and get it confirmed (bounded by the target timeout), then close. */
  private deactivate(reason: 'standby' | 'disabled'): void {
    clearTimeout(this.retryTimer);
    this.nextRetryAtMs = null;
    if (this.conn?.open && (this.queue.length > 0 || this.book.inFlightFrames > 0)) {
      this.life.startDrain();
      this.pump(this.conn);
      clearTimeout(this.drainTimer);
      this.drainTimer = setTimeout(() => this.finishDrain(reason), this.tuning.connectTimeoutMs);
      return;
    }
    this.finishDrain(reason);
  }

  private finishDrain(reason: string): void {
    clearTimeout(this.drainTimer);
    this.life.stopDrain();
    this.queue.clear((f) => this.dropQueued(f, 'deactivated'));
    if (this.conn) this.dropConnection(reason, 1000);
    this.life.link = 'idle';
  }

  // ---- the socket -----------------------------------------------------------------------

  private connectNow(): void {
    clearTimeout(this.retryTimer);
    this.nextRetryAtMs = null;
    // One socket at a time: the next opens only once this one has closed (onClose retries).
    if (this.conn || this.life.done) return;
    this.life.link = 'connecting';
    this.emit('connecting', '');
    const headers: Record<string, string> = {};
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.url, {
        headers,
        handshakeTimeout: this.tuning.connectTimeoutMs,
        perMessageDeflate: false,
        maxPayload: MAX_MESSAGE_BYTES,
      });
    } catch (e) {
      this.recordError(`cannot open ${this.displayUrl}: ${(e as Error).message}`);
      this.scheduleRetry();
      return;
    }
    let markClosed!: () => void;
    const closed = new Promise<void>((resolve) => {
      markClosed = resolve;
    });
    const c: Connection = {
      ws,
      open: false,
      welcomed: false,
      session: null,
      greeting: null,
      announcedHello: null,
      resolved: new Set(),
      endSent: new Set(),
      resend: [],
      held: null,
      batches: [],
      onWritten: (err) => this.onWritten(c, err),
      awaitingPong: false,
      lastReceiptAt: performance.now(),
      closed,
      markClosed,
    };
    this.conn = c;
    // ws's handshakeTimeout covers the upgrade; this also bounds a TCP connect that never answers.
    c.connectTimer = setTimeout(() => {
      if (!c.open) {
        this.recordError(`connection timeout: no WebSocket upgrade within ${this.tuning.connectTimeoutMs} ms`);
        this.terminate(c, 'connection timeout');
      }
    }, this.tuning.connectTimeoutMs);

    ws.on('open', () => this.onOpen(c));
    ws.on('message', (data, isBinary) => this.onMessage(c, data, isBinary));
    ws.on('pong', () => {
      c.awaitingPong = false;
    });
    ws.on('unexpected-response', (_req, res) => {
      const status = res.statusCode ?? 0;
      const hint = status === 401 ? " (the gateway wants a valid token: check this backend's token)" : status === 403 ? ' (forbidden)' : '';
      this.recordError(`gateway refused the upgrade: HTTP ${status} ${res.statusMessage ?? ''}`.trim() + hint);
      res.resume();
      this.terminate(c, `HTTP ${status}`);
    });
    ws.on('error', (err) => {
      if (c.closeReason) return; // we closed it ourselves, and said why
      const message = describeSocketError(err);
      c.closeReason = message;
      this.recordError(message);
    });
    ws.on('close', (code, reason) => this.onClose(c, code, reason.toString()));
  }

  private onOpen(c: Connection): void {
    clearTimeout(c.connectTimer);
    if (this.conn !== c) return;
    c.open = true;
    // Connected only once the gateway has welcomed the relay (see onWelcome): a socket that
    // upgraded but never answers proves nothing.
    c.stableTimer = setTimeout(() => this.backoff.reset(), this.tuning.stableAfterMs);
    c.stopHeartbeat = joinHeartbeat(this.tuning.heartbeatIntervalMs, () => this.beat(c));
    this.pump(c);
    // Nothing owed yet: greet the current session anyway, so the gateway knows it before the first frame.
    if (!c.greeting && !c.session && !this.life.finishing) {
      const now = this.currentSession();
      this.greet(c, this.outboxFor(now.sessionId, now.hello));
      this.release(c);
    }
  }

  /**
   * Writes what this socket owes, in order: for each session with work (oldest first) the
   * hello and its welcome, resends, gap announcements, queued frames within the in-flight
   * window, and the `end` once the relay has moved past the session.
   */
  private pump(c: Connection): void {
    if (!c.open || c.greeting || c.ws.readyState !== WebSocket.OPEN) return;
    if (!this.life.maySend) return;
    const windowFrames = Math.min(this.tuning.maxInFlightFrames, this.tuning.queueMaxFrames);
    const windowBytes = Math.min(this.tuning.maxInFlightBytes, this.tuning.queueMaxBytes);
    for (;;) {
      const box = this.nextOutboxFor(c);
      if (!box) break;
      if (c.session !== box || c.announcedHello !== box.hello) {
        this.greet(c, box);
        break;
      }
      for (const u of c.resend) {
        this.write(c, resendPayload(u.frame.payload));
        this.book.settle(u.frame.stream, [u], RESENT);
      }
      c.resend = [];
      for (const [stream, s] of box.streams) {
        if (!s.hasGaps) continue;
        for (const g of s.takeGaps()) this.write(c, JSON.stringify({ type: 'gap', sessionId: box.sessionId, stream, from: g.from, to: g.to, reason: g.reason }));
      }
      let full = false;
      const now = performance.now();
      for (let f = this.queue.peek(); f && f.sessionId === box.sessionId; f = this.queue.peek()) {
        if (this.book.inFlightFrames >= windowFrames || this.book.inFlightBytes + f.bytes > windowBytes) {
          full = this.book.inFlightFrames > 0;
          if (full) break;
        }
        this.queue.shift();
        this.write(c, f.payload);
        this.book.written(f);
        box.stream(f.stream).written({ frame: f, retained: true });
        if (f.ack) this.acks.track(f.sessionId, f.stream, f.seq, now);
      }
      if (full) break;
      if (box.ended && !box.empty && !c.endSent.has(box)) {
        this.write(c, JSON.stringify({ type: 'end', sessionId: box.sessionId, last: box.lastSeqs() }));
        c.endSent.add(box);
      }
      if (this.nextOutboxFor(c) === box) break; // nothing more it can do now
    }
    this.release(c);
    if (this.life.draining && this.queue.length === 0 && this.book.inFlightFrames === 0) this.finishDrain(this.life.activity);
  }

  /** The oldest session with something to do on this socket. */
  private nextOutboxFor(c: Connection): SessionOutbox | null {
    const head = this.queue.peek()?.sessionId;
    for (const box of this.outboxes.values()) {
      if (box.hasGaps || head === box.sessionId) return box;
      if (box.unconfirmedCount > 0 && !c.resolved.has(box)) return box;
      if (box.ended && !box.empty && !c.endSent.has(box)) return box;
    }
    return null;
  }

  private greet(c: Connection, box: SessionOutbox): void {
    c.greeting = box;
    c.session = null;
    c.announcedHello = box.hello;
    this.write(c, `${box.hello.slice(0, -1)},"instance":"${this.instance}"}`);
    clearTimeout(c.welcomeTimer);
    c.welcomeTimer = setTimeout(() => {
      if (c.greeting !== box) return;
      this.recordError(`no welcome within ${this.tuning.connectTimeoutMs} ms after the hello: the gateway does not answer protocol ${PROTOCOL_VERSION}; reconnecting`);
      this.terminate(c, 'no welcome');
    }, this.tuning.connectTimeoutMs);
  }

  private write(c: Connection, text: string): void {
    if (c.held !== null) c.ws.send(c.held);
    c.held = text;
  }

  /** Hands the last held text over with the batch's one write callback: the socket completes writes in order. */
  private release(c: Connection): void {
    const text = c.held;
    if (text === null) return;
    c.held = null;
    c.batches.push(performance.now());
    c.ws.send(text, c.onWritten);
    // A write the socket took at once leaves nothing buffered (its callback comes on the next
    // tick): the send timer is armed only for a batch still waiting, not re-armed a few times
    // a second for writes that are long done (each of those timers was a wake-up of its own).
    if (!c.sendTimer && c.ws.bufferedAmount > 0) this.armSendTimer(c);
  }

  private onWritten(c: Connection, err?: Error | null): void {
    c.batches.shift();
    if (!err) this.lastSendOkMs = Date.now();
  }

  private armSendTimer(c: Connection): void {
    const oldest = c.batches[0];
    if (oldest === undefined) return;
    const wait = Math.max(1, oldest + this.tuning.sendTimeoutMs - performance.now());
    c.sendTimer = setTimeout(() => {
      c.sendTimer = undefined;
      const head = c.batches[0];
      if (head !== undefined && performance.now() - head >= this.tuning.sendTimeoutMs) {
        // The peer is not reading: a fresh connection is the only way to make progress.
        // What was written stays in flight; the next welcome says what arrived.
        this.recordError(`send timeout: a write waited over ${this.tuning.sendTimeoutMs} ms (the gateway is not reading); reconnecting`);
        this.terminate(c, 'send timeout');
        return;
      }
      this.armSendTimer(c);
    }, wait);
  }

  private beat(c: Connection): void {
    if (c.awaitingPong) {
      this.recordError(`heartbeat timeout: no pong within ${this.tuning.heartbeatIntervalMs} ms, the gateway or the network is not responding`);
      this.terminate(c, 'heartbeat timeout');
      return;
    }
    c.awaitingPong = true;
    try {
      c.ws.ping();
      // Frames wait for a receipt that does not come: ask for one.
      if (c.session && this.book.inFlightFrames > 0 && performance.now() - c.lastReceiptAt > this.tuning.heartbeatIntervalMs) {
        this.write(c, JSON.stringify({ type: 'sync', sessionId: c.session.sessionId }));
        this.release(c);
      }
    } catch {
      /* the close handler deals with it */
    }
    this.acks.expire(performance.now() - this.tuning.ackTimeoutMs);
  }

  private onMessage(c: Connection, data: WebSocket.RawData, isBinary: boolean): void {
    if (this.conn !== c) return;
    if (isBinary) {
      this.badMessages++;
      this.recordError('gateway sent a binary message; expected JSON text');
      return;
    }
    const parsed = parseGatewayMessage(data.toString());
    if (!parsed.ok) {
      this.badMessages++;
      this.recordError(`invalid message from gateway (${parsed.code}): ${parsed.error}`);
      return;
    }
    const msg = parsed.message;
    switch (msg.type) {
      case 'welcome':
        this.onWelcome(c, msg);
        break;
      case 'receipt':
        this.onReceipt(c, msg);
        break;
      case 'ack':
        if (this.acks.answered(msg.sessionId, msg.stream, msg.seq)) this.account(msg.stream).acked++;
        break;
      case 'error':
        this.recordError(`gateway error ${msg.code}: ${msg.message}`);
        break;
    }
  }

  private onWelcome(c: Connection, msg: Welcome): void {
    this.gatewayName = msg.gateway;
    const box = c.greeting;
    if (msg.protocol !== PROTOCOL_VERSION) {
      this.recordError(`gateway speaks protocol ${msg.protocol}; this relay speaks ${PROTOCOL_VERSION}, so no delivery can be confirmed`);
      this.terminate(c, 'protocol mismatch');
      return;
    }
    if (!box || (msg.sessionId !== undefined && msg.sessionId !== box.sessionId)) {
      this.badMessages++;
      this.recordError(`unexpected welcome for session ${JSON.stringify(msg.sessionId ?? null)}; expected one for ${JSON.stringify(box?.sessionId ?? null)}`);
      return;
    }
    clearTimeout(c.welcomeTimer);
    if (!c.welcomed) {
      c.welcomed = true;
      this.life.link = 'connected';
      this.connects++;
      this.connectedSinceMs = Date.now();
      this.emit('connected', msg.gateway);
    }
    c.greeting = null;
    c.session = box;
    c.lastReceiptAt = performance.now();
    if (!c.resolved.has(box)) {
      c.resolved.add(box);
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
        this.book.settle(stream, held, CONFIRMED);
        this.book.settle(stream, lost, { outcome: 'lost', reason: 'connectionLost' });
        confirmed += resolution.confirmed;
        c.resend.push(...resolution.resend);
        resent += resolution.resend.length;
        if (!s.beforeAddedDone) {
          s.beforeAddedDone = true;
          // The gateway holds earlier seqs of this session (this backend was removed and added
          // again): what was produced meanwhile was never this target's; say so, not "missing".
          const highest = holds?.highest ?? 0;
          if (highest > 0 && s.firstGiven !== null && highest < s.firstGiven - 1) {
            s.addGap(highest + 1, s.firstGiven - 1, 'beforeAdded');
            this.account(stream).notGiven += s.firstGiven - 1 - highest;
          }
        }
      }
      if (confirmed > 0 || resent > 0) this.emit('delivery', `welcome: ${confirmed} frame(s) written earlier confirmed, ${resent} to resend`);
    }
    this.pump(c);
    this.wake();
  }

  private onReceipt(c: Connection, msg: Receipt): void {
    c.lastReceiptAt = performance.now();
    const box = this.outboxes.get(msg.sessionId);
    if (!box) return;
    for (const stream in msg.streams) {
      const s = box.streams.get(stream);
      if (!s) continue;
      const r = msg.streams[stream] as Receipt['streams'][string];
      this.book.settle(stream, s.confirmUpTo(r.upTo, r.from), CONFIRMED);
    }
    if (msg.final && c.endSent.has(box)) box.endConfirmed = true;
    if (box.settled && box !== this.current) this.outboxes.delete(box.sessionId);
    else if (box.settled && this.life.finishing) this.outboxes.delete(box.sessionId);
    this.pump(c);
    this.wake();
  }

  private onClose(c: Connection, code: number, reason: string): void {
    clearTimeout(c.connectTimer);
    clearTimeout(c.stableTimer);
    clearTimeout(c.sendTimer);
    clearTimeout(c.welcomeTimer);
    c.stopHeartbeat?.();
    const wasOpen = c.open;
    c.open = false;
    c.resend = [];
    c.markClosed();
    if (c.welcomed) {
      this.disconnects++;
      this.connectedSinceMs = null;
      const inFlight = this.book.inFlightFrames > 0 ? `; ${this.book.inFlightFrames} frame(s) in flight await the next welcome` : '';
      this.emit('disconnected', `code ${code}${reason ? ` (${reason})` : ''}${c.closeReason ? `: ${c.closeReason}` : ''}${inFlight}`);
    }
    if (this.conn !== c) return;
    this.conn = null;
    // Acks can only come back on the socket that carried the frame.
    this.acks.socketClosed();
    if ((this.life.activity === 'active' || (this.life.finishing && this.hasWork())) && !this.life.done) {
      if (wasOpen && !c.closeReason && code !== 1000) this.recordError(`connection closed by the gateway: code ${code}${reason ? ` (${reason})` : ''}`);
      this.scheduleRetry();
    } else {
      this.life.link = 'idle';
      if (this.life.draining) this.finishDrain(this.life.activity);
    }
    this.wake();
  }

  private scheduleRetry(): void {
    const delay = this.backoff.next(this.tuning.backoffBaseMs, this.tuning.backoffCapMs, this.life.finishing);
    this.life.link = 'backoff';
    this.nextRetryAtMs = Date.now() + delay;
    this.emit('backoff', `retry in ${delay} ms`);
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      if ((this.life.activity === 'active' || this.life.finishing) && !this.conn) this.connectNow();
    }, delay);
  }

  /** Closes politely (close frame) but gives the peer a bounded time to answer. */
  private dropConnection(reason: string, code: number, graceMs = this.tuning.connectTimeoutMs): void {
    const c = this.conn;
    if (!c) return;
    c.closeReason = reason;
    if (!c.open) {
      this.terminate(c, reason);
      return;
    }
    try {
      c.ws.close(code, reason);
    } catch {
      /* fall through to terminate */
    }
    const timer = setTimeout(() => this.terminate(c, reason), graceMs);
    timer.unref?.();
    c.ws.once('close', () => clearTimeout(timer));
  }

  private terminate(c: Connection, reason: string): void {
    c.closeReason ??= reason;
    try {
      c.ws.terminate();
    } catch {
      /* already gone */
    }
  }

  /** Resolves when `done()` holds (checked at every receipt, welcome and close) or the time is up. */
  private until(done: () => boolean, timeoutMs: number): Promise<void> {
    if (done() || timeoutMs <= 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const check = () => {
        if (!done()) return;
        finish();
      };
      const finish = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(finish, timeoutMs);
      this.waiters.add(check);
    });
  }

  private wake(): void {
    if (this.waiters.size === 0) return;
    for (const w of [...this.waiters]) w();
  }

  private recordError(message: string): void {
    this.lastError = message;
    this.emit('error', message);
  }

  private emit(kind: TargetEventKind, detail: string): void {
    this.onEvent({ ts: Date.now(), url: this.displayUrl, kind, detail });
  }
}

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
