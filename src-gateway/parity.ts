// Per-session, per-stream accounting of what a gateway received: the numbers a cutover
// compares between gateway A and gateway B, and what receipts confirm to the relay, so they
// must mean exactly the same on every gateway.
//
// Every seq from a stream's firstSeq to its lastSeq is exactly one of: received, announced
// as a gap, skipped by a restarted relay (hello.resume), or a hole (counted in `missing`).
// Only holes are stored, as ranges, so a gap or a jump millions wide costs one range.
//
// Memory stays bounded however long or hostile a session is:
// - at most MAX_MISSING_RANGES hole ranges per stream; when one more would exceed that, the
//   lowest range is forgotten. Forgotten seqs stay counted in `missing`, a late frame
//   carrying one of them can no longer be told from a repeat (so it counts as a duplicate),
//   and `upTo` never passes the lowest forgotten seq: a receipt never confirms what is not held;
// - at most MAX_STREAMS_PER_SESSION streams per session (a frame on one more is refused);
// - at most MAX_SESSIONS sessions; the least recently active one without an open
//   connection is forgotten first, and when every session has one, a new one is refused.
import type { GatewayParity, StreamParity } from '../src-shared/gateway-api';
import { GAP_REASONS, MAX_SEQ_ADVANCE, type Frame, type GapReason } from '../src-shared/protocol';
import { firstAtLeast } from '../src-shared/metrics';

export type { GatewayParity, StreamParity };

export const MAX_MISSING_RANGES = 4096;
export const MAX_STREAMS_PER_SESSION = 64;
export const MAX_SESSIONS = 1000;

/**
 * What became of one frame: `new` advanced the stream, `late` filled a hole without the
 * resend flag, `resent` was a resend the gateway did not hold, `duplicate` and
 * `resentDuplicate` were held already (dropped), `refused` was implausible (not counted).
 */
export type FrameOutcome = 'new' | 'late' | 'resent' | 'duplicate' | 'resentDuplicate' | 'refused';

function zeroGaps(): Record<GapReason, number> {
  const gaps = {} as Record<GapReason, number>;
  for (const reason of GAP_REASONS) gaps[reason] = 0;
  return gaps;
}

export class StreamRecord {
  framesIn = 0;
  acked = 0;
  lastFrameTs: number | null = null;
  firstSeq: number | null = null;
  lastSeq: number | null = null;
  missing = 0;
  readonly gapped = zeroGaps();
  sourceGaps = 0;
  duplicates = 0;
  resent = 0;
  resentDuplicates = 0;
  outOfOrder = 0;
  /** Seqs a restarted relay said it skipped (hello.resume): not produced, so not missing. */
  restartSkipped = 0;
  endedAt: number | null = null;
  /** Ticks between consecutive frames when the source skipped nothing (hello.tickStrides). */
  tickStride = 1;
  /** Ticks the source skipped, found by the last recorded frame (a field, not a result object: hot path). */
  lastSourceGap = 0;
  private lastTick: number | null = null;
  private lastTickSeq = 0;
  // Disjoint, ascending, inclusive hole ranges; parallel arrays keep the in-order hot path
  // allocation-free.
  private readonly holeLo: number[] = [];
  private readonly holeHi: number[] = [];
  // The span of every hole range forgotten to the MAX_MISSING_RANGES bound (null: none).
  private forgottenLo: number | null = null;
  private forgottenHi = 0;

  constructor(private readonly maxRanges = MAX_MISSING_RANGES) {}

  /** Whether `seq` reaches further past the highest seq than any real relay could. */
  exceedsAdvance(seq: number): boolean {
    return seq - (this.lastSeq ?? 0) > MAX_SEQ_ADVANCE;
  }

