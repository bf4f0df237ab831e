// One gateway backend as the manager sees it: what is wanted of it (lifecycle.ts), its queue
// and per-session outboxes, its accounts (accounting.ts), the retry schedule (backoff.ts),
// and the one link at a time it keeps to its gateway (connection.ts, over transport.ts).
// Nothing here ever blocks the producer: enqueue() returns at once whatever the link does.
//
// A frame's life at a target: given -> queued -> written (in flight) -> confirmed by the
// gateway's receipt (delivered). A frame never written is dropped with a reason and
// announced to the gateway as a gap; a written one stays in flight, held for a resend, until
// the gateway confirms it (on this link, or in the welcome of the next one), or the run
// ends without that (lost). Only one link at a time: a new one opens after the old one
// has closed, and the gateway closes any older socket of the same relay instance.
import { randomBytes } from 'node:crypto';
import type { DropReason, StreamCounts, TargetState } from '../../src-shared/debug-api';
import { maskUrl } from '../../src-shared/settings';
import { FrameQueue, type OutgoingFrame } from './queue';
import { SessionOutbox } from './outbox';
import { Backoff } from './backoff';
import { AckTracker } from './acks';
import { Accounting } from './accounting';
import { Lifecycle, type Activity } from './lifecycle';
import { Connection, type ConnectionHost } from './connection';
import type { OpenTransport } from './transport';
import { openWsTransport } from './ws-transport';

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

/** Sessions a target keeps state for; an older one beyond it is given up (its unconfirmed frames lost). */
const MAX_OUTBOXES = 64;

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
  /** What a connection reaches of this target. */
  private readonly host: ConnectionHost;

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
    /** How a link to the gateway is opened: WebSocket unless told otherwise. */
    private readonly openTransport: OpenTransport = openWsTransport,
  ) {
    this.tuning = { ...tuning };
    this.displayUrl = maskUrl(url);
    this.queue = new FrameQueue(tuning.queueMaxFrames, tuning.queueMaxBytes);
    this.acks = new AckTracker(tuning.latencySamples);
    this.host = this.connectionHost();
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
    return this.book.totals();
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
      else this.conn.pump();
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
    const account = this.book.account(frame.stream);
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
    if (this.conn?.session) this.conn.pump();
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
      } else this.conn.pump();
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
    this.conn?.terminate('target removed');
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
    this.book.account(frame.stream).droppedFromQueue(reason);
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
    this.conn?.closeNow(4001, 'kill switch');
    this.life.link = 'idle';
    this.wake();
  }

  /** Standby or disabled: deliver what is queued and get it confirmed (bounded by the target timeout), then close. */
  private deactivate(reason: 'standby' | 'disabled'): void {
    clearTimeout(this.retryTimer);
    this.nextRetryAtMs = null;
    if (this.conn?.open && (this.queue.length > 0 || this.book.inFlightFrames > 0)) {
      this.life.startDrain();
      this.conn.pump();
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

  // ---- the link -------------------------------------------------------------------------

  private connectionHost(): ConnectionHost {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the host's getters read this target's current values
    const target = this;
    return {
      url: this.url,
      get token() {
        return target.token;
      },
      instance: this.instance,
      get tuning() {
        return target.tuning;
      },
      life: this.life,
      queue: this.queue,
      outboxes: this.outboxes,
      book: this.book,
      acks: this.acks,
      get lastSendOkMs() {
        return target.lastSendOkMs;
      },
      set lastSendOkMs(ms) {
        target.lastSendOkMs = ms;
      },
      isCurrent: (c) => this.conn === c,
      sessionToGreet: () => {
        if (this.life.finishing) return null;
        const now = this.currentSession();
        return this.outboxFor(now.sessionId, now.hello);
      },
      stable: () => this.backoff.reset(),
      welcomed: (gateway, first) => {
        this.gatewayName = gateway;
        if (!first) return;
        this.life.link = 'connected';
        this.connects++;
        this.connectedSinceMs = Date.now();
        this.emit('connected', gateway);
      },
      settled: (box) => {
        if (box !== this.current || this.life.finishing) this.outboxes.delete(box.sessionId);
      },
      drained: () => this.finishDrain(this.life.activity),
      progress: () => this.wake(),
      closed: (c, code, reason, wasOpen) => this.linkClosed(c, code, reason, wasOpen),
      badMessage: (message) => {
        this.badMessages++;
        this.recordError(message);
      },
      recordError: (message) => this.recordError(message),
      emit: (kind, detail) => this.emit(kind, detail),
    };
  }

  private connectNow(): void {
    clearTimeout(this.retryTimer);
    this.nextRetryAtMs = null;
    // One link at a time: the next opens only once this one has closed (linkClosed retries).
    if (this.conn || this.life.done) return;
    this.life.link = 'connecting';
    this.emit('connecting', '');
    try {
      this.conn = new Connection(this.host, this.openTransport);
    } catch (e) {
      this.recordError(`cannot open ${this.displayUrl}: ${(e as Error).message}`);
      this.scheduleRetry();
    }
  }

  private linkClosed(c: Connection, code: number, reason: string, wasOpen: boolean): void {
    if (c.welcomed) {
      this.disconnects++;
      this.connectedSinceMs = null;
      const inFlight = this.book.inFlightFrames > 0 ? `; ${this.book.inFlightFrames} frame(s) in flight await the next welcome` : '';
      this.emit('disconnected', `code ${code}${reason ? ` (${reason})` : ''}${c.closeReason ? `: ${c.closeReason}` : ''}${inFlight}`);
    }
    if (this.conn !== c) return;
    this.conn = null;
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

  private dropConnection(reason: string, code: number, graceMs = this.tuning.connectTimeoutMs): void {
    this.conn?.drop(reason, code, graceMs);
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
