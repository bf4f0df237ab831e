// A bounded FIFO of outgoing frames, capped in frames and in bytes. Live telemetry values
// the newest sample most, so when full it gives up the oldest and says how many it gave up.

export interface OutgoingFrame {
  readonly sessionId: string;
  readonly stream: string;
  readonly seq: number;
  /**
   * The hello of the session this frame belongs to. A target announces it before the first
   * frame of that session on each connection, in queue order, so frames of an old session
   * still queued at a session change never reach a gateway under the new session's hello.
   */
  readonly hello: string;
  /** Asks the gateway for an ack: the same answer for every target. */
  readonly ack: boolean;
  /**
   * The frame's JSON text, serialised and UTF-8 encoded once and shared by every target's
   * queue: each socket then masks a copy of these bytes, instead of encoding the text again.
   */
  readonly payload: Buffer;
  /** payload.length: what the queue's byte cap counts. */
  readonly bytes: number;
  /** performance.now() when the frame was produced. */
  readonly producedAt: number;
}

// A ring buffer rather than Array.shift(): shift is O(n) on large arrays, and a stalled
// target's queue sits at its cap, shifting on every frame.
export class FrameQueue {
  private items: (OutgoingFrame | undefined)[];
  private head = 0;
  private count = 0;
  private byteCount = 0;

  constructor(
    private maxFrames: number,
    private maxBytes: number,
  ) {
    this.items = new Array<OutgoingFrame | undefined>(Math.min(maxFrames, 1024));
  }

  get length(): number {
    return this.count;
  }

  get bytes(): number {
    return this.byteCount;
  }

  /** Adds a frame; returns how many frames were dropped to make room (each also given to onDrop). */
  push(frame: OutgoingFrame, onDrop?: (dropped: OutgoingFrame) => void): number {
    // A frame larger than the whole byte cap can never fit: it alone is dropped.
    if (frame.bytes > this.maxBytes) {
      onDrop?.(frame);
      return 1;
    }
    let dropped = 0;
    while (this.count > 0 && (this.count >= this.maxFrames || this.byteCount + frame.bytes > this.maxBytes)) {
      const old = this.shift() as OutgoingFrame;
      onDrop?.(old);
      dropped++;
    }
    if (this.count === this.items.length) this.grow();
    this.items[(this.head + this.count) % this.items.length] = frame;
    this.count++;
    this.byteCount += frame.bytes;
    return dropped;
  }

  peek(): OutgoingFrame | undefined {
    return this.count > 0 ? this.items[this.head] : undefined;
  }

  shift(): OutgoingFrame | undefined {
    if (this.count === 0) return undefined;
    const frame = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) % this.items.length;
    this.count--;
    this.byteCount -= frame?.bytes ?? 0;
    return frame;
  }

  /** Empties the queue; returns how many frames it held (each also given to onDrop). */
  clear(onDrop?: (dropped: OutgoingFrame) => void): number {
    const n = this.count;
    if (onDrop) for (let i = 0; i < this.count; i++) onDrop(this.items[(this.head + i) % this.items.length] as OutgoingFrame);
    this.items = new Array<OutgoingFrame | undefined>(Math.min(this.maxFrames, 1024));
    this.head = 0;
    this.count = 0;
    this.byteCount = 0;
    return n;
  }

  /** New caps apply at once; returns how many of the oldest frames no longer fit. */
  resize(maxFrames: number, maxBytes: number, onDrop?: (dropped: OutgoingFrame) => void): number {
    this.maxFrames = maxFrames;
    this.maxBytes = maxBytes;
    let dropped = 0;
    while (this.count > 0 && (this.count > this.maxFrames || this.byteCount > this.maxBytes)) {
      const old = this.shift() as OutgoingFrame;
      onDrop?.(old);
      dropped++;
    }
    return dropped;
  }

  private grow(): void {
    const next = new Array<OutgoingFrame | undefined>(Math.min(this.items.length * 2, Math.max(this.maxFrames, 1)));
    for (let i = 0; i < this.count; i++) next[i] = this.items[(this.head + i) % this.items.length];
    this.items = next;
    this.head = 0;
  }
}
