// The seam between a target and the wire: a Target driven over a second implementation of
// the Transport interface, an in-memory link to a small gateway speaking protocol 2 (hello,
// welcome with what it holds, frames, receipts, end and its final receipt). What it proves:
// the target's delivery proof needs nothing of `ws`, only what transport.ts promises.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION } from '../src-shared/protocol';
import { DEFAULT_TUNING, Target, type TargetEvent, type TargetTuning } from '../src-main/relay/target';
import type { OutgoingFrame } from '../src-main/relay/queue';
import type { OpenTransport, Transport, TransportEvents } from '../src-main/relay/transport';
import { waitFor } from './helpers/wait';

const SESSION = 'sess_mem';
const HELLO = JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, agent: 'seam-test', sessionId: SESSION, streams: ['controls'], meta: {} });

const TUNING: TargetTuning = {
  ...DEFAULT_TUNING,
  connectTimeoutMs: 1000,
  sendTimeoutMs: 1000,
  queueMaxFrames: 1000,
  queueMaxBytes: 1024 * 1024,
  backoffBaseMs: 10,
  backoffCapMs: 20,
};

type Msg = { type: string; sessionId?: string; stream?: string; seq?: number; resend?: true; instance?: string; last?: Record<string, number> };

/** A gateway in memory: what it holds per stream of the one session, and the links it has. */
class MemoryGateway {
  /** Seqs held per stream. */
  readonly held = new Map<string, Set<number>>();
  readonly received: Msg[] = [];
  readonly links: MemoryLink[] = [];
  /** False: frames are taken but no receipt is sent (a gateway that stopped confirming). */
  receipts = true;
  /** False: no link opens (the address cannot be reached at all). */
  reachable = true;
  /** Gap announcements still to lose: the link dies as one is written, before the gateway reads it. */
  loseGaps = 0;

  readonly open: OpenTransport = (url, _options, events) => {
    if (!url.startsWith('mem://')) throw new Error(`not a memory address: ${url}`);
    if (!this.reachable) throw new Error('unreachable');
    const link = new MemoryLink(this, events);
    this.links.push(link);
    return link;
  };

  holds(stream: string): { upTo: number; highest: number; lacking?: [number, number][] } {
    const seqs = this.held.get(stream) ?? new Set<number>();
    let upTo = 0;
    while (seqs.has(upTo + 1)) upTo++;
    const highest = Math.max(0, ...seqs);
    const lacking: [number, number][] = [];
    for (let s = upTo + 1; s <= highest; s++) {
      if (seqs.has(s)) continue;
      const last = lacking[lacking.length - 1];
      if (last && last[1] === s - 1) last[1] = s;
      else lacking.push([s, s]);
    }
    return lacking.length > 0 ? { upTo, highest, lacking } : { upTo, highest };
  }

  receipt(final: boolean): string {
    const streams: Record<string, ReturnType<MemoryGateway['holds']>> = {};
    for (const stream of this.held.keys()) streams[stream] = this.holds(stream);
    return JSON.stringify(final ? { type: 'receipt', sessionId: SESSION, streams, final: true } : { type: 'receipt', sessionId: SESSION, streams });
  }

  /** The gateway's side of one message from the relay; returns its answer, if any. */
  take(text: string): string | null {
    const msg = JSON.parse(text) as Msg;
    this.received.push(msg);
    switch (msg.type) {
      case 'hello': {
        const holds: Record<string, ReturnType<MemoryGateway['holds']>> = {};
        for (const stream of this.held.keys()) holds[stream] = this.holds(stream);
        return JSON.stringify({ type: 'welcome', protocol: PROTOCOL_VERSION, gateway: 'memory', sessionId: msg.sessionId, holds });
      }
      case 'frame': {
        const seqs = this.held.get(msg.stream as string) ?? new Set<number>();
        seqs.add(msg.seq as number);
        this.held.set(msg.stream as string, seqs);
        return this.receipts ? this.receipt(false) : null;
      }
      case 'gap': {
        // An announced gap counts as held for the contiguous mark, as the reference gateway does.
        const g = msg as Msg & { from: number; to: number };
        const seqs = this.held.get(msg.stream as string) ?? new Set<number>();
        for (let seq = g.from; seq <= g.to; seq++) seqs.add(seq);
        this.held.set(msg.stream as string, seqs);
        return null;
      }
      case 'sync':
        return this.receipts ? this.receipt(false) : null;
      case 'end':
        return this.receipt(true);
      default:
        return null;
    }
  }
}

/** One link: every event comes on a later turn of the event loop, as a socket's would. */
class MemoryLink implements Transport {
  private state: 'connecting' | 'open' | 'closed' = 'connecting';