  record(seq: number, ts: number, tick: number | undefined, resend = false): FrameOutcome {
    this.lastSourceGap = 0;
    const lastSeq = this.lastSeq;
    const firstSeq = this.firstSeq;
    if (lastSeq === null || firstSeq === null) {
      if (this.exceedsAdvance(seq)) return 'refused';
      this.firstSeq = seq;
      this.lastSeq = seq;
      this.lastFrameTs = ts;
      this.setTick(seq, tick);
      return this.counted(resend, 'new');
    }
    if (seq > lastSeq) {
      if (this.exceedsAdvance(seq)) return 'refused';
      if (seq > lastSeq + 1) this.addHole(lastSeq + 1, seq - 1, false);
      // The seq distance already accounts for ticks carried by frames lost or gapped on
      // the way; only the jump beyond it was skipped at the source.
      if (tick !== undefined && this.lastTick !== null) {
        const sourceGap = Math.max(0, tick - this.lastTick - this.tickStride * (seq - this.lastTickSeq));
        this.sourceGaps += sourceGap;
        this.lastSourceGap = sourceGap;
      }
      this.setTick(seq, tick);
      this.lastSeq = seq;
      this.lastFrameTs = ts;
      if (this.endedAt !== null && seq > this.endedAt) this.endedAt = null;
      return this.counted(resend, 'new');
    }
    if (seq < firstSeq) {
      // Arrived ahead of frames sent before it: the stream really started earlier, and
      // anything between is missing until it arrives.
      if (seq < firstSeq - 1) this.addHole(seq + 1, firstSeq - 1, true);
      this.firstSeq = seq;
      return this.counted(resend, 'late');
    }
    if (this.takeHoles(seq, seq) === 1) {
      this.missing--;
      return this.counted(resend, 'late');
    }
    if (resend) {
      this.resentDuplicates++;
      return 'resentDuplicate';
    }
    this.duplicates++;
    return 'duplicate';
  }

  /**
   * Seqs from..to were deliberately not given to this gateway: counts those neither held
   * nor already accounted for into `gapped[reason]` (holes among them stop being missing),
   * and returns how many that was. The caller checks exceedsAdvance(to) first.
   */
  gap(from: number, to: number, reason: GapReason): number {
    const first = this.firstSeq;
    const last = this.lastSeq;
    let counted = 0;
    if (first === null || last === null) {
      this.firstSeq = from;
      this.lastSeq = to;
      counted = to - from + 1;
    } else {
      const lo = Math.max(from, first);
      const hi = Math.min(to, last);
      if (lo <= hi) {
        const filled = this.takeHoles(lo, hi);
        this.missing -= filled;
        counted += filled;
      }
      if (from < first) {
        const top = Math.min(to, first - 1);
        counted += top - from + 1;
        if (top < first - 1) this.addHole(top + 1, first - 1, true);
        this.firstSeq = from;
      }
      if (to > last) {
        const bottom = Math.max(from, last + 1);
        counted += to - bottom + 1;
        if (bottom > last + 1) this.addHole(last + 1, bottom - 1, false);
        this.lastSeq = to;
        if (this.endedAt !== null && to > this.endedAt) this.endedAt = null;
      }
    }
    this.gapped[reason] += counted;
    return counted;
  }

  /**
   * The relay is done with the stream at `last`: seqs above the highest up to it never
   * came. A stream with nothing yet counts nothing, since where it would have started for
   * this gateway is unknown. The caller checks exceedsAdvance(last) first.
   */
  end(last: number): void {
    if (this.lastSeq !== null && last > this.lastSeq) {
      this.addHole(this.lastSeq + 1, last, false);
      this.lastSeq = last;
    }
    this.endedAt = last;
  }

  /** Seqs a resume mark would skip past the highest seq held (0 for an empty stream, where a mark changes nothing). */
  resumeSkip(seq: number): number {
    return this.lastSeq === null ? 0 : Math.max(0, seq - this.lastSeq - 1);
  }

