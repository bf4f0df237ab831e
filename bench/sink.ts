// The bench's far end, run as a child process (`node --import tsx bench/sink.ts`): plain
// `ws` sinks that count frames, and reference gateways. Receiving (framing, UTF-8 checks,
// parsing, acks) then runs on another core and is not charged to the process under test.
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { startGateway, type Gateway } from '../src-gateway/gateway';
import { READY, type ChildCounts, type ChildReply, type ChildRequest } from './child-protocol';

// `{"type":"frame"` has its 10th byte at 'f', a hello has 'h' there: counting frames costs
// one byte read instead of a JSON.parse, so the sink never becomes the bottleneck.
const TYPE_BYTE = 9;
const FRAME_BYTE = 'f'.charCodeAt(0);
const HELLO_BYTE = 'h'.charCodeAt(0);
const END_BYTE = 'e'.charCodeAt(0);
const SYNC_BYTE = 's'.charCodeAt(0);
/** As the reference gateway paces its receipts: after 256 frames, or 50 ms after the first unconfirmed one. */
const RECEIPT_EVERY = 256;
const RECEIPT_MS = 50;

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

  frame(text: string): void {
    const s = text.indexOf('"stream":"') + 10;
    const stream = text.slice(s, text.indexOf('"', s));
    const q = text.indexOf('"seq":', s) + 6;
    const seq = parseInt(text.slice(q, q + 20), 10);
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

const servers: WebSocketServer[] = [];
const gateways: Gateway[] = [];
const sinkCounts: number[] = [];
const gatewayCounts: number[] = [];
let expecting: { id: number; frames: number; timer: NodeJS.Timeout } | null = null;

function send(reply: ChildReply): void {
  process.send?.(reply);
}

function counts(): ChildCounts {
  return { sinks: [...sinkCounts], gateways: [...gatewayCounts] };
}

function checkExpectation(): void {
  if (!expecting || !sinkCounts.every((c) => c >= (expecting as { frames: number }).frames)) return;
  clearTimeout(expecting.timer);
  send({ id: expecting.id, ok: true, reached: true, counts: counts() });
  expecting = null;
}

function firstByte(data: RawData): number | undefined {
  if (Buffer.isBuffer(data)) return data[TYPE_BYTE];
  if (Array.isArray(data)) return Buffer.concat(data)[TYPE_BYTE];
  return new Uint8Array(data)[TYPE_BYTE];
}

async function startSink(): Promise<string> {
  const index = sinkCounts.length;
  sinkCounts.push(0);
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  servers.push(wss);
  await new Promise<void>((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });
  wss.on('connection', (ws) => {
    const confirmer = new Confirmer(ws);
    ws.on('error', () => {});
    ws.on('close', () => confirmer.close());
    ws.on('message', (data) => {
      const type = firstByte(data);
      if (type !== FRAME_BYTE) {
        if (type === HELLO_BYTE) confirmer.hello(data.toString());
        else if (type === END_BYTE || type === SYNC_BYTE) confirmer.confirm(type === END_BYTE);
        return;
      }
      confirmer.frame(data.toString());
      const n = ++(sinkCounts[index] as number);
      if (expecting && n === expecting.frames) checkExpectation();
    });
  });
  return `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/relay`;
}

async function startCountingGateway(): Promise<string> {
  const index = gatewayCounts.length;
  gatewayCounts.push(0);
  const gw = await startGateway({ name: `bench-${index}` });
  gateways.push(gw);
  gw.on('frame', () => {
    gatewayCounts[index] = (gatewayCounts[index] as number) + 1;
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
    case 'reset':
      sinkCounts.fill(0);
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
      expecting = { id, frames: req.frames, timer };
      checkExpectation();
      return;
    }
    case 'counts':
      send({ id: req.id, ok: true, counts: counts() });
      return;
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