  constructor(
    private readonly gateway: MemoryGateway,
    private readonly events: TransportEvents,
  ) {
    setImmediate(() => {
      if (this.state !== 'connecting') return;
      this.state = 'open';
      events.open();
    });
  }

  get writable(): boolean {
    return this.state === 'open';
  }

  readonly bufferedAmount = 0;

  send(message: string | Buffer, onWritten?: (err?: Error | null) => void): void {
    if (this.state !== 'open') throw new Error('link not open');
    // A text message either way: frames come as their UTF-8 bytes, shared by every target.
    const text = typeof message === 'string' ? message : message.toString('utf8');
    if (this.gateway.loseGaps > 0 && text.startsWith('{"type":"gap"')) {
      this.gateway.loseGaps--;
      this.cut();
      return;
    }
    setImmediate(() => {
      onWritten?.(null);
      if (this.state !== 'open') return;
      const answer = this.gateway.take(text);
      if (answer !== null) this.events.message(answer);
    });
  }

  ping(): void {
    setImmediate(() => {
      if (this.state === 'open') this.events.pong();
    });
  }

  close(code: number, reason: string): void {
    this.end(code, reason);
  }

  terminate(): void {
    this.end(1006, '');
  }

  /** The network drops the link under both sides. */
  cut(): void {
    this.end(1006, '');
  }

  private end(code: number, reason: string): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    setImmediate(() => this.events.close(code, reason));
  }
}

function frame(seq: number): OutgoingFrame {
  const payload = Buffer.from(JSON.stringify({ type: 'frame', sessionId: SESSION, stream: 'controls', seq, ts: seq, data: { v: seq } }));
  return { sessionId: SESSION, stream: 'controls', seq, hello: HELLO, ack: false, payload, bytes: payload.length, producedAt: performance.now() };
}

const targets: Target[] = [];
afterEach(() => {
  for (const t of targets.splice(0)) t.dispose();
});

function target(gateway: MemoryGateway, events: TargetEvent[] = []): Target {
  const t = new Target('mem://gateway', undefined, TUNING, () => ({ sessionId: SESSION, hello: HELLO }), (e) => events.push(e), gateway.open);
  targets.push(t);
  return t;
}

/** An active target, welcomed by `gw`. */
async function connected(gw: MemoryGateway, events: TargetEvent[] = []): Promise<Target> {
  const t = target(gw, events);
  t.setActivity('active');
  await waitFor('connected', () => t.state === 'connected');
  return t;
}

/** Frames 1..count written to a gateway that holds them and does not confirm them (yet). */
async function writeUnconfirmed(t: Target, gw: MemoryGateway, count: number): Promise<void> {
  gw.receipts = false;
  for (let seq = 1; seq <= count; seq++) t.enqueue(frame(seq));
  t.flush();
  await waitFor(`all ${count} at the gateway`, () => gw.held.get('controls')?.size === count);
  expect(t.inFlight).toBe(count);
}

function expectBalanced(t: Target): void {
  const c = t.totals();
  expect(c.produced).toBe(c.delivered + c.inFlight + c.queued + c.dropped + c.lost);
}

