// The relay's hand-written checks of receipts and acks (src-shared/protocol.ts) against the
// zod schemas they stand in for: whatever they accept, the schema accepts with the same
// result, on thousands of generated messages (valid, nearly valid and broken), and the
// messages a real gateway sends take the fast path.
import { describe, expect, it } from 'vitest';
import { AckSchema, MAX_LACKING_RANGES, ReceiptSchema, fastGatewayMessage, parseGatewayMessage } from '../src-shared/protocol';
import { startGateway } from '../src-gateway/gateway';
import { WebSocket } from 'ws';
import { mulberry32 } from './helpers/random';
import { waitFor } from './helpers/wait';

const ODD_VALUES: unknown[] = [0, -1, 1, 1.5, -0, 2 ** 53, 2 ** 53 - 1, 1e300, '3', '', 'x', null, true, false, [], {}, [1], [1, 2], [1, 2, 3], { upTo: 1 }];
const ODD_NAMES = ['controls', 'baseline', 'Controls', '9lives', 'a', 'a'.repeat(32), 'a'.repeat(33), 'with space', '__proto__', 'constructor', 'toString', 'ok_name-2', ''];
const ODD_SESSIONS = ['s1', 'ir-1-2', '', ' ', 'has space', 'x'.repeat(128), 'x'.repeat(129), 'é', '\u007f', 42, null];

function pick<T>(r: () => number, list: readonly T[]): T {
  return list[Math.floor(r() * list.length)] as T;
}

function seqLike(r: () => number): unknown {
  return r() < 0.8 ? Math.floor(r() * 1000) : pick(r, ODD_VALUES);
}

function streamReceipt(r: () => number): unknown {
  if (r() < 0.05) return pick(r, ODD_VALUES);
  const out: Record<string, unknown> = {};
  if (r() < 0.9) out.upTo = seqLike(r);
  if (r() < 0.9) out.highest = seqLike(r);
  if (r() < 0.5) out.from = seqLike(r);
  if (r() < 0.4) {
    const n = r() < 0.05 ? MAX_LACKING_RANGES + 1 : Math.floor(r() * 4);
    out.lacking = r() < 0.05 ? pick(r, ODD_VALUES) : Array.from({ length: n }, () => (r() < 0.9 ? [seqLike(r), seqLike(r)] : pick(r, ODD_VALUES)));
  }
  if (r() < 0.1) out.extra = pick(r, ODD_VALUES);
  return out;
}

function receipt(r: () => number): Record<string, unknown> {
  const streams: Record<string, unknown> = {};
  const n = Math.floor(r() * 3);
  for (let i = 0; i < n; i++) streams[r() < 0.85 ? pick(r, ['controls', 'baseline']) : pick(r, ODD_NAMES)] = streamReceipt(r);
  const out: Record<string, unknown> = { type: 'receipt', sessionId: r() < 0.85 ? 's1' : pick(r, ODD_SESSIONS), streams: r() < 0.95 ? streams : pick(r, ODD_VALUES) };
  if (r() < 0.2) out.final = r() < 0.7 ? true : pick(r, ODD_VALUES);
  if (r() < 0.1) out.other = 1;
  return out;
}

function ack(r: () => number): Record<string, unknown> {
  const out: Record<string, unknown> = { type: 'ack' };
  if (r() < 0.95) out.sessionId = r() < 0.85 ? 's1' : pick(r, ODD_SESSIONS);
  if (r() < 0.95) out.stream = r() < 0.85 ? 'controls' : pick(r, ODD_NAMES);
  if (r() < 0.95) out.seq = seqLike(r);
  if (r() < 0.1) out.extra = 'x';
  return out;
}

describe('the fast path for receipts and acks', () => {
  it.each([1, 2, 3])('accepts only what the schema accepts, with the same result (seed %i, 4000 messages)', (seed) => {
    const r = mulberry32(seed);
    let fastAccepted = 0;
    let schemaAccepted = 0;
    for (let i = 0; i < 4000; i++) {
      const isReceipt = r() < 0.7;
      // Through JSON, as off the wire: keys such as __proto__ become own properties.
      const value = JSON.parse(JSON.stringify(isReceipt ? receipt(r) : ack(r))) as unknown;
      const schema = isReceipt ? ReceiptSchema : AckSchema;
      const fast = fastGatewayMessage(value);
      const slow = schema.safeParse(value);
      if (slow.success) schemaAccepted++;
      if (fast === null) continue;
      fastAccepted++;
      expect(slow.success, `fast path accepted what the schema refuses: ${JSON.stringify(value)}`).toBe(true);
      if (slow.success) expect(fast).toEqual(slow.data);
    }
    // The generator must exercise both sides, and the fast path must carry most valid messages.
    expect(schemaAccepted).toBeGreaterThan(800);
    expect(fastAccepted).toBeGreaterThan(schemaAccepted * 0.9);
  });

  it('gives the same answer through parseGatewayMessage, fast path or not', () => {
    const good = JSON.stringify({ type: 'receipt', sessionId: 's1', streams: { controls: { from: 1, upTo: 9, highest: 12, lacking: [[10, 11]], x: 1 } }, final: true });
    const parsed = parseGatewayMessage(good);
    expect(parsed).toEqual({ ok: true, message: ReceiptSchema.parse(JSON.parse(good)) });
    const bad = parseGatewayMessage(JSON.stringify({ type: 'receipt', sessionId: 's1', streams: { controls: { upTo: -1, highest: 0 } } }));
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error).toMatch(/invalid receipt message: streams\.controls\.upTo/);
    expect(parseGatewayMessage(JSON.stringify({ type: 'ack', sessionId: 's1', stream: 'controls', seq: 0 })).ok).toBe(false);
  });

  it("takes the fast path for the reference gateway's own receipts, welcome holdings aside", async () => {
    const gw = await startGateway({ name: 'fast-path' });
    const ws = new WebSocket(gw.url, { perMessageDeflate: false });
    const messages: unknown[] = [];
    try {
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      ws.on('message', (data) => messages.push(JSON.parse(String(data))));
      ws.send(JSON.stringify({ type: 'hello', protocol: 2, agent: 'test/1', sessionId: 'fast-1', streams: ['controls'], meta: {} }));
      for (let seq = 1; seq <= 20; seq++) {
        if (seq === 5) continue; // a hole: the receipt lists it as lacking
        ws.send(JSON.stringify({ type: 'frame', sessionId: 'fast-1', stream: 'controls', seq, ts: Date.now(), ...(seq % 7 === 0 ? { ack: true } : {}), data: {} }));
      }
      ws.send(JSON.stringify({ type: 'sync', sessionId: 'fast-1' }));
      await waitFor('a receipt for the sync', () => messages.some((m) => (m as { type: string }).type === 'receipt'));
    } finally {
      ws.terminate();
      await gw.close();
    }
    const receipts = messages.filter((m) => (m as { type: string }).type === 'receipt');
    const acks = messages.filter((m) => (m as { type: string }).type === 'ack');
    expect(receipts.length).toBeGreaterThan(0);
    expect(acks.length).toBeGreaterThan(0);
    expect(receipts.some((m) => JSON.stringify(m).includes('lacking'))).toBe(true);
    for (const m of [...receipts, ...acks]) expect(fastGatewayMessage(m), JSON.stringify(m)).not.toBeNull();
  });
});
