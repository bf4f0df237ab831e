// The parity arithmetic on its own: the numbers gateways A and B are compared by, and what
// receipts confirm to the relay.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { GAP_REASONS, MAX_LACKING_RANGES, MAX_MESSAGE_BYTES, MAX_SEQ_ADVANCE, ReceiptSchema, type GapReason } from '../src-shared/protocol';
import { MAX_STREAMS_PER_SESSION, ParityBook, SessionRecord, StreamRecord } from '../src-gateway/parity';
import { lackingCap, receiptMessage, ReceiptPacer, streamReceipt } from '../src-gateway/receipts';

function feed(record: StreamRecord, seqs: number[], resend = false): string[] {
  return seqs.map((seq) => record.record(seq, seq * 10, undefined, resend));
}

function gaps(partial: Partial<Record<GapReason, number>> = {}): Record<GapReason, number> {
  return { ...(Object.fromEntries(GAP_REASONS.map((r) => [r, 0])) as Record<GapReason, number>), ...partial };
}

describe('StreamRecord', () => {
  it('counts an in-order stream with no holes', () => {
    const s = new StreamRecord();
    expect(feed(s, [1, 2, 3])).toEqual(['new', 'new', 'new']);
    expect(s.toJSON()).toEqual({
      framesIn: 3,
      acked: 0,
      lastFrameTs: 30,
      firstSeq: 1,
      lastSeq: 3,
      upTo: 3,
      missing: 0,
      gapped: gaps(),
      sourceGaps: 0,
      restartSkipped: 0,
      duplicates: 0,
      resent: 0,
      resentDuplicates: 0,
      outOfOrder: 0,
      endedAt: null,
    });
  });

  it('adds a jump to missing and takes late arrivals back out as out-of-order', () => {
    const s = new StreamRecord();
    feed(s, [10, 14]);
    expect(s.missing).toBe(3);
    expect(s.upTo()).toBe(10);
    expect(feed(s, [12, 12, 11, 13, 13, 14, 10])).toEqual(['late', 'duplicate', 'late', 'late', 'duplicate', 'duplicate', 'duplicate']);
    expect(s.toJSON()).toMatchObject({ missing: 0, outOfOrder: 3, duplicates: 4, framesIn: 5, upTo: 14 });
    expect(s.rememberedRanges()).toEqual([]);
    // lastFrameTs follows the highest seq, not the latest arrival.
    expect(s.lastFrameTs).toBe(140);
  });

  it('splits a hole when a frame from its middle arrives', () => {
    const s = new StreamRecord();
    feed(s, [1, 10]);
    feed(s, [5]);
    expect(s.rememberedRanges()).toEqual([[2, 4], [6, 9]]);
    feed(s, [2, 9, 7]);
    expect(s.rememberedRanges()).toEqual([[3, 4], [6, 6], [8, 8]]);
    expect(s.missing).toBe(4);
    expect(s.upTo()).toBe(2);
    expect(s.lacking(64)).toEqual([[3, 4], [6, 6], [8, 8]]);
    expect(s.lacking(2)).toEqual([[3, 4], [6, 6]]);
  });

  it('treats a frame below the first seq as out-of-order and extends the stream down', () => {
    const s = new StreamRecord();
    expect(feed(s, [2, 1])).toEqual(['new', 'late']);
    expect(s.toJSON()).toMatchObject({ firstSeq: 1, lastSeq: 2, missing: 0, framesIn: 2, outOfOrder: 1 });
    const t = new StreamRecord();
    feed(t, [5, 1]);
    expect(t.missing).toBe(3);
    expect(feed(t, [3])).toEqual(['late']);
    expect(t.missing).toBe(2);
  });

  it('handles a huge jump in constant memory', () => {
    const s = new StreamRecord();
    feed(s, [1, 40_000_001]);
    expect(s.missing).toBe(39_999_999);
    expect(s.rememberedRanges()).toEqual([[2, 40_000_000]]);
    expect(feed(s, [20_000_000])).toEqual(['late']);
    expect(s.missing).toBe(39_999_998);
  });

  it('refuses a frame further than MAX_SEQ_ADVANCE past the highest seq, without counting it', () => {
    const s = new StreamRecord();
    expect(feed(s, [MAX_SEQ_ADVANCE + 1])).toEqual(['refused']);
    expect(s.toJSON()).toMatchObject({ framesIn: 0, firstSeq: null, lastSeq: null });
    feed(s, [5]);
    expect(feed(s, [5 + MAX_SEQ_ADVANCE + 1, Number.MAX_SAFE_INTEGER])).toEqual(['refused', 'refused']);
    expect(feed(s, [5 + MAX_SEQ_ADVANCE])).toEqual(['new']);
    expect(s.toJSON()).toMatchObject({ framesIn: 2, lastSeq: 5 + MAX_SEQ_ADVANCE, missing: MAX_SEQ_ADVANCE - 1, duplicates: 0 });
  });

  it('counts source gaps from tick jumps beyond what lost or gapped seqs explain', () => {
    const s = new StreamRecord();
    const at = (seq: number, tick?: number): number => {
      s.record(seq, 0, tick);
      return s.lastSourceGap;
    };
    expect(at(1, 100)).toBe(0);
    expect(at(2, 101)).toBe(0);
    expect(at(3, 105)).toBe(3); // jump of 4 between consecutive frames
    expect(at(5, 107)).toBe(0); // seq 4 lost in transport carried tick 106
    expect(at(7, 112)).toBe(3); // seq 6 lost, then ticks 109..111 skipped at the source
    s.gap(8, 9, 'standby');
    expect(at(10, 115)).toBe(0); // the gapped seqs 8 and 9 carried ticks 113 and 114
    expect(at(11, 3)).toBe(0); // the source restarted its ticks
    expect(at(12, 4)).toBe(0);
    expect(at(13)).toBe(0); // no tick: nothing to compare with next
    expect(at(14, 50)).toBe(0);
    expect(at(6, 111)).toBe(0); // late frames say nothing about the source
    expect(s.sourceGaps).toBe(6);
  });
});

