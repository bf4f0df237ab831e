// One gateway backend: its own socket, queue, reconnect loop, heartbeat and ack tracking.
// Nothing here ever blocks the producer: enqueue() returns at once whatever the socket does.
import WebSocket from 'ws';
import { MAX_MESSAGE_BYTES, PROTOCOL_VERSION, parseGatewayMessage } from '../../src-shared/protocol';
import type { DropReason, FailReason, TargetState } from '../../src-shared/debug-api';
import { DROP_REASONS, FAIL_REASONS } from '../../src-shared/debug-api';
import { SampleWindow } from '../../src-shared/metrics';
import { maskUrl } from '../../src-shared/settings';
import { FrameQueue, type OutgoingFrame } from './queue';

/** What the manager wants of a target; the kill switch wins over enabled flags, which win over the mode. */
export type Activity = 'active' | 'standby' | 'disabled' | 'killed';

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
  /** Bytes handed to the socket but not yet written: beyond it, frames wait in the queue. */
  maxInFlightBytes: number;
  latencySamples: number;
}

export const DEFAULT_TUNING: Omit<TargetTuning, 'connectTimeoutMs' | 'sendTimeoutMs' | 'queueMaxFrames' | 'queueMaxBytes'> = {
  backoffBaseMs: 250,
  backoffCapMs: 10_000,
  stableAfterMs: 5_000,
  heartbeatIntervalMs: 1_000,
  ackTimeoutMs: 10_000,
  maxInFlightBytes: 256 * 1024,
  latencySamples: 512,
};

export type TargetEventKind = 'connecting' | 'connected' | 'disconnected' | 'error' | 'backoff' | 'state';

export interface TargetEvent {
  ts: number;
  url: string;
  kind: TargetEventKind;
  detail: string;
}

export interface StreamCounters {
  produced: number;
  sent: number;
  failed: number;
  dropped: number;
}

/** What the report needs per stream beyond the counters: why frames were lost, and how many acks came back. */
export interface StreamDetail {
  droppedBy: Record<DropReason, number>;
  failedBy: Record<FailReason, number>;
  acked: number;
}

interface InFlight {
  frame: OutgoingFrame;
  handedAt: number;
  settled: boolean;
}

/** One socket's life: what was handed to it is settled by it, even after a newer socket replaced it. */
interface Connection {
  ws: WebSocket;
  open: boolean;
  /** Handed to the socket, oldest first; entries before inFlightHead are done. */
  inFlight: InFlight[];
  inFlightHead: number;
  inFlightBytes: number;
  awaitingPong: boolean;
  /** The hello last sent on this socket. */
  announced: string | null;
  heartbeat?: NodeJS.Timeout;
  sendTimer?: NodeJS.Timeout;
  connectTimer?: NodeJS.Timeout;
  stableTimer?: NodeJS.Timeout;
  closeReason?: string;
}

const zeroes = <K extends string>(keys: readonly K[]): Record<K, number> =>
  Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;

export class Target {
  readonly displayUrl: string;
  private tuning: TargetTuning;
  private readonly queue: FrameQueue;
  private conn: Connection | null = null;
  private activity: Activity = 'disabled';
  private draining = false;
  private drainTimer?: NodeJS.Timeout;
  private retryTimer?: NodeJS.Timeout;
  private attempt = 0;
  private connState: 'idle' | 'connecting' | 'connected' | 'backoff' = 'idle';
  private pendingAcks = new Map<string, number>();
  private readonly latency: SampleWindow;

