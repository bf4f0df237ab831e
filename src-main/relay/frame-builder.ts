// Turns source samples into protocol frames: session, per-stream seq, ack sampling, and
// the JSON text, built once per frame and shared by every target.
import { PROTOCOL_VERSION, agentString, shouldAck, type Hello } from '../../src-shared/protocol';
import type { OutgoingFrame } from './queue';

export class FrameBuilder {
  private seqs = new Map<string, number>();
  private helloText = '';

  constructor(
    private session: string,
    private meta: Record<string, unknown>,
    private readonly streams: readonly string[],
    private sampleRate: number,
    private readonly version: string,
  ) {
    this.renderHello();
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

  /** A new session restarts every stream at seq 1, as the protocol requires. */
  setSession(sessionId: string, meta: Record<string, unknown>): void {
    this.session = sessionId;
    this.meta = meta;
    this.seqs.clear();
    this.renderHello();
  }

  hello(): string {
    return this.helloText;
  }

  build(stream: string, data: Record<string, unknown>, tick?: number): OutgoingFrame {
    const seq = (this.seqs.get(stream) ?? 0) + 1;
    this.seqs.set(stream, seq);
    const ack = shouldAck(stream, seq, this.sampleRate);
    const ts = Date.now();
    // Field order fixed by hand: one stringify of a literal is the cheapest path at 60 Hz x N targets.
    const payload = JSON.stringify(
      ack
        ? { type: 'frame', sessionId: this.session, stream, seq, ts, ack: true, ...(tick === undefined ? {} : { tick }), data }
        : { type: 'frame', sessionId: this.session, stream, seq, ts, ...(tick === undefined ? {} : { tick }), data },
    );
    return { stream, seq, ack, hello: this.helloText, payload, bytes: Buffer.byteLength(payload), producedAt: performance.now() };
  }

  private renderHello(): void {
    const hello: Hello = {
      type: 'hello',
      protocol: PROTOCOL_VERSION,
      agent: agentString(this.version),
      sessionId: this.session,
      streams: [...this.streams],
      meta: this.meta,
    };
    this.helloText = JSON.stringify(hello);
  }
}
