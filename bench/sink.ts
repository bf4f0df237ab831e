// The bench's far end, run as a child process (bundled: `node dist/bench/sink.mjs`): plain
// `ws` sinks that count frames, reference gateways, and stalled peers. Receiving (framing,
// UTF-8 checks, parsing, receipts) then runs on another core and is not charged to the
// process under test.
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { startGateway, type Gateway } from '../src-gateway/gateway';
import type { Frame } from '../src-shared/protocol';
import { startStalledTcp, startStalledWs, type StalledPeer } from '../tests/helpers/stalled-peers';
import { READY, type ChildCounts, type ChildReply, type ChildRequest, type LatencySamples, type MarkedReport, type SinkCounts } from './child-protocol';

// `{"type":"frame"` has its 10th byte at 'f', a hello has 'h' there: counting frames costs
// one byte read instead of a JSON.parse, so that the sink is not what limits a throughput run.
const TYPE_BYTE = 9;
const FRAME_BYTE = 'f'.charCodeAt(0);
const HELLO_BYTE = 'h'.charCodeAt(0);
const END_BYTE = 'e'.charCodeAt(0);
const SYNC_BYTE = 's'.charCodeAt(0);
/** As the reference gateway paces its receipts: after 256 frames, or 50 ms after the first unconfirmed one. */
const RECEIPT_EVERY = 256;
const RECEIPT_MS = 50;
const STREAM_KEY = Buffer.from('"stream":"');
const SEQ_KEY = Buffer.from('"seq":');
const QUOTE = '"'.charCodeAt(0);
const DIGIT_0 = '0'.charCodeAt(0);
const DIGIT_9 = '9'.charCodeAt(0);

/**
 * Wall-clock time with sub-millisecond resolution: the monotonic clock plus its offset from
 * Date.now(), taken at the instant Date.now() ticks over to a new millisecond.
 */
const EPOCH_OFFSET_NS = ((): bigint => {
  const start = Date.now();
  let now = start;
  while (now === start) now = Date.now();
  return BigInt(now) * 1_000_000n - process.hrtime.bigint();
})();
const epochMs = (hrNs: bigint): number => Number(hrNs + EPOCH_OFFSET_NS) / 1e6;

/**
 * The least a protocol 2 gateway must do for a relay to go on writing: welcome a hello and
 * confirm what arrived. Frames keep the field order the relay writes them in, so the stream
 * and seq are read by position instead of parsing every frame.
 */
class Confirmer {
  private sessionId = '';
  private readonly streams = new Map<string, { from: number; upTo: number }>();
  private pending = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly ws: WebSocket) {}

  hello(text: string): void {
    const hello = JSON.parse(text) as { sessionId: string };
    this.sessionId = hello.sessionId;
    this.streams.clear();
    this.ws.send(JSON.stringify({ type: 'welcome', protocol: 2, gateway: 'bench-sink', sessionId: hello.sessionId, holds: {} }));
  }

  /** Reads the stream and seq straight from the bytes: no string is made of the frame. */
  frame(data: Buffer): void {
    const s = data.indexOf(STREAM_KEY) + STREAM_KEY.length;
    const stream = data.toString('latin1', s, data.indexOf(QUOTE, s));
    let q = data.indexOf(SEQ_KEY, s) + SEQ_KEY.length;
    let seq = 0;
    for (let c = data[q] as number; c >= DIGIT_0 && c <= DIGIT_9; c = data[++q] as number) seq = seq * 10 + (c - DIGIT_0);
    const entry = this.streams.get(stream);
    if (entry) entry.upTo = seq;
    else this.streams.set(stream, { from: seq, upTo: seq });
    if (++this.pending >= RECEIPT_EVERY) this.confirm(false);
    else this.timer ??= setTimeout(() => this.confirm(false), RECEIPT_MS);
  }

  confirm(final: boolean): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.pending = 0;
    const streams: Record<string, { from: number; upTo: number; highest: number }> = {};
    for (const [name, e] of this.streams) streams[name] = { from: e.from, upTo: e.upTo, highest: e.upTo };
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(JSON.stringify({ type: 'receipt', sessionId: this.sessionId, streams, ...(final ? { final: true } : {}) }));
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
  }
}

interface SinkState {
  frames: number;
  firstNs: bigint | null;
  lastNs: bigint | null;
}

const servers: WebSocketServer[] = [];
const sinks: SinkState[] = [];
const gateways: Gateway[] = [];
const gatewayCounts: number[] = [];
const stalledPeers: StalledPeer[] = [];
let expecting: { id: number; frames: number; sinks: number; timer: NodeJS.Timeout } | null = null;
let watching: { gateway: number; sessions: Set<string> } | null = null;
let samples: LatencySamples = {};
let mark: { atNs: bigint; zeroAtNs: (bigint | null)[]; frames: MarkedReport['frames'] } | null = null;

function send(reply: ChildReply): void {
  process.send?.(reply);
}

const text = (ns: bigint | null): string | null => (ns === null ? null : ns.toString());

function counts(): ChildCounts {
  const sinkCounts: SinkCounts[] = sinks.map((s) => ({ frames: s.frames, firstNs: text(s.firstNs), lastNs: text(s.lastNs) }));
  return { sinks: sinkCounts, gateways: [...gatewayCounts], connections: gateways.map((g) => g.connections()) };
}

