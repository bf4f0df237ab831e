// The parity arithmetic on its own: the numbers gateways A and B are compared by.
import { describe, expect, it } from 'vitest';
import { MAX_STREAMS_PER_SESSION, ParityBook, SessionRecord, StreamRecord } from '../src-gateway/parity';

function feed(record: StreamRecord, seqs: number[]): string[] {
  return seqs.map((seq) => record.record(seq, seq * 10, undefined).outcome);
}

describe('StreamRecord', () => {
  it('counts an in-order stream with no gaps', () => {
    const s = new StreamRecord();
    expect(feed(s, [1, 2, 3])).toEqual(['new', 'new', 'new']);
    expect(s.toJSON()).toEqual({ framesIn: 3, acked: 0, lastFrameTs: 30, firstSeq: 1, lastSeq: 3, missing: 0, sourceGaps: 0, restartSkipped: 0 });
  });

  it('adds a jump to missing and takes late arrivals back out as out-of-order', () => {
    const s = new StreamRecord();
    feed(s, [10, 14]);
    expect(s.missing).toBe(3);
    expect(feed(s, [12, 12, 11, 13, 13, 14, 10])).toEqual(['late', 'duplicate', 'late', 'late', 'duplicate', 'duplicate', 'duplicate']);
    expect(s.missing).toBe(0);
    expect(s.outOfOrder).toBe(3);
    expect(s.duplicates).toBe(4);
    expect(s.framesIn).toBe(5);
    expect(s.rememberedRanges()).toEqual([]);
    // lastFrameTs follows the highest seq, not the latest arrival.
    expect(s.lastFrameTs).toBe(140);
  });

  it('splits a gap when a frame from its middle arrives', () => {
    const s = new StreamRecord();
    feed(s, [1, 10]);
    feed(s, [5]);
    expect(s.rememberedRanges()).toEqual([[2, 4], [6, 9]]);
    feed(s, [2, 9, 7]);
    expect(s.rememberedRanges()).toEqual([[3, 4], [6, 6], [8, 8]]);
    expect(s.missing).toBe(4);
  });

  it('treats a frame below the first seq as out-of-order and extends the stream down', () => {
    const s = new StreamRecord();
    expect(feed(s, [2, 1])).toEqual(['new', 'late']);
    expect(s.toJSON()).toMatchObject({ firstSeq: 1, lastSeq: 2, missing: 0, framesIn: 2 });
    expect(s.outOfOrder).toBe(1);
    const t = new StreamRecord();
    feed(t, [5, 1]);
    expect(t.missing).toBe(3);
    expect(feed(t, [3])).toEqual(['late']);
    expect(t.missing).toBe(2);
  });

  it('keeps memory bounded: a late frame of a forgotten gap counts as a duplicate, still missing', () => {
    const s = new StreamRecord(2);
    feed(s, [1, 3, 5, 7]);
    expect(s.rememberedRanges()).toEqual([[4, 4], [6, 6]]);
    expect(s.missing).toBe(3);
    expect(feed(s, [2, 4])).toEqual(['duplicate', 'late']);
    expect(s.missing).toBe(2);
  });

  it('handles a huge jump in constant memory', () => {
    const s = new StreamRecord();
    feed(s, [1, 1e12]);
    expect(s.missing).toBe(1e12 - 2);
    expect(s.rememberedRanges()).toEqual([[2, 1e12 - 1]]);
    expect(feed(s, [5e11])).toEqual(['late']);
    expect(s.missing).toBe(1e12 - 3);
  });

  it('counts source gaps from tick jumps beyond what lost seqs explain', () => {
    const s = new StreamRecord();
    const at = (seq: number, tick?: number): number => s.record(seq, 0, tick).sourceGap;
    expect(at(1, 100)).toBe(0);
    expect(at(2, 101)).toBe(0);
    expect(at(3, 105)).toBe(3); // jump of 4 between consecutive frames
    expect(at(5, 107)).toBe(0); // seq 4 lost in transport carried tick 106
    expect(at(7, 112)).toBe(3); // seq 6 lost, then ticks 109..111 skipped at the source
    expect(at(8, 3)).toBe(0); // the source restarted its ticks
    expect(at(9, 4)).toBe(0);
    expect(at(10)).toBe(0); // no tick: nothing to compare with next
    expect(at(11, 50)).toBe(0);
    expect(at(6, 111)).toBe(0); // late frames say nothing about the source
    expect(s.sourceGaps).toBe(6);
  });
});

describe('SessionRecord and ParityBook', () => {
  it('sums missing, duplicates and out-of-order over streams', () => {
    const session = new SessionRecord('s');
    const frame = (stream: string, seq: number) => ({ type: 'frame' as const, sessionId: 's', stream, seq, ts: seq, data: {} });
    for (const seq of [1, 3, 3]) session.record(frame('controls', seq));
    for (const seq of [1, 4, 2]) session.record(frame('baseline', seq));
    expect(session.toJSON()).toEqual({
      sessionId: 's',
      streams: {
        controls: { framesIn: 2, acked: 0, lastFrameTs: 3, firstSeq: 1, lastSeq: 3, missing: 1, sourceGaps: 0, restartSkipped: 0 },
        baseline: { framesIn: 3, acked: 0, lastFrameTs: 4, firstSeq: 1, lastSeq: 4, missing: 1, sourceGaps: 0, restartSkipped: 0 },
      },
      duplicates: 1,
      outOfOrder: 1,
      missing: 2,
      lastError: null,
    });
  });

  it('refuses streams beyond the per-session bound', () => {
    const session = new SessionRecord('s');
    for (let i = 0; i < MAX_STREAMS_PER_SESSION; i++) expect(session.stream(`s${i}`)).toBeDefined();
    expect(session.stream('one-more')).toBeUndefined();
    expect(session.stream('s0')).toBeDefined();
  });

  it('forgets the least recently greeted session first', () => {
    const book = new ParityBook(2);
    const a = book.open('a');
    book.open('b');
    expect(book.open('a')).toBe(a);
    book.open('c');
    expect(book.sessions()).toEqual(['a', 'c']);
    expect(book.get('b')).toBeUndefined();
  });
});

describe('a relay restarted inside a session', () => {
  it('continues at hello.resume: the seqs it skipped are counted apart, not as missing', () => {
    const s = new StreamRecord();
    for (let seq = 1; seq <= 10; seq++) s.record(seq, seq, 100 + seq);
    s.resumeAt(1001);
    s.record(1001, 11, 5000);
    s.record(1002, 12, 5001);
    expect(s.toJSON()).toMatchObject({ framesIn: 12, lastSeq: 1002, missing: 0, sourceGaps: 0, restartSkipped: 990 });
    // A resume at or before what was seen changes nothing; a replayed seq is still a duplicate.
    s.resumeAt(500);
    s.record(1002, 13, 5001);
    expect(s.duplicates).toBe(1);
    expect(s.toJSON()).toMatchObject({ missing: 0, restartSkipped: 990 });
  });
});
