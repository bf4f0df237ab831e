// Unit tests of the shared contracts: protocol validation, ack sampling, metric math, the queue.
import { describe, expect, it } from 'vitest';
import { parseGatewayMessage, parseRelayMessage, shouldAck, MAX_MESSAGE_BYTES } from '../src-shared/protocol';
import { classifyHealth, computeDrift, latencySummary, percentile, SampleWindow } from '../src-shared/metrics';
import { mulberry32 } from './helpers/random';
import { isAllowedHost } from '../src-shared/host-check';
import { FrameQueue, type OutgoingFrame } from '../src-main/relay/queue';
import { FrameBuilder } from '../src-main/relay/frame-builder';
import { joinClock } from '../src-main/relay/shared-clock';

describe('protocol', () => {
  it('accepts the messages of protocol 2', () => {
    expect(parseRelayMessage(JSON.stringify({ type: 'hello', protocol: 2, agent: 'relay-agent/1.0.0', sessionId: 's1', streams: ['controls', 'baseline'], meta: {}, instance: 'abcdefgh12' })).ok).toBe(true);
    expect(parseRelayMessage(JSON.stringify({ type: 'frame', sessionId: 's1', stream: 'controls', seq: 1, ts: 1, ack: true, data: { Throttle: 1 } })).ok).toBe(true);
    expect(parseRelayMessage(JSON.stringify({ type: 'frame', sessionId: 's1', stream: 'controls', seq: 1, ts: 1, resend: true, data: {} })).ok).toBe(true);
    expect(parseRelayMessage(JSON.stringify({ type: 'gap', sessionId: 's1', stream: 'controls', from: 2, to: 9, reason: 'killSwitch' })).ok).toBe(true);
    expect(parseRelayMessage(JSON.stringify({ type: 'end', sessionId: 's1', last: { controls: 9 } })).ok).toBe(true);
    expect(parseRelayMessage(JSON.stringify({ type: 'sync', sessionId: 's1' })).ok).toBe(true);
    expect(parseGatewayMessage(JSON.stringify({ type: 'welcome', protocol: 2, gateway: 'A', sessionId: 's1', holds: { controls: { upTo: 3, highest: 5, lacking: [[4, 4]] } } })).ok).toBe(true);
    expect(parseGatewayMessage(JSON.stringify({ type: 'receipt', sessionId: 's1', streams: { controls: { upTo: 9, highest: 9 } }, final: true })).ok).toBe(true);
    expect(parseGatewayMessage(JSON.stringify({ type: 'ack', sessionId: 's1', stream: 'controls', seq: 3 })).ok).toBe(true);
    expect(parseGatewayMessage(JSON.stringify({ type: 'error', code: 'x', message: 'y' })).ok).toBe(true);
  });

  it.each([
    [JSON.stringify({ type: 'gap', sessionId: 's', stream: 'controls', from: 9, to: 2, reason: 'standby' }), /from must not be greater than to/],
    [JSON.stringify({ type: 'gap', sessionId: 's', stream: 'controls', from: 1, to: 2, reason: 'whim' }), /reason/],
    [JSON.stringify({ type: 'end', sessionId: 's', last: { controls: 0 } }), /last/],
    [JSON.stringify({ type: 'hello', protocol: 2, agent: 'x', sessionId: 's', streams: [], meta: {}, instance: 'no' }), /instance/],
  ])('rejects the protocol 2 message %s', (text, message) => {
    const r = parseRelayMessage(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(message);
  });

  it.each([
    ['{oops', 'bad_json', /not JSON/],
    ['[1,2]', 'invalid_message', /JSON object/],
    ['"frame"', 'invalid_message', /JSON object/],
    [JSON.stringify({ type: 'party' }), 'unknown_type', /unknown message type "party"; expected one of hello, frame, gap, end, sync/],
    [JSON.stringify({ type: 'frame', sessionId: 's', stream: 'controls', seq: 0, ts: 1, data: {} }), 'invalid_message', /seq/],
    [JSON.stringify({ type: 'frame', sessionId: 's', stream: 'controls', seq: 1.5, ts: 1, data: {} }), 'invalid_message', /seq/],
    [JSON.stringify({ type: 'frame', sessionId: 's', stream: 'controls', seq: 1, ts: 1, ack: false, data: {} }), 'invalid_message', /ack/],
    [JSON.stringify({ type: 'frame', sessionId: 's', stream: 'Bad Stream', seq: 1, ts: 1, data: {} }), 'invalid_message', /stream/],
    [JSON.stringify({ type: 'frame', sessionId: 's', stream: 'controls', seq: 1, ts: 1 }), 'invalid_message', /data/],
    [JSON.stringify({ type: 'hello', protocol: 1, agent: 'x', sessionId: 'has space', streams: [], meta: {} }), 'invalid_message', /sessionId/],
    [JSON.stringify({ type: '__proto__' }), 'unknown_type', /unknown/],
  ])('rejects %s with %s', (text, code, message) => {
    const r = parseRelayMessage(text);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.code).toBe(code);
      expect(r.error).toMatch(message);
    }
  });

  it('rejects a message over the size cap before parsing it', () => {
    const r = parseRelayMessage(JSON.stringify({ type: 'frame', pad: 'x'.repeat(MAX_MESSAGE_BYTES) }));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.code).toBe('too_large');
  });

  it('samples acks deterministically by (stream, seq, rate), close to the rate', () => {
    const pick = (stream: string, rate: number) => Array.from({ length: 20_000 }, (_, i) => shouldAck(stream, i + 1, rate));
    expect(pick('controls', 0.05)).toEqual(pick('controls', 0.05));
    const share = pick('controls', 0.05).filter(Boolean).length / 20_000;
    expect(share).toBeGreaterThan(0.04);
    expect(share).toBeLessThan(0.06);
    expect(pick('controls', 0).some(Boolean)).toBe(false);
    expect(pick('controls', 1).every(Boolean)).toBe(true);
    // Different streams pick different frames, so one stream's pattern does not repeat in another.
    expect(pick('baseline', 0.05)).not.toEqual(pick('controls', 0.05));
  });

  it('builds frames with per-stream seq from 1, ack only on sampled frames, and restarts on a new session', () => {
    const b = new FrameBuilder('s1', {}, ['controls', 'baseline'], 1, '1.2.3');
    const f1 = JSON.parse(b.build('controls', { a: 1 }, 7).payload.toString());
    expect(f1).toMatchObject({ type: 'frame', sessionId: 's1', stream: 'controls', seq: 1, ack: true, tick: 7, data: { a: 1 } });
    expect(JSON.parse(b.build('baseline', {}).payload.toString()).seq).toBe(1);
    expect(JSON.parse(b.build('controls', {}).payload.toString()).seq).toBe(2);
    expect(b.sourceGaps()).toEqual({});
    b.setSession('s1', {}, { controls: 1 });
    b.build('controls', {}, 8);
    b.build('controls', {}, 12);
    expect(b.sourceGaps()).toEqual({ controls: 3 });
    b.setSampleRate(0);
    expect('ack' in JSON.parse(b.build('controls', {}).payload.toString())).toBe(false);
    b.setSession('s2', { track: 'x' });
    expect(JSON.parse(b.build('controls', {}).payload.toString())).toMatchObject({ sessionId: 's2', seq: 1 });
    expect(JSON.parse(b.hello())).toMatchObject({ type: 'hello', protocol: 2, agent: 'relay-agent/1.2.3', sessionId: 's2', streams: ['controls', 'baseline'], meta: { track: 'x' } });
    expect(parseRelayMessage(b.hello()).ok).toBe(true);
  });
});

