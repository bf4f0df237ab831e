// Per-session, per-stream accounting of what a gateway received: the numbers a cutover
// compares between gateway A and gateway B, so they must mean exactly the same on both.
//
// Memory stays bounded however long or hostile a session is:
// - missing seqs are remembered as ranges, at most MAX_MISSING_RANGES per stream; when a
//   new gap would exceed that, the lowest (oldest) range is forgotten. Forgotten seqs stay
//   counted in `missing`, and a late frame carrying one of them can no longer be told from
//   a repeat, so it is classified as a duplicate;
// - at most MAX_STREAMS_PER_SESSION streams per session (a frame on one more is refused);
// - at most MAX_SESSIONS sessions; the least recently greeted one is forgotten first.
import type { Frame } from '../src-shared/protocol';

export const MAX_MISSING_RANGES = 4096;
export const MAX_STREAMS_PER_SESSION = 64;
export const MAX_SESSIONS = 1000;

export interface StreamParity {
  framesIn: number;
  acked: number;
  lastFrameTs: number | null;
  firstSeq: number | null;
  lastSeq: number | null;
  missing: number;
  sourceGaps: number;
  restartSkipped: number;
}

export interface GatewayParity {
  sessionId: string;
  streams: Record<string, StreamParity>;
  duplicates: number;
  outOfOrder: number;
  missing: number;
  lastError: string | null;
}

/** What became of one frame: `new` advanced the stream, `late` filled a gap, `duplicate` was seen before. */
export type FrameOutcome = 'new' | 'late' | 'duplicate';

export interface RecordResult {
  outcome: FrameOutcome;
  /** Seqs newly found missing by this frame (a gap it opened). */
  gap: number;
  /** Ticks the source skipped, found by this frame. */
  sourceGap: number;
}

export class StreamRecord {
  framesIn = 0;
  acked = 0;
  lastFrameTs: number | null = null;
  firstSeq: number | null = null;
  lastSeq: number | null = null;
  missing = 0;
  sourceGaps = 0;
  duplicates = 0;
  outOfOrder = 0;
  /** Seqs a restarted relay said it skipped (hello.resume): not produced, so not missing. */
  restartSkipped = 0;
  /** Ticks between consecutive frames when the source skipped nothing (hello.tickStrides). */
  tickStride = 1;
  private lastTick: number | null = null;
  // Disjoint, ascending, inclusive ranges of seqs not yet received; parallel arrays keep the
  // in-order hot path allocation-free.
  private readonly gapLo: number[] = [];
  private readonly gapHi: number[] = [];

  constructor(private readonly maxRanges = MAX_MISSING_RANGES) {}

  record(seq: number, ts: number, tick: number | undefined): RecordResult {
    const lastSeq = this.lastSeq;
    if (lastSeq === null || this.firstSeq === null) {
      this.firstSeq = seq;
      this.lastSeq = seq;
      this.lastFrameTs = ts;
      this.lastTick = tick ?? null;
      this.framesIn++;
      return { outcome: 'new', gap: 0, sourceGap: 0 };
    }
    if (seq > lastSeq) {
      const gap = seq - lastSeq - 1;
      if (gap > 0) {
        this.missing += gap;
        this.pushRange(lastSeq + 1, seq - 1);
      }
      // The seq gap already accounts for ticks carried by frames lost in transport; only
      // the jump beyond it was skipped at the source.
      let sourceGap = 0;
      if (tick !== undefined && this.lastTick !== null) {
        sourceGap = Math.max(0, tick - this.lastTick - this.tickStride * (seq - lastSeq));
        this.sourceGaps += sourceGap;
      }
      this.lastTick = tick ?? null;
      this.lastSeq = seq;
      this.lastFrameTs = ts;
      this.framesIn++;
      return { outcome: 'new', gap, sourceGap };
    }
    if (seq < this.firstSeq) {
      // Arrived ahead of frames sent before it (e.g. the first two frames swapped): the
      // stream really started earlier, and anything between is missing until it arrives.
      const gap = this.firstSeq - seq - 1;
      if (gap > 0) {
        this.missing += gap;
        this.unshiftRange(seq + 1, this.firstSeq - 1);
      }
      this.firstSeq = seq;
      this.framesIn++;
      this.outOfOrder++;
      return { outcome: 'late', gap, sourceGap: 0 };
    }
    if (this.takeMissing(seq)) {
      this.missing--;
      this.framesIn++;
      this.outOfOrder++;
      return { outcome: 'late', gap: 0, sourceGap: 0 };
    }
    this.duplicates++;
    return { outcome: 'duplicate', gap: 0, sourceGap: 0 };
  }