  /** The relay restarted and continues at `seq`: what lies between was never sent by it. */
  resumeAt(seq: number): void {
    const skip = this.resumeSkip(seq);
    if (skip === 0) return;
    this.restartSkipped += skip;
    this.lastSeq = seq - 1;
    // The sim went on while the relay was down: that is not a gap at the source.
    this.lastTick = null;
  }

  /** Every seq from firstSeq up to this one is received, gapped or skipped (0: nothing yet). */
  upTo(): number {
    if (this.lastSeq === null) return 0;
    let upTo = this.lastSeq;
    const lowestHole = this.holeLo[0];
    if (lowestHole !== undefined) upTo = lowestHole - 1;
    if (this.forgottenLo !== null && this.forgottenLo - 1 < upTo) upTo = this.forgottenLo - 1;
    return upTo;
  }

  /**
   * Up to `max` ranges above upTo() not held, lowest first. The forgotten span is listed
   * whole: it may hold some seqs, but claiming it lacks them only costs a resend.
   */
  lacking(max: number): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    const push = (lo: number, hi: number): void => {
      const prev = out[out.length - 1];
      if (prev && lo <= prev[1] + 1) prev[1] = Math.max(prev[1], hi);
      else out.push([lo, hi]);
    };
    let forgotten = this.forgottenLo !== null;
    for (let i = 0; i < this.holeLo.length; i++) {
      const lo = this.holeLo[i] as number;
      if (forgotten && (this.forgottenLo as number) <= lo) {
        push(this.forgottenLo as number, this.forgottenHi);
        forgotten = false;
      }
      if (out.length > max) break;
      push(lo, this.holeHi[i] as number);
    }
    if (forgotten) push(this.forgottenLo as number, this.forgottenHi);
    return out.slice(0, max);
  }

  toJSON(): StreamParity {
    return {
      framesIn: this.framesIn,
      acked: this.acked,
      lastFrameTs: this.lastFrameTs,
      firstSeq: this.firstSeq,
      lastSeq: this.lastSeq,
      upTo: this.upTo(),
      missing: this.missing,
      gapped: { ...this.gapped },
      sourceGaps: this.sourceGaps,
      restartSkipped: this.restartSkipped,
      duplicates: this.duplicates,
      resent: this.resent,
      resentDuplicates: this.resentDuplicates,
      outOfOrder: this.outOfOrder,
      endedAt: this.endedAt,
    };
  }

  /** Hole ranges still remembered individually (for tests and support). */
  rememberedRanges(): Array<[number, number]> {
    return this.holeLo.map((lo, i) => [lo, this.holeHi[i] as number]);
  }

  private counted(resend: boolean, outcome: 'new' | 'late'): FrameOutcome {
    this.framesIn++;
    if (resend) {
      this.resent++;
      return 'resent';
    }
    if (outcome === 'late') this.outOfOrder++;
    return outcome;
  }

  private setTick(seq: number, tick: number | undefined): void {
    this.lastTick = tick ?? null;
    this.lastTickSeq = seq;
  }

  /** A new hole below every other (`lowest`) or above every other. */
  private addHole(lo: number, hi: number, lowest: boolean): void {
    this.missing += hi - lo + 1;
    if (lowest) {
      this.holeLo.unshift(lo);
      this.holeHi.unshift(hi);
    } else {
      this.holeLo.push(lo);
      this.holeHi.push(hi);
    }
    this.trim();
  }

  private trim(): void {
    while (this.holeLo.length > this.maxRanges) {
      const lo = this.holeLo.shift() as number;
      const hi = this.holeHi.shift() as number;
      if (this.forgottenLo === null || lo < this.forgottenLo) this.forgottenLo = lo;
      if (hi > this.forgottenHi) this.forgottenHi = hi;
    }
  }

  /** Removes lo..hi from the holes; returns how many seqs of it were holes. */
  private takeHoles(lo: number, hi: number): number {
    const L = this.holeLo;
    const H = this.holeHi;
    // First hole ending at or above lo.
    let i = firstAtLeast(H, lo);
    if (i >= L.length) return 0;
    const firstLo = L[i] as number;
    const firstHi = H[i] as number;
    if (firstLo < lo && firstHi > hi) {
      // Strictly inside one hole: split it in two.
      H[i] = lo - 1;
      L.splice(i + 1, 0, hi + 1);
      H.splice(i + 1, 0, firstHi);
      this.trim();
      return hi - lo + 1;
    }
    let taken = 0;
    if (firstLo < lo) {
      taken += firstHi - lo + 1;
      H[i] = lo - 1;
      i++;
    }
    let j = i;
    while (j < L.length && (H[j] as number) <= hi) {
      taken += (H[j] as number) - (L[j] as number) + 1;
      j++;
    }
    if (j < L.length && (L[j] as number) <= hi) {
      taken += hi - (L[j] as number) + 1;
      L[j] = hi + 1;
    }
    if (j > i) {
      L.splice(i, j - i);
      H.splice(i, j - i);
    }
    return taken;
  }
}