describe('metrics', () => {
  it('computes nearest-rank percentiles', () => {
    expect(percentile([], 50)).toBeNull();
    expect(percentile([5], 95)).toBe(5);
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 95)).toBe(95);
  });

  it('keeps a bounded window of the most recent samples', () => {
    const w = new SampleWindow(10);
    for (let i = 1; i <= 1000; i++) w.add(i);
    expect(w.size).toBe(10);
    expect(w.summary()).toEqual({ p50: 995, p95: 1000, samples: 10 });
  });

  it('summarises its window as a fresh sort of the samples in it would, as samples come and go', () => {
    const random = mulberry32(12);
    for (const capacity of [1, 2, 7, 512]) {
      const w = new SampleWindow(capacity);
      const all: number[] = [];
      for (let i = 0; i < 3 * capacity + 50; i++) {
        // Repeats and ties on purpose: an evicted sample must take out one copy of its value.
        const v = random() < 0.3 ? Math.floor(random() * 5) : Math.round(random() * 1e4) / 10;
        w.add(v);
        all.push(v);
        const kept = all.slice(-capacity);
        expect([...w.values()].sort((a, b) => a - b)).toEqual([...kept].sort((a, b) => a - b));
        expect(w.summary()).toEqual(latencySummary(kept));
      }
      expect(w.summary().p95).toBe(percentile(all.slice(-capacity), 95) === null ? null : Math.round((percentile(all.slice(-capacity), 95) as number) * 10) / 10);
      w.clear();
      expect(w.summary()).toEqual({ p50: null, p95: null, samples: 0 });
    }
  });

  it('classifies health with the spec table, with a reason for each metric out of bounds', () => {
    expect(classifyHealth({ dropRatePct: 0.05, ackP95Ms: 99, driftPct: 0.9, queueSize: 99 })).toEqual({ status: 'healthy', reasons: [] });
    const warn = classifyHealth({ dropRatePct: 0.5, ackP95Ms: 10, driftPct: 0, queueSize: 150 });
    expect(warn.status).toBe('warning');
    expect(warn.reasons).toHaveLength(2);
    expect(warn.reasons.join()).toMatch(/frame drop rate 0.5%.*queue size 150/);
    const crit = classifyHealth({ ackP95Ms: 612, driftPct: 6, queueSize: 301 });
    expect(crit.status).toBe('critical');
    expect(crit.reasons.join()).toMatch(/ack latency p95 612 ms is at or above 500 ms \(critical\)/);
    expect(classifyHealth({ ackP95Ms: null })).toEqual({ status: 'healthy', reasons: [] });
  });

  it('measures drift by confirmed share, so a late-added target is judged on its own frames', () => {
    expect(computeDrift([{ delivered: 1000, given: 1000 }, { delivered: 100, given: 100 }])).toEqual([0, 0]);
    const [a, b] = computeDrift([{ delivered: 1000, given: 1000 }, { delivered: 950, given: 1000 }]);
    expect(a).toBe(0);
    expect(b).toBeCloseTo(5, 6);
  });

  it('counts queued and in-flight frames as behind: only confirmed deliveries count', () => {
    // 1604 frames given, none confirmed, beside a target whose gateway confirmed them all.
    expect(computeDrift([{ delivered: 0, given: 1604 }, { delivered: 1604, given: 1604 }])).toEqual([100, 0]);
  });

  it('has nothing to compare when no gateway confirmed anything (the verdict then says no data)', () => {
    expect(computeDrift([{ delivered: 0, given: 1604 }, { delivered: 0, given: 1604 }])).toEqual([0, 0]);
    expect(computeDrift([{ delivered: 0, given: 0 }, { delivered: 5, given: 5 }])).toEqual([0, 0]);
  });
});