describe('resent frames', () => {
  it('a resend filling a hole is resent (not out-of-order); a resend of a held seq is a resent duplicate; a plain repeat a duplicate', () => {
    const s = new StreamRecord();
    feed(s, [1, 2, 5]);
    expect(feed(s, [3], true)).toEqual(['resent']);
    expect(feed(s, [2, 3], true)).toEqual(['resentDuplicate', 'resentDuplicate']);
    expect(feed(s, [2])).toEqual(['duplicate']);
    expect(feed(s, [4])).toEqual(['late']);
    expect(feed(s, [6, 7], true)).toEqual(['resent', 'resent']);
    expect(s.toJSON()).toMatchObject({ framesIn: 7, missing: 0, resent: 3, resentDuplicates: 2, duplicates: 1, outOfOrder: 1, upTo: 7 });
  });
});

describe('announced gaps', () => {
  it('counts a gap above the highest seq and moves the highest seq', () => {
    const s = new StreamRecord();
    feed(s, [1, 2]);
    expect(s.gap(3, 10, 'killSwitch')).toBe(8);
    expect(s.toJSON()).toMatchObject({ lastSeq: 10, upTo: 10, missing: 0, gapped: gaps({ killSwitch: 8 }) });
    feed(s, [11]);
    expect(s.toJSON()).toMatchObject({ framesIn: 3, missing: 0, upTo: 11 });
  });

  it('a gap that starts past the highest seq leaves the seqs before it missing', () => {
    const s = new StreamRecord();
    feed(s, [1]);
    s.gap(5, 6, 'queueFull');
    expect(s.toJSON()).toMatchObject({ lastSeq: 6, missing: 3, upTo: 1, gapped: gaps({ queueFull: 2 }) });
    expect(s.lacking(64)).toEqual([[2, 4]]);
  });

  it('turns holes it covers into gapped seqs and counts held or already gapped seqs once', () => {
    const s = new StreamRecord();
    feed(s, [1, 3, 5, 8, 20]);
    expect(s.missing).toBe(15); // 2, 4, 6..7, 9..19
    expect(s.gap(2, 10, 'standby')).toBe(6); // 2, 4, 6, 7, 9, 10; 3, 5, 8 are held
    expect(s.toJSON()).toMatchObject({ missing: 9, upTo: 10, gapped: gaps({ standby: 6 }) });
    expect(s.rememberedRanges()).toEqual([[11, 19]]);
    expect(s.gap(1, 12, 'disabled')).toBe(2); // only 11 and 12 were still holes
    expect(s.gap(1, 12, 'disabled')).toBe(0); // announced twice: counted once
    expect(s.toJSON()).toMatchObject({ missing: 7, upTo: 12, gapped: gaps({ standby: 6, disabled: 2 }) });
    // Strictly inside one hole: it splits.
    expect(s.gap(15, 16, 'removed')).toBe(2);
    expect(s.rememberedRanges()).toEqual([[13, 14], [17, 19]]);
    expect(s.missing).toBe(5);
    expect(s.framesIn).toBe(5);
  });

  it('extends the stream down for a gap below the first seq, leaving what lies between missing', () => {
    const s = new StreamRecord();
    feed(s, [10, 11]);
    expect(s.gap(3, 5, 'beforeAdded')).toBe(3);
    expect(s.toJSON()).toMatchObject({ firstSeq: 3, lastSeq: 11, missing: 4, upTo: 5, gapped: gaps({ beforeAdded: 3 }) });
    expect(s.gap(1, 12, 'deactivated')).toBe(2 + 4 + 1); // 1..2 below, 6..9 holes, 12 above
    expect(s.toJSON()).toMatchObject({ firstSeq: 1, lastSeq: 12, missing: 0, upTo: 12 });
  });

  it('starts an empty stream', () => {
    const s = new StreamRecord();
    expect(s.gap(4, 9, 'standby')).toBe(6);
    expect(s.toJSON()).toMatchObject({ firstSeq: 4, lastSeq: 9, upTo: 9, framesIn: 0, lastFrameTs: null });
    expect(feed(s, [10, 7])).toEqual(['new', 'duplicate']);
  });

  it('takes a gap millions of seqs wide over thousands of holes in range arithmetic', () => {
    const s = new StreamRecord();
    for (let seq = 1; seq <= 4001; seq += 2) s.record(seq, seq, undefined);
    expect(s.missing).toBe(2000);
    const started = performance.now();
    expect(s.gap(2, 40_000_000, 'killSwitch')).toBe(2000 + 40_000_000 - 4001);
    expect(performance.now() - started).toBeLessThan(50);
    expect(s.toJSON()).toMatchObject({ missing: 0, lastSeq: 40_000_000, upTo: 40_000_000 });
    expect(s.rememberedRanges()).toEqual([]);
  });
});