export class SessionRecord {
  readonly streams = new Map<string, StreamRecord>();
  lastError: string | null = null;
  /** Source ticks between frames per stream, from the latest hello; applied to streams made later. */
  readonly tickStrides = new Map<string, number>();
  /** Open connections greeted for this session: while any, the session is never evicted. */
  openConnections = 0;
  /** When a frame, gap or end last touched it, on its book's clock (0: never). */
  activeAt = 0;

  constructor(readonly sessionId: string) {}

  /** The stream's record, created on first use; undefined when the session already has too many streams. */
  stream(name: string): StreamRecord | undefined {
    let record = this.streams.get(name);
    if (!record) {
      if (this.streams.size >= MAX_STREAMS_PER_SESSION) return undefined;
      record = new StreamRecord();
      record.tickStride = this.tickStrides.get(name) ?? 1;
      this.streams.set(name, record);
    }
    return record;
  }

  record(frame: Frame): FrameOutcome | undefined {
    return this.stream(frame.stream)?.record(frame.seq, frame.ts, frame.tick, frame.resend === true);
  }

  toJSON(): GatewayParity {
    const streams: Record<string, StreamParity> = {};
    let duplicates = 0;
    let outOfOrder = 0;
    let missing = 0;
    let resent = 0;
    let resentDuplicates = 0;
    for (const [name, s] of this.streams) {
      streams[name] = s.toJSON();
      duplicates += s.duplicates;
      outOfOrder += s.outOfOrder;
      missing += s.missing;
      resent += s.resent;
      resentDuplicates += s.resentDuplicates;
    }
    return { sessionId: this.sessionId, streams, duplicates, outOfOrder, missing, resent, resentDuplicates, lastError: this.lastError };
  }
}

export class ParityBook {
  private readonly records = new Map<string, SessionRecord>();
  // A counter, not a clock: cheap on the hot path, and orders activity exactly.
  private clock = 0;

  constructor(private readonly maxSessions = MAX_SESSIONS) {}

  /**
   * The session's record, created if new. When the book is full, the least recently active
   * session without an open connection makes room (never-active ones first, oldest first);
   * null when every session has one.
   */
  open(sessionId: string): SessionRecord | null {
    const existing = this.records.get(sessionId);
    if (existing) return existing;
    if (this.records.size >= this.maxSessions) {
      let victim: SessionRecord | null = null;
      for (const record of this.records.values()) {
        if (record.openConnections > 0) continue;
        if (!victim || record.activeAt < victim.activeAt) victim = record;
      }
      if (!victim) return null;
      this.records.delete(victim.sessionId);
    }
    const record = new SessionRecord(sessionId);
    this.records.set(sessionId, record);
    return record;
  }

  /** A frame, gap or end arrived for the session. */
  touch(record: SessionRecord): void {
    record.activeAt = ++this.clock;
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