  // Counters: produced = sent + failed + dropped + queued, always.
  produced = 0;
  sent = 0;
  acked = 0;
  acksMissing = 0;
  badMessages = 0;
  readonly droppedBy = zeroes(DROP_REASONS);
  readonly failedBy = zeroes(FAIL_REASONS);
  private inFlightCount = 0;
  /** The counters again per stream, with the reasons: the report attributes every gap per target and stream. */
  private readonly perStream = new Map<string, StreamCounters & StreamDetail>();
  private readonly dropQueueFull = (f: OutgoingFrame) => this.drop(f, 'queueFull');
  private flushQueued = false;
  private readonly flushSoon = () => {
    this.flushQueued = false;
    this.flush();
  };
  lastSendOkMs: number | null = null;
  lastAckLatencyMs: number | null = null;
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
    private readonly helloPayload: () => string,
    private readonly onEvent: (event: TargetEvent) => void = () => {},
  ) {
    this.tuning = { ...tuning };
    this.displayUrl = maskUrl(url);
    this.queue = new FrameQueue(tuning.queueMaxFrames, tuning.queueMaxBytes);
    this.latency = new SampleWindow(tuning.latencySamples);
  }

  // ---- what the manager sees --------------------------------------------------------

  get state(): TargetState {
    if (this.activity === 'active' || this.draining) {
      return this.connState === 'idle' ? 'connecting' : this.connState;
    }
    return this.activity;
  }

  get currentActivity(): Activity {
    return this.activity;
  }

  get queued(): number {
    return this.queue.length + this.inFlightCount;
  }

  get queueBytes(): number {
    return this.queue.bytes + (this.conn?.inFlightBytes ?? 0);
  }

  get dropped(): number {
    return Object.values(this.droppedBy).reduce((a, b) => a + b, 0);
  }

  get failed(): number {
    return Object.values(this.failedBy).reduce((a, b) => a + b, 0);
  }

  get hasToken(): boolean {
    return Boolean(this.token);
  }

  get hasSocket(): boolean {
    return this.conn !== null;
  }

  ackLatency() {
    return this.latency.summary();
  }

  latencySamples(): readonly number[] {
    return this.latency.values();
  }

  // ---- control ------------------------------------------------------------------------

  setActivity(next: Activity): void {
    if (next === this.activity && !(next === 'active' && this.draining)) return;
    const previous = this.activity;
    this.activity = next;
    this.emit('state', `${previous} -> ${next}`);
    if (next === 'active') {
      this.draining = false;
      clearTimeout(this.drainTimer);
      if (!this.conn) this.connectNow();
      else this.flush();
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
    if (this.conn && this.activity === 'active') this.dropConnection('token changed', 1000);
  }

  retune(tuning: Partial<TargetTuning>): void {
    this.tuning = { ...this.tuning, ...tuning };
    this.queue.resize(this.tuning.queueMaxFrames, this.tuning.queueMaxBytes, this.dropQueueFull);
  }

  enqueue(frame: OutgoingFrame): void {
    if (this.activity !== 'active') return;
    this.produced++;
    this.streamOf(frame.stream).produced++;
    this.queue.push(frame, this.dropQueueFull);
    // Flush once per turn of the event loop, not per frame: frames published together go
    // out as one batch with one write callback, and still before any I/O is polled.
    if (this.conn?.open && !this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(this.flushSoon);
    }
  }

  /** Takes the target out for good: what it still holds counts as dropped (removed). */
  dispose(): void {
    this.activity = 'disabled';
    this.draining = false;
    clearTimeout(this.drainTimer);
    clearTimeout(this.retryTimer);
    this.queue.clear((f) => this.drop(f, 'removed'));
    this.abandonInFlight('removed');
    if (this.conn) this.terminate(this.conn, 'target removed');
  }

  /** The same counters per stream: the report attributes every gap per target and stream. */
  streams(): Record<string, StreamCounters & { queued: number }> {
    const out: Record<string, StreamCounters & { queued: number }> = {};
    for (const [name, c] of this.perStream) {
      out[name] = { produced: c.produced, sent: c.sent, failed: c.failed, dropped: c.dropped, queued: c.produced - c.sent - c.failed - c.dropped };
    }
    return out;
  }

  /** Per stream, the reasons behind its dropped and failed counts (they add up to them) and its acks. */
  streamDetails(): Record<string, StreamDetail> {
    const out: Record<string, StreamDetail> = {};
    for (const [name, d] of this.perStream) out[name] = { droppedBy: { ...d.droppedBy }, failedBy: { ...d.failedBy }, acked: d.acked };
    return out;
  }

  // ---- internals ----------------------------------------------------------------------

  private streamOf(stream: string): StreamCounters & StreamDetail {
    let c = this.perStream.get(stream);
    if (!c) {
      c = { produced: 0, sent: 0, failed: 0, dropped: 0, droppedBy: zeroes(DROP_REASONS), failedBy: zeroes(FAIL_REASONS), acked: 0 };
      this.perStream.set(stream, c);
    }
    return c;
  }

  private drop(frame: OutgoingFrame, reason: DropReason): void {
    this.droppedBy[reason]++;
    const s = this.streamOf(frame.stream);
    s.dropped++;
    s.droppedBy[reason]++;
  }

  private fail(frame: OutgoingFrame, reason: FailReason): void {
    this.failedBy[reason]++;
    const s = this.streamOf(frame.stream);
    s.failed++;
    s.failedBy[reason]++;
  }

  private sentOk(frame: OutgoingFrame): void {
    this.sent++;
    this.streamOf(frame.stream).sent++;
  }

  private kill(): void {
    this.draining = false;
    clearTimeout(this.drainTimer);
    clearTimeout(this.retryTimer);
    this.nextRetryAtMs = null;
    this.queue.clear((f) => this.drop(f, 'killSwitch'));
    this.abandonInFlight('killSwitch');
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
    this.connState = 'idle';
  }

  /** Standby or disabled: deliver what is already queued (bounded by the target timeout), then close. */
  private deactivate(reason: 'standby' | 'disabled'): void {
    clearTimeout(this.retryTimer);
    this.nextRetryAtMs = null;
    if (this.conn?.open && this.queued > 0) {
      this.draining = true;
      this.flush();
      clearTimeout(this.drainTimer);
      this.drainTimer = setTimeout(() => this.finishDrain(reason), this.tuning.connectTimeoutMs);
      return;
    }
    this.finishDrain(reason);
  }

  private finishDrain(reason: string): void {
    clearTimeout(this.drainTimer);
    this.draining = false;
    this.queue.clear((f) => this.drop(f, 'deactivated'));
    if (this.conn) this.dropConnection(reason, 1000);
    this.connState = 'idle';
  }

  private connectNow(): void {
    clearTimeout(this.retryTimer);
    this.nextRetryAtMs = null;
    this.connState = 'connecting';
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
    const c: Connection = { ws, open: false, inFlight: [], inFlightHead: 0, inFlightBytes: 0, awaitingPong: false, announced: null };
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
      const hint = status === 401 ? ' (the gateway wants a valid token: check this backend\'s token)' : status === 403 ? ' (forbidden)' : '';
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
    this.connState = 'connected';
    this.connects++;
    this.connectedSinceMs = Date.now();
    this.emit('connected', '');
    c.stableTimer = setTimeout(() => {
      this.attempt = 0;
    }, this.tuning.stableAfterMs);
    c.heartbeat = setInterval(() => this.beat(c), this.tuning.heartbeatIntervalMs);
    c.heartbeat.unref?.();
    // Announce at once (the frame in the queue, if any, or the current session), so the
    // gateway knows the session even before the first frame.
    this.announce(c, this.queue.peek()?.hello ?? this.helloPayload());
    this.flush();
  }

  private flush(): void {
    const c = this.conn;
    if (!c?.open || c.ws.readyState !== WebSocket.OPEN) return;
    if (this.activity !== 'active' && !this.draining) return;
    // One write callback per batch, on its last frame: the socket completes writes in order,
    // so that callback settles the whole batch. A callback per frame cost a fifth of the
    // fan-out's throughput (npm run bench).
    let last: InFlight | undefined;
    const endBatch = (batchEnd: InFlight) => c.ws.send(batchEnd.frame.payload, (err) => this.onWritten(c, batchEnd, err));
    const now = performance.now();
    while (this.queue.length > 0 && c.inFlightBytes < this.tuning.maxInFlightBytes) {
      const frame = this.queue.shift() as OutgoingFrame;
      if (frame.hello !== c.announced) {
        // The hello of a new session goes after every frame of the old one.
        if (last) endBatch(last);
        last = undefined;
        this.announce(c, frame.hello);
      }
      if (last) c.ws.send(last.frame.payload);
      last = { frame, handedAt: now, settled: false };
      c.inFlight.push(last);
      c.inFlightBytes += frame.bytes;
      this.inFlightCount++;
      if (frame.ack) this.trackAck(frame, now);
    }
    if (last) endBatch(last);
    if (c.inFlight.length > c.inFlightHead && !c.sendTimer) this.armSendTimer(c);
    if (this.draining && this.queued === 0) this.finishDrain(this.activity);
  }

  private announce(c: Connection, hello: string): void {
    c.announced = hello;
    try {
      c.ws.send(hello);
    } catch (e) {
      this.recordError(`cannot send hello: ${(e as Error).message}`);
    }
  }

  /** The socket wrote everything up to and including `batchEnd` (or failed to). */
  private onWritten(c: Connection, batchEnd: InFlight, err?: Error | null): void {
    let ok = 0;
    while (c.inFlightHead < c.inFlight.length) {
      const e = c.inFlight[c.inFlightHead++] as InFlight;
      c.inFlightBytes -= e.frame.bytes;
      if (!e.settled) {
        e.settled = true;
        this.inFlightCount--;
        if (err) this.fail(e.frame, this.conn === c && c.open ? 'sendError' : 'connectionLost');
        else {
          this.sentOk(e.frame);
          ok++;
        }
      }
      if (e === batchEnd) break;
    }
    // Compact now and then, so the array does not grow for the life of the socket.
    if (c.inFlightHead > 1024 && c.inFlightHead * 2 > c.inFlight.length) {
      c.inFlight = c.inFlight.slice(c.inFlightHead);
      c.inFlightHead = 0;
    }
    if (ok > 0) this.lastSendOkMs = Date.now();
    if (this.conn === c) this.flush();
  }

  private armSendTimer(c: Connection): void {
    let head: InFlight | undefined;
    for (let i = c.inFlightHead; i < c.inFlight.length && !head; i++) if (!(c.inFlight[i] as InFlight).settled) head = c.inFlight[i];
    if (!head) return;
    const wait = Math.max(1, head.handedAt + this.tuning.sendTimeoutMs - performance.now());
    c.sendTimer = setTimeout(() => {
      c.sendTimer = undefined;
      const now = performance.now();
      let timedOut = 0;
      for (let i = c.inFlightHead; i < c.inFlight.length; i++) {
        const e = c.inFlight[i] as InFlight;
        if (e.settled || now - e.handedAt < this.tuning.sendTimeoutMs) continue;
        e.settled = true;
        this.inFlightCount--;
        this.fail(e.frame, 'sendTimeout');
        timedOut++;
      }
      if (timedOut > 0) {
        // The peer is not reading: a fresh connection is the only way to make progress.
        this.recordError(`send timeout: ${timedOut} frame(s) not written within ${this.tuning.sendTimeoutMs} ms; reconnecting`);
        this.terminate(c, 'send timeout');
        return;
      }
      if (c.inFlight.length > c.inFlightHead) this.armSendTimer(c);
    }, wait);
  }

  private trackAck(frame: OutgoingFrame, at: number): void {
    // Bounded: a gateway that never acks cannot grow this without limit.
    if (this.pendingAcks.size >= 10_000) {
      const oldest = this.pendingAcks.keys().next().value as string;
      this.pendingAcks.delete(oldest);
      this.acksMissing++;
    }
    this.pendingAcks.set(`${frame.stream}:${frame.seq}`, at);
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
    } catch {
      /* the close handler deals with it */
    }
    const cutoff = performance.now() - this.tuning.ackTimeoutMs;
    for (const [key, at] of this.pendingAcks) {
      if (at >= cutoff) break; // insertion order is send order
      this.pendingAcks.delete(key);
      this.acksMissing++;
    }
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
        this.gatewayName = msg.gateway;
        if (msg.protocol !== PROTOCOL_VERSION) {
          this.recordError(`gateway speaks protocol ${msg.protocol}; this relay speaks ${PROTOCOL_VERSION}`);
        }
        break;
      case 'ack': {
        const key = `${msg.stream}:${msg.seq}`;
        const at = this.pendingAcks.get(key);
        if (at === undefined) return; // late (already counted missing) or never asked
        this.pendingAcks.delete(key);
        const latency = performance.now() - at;
        this.acked++;
        this.streamOf(msg.stream).acked++;
        this.lastAckLatencyMs = Math.round(latency * 10) / 10;
        this.latency.add(latency);
        break;
      }
      case 'error':
        this.recordError(`gateway error ${msg.code}: ${msg.message}`);
        break;
    }
  }

  private onClose(c: Connection, code: number, reason: string): void {
    clearTimeout(c.connectTimer);
    clearTimeout(c.stableTimer);
    clearTimeout(c.sendTimer);
    clearInterval(c.heartbeat);
    const wasOpen = c.open;
    c.open = false;
    // Whatever the socket still held has an unknown fate: count it failed, never resend it
    // (a resend could reach the gateway twice).
    for (let i = c.inFlightHead; i < c.inFlight.length; i++) {
      const e = c.inFlight[i] as InFlight;
      if (e.settled) continue;
      e.settled = true;
      this.inFlightCount--;
      this.fail(e.frame, 'connectionLost');
    }
    c.inFlight = [];
    c.inFlightHead = 0;
    c.inFlightBytes = 0;
    if (wasOpen) {
      this.disconnects++;
      this.connectedSinceMs = null;
      this.emit('disconnected', `code ${code}${reason ? ` (${reason})` : ''}${c.closeReason ? `: ${c.closeReason}` : ''}`);
    }
    if (this.conn !== c) return;
    this.conn = null;
    // Acks can only come back on the socket that carried the frame.
    this.acksMissing += this.pendingAcks.size;
    this.pendingAcks.clear();
    if (this.activity === 'active') {
      if (wasOpen && !c.closeReason && code !== 1000) this.recordError(`connection closed by the gateway: code ${code}${reason ? ` (${reason})` : ''}`);
      this.scheduleRetry();
    } else {
      this.connState = 'idle';
      if (this.draining) this.finishDrain(this.activity);
    }
  }

  private scheduleRetry(): void {
    if (this.activity !== 'active') return;
    // Exponential backoff with full jitter, so a fleet of relays does not reconnect in step.
    const ceiling = Math.min(this.tuning.backoffCapMs, this.tuning.backoffBaseMs * 2 ** this.attempt);
    const delay = Math.round(Math.random() * ceiling);
    this.attempt = Math.min(this.attempt + 1, 30);
    this.connState = 'backoff';
    this.nextRetryAtMs = Date.now() + delay;
    this.emit('backoff', `retry in ${delay} ms`);
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      if (this.activity === 'active' && !this.conn) this.connectNow();
    }, delay);
  }

  /** Closes politely (close frame) but gives the peer a bounded time to answer. */
  private dropConnection(reason: string, code: number): void {
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
    const timer = setTimeout(() => this.terminate(c, reason), this.tuning.connectTimeoutMs);
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

  private abandonInFlight(reason: DropReason): void {
    const c = this.conn;
    if (!c) return;
    for (let i = c.inFlightHead; i < c.inFlight.length; i++) {
      const e = c.inFlight[i] as InFlight;
      if (e.settled) continue;
      e.settled = true;
      this.inFlightCount--;
      this.drop(e.frame, reason);
    }
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

export type { FailReason };