  /** The relay restarted and continues at `seq`: what lies between was never sent by it. */
  resumeAt(seq: number): void {
    if (this.lastSeq === null || seq <= this.lastSeq + 1) return;
    this.restartSkipped += seq - this.lastSeq - 1;
    this.lastSeq = seq - 1;
    // The sim went on while the relay was down: that is not a gap at the source.
    this.lastTick = null;
  }

  toJSON(): StreamParity {
    return {
      framesIn: this.framesIn,
      acked: this.acked,
      lastFrameTs: this.lastFrameTs,
      firstSeq: this.firstSeq,
      lastSeq: this.lastSeq,
      missing: this.missing,
      sourceGaps: this.sourceGaps,
      restartSkipped: this.restartSkipped,
    };
  }

  /** Missing seqs still remembered individually (for tests and support). */
  rememberedRanges(): Array<[number, number]> {
    return this.gapLo.map((lo, i) => [lo, this.gapHi[i] as number]);
  }

  private pushRange(lo: number, hi: number): void {
    this.gapLo.push(lo);
    this.gapHi.push(hi);
    this.trim();
  }

  private unshiftRange(lo: number, hi: number): void {
    this.gapLo.unshift(lo);
    this.gapHi.unshift(hi);
    this.trim();
  }

  private trim(): void {
    while (this.gapLo.length > this.maxRanges) {
      this.gapLo.shift();
      this.gapHi.shift();
    }
  }

  private takeMissing(seq: number): boolean {
    const lo = this.gapLo;
    const hi = this.gapHi;
    let a = 0;
    let b = lo.length - 1;
    while (a <= b) {
      const mid = (a + b) >>> 1;
      const l = lo[mid] as number;
      const h = hi[mid] as number;
      if (seq < l) b = mid - 1;
      else if (seq > h) a = mid + 1;
      else {
        if (l === h) {
          lo.splice(mid, 1);
          hi.splice(mid, 1);
        } else if (seq === l) lo[mid] = l + 1;
        else if (seq === h) hi[mid] = h - 1;
        else {
          hi[mid] = seq - 1;
          lo.splice(mid + 1, 0, seq + 1);
          hi.splice(mid + 1, 0, h);
          this.trim();
        }
        return true;
      }
    }
    return false;
  }
}

export class SessionRecord {
  readonly streams = new Map<string, StreamRecord>();
  lastError: string | null = null;

  constructor(readonly sessionId: string) {}

  /** The stream's record, created on first use; undefined when the session already has too many streams. */
  stream(name: string): StreamRecord | undefined {
    let record = this.streams.get(name);
    if (!record) {
      if (this.streams.size >= MAX_STREAMS_PER_SESSION) return undefined;
      record = new StreamRecord();
      this.streams.set(name, record);
    }
    return record;
  }

  record(frame: Frame): RecordResult | undefined {
    return this.stream(frame.stream)?.record(frame.seq, frame.ts, frame.tick);
  }

  toJSON(): GatewayParity {
    const streams: Record<string, StreamParity> = {};
    let duplicates = 0;
    let outOfOrder = 0;
    let missing = 0;
    for (const [name, s] of this.streams) {
      streams[name] = s.toJSON();
      duplicates += s.duplicates;
      outOfOrder += s.outOfOrder;
      missing += s.missing;
    }
    return { sessionId: this.sessionId, streams, duplicates, outOfOrder, missing, lastError: this.lastError };
  }
}

export class ParityBook {
  private readonly records = new Map<string, SessionRecord>();

  constructor(private readonly maxSessions = MAX_SESSIONS) {}

  /** The session's record, created if new; marks it as recently used so it is evicted last. */
  open(sessionId: string): SessionRecord {
    let record = this.records.get(sessionId);
    if (record) {
      this.records.delete(sessionId);
    } else {
      record = new SessionRecord(sessionId);
      while (this.records.size >= this.maxSessions) {
        const oldest = this.records.keys().next().value;
        if (oldest === undefined) break;
        this.records.delete(oldest);
      }
    }
    this.records.set(sessionId, record);
    return record;
  }

  get(sessionId: string): SessionRecord | undefined {
    return this.records.get(sessionId);
  }

  sessions(): string[] {
    return [...this.records.keys()];
  }

  totalMissing(): number {
    let missing = 0;
    for (const session of this.records.values()) {
      for (const s of session.streams.values()) missing += s.missing;
    }
    return missing;
  }
}
