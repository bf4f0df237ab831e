// Turns source samples into protocol frames: session, per-stream seq, ack sampling, and
// the JSON text, built once per frame and shared by every target.
import { PROTOCOL_VERSION, agentString, shouldAck, type Hello } from '../../src-shared/protocol';
import type { OutgoingFrame } from './queue';
import type { SessionHello } from './target';
import type { SessionRegistry } from '../telemetry/session-registry';

/** Where one stream of the session stands: one lookup per frame instead of one per field. */
interface StreamState {
  seq: number;
  /** Seqs below this are reserved in the registry: the next run never reuses one. */
  reserved: number;
  lastTick: number | undefined;
  /** Ticks the source skipped this session: gaps at the sim, before the relay. */
  gaps: number;
  /** Ticks between frames when the source skips nothing. */
  stride: number;
}

export class FrameBuilder {
  private readonly streamStates = new Map<string, StreamState>();
  private resume: Record<string, number> = {};
  private tickStrides: Record<string, number> = {};
  private helloText = '';

  constructor(
    private session: string,
    private meta: Record<string, unknown>,
    private readonly streams: readonly string[],
    private sampleRate: number,
    private readonly version: string,
    private readonly registry?: SessionRegistry,
  ) {
    this.startSession();
  }

  get sessionId(): string {
    return this.session;
  }

  get rate(): number {
    return this.sampleRate;
  }

  setSampleRate(rate: number): void {
    this.sampleRate = rate;
  }

  /**
   * A new session starts every stream at seq 1, as the protocol requires, unless this relay
   * already sent in that session before a restart: then it continues, and says so in the hello.
   */
  setSession(sessionId: string, meta: Record<string, unknown>, tickStrides: Record<string, number> = {}): void {
    this.tickStrides = tickStrides;
    for (const [stream, st] of this.streamStates) st.stride = tickStrides[stream] ?? 1;
    if (sessionId === this.session) {
      // The same session, described anew (a session type change, say): seqs go on.
      this.meta = meta;
      this.renderHello();
      return;
    }
    this.finish();
    this.session = sessionId;
    this.meta = meta;
    this.startSession();
  }

  /** Records exactly where each stream stopped, so the next run continues without a skip. */
  finish(): void {
    if (!this.registry || this.streamStates.size === 0) return;
    this.registry.finish(this.session, Object.fromEntries([...this.streamStates].map(([stream, st]) => [stream, st.seq + 1])));
  }

  /** Ticks the sim skipped per stream in this session, as the relay saw them (the gateway counts the same as sourceGaps). */
  sourceGaps(): Record<string, number> {
    return Object.fromEntries([...this.streamStates].filter(([, st]) => st.gaps > 0).map(([stream, st]) => [stream, st.gaps]));
  }

  private startSession(): void {
    this.streamStates.clear();
    this.resume = this.registry?.resumePoint(this.session) ?? {};
    for (const [stream, next] of Object.entries(this.resume)) {
      const st = this.streamState(stream);
      st.seq = next - 1;
      st.reserved = next;
    }
    this.renderHello();
  }

  private streamState(stream: string): StreamState {
    let st = this.streamStates.get(stream);
    if (!st) {
      st = { seq: 0, reserved: 1, lastTick: undefined, gaps: 0, stride: this.tickStrides[stream] ?? 1 };
      this.streamStates.set(stream, st);
    }
    return st;
  }

  hello(): string {
    return this.helloText;
  }

  /** The session and its hello, as the targets greet their gateways with. */
  current(): SessionHello {
    return { sessionId: this.session, hello: this.helloText };
  }

  build(stream: string, data: Record<string, unknown>, tick?: number): OutgoingFrame {
    const st = this.streamState(stream);
    const seq = ++st.seq;
    if (this.registry && seq >= st.reserved) st.reserved = this.registry.reserve(this.session, stream, seq, st.reserved);
    if (tick !== undefined) {
      const jump = st.lastTick === undefined ? 0 : tick - st.lastTick - st.stride;
      // A tick going back is a loop or a reset, not a gap.
      if (jump > 0) st.gaps += jump;
      st.lastTick = tick;
    }
    const ack = shouldAck(stream, seq, this.sampleRate);
    const ts = Date.now();
    const sessionId = this.session;
    // Field order fixed by hand, one literal per shape (no spread): one stringify of a plain
    // literal is the cheapest path at 60 Hz x N targets.
    let text: string;
    if (tick === undefined) text = JSON.stringify(ack ? { type: 'frame', sessionId, stream, seq, ts, ack: true, data } : { type: 'frame', sessionId, stream, seq, ts, data });
    else text = JSON.stringify(ack ? { type: 'frame', sessionId, stream, seq, ts, ack: true, tick, data } : { type: 'frame', sessionId, stream, seq, ts, tick, data });
    const payload = Buffer.from(text);
    return { sessionId: this.session, stream, seq, ack, hello: this.helloText, payload, bytes: payload.length, producedAt: performance.now() };
  }

  private renderHello(): void {
    const hello: Hello = {
      type: 'hello',
      protocol: PROTOCOL_VERSION,
      agent: agentString(this.version),
      sessionId: this.session,
      streams: [...this.streams],
      meta: this.meta,
      ...(Object.keys(this.resume).length > 0 ? { resume: this.resume } : {}),
      ...(Object.keys(this.tickStrides).length > 0 ? { tickStrides: this.tickStrides } : {}),
    };
    this.helloText = JSON.stringify(hello);
  }
}
