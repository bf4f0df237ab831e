// What one target still owes its gateway for one session: frames written but not yet
// confirmed (held for a resend), seqs to announce as gaps, and the last seq of each stream
// for the `end`. It outlives connections: a new socket greets the session again and the
// gateway's welcome settles what the old socket left open.
import type { GapReason, StreamReceipt } from '../../src-shared/protocol';
import type { OutgoingFrame } from './queue';
import { getOrAdd } from './maps';

export interface GapRange {
  from: number;
  to: number;
  reason: GapReason;
}

export interface Unconfirmed {
  frame: OutgoingFrame;
  /** False once the frame no longer fits the target's caps: it cannot be resent. */
  retained: boolean;
}

export interface Resolution {
  confirmed: number;
  /** Not held by the gateway and still resendable, in seq order. */
  resend: Unconfirmed[];
  /** Not held by the gateway and no longer resendable. */
  lost: number;
}

export class StreamOut {
  /** The first seq of this session given to the target: what lies below it was never its own. */
  firstGiven: number | null = null;
  lastGiven = 0;
  /** Announced `beforeAdded` already (once per session). */
  beforeAddedDone = false;
  private gaps: GapRange[] = [];
  /**
   * Gaps written to a link that no receipt has yet shown the gateway passing. One written to a
   * link that died unread would otherwise hold the gateway's contiguous mark below it for
   * good, and every later frame would stay unconfirmed: a welcome announces these again (the
   * gateway counts a repeated gap once).
   */
  private announced: GapRange[] = [];
  private unconfirmed: Unconfirmed[] = [];
  private head = 0;

  given(seq: number): void {
    if (this.firstGiven === null) this.firstGiven = seq;
    this.lastGiven = seq;
  }

  addGap(from: number, to: number, reason: GapReason): void {
    const last = this.gaps[this.gaps.length - 1];
    if (last && last.reason === reason && last.to + 1 === from) last.to = to;
    else this.gaps.push({ from, to, reason });
  }

  /** Gap announcements not sent yet, oldest first; they are sent now. */
  takeGaps(): GapRange[] {
    const out = this.gaps;
    this.gaps = [];
    // The same records: once taken, nothing here changes them (addGap extends only this.gaps).
    this.announced.push(...out);
    return out;
  }

  get hasGaps(): boolean {
    return this.gaps.length > 0;
  }

  written(entry: Unconfirmed): void {
    this.unconfirmed.push(entry);
  }

  get unconfirmedCount(): number {
    return this.unconfirmed.length - this.head;
  }

  /** The oldest unconfirmed frame, for its age. */
  oldestUnconfirmed(): Unconfirmed | undefined {
    return this.unconfirmed[this.head];
  }

  /**
   * A receipt: every frame from `from` up to `upTo` is held; returns those now confirmed. A
   * frame below `from` is not in the gateway's record at all: it stays unconfirmed (and so
   * does what follows it) until a welcome settles it.
   */
  confirmUpTo(upTo: number, from = 0): Unconfirmed[] {
    if (this.announced.length > 0) this.announced = this.announced.filter((g) => g.to > upTo);
    const start = this.head;
    for (; this.head < this.unconfirmed.length; this.head++) {
      const seq = (this.unconfirmed[this.head] as Unconfirmed).frame.seq;
      if (seq > upTo || seq < from) break;
    }
    const done = this.unconfirmed.slice(start, this.head);
    // Compact now and then, so the array does not grow for the life of the session.
    if (this.head > 256 && this.head * 2 > this.unconfirmed.length) {
      this.unconfirmed = this.unconfirmed.slice(this.head);
      this.head = 0;
    }
    return done;
  }

  /**
   * A welcome after a reconnect: what the gateway holds is confirmed, the rest is resent if
   * still held here, else lost. Held: from `from` to `upTo`, and above it up to `highest`
   * outside every `lacking` range (a needless resend is harmless: the gateway drops it and
   * counts it apart).
   */
  resolve(holds: StreamReceipt | undefined, onConfirmed: (u: Unconfirmed) => void, onLost: (u: Unconfirmed) => void): Resolution {
    const from = holds?.from ?? 0;
    const confirmedBelow = this.confirmUpTo(holds?.upTo ?? 0, from);
    confirmedBelow.forEach(onConfirmed);
    // What is still announced here, the gateway's mark has not passed: say it again first.
    if (this.announced.length > 0) {
      this.gaps = [...this.announced, ...this.gaps];
      this.announced = [];
    }
    const resolution: Resolution = { confirmed: confirmedBelow.length, resend: [], lost: 0 };
    if (this.unconfirmedCount === 0) return resolution;
    const lacking = holds?.lacking ?? [];
    const highest = holds?.highest ?? 0;
    const held = (seq: number) => seq >= from && seq <= highest && !lacking.some(([lo, hi]) => seq >= lo && seq <= hi);
    const keep: Unconfirmed[] = [];
    for (let i = this.head; i < this.unconfirmed.length; i++) {
      const u = this.unconfirmed[i] as Unconfirmed;
      if (held(u.frame.seq)) {
        resolution.confirmed++;
        onConfirmed(u);
      } else if (u.retained) {
        keep.push(u);
        resolution.resend.push(u);
      } else {
        resolution.lost++;
        onLost(u);
      }
    }
    this.unconfirmed = keep;
    this.head = 0;
    return resolution;
  }

  /** Gives up on every unconfirmed frame (the run ends): returns them. */
  abandon(): Unconfirmed[] {
    const out = this.unconfirmed.slice(this.head);
    this.unconfirmed = [];
    this.head = 0;
    return out;
  }

  /** Releases the oldest retained frames beyond `keep` (caps lowered): they can no longer be resent. */
  release(keep: number): number {
    let retained = 0;
    let released = 0;
    for (let i = this.unconfirmed.length - 1; i >= this.head; i--) {
      const u = this.unconfirmed[i] as Unconfirmed;
      if (!u.retained) continue;
      if (retained < keep) retained++;
      else {
        u.retained = false;
        released++;
      }
    }
    return released;
  }
}

const newStreamOut = () => new StreamOut();

export class SessionOutbox {
  readonly streams = new Map<string, StreamOut>();
  /** The relay moved on to another session, or the run is ending: an `end` is owed. */
  ended = false;
  /** The gateway answered the `end` with its final receipt. */
  endConfirmed = false;

  constructor(
    readonly sessionId: string,
    /** The latest hello of the session (its meta may change without a new session). */
    public hello: string,
  ) {}

  stream(name: string): StreamOut {
    return getOrAdd(this.streams, name, newStreamOut);
  }

  get unconfirmedCount(): number {
    let n = 0;
    for (const s of this.streams.values()) n += s.unconfirmedCount;
    return n;
  }

  get hasGaps(): boolean {
    for (const s of this.streams.values()) if (s.hasGaps) return true;
    return false;
  }

  /** The last seq of each stream given to the target, for the `end`. */
  lastSeqs(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, s] of this.streams) if (s.lastGiven > 0) out[name] = s.lastGiven;
    return out;
  }

  /** Nothing of the session was given to the target: no `end` is owed for it. */
  get empty(): boolean {
    return this.streams.size === 0;
  }

  /** Nothing more to do for this session with any gateway connection. */
  get settled(): boolean {
    return this.ended && (this.endConfirmed || this.empty) && this.unconfirmedCount === 0 && !this.hasGaps;
  }
}