function checkExpectation(): void {
  const e = expecting;
  if (!e || !sinks.slice(0, e.sinks).every((s) => s.frames >= e.frames)) return;
  clearTimeout(e.timer);
  send({ id: e.id, ok: true, reached: true, counts: counts() });
  expecting = null;
}

function asBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

async function startSink(): Promise<string> {
  const state: SinkState = { frames: 0, firstNs: null, lastNs: null };
  sinks.push(state);
  // The relay's frames are its own JSON: checking their UTF-8 here would only slow the far end.
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, skipUTF8Validation: true });
  servers.push(wss);
  await new Promise<void>((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });
  wss.on('connection', (ws) => {
    const confirmer = new Confirmer(ws);
    ws.on('error', () => {});
    ws.on('close', () => confirmer.close());
    ws.on('message', (raw) => {
      const data = asBuffer(raw);
      const type = data[TYPE_BYTE];
      if (type !== FRAME_BYTE) {
        if (type === HELLO_BYTE) confirmer.hello(data.toString());
        else if (type === END_BYTE || type === SYNC_BYTE) confirmer.confirm(type === END_BYTE);
        return;
      }
      confirmer.frame(data);
      const now = process.hrtime.bigint();
      state.firstNs ??= now;
      state.lastNs = now;
      state.frames++;
      if (expecting && state.frames === expecting.frames) checkExpectation();
    });
  });
  return `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/relay`;
}

async function startCountingGateway(): Promise<string> {
  const index = gateways.length;
  gatewayCounts.push(0);
  const gw = await startGateway({ name: `bench-${index}` });
  gateways.push(gw);
  gw.on('frame', (frame: Frame, receivedAtNs: bigint) => {
    gatewayCounts[index] = (gatewayCounts[index] as number) + 1;
    if (watching?.gateway === index && watching.sessions.has(frame.sessionId)) {
      (samples[frame.sessionId] ??= []).push(epochMs(receivedAtNs) - frame.ts);
    }
    if (mark && receivedAtNs >= mark.atNs) mark.frames.push({ gateway: index, atNs: receivedAtNs.toString() });
  });
  gw.on('close', () => {
    if (mark && gw.connections() === 0 && mark.zeroAtNs[index] === null) mark.zeroAtNs[index] = process.hrtime.bigint();
  });
  return gw.url;
}

async function closeAll(): Promise<void> {
  if (expecting) clearTimeout(expecting.timer);
  expecting = null;
  for (const wss of servers) for (const client of wss.clients) client.terminate();
  await Promise.all([
    ...servers.map((wss) => new Promise<void>((resolve) => wss.close(() => resolve()))),
    ...gateways.map((gw) => gw.close()),
    ...stalledPeers.map((p) => p.close()),
  ]);
}

async function handle(req: ChildRequest): Promise<void> {
  switch (req.cmd) {
    case 'sinks': {
      const urls: string[] = [];
      for (let i = 0; i < req.count; i++) urls.push(await startSink());
      send({ id: req.id, ok: true, urls });
      return;
    }
    case 'gateways': {
      const urls: string[] = [];
      for (let i = 0; i < req.count; i++) urls.push(await startCountingGateway());
      send({ id: req.id, ok: true, urls });
      return;
    }
    case 'stalled': {
      const peer = req.kind === 'tcp' ? await startStalledTcp() : await startStalledWs();
      stalledPeers.push(peer);
      send({ id: req.id, ok: true, urls: [peer.url] });
      return;
    }
    case 'reset':
      for (const s of sinks) Object.assign(s, { frames: 0, firstNs: null, lastNs: null });
      gatewayCounts.fill(0);
      send({ id: req.id, ok: true, counts: counts() });
      return;
    case 'expect': {
      if (expecting) throw new Error('an expectation is already pending');
      const id = req.id;
      const timer = setTimeout(() => {
        expecting = null;
        send({ id, ok: true, reached: false, counts: counts() });
      }, req.timeoutMs);
      expecting = { id, frames: req.frames, sinks: req.sinks, timer };
      checkExpectation();
      return;
    }
    case 'counts':
      send({ id: req.id, ok: true, counts: counts() });
      return;
    case 'watch':
      watching = { gateway: req.gateway, sessions: new Set(req.sessions) };
      samples = {};
      send({ id: req.id, ok: true });
      return;
    case 'latency':
      send({ id: req.id, ok: true, latency: samples });
      watching = null;
      samples = {};
      return;
    case 'mark':
      mark = { atNs: BigInt(req.atNs), zeroAtNs: gateways.map(() => null), frames: [] };
      send({ id: req.id, ok: true });
      return;
    case 'marked': {
      if (!mark) throw new Error('no mark set');
      const marked: MarkedReport = { zeroAtNs: mark.zeroAtNs.map(text), frames: mark.frames };
      mark = null;
      send({ id: req.id, ok: true, marked });
      return;
    }
    case 'close':
      await closeAll();
      send({ id: req.id, ok: true });
      process.disconnect?.();
      return;
  }
}

process.on('message', (msg: ChildRequest) => {
  handle(msg).catch((e: unknown) => send({ id: msg.id, ok: false, error: (e as Error).message }));
});
// The parent died or let go: nothing else would ever close these servers.
process.on('disconnect', () => {
  void closeAll().finally(() => process.exit(0));
});
process.send?.(READY);
