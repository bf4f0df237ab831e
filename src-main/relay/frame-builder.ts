// Turns source samples into protocol frames: session, per-stream seq, ack sampling, and
// the JSON text, built once per frame and shared by every target.
import { PROTOCOL_VERSION, agentString, shouldAck, type Hello } from '../../src-shared/protocol';
import type { OutgoingFrame } from './queue';
import type { SessionHello } from './target';
import type { SessionRegistry } from '../telemetry/session-registry';

export class FrameBuilder {
  private seqs = new Map<string, number>();
  /** Seqs below these are reserved in the registry: the next run never reuses one. */
  private reserved = new Map<string, number>();
  private resume: Record<string, number> = {};
  private tickStrides: Record<string, number> = {};
  private lastTicks = new Map<string, number>();
  /** Ticks the source skipped, per stream, this session: gaps at the sim, before the relay. */
  private gaps = new Map<string, number>();
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
    if (!this.registry || this.seqs.size === 0) return;
    this.registry.finish(this.session, Object.fromEntries([...this.seqs].map(([stream, seq]) => [stream, seq + 1])));
  }

  /** Ticks the sim skipped per stream in this session, as the relay saw them (the gateway counts the same as sourceGaps). */
  sourceGaps(): Record<string, number> {
    return Object.fromEntries(this.gaps);
  }

  private startSession(): void {
    this.seqs.clear();
    this.lastTicks.clear();
    this.gaps.clear();
    this.reserved.clear();
    this.resume = this.registry?.resumePoint(this.session) ?? {};
    for (const [stream, next] of Object.entries(this.resume)) {
      this.seqs.set(stream, next - 1);
      this.reserved.set(stream, next);
    }
    this.renderHello();
  }

  hello(): string {
    return this.helloText;
  }

  /** The session and its hello, as the targets greet their gateways with. */
  current(): SessionHello {
    return { sessionId: this.session, hello: this.helloText };
  }

  build(stream: string, data: Record<string, unknown>, tick?: number): OutgoingFrame {
    const seq = (this.seqs.get(stream) ?? 0) + 1;
    this.seqs.set(stream, seq);
    if (this.registry) {
      const reserved = this.reserved.get(stream) ?? 1;
      if (seq >= reserved) this.reserved.set(stream, this.registry.reserve(this.session, stream, seq, reserved));
    }
    if (tick !== undefined) {
      const last = this.lastTicks.get(stream);
      const jump = last === undefined ? 0 : tick - last - (this.tickStrides[stream] ?? 1);
      // A tick going back is a loop or a reset, not a gap.
      if (jump > 0) this.gaps.set(stream, (this.gaps.get(stream) ?? 0) + jump);
      this.lastTicks.set(stream, tick);
    }
    const ack = shouldAck(stream, seq, this.sampleRate);
    const ts = Date.now();
    // Field order fixed by hand: one stringify of a literal is the cheapest path at 60 Hz x N targets.
    const payload = JSON.stringify(
      ack
        ? { type: 'frame', sessionId: this.session, stream, seq, ts, ack: true, ...(tick === undefined ? {} : { tick }), data }
        : { type: 'frame', sessionId: this.session, stream, seq, ts, ...(tick === undefined ? {} : { tick }), data },
    );
    return { sessionId: this.session, stream, seq, ack, hello: this.helloText, payload, bytes: Buffer.byteLength(payload), producedAt: performance.now() };
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