describe('host check', () => {
  it('allows only our own loopback names with the right port', () => {
    expect(isAllowedHost('127.0.0.1:8765', 8765)).toBe(true);
    expect(isAllowedHost('LOCALHOST:8765', 8765)).toBe(true);
    expect(isAllowedHost('127.0.0.1:8766', 8765)).toBe(false);
    expect(isAllowedHost('evil.example:8765', 8765)).toBe(false);
    expect(isAllowedHost('127.0.0.1', 8765)).toBe(false);
    expect(isAllowedHost(undefined, 8765)).toBe(false);
  });
});

describe('FrameQueue', () => {
  const frame = (seq: number, bytes = 10): OutgoingFrame => ({ sessionId: 's', stream: 'c', seq, ack: false, hello: '', payload: Buffer.alloc(bytes), bytes, producedAt: 0 });

  it('is FIFO and drops the oldest when full', () => {
    const q = new FrameQueue(3, 1000);
    expect([1, 2, 3, 4, 5].map((s) => q.push(frame(s)))).toEqual([0, 0, 0, 1, 1]);
    expect([q.shift()?.seq, q.shift()?.seq, q.shift()?.seq, q.shift()]).toEqual([3, 4, 5, undefined]);
    expect(q.bytes).toBe(0);
  });

  it('caps bytes, refuses a frame larger than the cap alone, grows past its first block and resizes live', () => {
    const q = new FrameQueue(100_000, 100);
    for (let i = 1; i <= 10; i++) q.push(frame(i));
    expect(q.push(frame(11))).toBe(1);
    expect(q.peek()?.seq).toBe(2);
    expect(q.push(frame(12, 101))).toBe(1);
    expect(q.length).toBe(10);
    const big = new FrameQueue(5000, 1_000_000);
    for (let i = 1; i <= 3000; i++) big.push(frame(i));
    expect(big.length).toBe(3000);
    expect(big.shift()?.seq).toBe(1);
    expect(big.resize(100, 1_000_000)).toBe(2899);
    expect(big.peek()?.seq).toBe(2901);
    expect(big.clear()).toBe(100);
  });
});

describe('joinClock', () => {
  it('runs every member of a period on the same wake-up, and stops its timer when the last one leaves', async () => {
    const seen: string[] = [];
    const leaveA = joinClock(25, () => seen.push('a'));
    const leaveB = joinClock(25, () => seen.push('b'));
    await new Promise((r) => setTimeout(r, 90));
    // One timer: a and b always come as a pair, in the order they joined.
    expect(seen.length).toBeGreaterThanOrEqual(4);
    expect(seen.join('')).toBe('ab'.repeat(seen.length / 2));
    leaveA();
    const pairs = seen.length;
    await new Promise((r) => setTimeout(r, 60));
    expect(seen.slice(pairs).every((m) => m === 'b')).toBe(true);
    leaveB();
    const after = seen.length;
    await new Promise((r) => setTimeout(r, 60));
    expect(seen.length).toBe(after);
  });
});