describe('end', () => {
  it('counts the tail that never came as missing and records where the stream ended', () => {
    const s = new StreamRecord();
    feed(s, [1, 2, 3]);
    s.end(7);
    expect(s.toJSON()).toMatchObject({ lastSeq: 7, missing: 4, upTo: 3, endedAt: 7 });
    expect(s.lacking(64)).toEqual([[4, 7]]);
    // A resend of the tail after the end still fills it.
    expect(feed(s, [4, 5, 6, 7], true)).toEqual(['resent', 'resent', 'resent', 'resent']);
    expect(s.toJSON()).toMatchObject({ missing: 0, upTo: 7, endedAt: 7 });
  });

  it('counts nothing for a stream with nothing yet, and an end below the highest seq changes no count', () => {
    const empty = new StreamRecord();
    empty.end(100);
    expect(empty.toJSON()).toMatchObject({ missing: 0, lastSeq: null, upTo: 0, endedAt: 100 });
    const s = new StreamRecord();
    feed(s, [1, 2, 3]);
    s.end(2);
    expect(s.toJSON()).toMatchObject({ missing: 0, lastSeq: 3, endedAt: 2 });
    // More frames after an end reopen the stream.
    feed(s, [4]);
    expect(s.endedAt).toBeNull();
  });
});

