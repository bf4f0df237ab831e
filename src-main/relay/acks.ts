// Sampled acks: the frames that asked for one, matched on (session, stream, seq) when the
// gateway answers, and the window of their latencies.
import { SampleWindow } from '../../src-shared/metrics';

/** Acks awaited at most: a gateway that never acks cannot grow the table without limit. */
const MAX_PENDING = 10_000;

export class AckTracker {
  /** performance.now() of each frame written with an ack request, in send order. */
  private readonly pending = new Map<string, number>();
  private readonly window: SampleWindow;
  /** Asked for and never answered in time (or the socket that carried the frame closed). */
  missing = 0;
  lastLatencyMs: number | null = null;

  constructor(samples: number) {
    this.window = new SampleWindow(samples);
  }

  track(sessionId: string, stream: string, seq: number, at: number): void {
    if (this.pending.size >= MAX_PENDING) {
      const oldest = this.pending.keys().next().value as string;
      this.pending.delete(oldest);
      this.missing++;
    }
    this.pending.set(ackKey(sessionId, stream, seq), at);
  }

  /** An ack from the gateway: true when it was awaited (its latency is then recorded). */
  answered(sessionId: string, stream: string, seq: number): boolean {
    const key = ackKey(sessionId, stream, seq);
    const at = this.pending.get(key);
    if (at === undefined) return false; // late (already counted missing) or never asked
    this.pending.delete(key);
    const latency = performance.now() - at;
    this.lastLatencyMs = Math.round(latency * 10) / 10;
    this.window.add(latency);
    return true;
  }

  /** Acks asked for before `cutoff` (performance.now()) will not come: counted missing. */
  expire(cutoff: number): void {
    for (const [key, at] of this.pending) {
      if (at >= cutoff) break; // insertion order is send order
      this.pending.delete(key);
      this.missing++;
    }
  }

  /** The socket closed: acks can only come back on the socket that carried the frame. */
  socketClosed(): void {
    this.missing += this.pending.size;
    this.pending.clear();
  }

  /** The run is over: what is still awaited is neither answered nor missing. */
  clear(): void {
    this.pending.clear();
  }

  summary() {
    return this.window.summary();
  }

  values(): readonly number[] {
    return this.window.values();
  }
}

function ackKey(sessionId: string, stream: string, seq: number): string {
  return `${sessionId}\u0000${stream}\u0000${seq}`;
}