describe('a Target over an in-memory transport', () => {
  it('greets, writes, and counts as delivered exactly what the receipts confirm', async () => {
    const gw = new MemoryGateway();
    const t = await connected(gw);
    expect(gw.received[0]).toMatchObject({ type: 'hello', sessionId: SESSION, instance: t.instance });
    for (let seq = 1; seq <= 50; seq++) t.enqueue(frame(seq));
    t.flush();
    await waitFor('every frame confirmed', () => t.totals().delivered === 50);
    expect(t.inFlight).toBe(0);
    expect(t.lastConfirmMs).not.toBeNull();
    expectBalanced(t);
    const result = await t.finish(2000);
    expect(result).toEqual({ url: 'mem://gateway', complete: true, unconfirmed: {}, queued: {} });
    expect(gw.received.at(-1)).toEqual({ type: 'end', sessionId: SESSION, last: { controls: 50 } });
    expect([...(gw.held.get('controls') ?? [])].length).toBe(50);
  });

  it('after a cut, the next welcome confirms what the gateway holds and the rest is resent', async () => {
    const gw = new MemoryGateway();
    const events: TargetEvent[] = [];
    const t = await connected(gw, events);
    await writeUnconfirmed(t, gw, 20);
    // The gateway lost 11..20 (its own crash, say): the welcome on the next link says so.
    for (let seq = 11; seq <= 20; seq++) gw.held.get('controls')?.delete(seq);
    gw.receipts = true;
    gw.links.at(-1)?.cut();
    // The stream goes on: the resends go out on the new link ahead of the next frame.
    t.enqueue(frame(21));
    t.flush();
    await waitFor('every frame confirmed after the reconnect', () => t.totals().delivered === 21 && t.inFlight === 0);
    const c = t.totals();
    expect(c.resent).toBe(10);
    expect(c.lost).toBe(0);
    expectBalanced(t);
    expect(gw.links.length).toBe(2);
    const resent = gw.received.filter((m) => m.type === 'frame' && m.resend === true).map((m) => m.seq);
    expect(resent).toEqual([11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
    expect(gw.received.filter((m) => m.type === 'frame').map((m) => m.seq).slice(-11)).toEqual([11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21]);
    expect(events.some((e) => e.kind === 'delivery' && e.detail === 'welcome: 10 frame(s) written earlier confirmed, 10 to resend')).toBe(true);
  });

  it('after a cut with the stream paused, the resends go out at once on the new link (not with the next frame)', async () => {
    const gw = new MemoryGateway();
    const t = await connected(gw);
    await writeUnconfirmed(t, gw, 20);
    for (let seq = 11; seq <= 20; seq++) gw.held.get('controls')?.delete(seq);
    gw.receipts = true;
    gw.links.at(-1)?.cut();
    // No frame follows (the sim paused, a replay between laps): the welcome alone must be
    // enough to get the frames the gateway lacks written again and confirmed.
    await waitFor('the frames the gateway lacked resent and confirmed', () => t.totals().delivered === 20 && t.inFlight === 0);
    const c = t.totals();
    expect(c.resent).toBe(10);
    expect(c.lost).toBe(0);
    expectBalanced(t);
    expect(gw.received.filter((m) => m.type === 'frame' && m.resend === true).map((m) => m.seq)).toEqual([11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
  });

  it('a gap announcement lost with its link is announced again after the next welcome, so later frames still confirm', async () => {
    const gw = new MemoryGateway();
    const t = await connected(gw);
    for (let seq = 1; seq <= 5; seq++) t.enqueue(frame(seq));
    t.flush();
    await waitFor('1..5 confirmed', () => t.totals().delivered === 5);
    // Standby: 6..8 are given to the target and dropped, to be announced as a gap.
    t.setActivity('standby');
    await waitFor('standing by without a link', () => t.state === 'standby' && !t.hasSocket);
    for (let seq = 6; seq <= 8; seq++) t.enqueue(frame(seq));
    // Back to active: the gap goes out on the new link, which dies with it unread.
    gw.loseGaps = 1;
    t.setActivity('active');
    await waitFor('the gap lost with its link and a third link welcomed', () => gw.loseGaps === 0 && gw.links.length === 3 && t.state === 'connected');
    for (let seq = 9; seq <= 10; seq++) t.enqueue(frame(seq));
    t.flush();
    await waitFor('9 and 10 confirmed', () => t.totals().delivered === 7 && t.inFlight === 0);
    const c = t.totals();
    expect(c.dropped).toBe(3);
    expect(c.droppedBy.standby).toBe(3);
    expectBalanced(t);
    expect(gw.received.filter((m) => m.type === 'gap')).toEqual([{ type: 'gap', sessionId: SESSION, stream: 'controls', from: 6, to: 8, reason: 'standby' }]);
  });

  it('names and counts as lost what the gateway never confirmed by the end of the run', async () => {
    const gw = new MemoryGateway();
    const t = await connected(gw);
    await writeUnconfirmed(t, gw, 5);
    // The link goes down for good: no new one opens.
    gw.reachable = false;
    gw.links.at(-1)?.cut();
    const result = await t.finish(300);
    expect(result.complete).toBe(false);
    expect(result.unconfirmed).toEqual({ controls: 5 });
    expect(t.totals().lostBy.unconfirmedAtStop).toBe(5);
    expect(t.totals().delivered).toBe(0);
    expectBalanced(t);
  });

  it('refuses an address the transport cannot open, says why, and retries', async () => {
    const gw = new MemoryGateway();
    const events: TargetEvent[] = [];
    const t = new Target('ws://not-memory', undefined, TUNING, () => ({ sessionId: SESSION, hello: HELLO }), (e) => events.push(e), gw.open);
    targets.push(t);
    t.setActivity('active');
    await waitFor('a retry scheduled', () => events.some((e) => e.kind === 'backoff'));
    expect(t.lastError).toBe('cannot open ws://not-memory: not a memory address: ws://not-memory');
    expect(t.state).toBe('backoff');
  });
});

describe('the seam', () => {
  it('leaves ws to ws-transport.ts alone among the relay modules (type imports aside)', () => {
    const dir = path.join(import.meta.dirname, '../src-main/relay');
    const importers = fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.ts'))
      .filter((f) => /^import (?!type )[^;]*from 'ws';/m.test(fs.readFileSync(path.join(dir, f), 'utf8')));
    expect(importers).toEqual(['ws-transport.ts']);
  });
});