describe('receipts', () => {
  it('confirm up to the lowest hole and list the holes above it', () => {
    const s = new StreamRecord();
    expect(streamReceipt(s, 64)).toEqual({ from: 0, upTo: 0, highest: 0 });
    feed(s, [3, 4, 7, 9]);
    expect(streamReceipt(s, 64)).toEqual({ from: 3, upTo: 4, highest: 9, lacking: [[5, 6], [8, 8]] });
    s.gap(5, 6, 'standby');
    expect(streamReceipt(s, 64)).toEqual({ from: 3, upTo: 7, highest: 9, lacking: [[8, 8]] });
    feed(s, [8]);
    expect(streamReceipt(s, 64)).toEqual({ from: 3, upTo: 9, highest: 9 });
  });

  it('never confirm past a forgotten hole, even after the remembered holes are filled', () => {
    const s = new StreamRecord(2);
    feed(s, [1, 3, 5, 7]);
    expect(s.rememberedRanges()).toEqual([[4, 4], [6, 6]]); // hole 2 forgotten
    expect(s.upTo()).toBe(1);
    // A late frame of the forgotten hole cannot be told from a repeat.
    expect(feed(s, [2, 4, 6])).toEqual(['duplicate', 'late', 'late']);
    expect(s.toJSON()).toMatchObject({ missing: 1, upTo: 1 });
    expect(s.lacking(64)).toEqual([[2, 2]]);
    feed(s, [8, 10, 12, 14]);
    // The forgotten span is listed whole, merged in order with the remembered holes.
    expect(s.rememberedRanges()).toEqual([[11, 11], [13, 13]]);
    expect(s.lacking(64)).toEqual([[2, 9], [11, 11], [13, 13]]);
    expect(s.upTo()).toBe(1);
  });

  it('list at most MAX_LACKING_RANGES ranges, and fewer per stream when many streams must fit one message', () => {
    const session = new SessionRecord('s');
    for (let i = 0; i < MAX_STREAMS_PER_SESSION; i++) {
      const stream = session.stream(`stream_with_a_long_name_${String(i).padStart(6, '0')}`) as StreamRecord;
      // The largest seqs a receipt can carry, reached the only way a gateway allows: by resumes.
      stream.record(1, 0, undefined);
      stream.resumeAt(Number.MAX_SAFE_INTEGER - 1000);
      for (let k = 0; k < 200; k++) stream.record(Number.MAX_SAFE_INTEGER - 999 + 2 * k, 0, undefined);
    }
    expect(lackingCap(1)).toBe(MAX_LACKING_RANGES);
    const message = receiptMessage(session, undefined, true);
    expect(ReceiptSchema.safeParse(message).success).toBe(true);
    expect(Buffer.byteLength(JSON.stringify(message))).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
    const one = Object.values(message.streams)[0];
    expect(one?.lacking?.length).toBe(lackingCap(MAX_STREAMS_PER_SESSION));
    const single = receiptMessage(session, ['stream_with_a_long_name_000000']);
    expect(single.streams['stream_with_a_long_name_000000']?.lacking).toHaveLength(MAX_LACKING_RANGES);
    expect(single.final).toBeUndefined();
  });

  it('lower highest to just below the first range a cut lacking list leaves out, so no unlisted hole passes for held', () => {
    // By hand: holes 2, 4, 6, 8 with room for 2 ranges; 6 is the first left out, so highest is 5.
    const small = new StreamRecord();
    feed(small, [1, 3, 5, 7, 9]);
    expect(streamReceipt(small, 2)).toEqual({ from: 1, upTo: 1, highest: 5, lacking: [[2, 2], [4, 4]] });

    // At the real cap of a one-stream receipt: held seqs 1, 4, 7, ... leave the holes
    // [3k-1, 3k] for k = 1..cap+3, three more ranges than fit.
    const cap = lackingCap(1);
    expect(cap).toBe(MAX_LACKING_RANGES);
    const held = new Set<number>();
    for (let k = 0; k <= cap + 3; k++) held.add(1 + 3 * k);
    const s = new StreamRecord();
    feed(s, [...held]);
    expect(s.lacking(cap + 10)).toHaveLength(cap + 3);
    const receipt = streamReceipt(s, cap);
    const listed = Array.from({ length: cap }, (_, i): [number, number] => [3 * (i + 1) - 1, 3 * (i + 1)]);
    // The first range left out is [3(cap+1)-1, 3(cap+1)]: highest is its lo minus 1.
    expect(receipt).toEqual({ from: 1, upTo: 1, highest: 3 * (cap + 1) - 2, lacking: listed });
    expect(receipt.lacking).toHaveLength(cap);
    expect(receipt.highest).toBeLessThan(s.lastSeq as number);
    // What the receipt claims is true: every seq from..highest outside the listed ranges is held.
    const inListed = (seq: number): boolean => listed.some(([lo, hi]) => lo <= seq && seq <= hi);
    for (let seq = receipt.from as number; seq <= receipt.highest; seq++) expect(held.has(seq)).toBe(!inListed(seq));

    // Exactly cap ranges fit uncut: highest stays the highest seq.
    const exact = new StreamRecord();
    feed(exact, [...held].slice(0, cap + 1));
    const uncut = streamReceipt(exact, cap);
    expect(uncut.lacking).toHaveLength(cap);
    expect(uncut.highest).toBe(1 + 3 * cap);
    expect(uncut.highest).toBe(exact.lastSeq);
  });
});

describe('ReceiptPacer', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('sends one receipt per window with the streams that changed, and at once after enough messages', () => {
    vi.useFakeTimers();
    const sent: string[][] = [];
    const pacer = new ReceiptPacer((streams) => sent.push([...streams].sort()), 50, 4);
    pacer.note('a');
    pacer.note('b');
    pacer.note('a');
    expect(sent).toEqual([]);
    vi.advanceTimersByTime(49);
    expect(sent).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(sent).toEqual([['a', 'b']]);
    for (let i = 0; i < 4; i++) pacer.note('c');
    expect(sent).toEqual([['a', 'b'], ['c']]);
    vi.advanceTimersByTime(100);
    expect(sent).toHaveLength(2);
    pacer.note('d');
    pacer.reset();
    vi.advanceTimersByTime(100);
    expect(sent).toHaveLength(2);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('SessionRecord and ParityBook', () => {
  it('sums missing, duplicates, out-of-order and resends over streams', () => {
    const session = new SessionRecord('s');
    const frame = (stream: string, seq: number, resend?: true) => ({ type: 'frame' as const, sessionId: 's', stream, seq, ts: seq, data: {}, resend });
    for (const seq of [1, 3, 3]) session.record(frame('controls', seq));
    for (const seq of [1, 4, 2]) session.record(frame('baseline', seq));
    session.record(frame('baseline', 3, true));
    session.record(frame('baseline', 3, true));
    const json = session.toJSON();
    expect(json).toMatchObject({ sessionId: 's', duplicates: 1, outOfOrder: 1, missing: 1, resent: 1, resentDuplicates: 1, lastError: null });
    expect(json.streams.controls).toMatchObject({ framesIn: 2, missing: 1, duplicates: 1, upTo: 1 });
    expect(json.streams.baseline).toMatchObject({ framesIn: 4, missing: 0, outOfOrder: 1, resent: 1, resentDuplicates: 1, upTo: 4 });
  });

  it('refuses streams beyond the per-session bound', () => {
    const session = new SessionRecord('s');
    for (let i = 0; i < MAX_STREAMS_PER_SESSION; i++) expect(session.stream(`s${i}`)).toBeDefined();
    expect(session.stream('one-more')).toBeUndefined();
    expect(session.stream('s0')).toBeDefined();
  });

  it('forgets the least recently active session without an open connection, never-active ones first', () => {
    const book = new ParityBook(3);
    const a = book.open('a') as SessionRecord;
    const b = book.open('b') as SessionRecord;
    book.touch(b);
    book.touch(a);
    book.open('c');
    // Full: c was never active, so it goes first, though greeted last.
    book.open('d');
    expect(book.sessions()).toEqual(['a', 'b', 'd']);
    // Greeting again is not activity: b, the least recently active, goes next.
    expect(book.open('b')).toBe(b);
    book.touch(book.open('d') as SessionRecord);
    book.open('e');
    expect(book.sessions()).toEqual(['a', 'd', 'e']);
  });

  it('never forgets a session with an open connection, and refuses a new one when nothing can go', () => {
    const book = new ParityBook(2);
    const a = book.open('a') as SessionRecord;
    const b = book.open('b') as SessionRecord;
    a.openConnections = 1;
    b.openConnections = 1;
    expect(book.open('c')).toBeNull();
    expect(book.sessions()).toEqual(['a', 'b']);
    b.openConnections = 0;
    book.touch(b);
    expect(book.open('c')).not.toBeNull();
    expect(book.sessions()).toEqual(['a', 'c']);
  });
});

describe('a relay restarted inside a session', () => {
  it('continues at hello.resume: the seqs it skipped are counted apart, not as missing', () => {
    const s = new StreamRecord();
    for (let seq = 1; seq <= 10; seq++) s.record(seq, seq, 100 + seq);
    expect(s.resumeSkip(1001)).toBe(990);
    s.resumeAt(1001);
    s.record(1001, 11, 5000);
    s.record(1002, 12, 5001);
    expect(s.toJSON()).toMatchObject({ framesIn: 12, lastSeq: 1002, missing: 0, sourceGaps: 0, restartSkipped: 990, upTo: 1002 });
    // A resume at or before what was seen changes nothing; a replayed seq is still a duplicate.
    expect(s.resumeSkip(500)).toBe(0);
    s.resumeAt(500);
    s.record(1002, 13, 5001);
    expect(s.duplicates).toBe(1);
    expect(s.toJSON()).toMatchObject({ missing: 0, restartSkipped: 990 });
    // A stream with nothing yet has nothing to skip past.
    expect(new StreamRecord().resumeSkip(Number.MAX_SAFE_INTEGER)).toBe(0);
  });
});
