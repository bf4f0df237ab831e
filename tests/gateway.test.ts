// The reference gateway over real sockets on 127.0.0.1: a raw ws client speaking protocol 2
// that queues what it receives (receipts apart), fetch for plain HTTP, and node:http where
// the Host or Origin header must be forged.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, type ClientOptions } from 'ws';
import { startGateway, type Gateway, type GatewayOptions, type StreamParity } from '../src-gateway/gateway';
import { MAX_SESSIONS_PER_CONNECTION } from '../src-gateway/ingest';
import { RECEIPT_INTERVAL_MS } from '../src-gateway/receipts';
import { emptyStreamParity } from '../src-shared/gateway-api';
import { GAP_REASONS, MAX_RESUME_SKIP, MAX_SEQ_ADVANCE, PROTOCOL_VERSION, ReceiptSchema, WelcomeSchema, type GapReason } from '../src-shared/protocol';
import { waitFor } from './helpers/wait';

type Msg = { type: string; [key: string]: unknown };
type ReceiptMsg = { type: 'receipt'; sessionId: string; streams: Record<string, { from?: number; upTo: number; highest: number; lacking?: Array<[number, number]> }>; final?: true };

const live = new Set<{ close(): unknown }>();

/** Closes every gateway and client made by these helpers; call in afterEach. */
async function cleanup(): Promise<void> {
  const all = [...live];
  live.clear();
  await Promise.all(all.map((x) => x.close()));
}

async function gateway(options: GatewayOptions = {}): Promise<Gateway> {
  const gw = await startGateway(options);
  live.add(gw);
  return gw;
}

class Client {
  /** Every message but receipts, in order, until taken by next(). */
  readonly received: Msg[] = [];
  /** Every receipt, in order (never taken). */
  readonly receipts: ReceiptMsg[] = [];
  private waiters: Array<() => void> = [];
  closeInfo: { code: number; reason: string } | null = null;
  private readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      const msg = isBinary ? { type: '(binary)' } : (JSON.parse(String(data)) as Msg);
      if (msg.type === 'receipt') {
        // Every receipt must be valid protocol, whatever the test looks at.
        expect(ReceiptSchema.safeParse(msg).success).toBe(true);
        this.receipts.push(msg as ReceiptMsg);
      } else this.received.push(msg);
      this.wake();
    });
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        this.closeInfo = { code, reason: reason.toString() };
        this.wake();
        resolve(this.closeInfo);
      });
    });
    ws.on('error', () => {});
  }

  static async connect(url: string, options: ClientOptions = {}): Promise<Client> {
    const ws = new WebSocket(url, options);
    const client = new Client(ws);
    live.add(client);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`unexpected response ${res.statusCode}`)));
    });
    return client;
  }

  /** Connects and greets; resolves with the welcome. */
  static async hello(url: string, sessionId: string, extra: Record<string, unknown> = {}, options: ClientOptions = {}): Promise<{ client: Client; welcome: Msg }> {
    const client = await Client.connect(url, options);
    client.send(helloMsg(sessionId, extra));
    const welcome = await client.next();
    return { client, welcome };
  }

  send(message: unknown): void {
    this.ws.send(typeof message === 'string' || Buffer.isBuffer(message) ? message : JSON.stringify(message));
  }

  /** The next message not yet taken (receipts excepted), waiting up to timeoutMs. */
  async next(timeoutMs = 2000): Promise<Msg> {
    await this.until(() => this.received.length > 0, timeoutMs, 'a message');
    return this.received.shift() as Msg;
  }

  /** The first receipt from index `from` on that satisfies `check`. */
  async receipt(check: (r: ReceiptMsg) => boolean = () => true, from = 0, timeoutMs = 2000): Promise<ReceiptMsg> {
    let found: ReceiptMsg | undefined;
    await this.until(() => (found = this.receipts.slice(from).find(check)) !== undefined, timeoutMs, 'a receipt');
    return found as ReceiptMsg;
  }

  /** Asks for a receipt now and returns it. */
  async sync(sessionId: string): Promise<ReceiptMsg> {
    const from = this.receipts.length;
    this.send({ type: 'sync', sessionId });
    // Replies come in order: the first receipt after the barrier's error is the sync's.
    await this.drain();
    return this.receipt(() => true, from);
  }

  /**
   * Sends a message that surely gets an error reply, and returns everything received
   * before that reply (receipts apart): replies come in order, so this proves what was (not) sent.
   */
  async drain(): Promise<Msg[]> {
    this.send({ type: 'barrier' });
    const out: Msg[] = [];
    for (;;) {
      const m = await this.next();
      if (m.type === 'error' && m.code === 'unknown_type' && String(m.message).includes('"barrier"')) return out;
      out.push(m);
    }
  }

  waitClose(timeoutMs = 2000): Promise<{ code: number; reason: string }> {
    return Promise.race([
      this.closed,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timed out waiting for close')), timeoutMs).unref()),
    ]);
  }

  close(): Promise<unknown> {
    if (this.ws.readyState !== WebSocket.CLOSED) this.ws.terminate();
    return this.closed;
  }

  private async until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (this.closeInfo) throw new Error(`closed (${this.closeInfo.code}) while waiting for ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

function helloMsg(sessionId: string, extra: Record<string, unknown> = {}): Msg {
  return { type: 'hello', protocol: PROTOCOL_VERSION, agent: 'relay-agent/test', sessionId, streams: ['controls', 'baseline'], meta: {}, ...extra };
}

function frameMsg(sessionId: string, stream: string, seq: number, extra: Record<string, unknown> = {}): Msg {
  return { type: 'frame', sessionId, stream, seq, ts: 1_735_635_285_000 + seq, data: { v: seq }, ...extra };
}

function gapMsg(sessionId: string, stream: string, from: number, to: number, reason: GapReason): Msg {
  return { type: 'gap', sessionId, stream, from, to, reason };
}

function noGaps(partial: Partial<Record<GapReason, number>> = {}): Record<GapReason, number> {
  return { ...(Object.fromEntries(GAP_REASONS.map((r) => [r, 0])) as Record<GapReason, number>), ...partial };
}

/** A stream's parity with every count zero unless given. */
function streamParity(partial: Partial<StreamParity>): StreamParity {
  return { ...emptyStreamParity(), ...partial };
}

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** An HTTP request with full control of the headers, Host included. */
function rawRequest(port: number, path: string, options: { method?: string; headers?: Record<string, string> } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: options.headers ?? {}, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** A WebSocket upgrade request by hand; resolves with the HTTP response when it is refused. */
function rawUpgrade(port: number, path: string, headers: Record<string, string> = {}): Promise<RawResponse | 'upgraded'> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port,
      path,
      agent: false,
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': Buffer.from('0123456789abcdef').toString('base64'),
        ...headers,
      },
    });
    req.on('upgrade', (_res, socket) => {
      socket.destroy();
      resolve('upgraded');
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function getJson(url: string): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, headers: res.headers };
}

afterEach(cleanup);

const SID = 'sess_abc123';

describe('relay protocol', () => {
  it('answers hello with a welcome naming the gateway and the session, holding nothing yet', async () => {
    const gw = await gateway({ name: 'gateway-a' });
    const { welcome } = await Client.hello(gw.url, SID);
    expect(welcome).toEqual({ type: 'welcome', protocol: 2, gateway: 'gateway-a', sessionId: SID, holds: {} });
    expect(WelcomeSchema.safeParse(welcome).success).toBe(true);
    expect(gw.sessions()).toEqual([SID]);
    expect(gw.url).toBe(`ws://127.0.0.1:${gw.port}/relay`);
    expect(gw.httpUrl).toBe(`http://127.0.0.1:${gw.port}`);
  });

  it('counts frames per stream and acks exactly the frames asking for one', async () => {
    const gw = await gateway();
    const { client } = await Client.hello(gw.url, SID);
    for (let seq = 1; seq <= 10; seq++) client.send(frameMsg(SID, 'controls', seq, seq % 5 === 0 ? { ack: true } : {}));
    for (let seq = 1; seq <= 4; seq++) client.send(frameMsg(SID, 'baseline', seq, { ack: true }));
    const replies = await client.drain();
    expect(replies).toEqual([
      { type: 'ack', sessionId: SID, stream: 'controls', seq: 5 },
      { type: 'ack', sessionId: SID, stream: 'controls', seq: 10 },
      ...[1, 2, 3, 4].map((seq) => ({ type: 'ack', sessionId: SID, stream: 'baseline', seq })),
    ]);
    const { status, body } = await getJson(`${gw.httpUrl}/api/dev/diagnostics/parity?sessionId=${SID}`);
    expect(status).toBe(200);
    expect(body).toEqual({
      sessionId: SID,
      streams: {
        controls: streamParity({ framesIn: 10, acked: 2, lastFrameTs: 1_735_635_285_010, firstSeq: 1, lastSeq: 10, upTo: 10 }),
        baseline: streamParity({ framesIn: 4, acked: 4, lastFrameTs: 1_735_635_285_004, firstSeq: 1, lastSeq: 4, upTo: 4 }),
      },
      duplicates: 0,
      outOfOrder: 0,
      missing: 0,
      resent: 0,
      resentDuplicates: 0,
      lastError: 'unknown_type: unknown message type "barrier"; expected one of hello, frame, gap, end, sync',
    });
    expect(gw.parity(SID)).toEqual(body);
  });

  it("emits 'frame' with a receipt time for every accepted frame but not for duplicates", async () => {
    const gw = await gateway();
    const seen: Array<[number, bigint]> = [];
    gw.on('frame', (frame, at) => seen.push([frame.seq, at]));
    const { client } = await Client.hello(gw.url, SID);
    const before = process.hrtime.bigint();
    for (const seq of [1, 2, 2, 4, 3]) client.send(frameMsg(SID, 'controls', seq));
    await client.drain();
    expect(seen.map(([seq]) => seq)).toEqual([1, 2, 4, 3]);
    for (const [, at] of seen) {
      expect(typeof at).toBe('bigint');
      expect(at >= before && at <= process.hrtime.bigint()).toBe(true);
    }
  });

  it('survives a throwing frame listener', async () => {
    const gw = await gateway();
    gw.on('frame', () => {
      throw new Error('listener bug');
    });
    const { client } = await Client.hello(gw.url, SID);
    client.send(frameMsg(SID, 'controls', 1, { ack: true }));
    expect(await client.drain()).toEqual([{ type: 'ack', sessionId: SID, stream: 'controls', seq: 1 }]);
    expect(gw.parity(SID)?.streams.controls?.framesIn).toBe(1);
  });

  it('computes duplicates, out-of-order, missing and source gaps from crafted sequences', async () => {
    const gw = await gateway();
    const { client } = await Client.hello(gw.url, SID);
    // controls: 1 2 3 | 7 (4,5,6 missing) | 5 late | 5 again dup | 2 dup | 8 | 12 (9,10,11 missing) | 10 late
    for (const seq of [1, 2, 3, 7, 5, 5, 2, 8, 12, 10]) client.send(frameMsg(SID, 'controls', seq, { ack: true }));
    // baseline: ticks 100 101 104 (2 skipped at the source) 105, then seq gap 4 -> 6 with ticks 105 -> 107
    // (the lost seq 5 carried tick 106: no source gap), then 7 at tick 110 (2 skipped).
    const ticks: Array<[number, number]> = [[1, 100], [2, 101], [3, 104], [4, 105], [6, 107], [7, 110]];
    for (const [seq, tick] of ticks) client.send(frameMsg(SID, 'baseline', seq, { tick }));
    const replies = await client.drain();
    // Every ack:true frame is acked, duplicates included.
    expect(replies.map((r) => r.seq)).toEqual([1, 2, 3, 7, 5, 5, 2, 8, 12, 10]);
    const p = gw.parity(SID);
    expect(p?.streams.controls).toEqual(
      streamParity({ framesIn: 8, acked: 10, lastFrameTs: 1_735_635_285_012, firstSeq: 1, lastSeq: 12, upTo: 3, missing: 4, duplicates: 2, outOfOrder: 2 }),
    );
    expect(p?.streams.baseline).toEqual(streamParity({ framesIn: 6, lastFrameTs: 1_735_635_285_007, firstSeq: 1, lastSeq: 7, upTo: 4, missing: 1, sourceGaps: 4 }));
    expect(p?.duplicates).toBe(2);
    expect(p?.outOfOrder).toBe(2);
    expect(p?.missing).toBe(5);
  });

  it('continues the same parity record when a relay reconnects, and its welcome says what the gateway holds', async () => {
    const gw = await gateway();
    const first = await Client.hello(gw.url, SID);
    for (const seq of [1, 2, 3, 5, 8]) first.client.send(frameMsg(SID, 'controls', seq));
    first.client.send(gapMsg(SID, 'controls', 9, 10, 'standby'));
    first.client.send(frameMsg(SID, 'baseline', 1));
    await first.client.drain();
    await first.client.close();
    await waitFor('no connection at the gateway', () => gw.connections() === 0, 2000);
    const second = await Client.hello(gw.url, SID);
    expect(second.welcome).toEqual({
      type: 'welcome',
      protocol: 2,
      gateway: 'gateway',
      sessionId: SID,
      holds: { controls: { from: 1, upTo: 3, highest: 10, lacking: [[4, 4], [6, 7]] }, baseline: { from: 1, upTo: 1, highest: 1 } },
    });
    // The relay resends what the welcome lacks, then goes on.
    for (const seq of [4, 6, 7]) second.client.send(frameMsg(SID, 'controls', seq, { resend: true }));
    for (const seq of [3, 11, 13]) second.client.send(frameMsg(SID, 'controls', seq));
    await second.client.drain();
    const p = gw.parity(SID);
    expect(p?.streams.controls).toMatchObject({ framesIn: 10, firstSeq: 1, lastSeq: 13, upTo: 11, missing: 1, resent: 3, duplicates: 1, outOfOrder: 0 });
    expect(p?.duplicates).toBe(1);
    // Another session's welcome holds nothing of this one.
    expect((await Client.hello(gw.url, 'sess_other')).welcome.holds).toEqual({});
  });

  it('keeps the record of a reconnect without gaps', async () => {
    const gw = await gateway();
    const first = await Client.hello(gw.url, SID);
    for (const seq of [1, 2, 3]) first.client.send(frameMsg(SID, 'controls', seq));
    await first.client.drain();
    await first.client.close();
    await waitFor('no connection at the gateway', () => gw.connections() === 0, 2000);
    const second = await Client.hello(gw.url, SID);
    for (const seq of [3, 4, 6]) second.client.send(frameMsg(SID, 'controls', seq));
    await second.client.drain();
    const p = gw.parity(SID);
    expect(p?.streams.controls).toMatchObject({ framesIn: 5, firstSeq: 1, lastSeq: 6, missing: 1 });
    expect(p?.duplicates).toBe(1);
  });

  it('switches session on a new hello and refuses frames of another session', async () => {
    const gw = await gateway();
    const { client } = await Client.hello(gw.url, 'sess_one');
    client.send(frameMsg('sess_one', 'controls', 1));
    client.send(frameMsg('sess_two', 'controls', 1));
    const err = await client.next();
    expect(err).toMatchObject({ type: 'error', code: 'invalid_message' });
    client.send(helloMsg('sess_two'));
    expect(await client.next()).toMatchObject({ type: 'welcome' });
    client.send(frameMsg('sess_two', 'controls', 1));
    client.send(frameMsg('sess_two', 'controls', 2));
    await client.drain();
    expect(gw.sessions().sort()).toEqual(['sess_one', 'sess_two']);
    expect(gw.parity('sess_one')?.streams.controls?.framesIn).toBe(1);
    expect(gw.parity('sess_one')?.lastError).toMatch(/^invalid_message: frame for session "sess_two"/);
    expect(gw.parity('sess_two')?.streams.controls?.framesIn).toBe(2);
  });

  it('refuses a frame before hello without counting it, and keeps the connection', async () => {
    const gw = await gateway();
    const client = await Client.connect(gw.url);
    client.send(frameMsg(SID, 'controls', 1));
    expect(await client.next()).toMatchObject({ type: 'error', code: 'hello_required' });
    expect(gw.sessions()).toEqual([]);
    client.send(helloMsg(SID));
    expect(await client.next()).toMatchObject({ type: 'welcome' });
    client.send(frameMsg(SID, 'controls', 1));
    await client.drain();
    expect(gw.parity(SID)?.streams.controls?.framesIn).toBe(1);
  });

  it('answers malformed messages with the right error codes, keeps the connection and leaves others alone', async () => {
    const gw = await gateway();
    const bad = await Client.hello(gw.url, 'sess_bad');
    const good = await Client.hello(gw.url, 'sess_good');
    const cases: Array<[unknown, string]> = [
      ['{not json', 'bad_json'],
      ['[1,2]', 'invalid_message'],
      [{ type: 'nope' }, 'unknown_type'],
      [{ type: 'frame', sessionId: 'sess_bad', stream: 'controls' }, 'invalid_message'],
      [{ type: 'hello', protocol: 2 }, 'invalid_message'],
      [{ type: 'gap', sessionId: 'sess_bad', stream: 'controls', from: 5, to: 4, reason: 'standby' }, 'invalid_message'],
      [{ type: 'gap', sessionId: 'sess_bad', stream: 'controls', from: 1, to: 4, reason: 'bored' }, 'invalid_message'],
      [Buffer.from([1, 2, 3]), 'binary_not_supported'],
    ];
    for (const [message, code] of cases) {
      bad.client.send(message);
      const reply = await bad.client.next();
      expect(reply).toMatchObject({ type: 'error', code });
      expect(typeof reply.message).toBe('string');
    }
    bad.client.send(frameMsg('sess_bad', 'controls', 1, { ack: true }));
    expect(await bad.client.next()).toMatchObject({ type: 'ack', seq: 1 });
    good.client.send(frameMsg('sess_good', 'controls', 1, { ack: true }));
    expect(await good.client.next()).toMatchObject({ type: 'ack', seq: 1 });
    expect(gw.connections()).toBe(2);
    expect(gw.parity('sess_bad')?.lastError).toMatch(/^binary_not_supported: /);
    expect(gw.parity('sess_good')?.lastError).toBeNull();
    const metrics = await (await fetch(`${gw.httpUrl}/metrics`)).text();
    expect(metrics).toContain('gateway_errors_total{code="bad_json"} 1');
    expect(metrics).toContain('gateway_errors_total{code="invalid_message"} 5');
    expect(metrics).toContain('gateway_errors_total{code="unknown_type"} 1');
    expect(metrics).toContain('gateway_errors_total{code="binary_not_supported"} 1');
  });

  it('closes with 1002 after protocol_mismatch', async () => {
    const gw = await gateway();
    const client = await Client.connect(gw.url);
    client.send(helloMsg(SID, { protocol: 1 }));
    expect(await client.next()).toMatchObject({ type: 'error', code: 'protocol_mismatch' });
    expect((await client.waitClose()).code).toBe(1002);
    expect(gw.sessions()).toEqual([]);
  });

  it('closes an oversized message with 1009, counts it, and another connection carries on', async () => {
    const gw = await gateway({ maxPayloadBytes: 1024 });
    const big = await Client.hello(gw.url, 'sess_big');
    const other = await Client.hello(gw.url, 'sess_other');
    big.client.send(frameMsg('sess_big', 'controls', 1, { data: { blob: 'x'.repeat(2000) } }));
    expect((await big.client.waitClose()).code).toBe(1009);
    other.client.send(frameMsg('sess_other', 'controls', 1, { ack: true }));
    expect(await other.client.next()).toMatchObject({ type: 'ack', seq: 1 });
    await waitFor('one connection at the gateway', () => gw.connections() === 1, 2000);
    expect(gw.parity('sess_big')?.lastError).toMatch(/^too_large: /);
    expect(await (await fetch(`${gw.httpUrl}/metrics`)).text()).toContain('gateway_errors_total{code="too_large"} 1');
  });

  it('answers a flood with rate_limited and closes it with 1008, leaving another connection alone', async () => {
    const gw = await gateway({ rateLimit: { messagesPerSecond: 10, burst: 20 } });
    const flood = await Client.hello(gw.url, 'sess_flood');
    const calm = await Client.hello(gw.url, 'sess_calm');
    for (let seq = 1; seq <= 100; seq++) flood.client.send(frameMsg('sess_flood', 'controls', seq));
    const { code, reason } = await flood.client.waitClose();
    expect(code).toBe(1008);
    expect(reason).toMatch(/rate limit/);
    expect(flood.client.received).toContainEqual(expect.objectContaining({ type: 'error', code: 'rate_limited' }));
    // The welcome used one token; 19 frames fit in the burst, the rest were ignored.
    const framesIn = gw.parity('sess_flood')?.streams.controls?.framesIn ?? 0;
    expect(framesIn).toBeGreaterThanOrEqual(19);
    expect(framesIn).toBeLessThan(25);
    calm.client.send(frameMsg('sess_calm', 'controls', 1, { ack: true }));
    expect(await calm.client.next()).toMatchObject({ type: 'ack', seq: 1 });
  });

  it('closes every socket at once on close()', async () => {
    const gw = await gateway();
    const a = await Client.hello(gw.url, 'sess_a');
    const b = await Client.hello(gw.url, 'sess_b');
    await gw.close();
    await a.client.waitClose();
    await b.client.waitClose();
    expect(gw.connections()).toBe(0);
    await expect(fetch(`${gw.httpUrl}/api/health`)).rejects.toThrow();
    await gw.close();
  });
});

describe('diagnostics and metrics switches', () => {
  it('with diagnostics off: 404 on /api/dev/diagnostics/* and no acks', async () => {
    const gw = await gateway({ diagnosticsEnabled: false });
    for (const path of ['/api/dev/diagnostics/build', `/api/dev/diagnostics/parity?sessionId=${SID}`]) {
      const { status, body } = await getJson(`${gw.httpUrl}${path}`);
      expect(status).toBe(404);
      expect(typeof body.error).toBe('string');
    }
    const { client } = await Client.hello(gw.url, SID);
    for (let seq = 1; seq <= 5; seq++) client.send(frameMsg(SID, 'controls', seq, { ack: true }));
    expect(await client.drain()).toEqual([]);
    expect(gw.parity(SID)?.streams.controls).toMatchObject({ framesIn: 5, acked: 0 });
    // Receipts are protocol, not diagnostics: they still come.
    expect((await client.sync(SID)).streams.controls).toEqual({ from: 1, upTo: 5, highest: 5 });
    expect((await fetch(`${gw.httpUrl}/metrics`)).status).toBe(200);
  });

  it('with metrics off: 404 on /metrics', async () => {
    const gw = await gateway({ metricsEnabled: false });
    const res = await fetch(`${gw.httpUrl}/metrics`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: string }).error).toMatch(/\/metrics/);
    expect((await fetch(`${gw.httpUrl}/api/dev/diagnostics/build`)).status).toBe(200);
  });

  it('serves the counters in Prometheus text format', async () => {
    const gw = await gateway();
    const { client } = await Client.hello(gw.url, SID);
    for (const seq of [1, 2, 2, 5, 4]) client.send(frameMsg(SID, 'controls', seq, { ack: true }));
    client.send(frameMsg(SID, 'baseline', 1));
    await client.drain();
    const res = await fetch(`${gw.httpUrl}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    const text = await res.text();
    expect(text).toContain('# TYPE gateway_frames_received_total counter');
    expect(text).toContain('gateway_frames_received_total{stream="controls"} 4');
    expect(text).toContain('gateway_frames_received_total{stream="baseline"} 1');
    expect(text).toContain('gateway_acks_sent_total{stream="controls"} 5');
    expect(text).toContain('gateway_duplicates_total 1');
    expect(text).toContain('gateway_out_of_order_total 1');
    expect(text).toContain('gateway_frames_missing 1');
    expect(text).toContain('gateway_errors_total{code="unknown_type"} 1');
    expect(text).toContain('gateway_errors_total{code="rate_limited"} 0');
    expect(text).toContain('gateway_connections 1');
  });

  it('keeps the metrics of two gateways in one process apart', async () => {
    const a = await gateway({ name: 'a' });
    const b = await gateway({ name: 'b' });
    const { client } = await Client.hello(a.url, SID);
    client.send(frameMsg(SID, 'controls', 1));
    await client.drain();
    expect(await (await fetch(`${a.httpUrl}/metrics`)).text()).toContain('gateway_frames_received_total{stream="controls"} 1');
    expect(await (await fetch(`${b.httpUrl}/metrics`)).text()).not.toContain('stream="controls"');
  });
});

describe('HTTP endpoints', () => {
  it('reports open relay connections in /api/health as they come and go', async () => {
    const gw = await gateway({ name: 'gw-health' });
    const health = async (): Promise<Record<string, unknown>> => (await getJson(`${gw.httpUrl}/api/health`)).body;
    expect(await health()).toMatchObject({ status: 'ok', connections: 0, name: 'gw-health' });
    const a = await Client.connect(gw.url);
    const b = await Client.connect(gw.url);
    await waitFor('two connections at the gateway', () => gw.connections() === 2, 2000);
    const h = await health();
    expect(h.connections).toBe(2);
    expect(typeof h.uptimeMs).toBe('number');
    await a.close();
    await waitFor('one connection at the gateway', () => gw.connections() === 1, 2000);
    expect((await health()).connections).toBe(1);
    await b.close();
    await waitFor('no connection at the gateway', () => gw.connections() === 0, 2000);
    expect((await health()).connections).toBe(0);
  });

  it('serves build info', async () => {
    const gw = await gateway();
    const { status, body } = await getJson(`${gw.httpUrl}/api/dev/diagnostics/build`);
    expect(status).toBe(200);
    expect(Object.keys(body).sort()).toEqual(['buildTime', 'environment', 'gitSha', 'version']);
    expect(body.version).toBe('0.1.0');
    expect(body.gitSha).toBe(process.env.GIT_SHA || 'unknown');
    expect(Number.isNaN(Date.parse(String(body.buildTime)))).toBe(false);
    expect(body.environment).toBe(process.env.NODE_ENV || 'development');
  });

  it('answers 400 with the known sessions when sessionId is missing, 404 for an unknown one', async () => {
    const gw = await gateway();
    await Client.hello(gw.url, SID);
    const missing = await getJson(`${gw.httpUrl}/api/dev/diagnostics/parity`);
    expect(missing.status).toBe(400);
    expect(missing.body.sessions).toEqual([SID]);
    expect(missing.body.error).toMatch(/sessionId/);
    const unknown = await getJson(`${gw.httpUrl}/api/dev/diagnostics/parity?sessionId=nope`);
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual({ error: 'unknown session', sessionId: 'nope' });
    expect(unknown.headers.get('content-type')).toMatch(/^application\/json/);
  });

  it('answers an unknown path with 404 JSON and a non-GET with 405 JSON', async () => {
    const gw = await gateway();
    const notFound = await getJson(`${gw.httpUrl}/nope`);
    expect(notFound.status).toBe(404);
    expect(notFound.body.error).toMatch(/\/nope/);
    const post = await fetch(`${gw.httpUrl}/api/health`, { method: 'POST', body: '{}' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET');
    expect(((await post.json()) as { error: string }).error).toMatch(/POST.*expected GET/);
    const relay = await fetch(`${gw.httpUrl}/relay`);
    expect(relay.status).toBe(426);
  });

  it('refuses a foreign Host header with 403 on HTTP and on the upgrade', async () => {
    const gw = await gateway();
    const evil = `evil.example:${gw.port}`;
    const http = await rawRequest(gw.port, '/api/health', { headers: { Host: evil } });
    expect(http.status).toBe(403);
    expect(JSON.parse(http.body).error).toMatch(/evil\.example/);
    for (const path of ['/metrics', '/api/dev/diagnostics/build']) {
      expect((await rawRequest(gw.port, path, { headers: { Host: evil } })).status).toBe(403);
    }
    const upgrade = await rawUpgrade(gw.port, '/relay', { Host: evil });
    expect(upgrade).not.toBe('upgraded');
    expect((upgrade as RawResponse).status).toBe(403);
    expect(await rawUpgrade(gw.port, '/relay', { Host: `localhost:${gw.port}` })).toBe('upgraded');
    expect((await rawRequest(gw.port, '/api/health', { headers: { Host: `localhost:${gw.port}` } })).status).toBe(200);
  });

  it('refuses upgrades on any path but /relay with 404', async () => {
    const gw = await gateway();
    const res = await rawUpgrade(gw.port, '/other', { Host: `127.0.0.1:${gw.port}` });
    expect((res as RawResponse).status).toBe(404);
    expect(await rawUpgrade(gw.port, '/relay?x=1', { Host: `127.0.0.1:${gw.port}` })).toBe('upgraded');
  });
});

describe('token', () => {
  it('refuses an upgrade without the right bearer token with 401 and accepts the right one', async () => {
    const gw = await gateway({ token: 's3cret' });
    await expect(Client.connect(gw.url)).rejects.toThrow(/401/);
    await expect(Client.connect(gw.url, { headers: { Authorization: 'Bearer wrong' } })).rejects.toThrow(/401/);
    await expect(Client.connect(gw.url, { headers: { Authorization: 'Basic s3cret' } })).rejects.toThrow(/401/);
    const { welcome } = await Client.hello(gw.url, SID, {}, { headers: { Authorization: 'Bearer s3cret' } });
    expect(welcome.type).toBe('welcome');
    expect(gw.connections()).toBe(1);
    // The token guards relay ingest only; health stays readable.
    expect((await fetch(`${gw.httpUrl}/api/health`)).status).toBe(200);
  });

  it('rejects bad options up front', async () => {
    await expect(startGateway({ token: '' })).rejects.toThrow(/token/);
    await expect(startGateway({ port: 70000 })).rejects.toThrow(/port/);
    await expect(startGateway({ rateLimit: { messagesPerSecond: 0, burst: 1 } })).rejects.toThrow(/rateLimit/);
  });
});

/** Waits out two receipt windows: the only way to show that a paced receipt does not come. */
function pastReceiptWindow(): Promise<void> {
  return new Promise((r) => setTimeout(r, 2 * RECEIPT_INTERVAL_MS + 20));
}

describe('receipts', () => {
  it('confirms cumulatively at a bounded rate: 600 frames at once get a few receipts, the last covering all', async () => {
    const gw = await gateway();
    const { client } = await Client.hello(gw.url, SID);
    for (let seq = 1; seq <= 600; seq++) client.send(frameMsg(SID, 'controls', seq));
    const last = await client.receipt((r) => r.streams.controls?.upTo === 600);
    expect(last).toEqual({ type: 'receipt', sessionId: SID, streams: { controls: { from: 1, upTo: 600, highest: 600 } } });
    // One at 256 and 512 frames, one by the timer for the rest; a slow machine may split a window.
    expect(client.receipts.length).toBeGreaterThanOrEqual(2);
    expect(client.receipts.length).toBeLessThanOrEqual(12);
    const upTos = client.receipts.map((r) => r.streams.controls?.upTo ?? 0);
    expect(upTos).toEqual([...upTos].sort((a, b) => a - b));
    // Nothing new: no more receipts. Proving an absence takes waiting out the window.
    const count = client.receipts.length;
    await pastReceiptWindow();
    expect(client.receipts.length).toBe(count);
    const metrics = await (await fetch(`${gw.httpUrl}/metrics`)).text();
    expect(metrics).toContain(`gateway_receipts_sent_total ${count}`);
  });

  it('lists only the streams that changed since the last receipt, and confirms only up to the lowest hole', async () => {
    const gw = await gateway();
    const { client } = await Client.hello(gw.url, SID);
    for (const seq of [1, 2, 4]) client.send(frameMsg(SID, 'controls', seq));
    client.send(frameMsg(SID, 'baseline', 1));
    const first = await client.receipt();
    expect(first.streams).toEqual({ controls: { from: 1, upTo: 2, highest: 4, lacking: [[3, 3]] }, baseline: { from: 1, upTo: 1, highest: 1 } });
    client.send(frameMsg(SID, 'baseline', 2));
    const second = await client.receipt(() => true, 1);
    expect(second.streams).toEqual({ baseline: { from: 1, upTo: 2, highest: 2 } });
  });

  it('answers sync at once with every stream of the session', async () => {
    const gw = await gateway();
    const { client } = await Client.hello(gw.url, SID);
    client.send(frameMsg(SID, 'controls', 1));
    client.send(frameMsg(SID, 'baseline', 1));
    client.send(frameMsg(SID, 'baseline', 3));
    const receipt = await client.sync(SID);
    expect(receipt).toEqual({ type: 'receipt', sessionId: SID, streams: { controls: { from: 1, upTo: 1, highest: 1 }, baseline: { from: 1, upTo: 1, highest: 3, lacking: [[2, 2]] } } });
    // The sync's receipt covered the pending ones: the timer sends nothing more.
    await pastReceiptWindow();
    expect(client.receipts).toHaveLength(1);
    client.send({ type: 'sync', sessionId: 'sess_other' });
    expect(await client.next()).toMatchObject({ type: 'error', code: 'invalid_message', message: expect.stringMatching(/^sync for session "sess_other"/) });
  });

  it('says in from where its record of a stream starts, in receipts and in the welcome', async () => {
    const gw = await gateway();
    const first = await Client.hello(gw.url, SID);
    for (const seq of [5, 6, 7]) first.client.send(frameMsg(SID, 'controls', seq));
    expect((await first.client.sync(SID)).streams).toEqual({ controls: { from: 5, upTo: 7, highest: 7 } });
    // A frame below the first seq moves the start down; what lies between is lacking.
    first.client.send(frameMsg(SID, 'controls', 3));
    expect((await first.client.sync(SID)).streams).toEqual({ controls: { from: 3, upTo: 3, highest: 7, lacking: [[4, 4]] } });
    await first.client.close();
    await waitFor('no connection at the gateway', () => gw.connections() === 0, 2000);
    const second = await Client.hello(gw.url, SID);
    expect(WelcomeSchema.safeParse(second.welcome).success).toBe(true);
    expect(second.welcome.holds).toEqual({ controls: { from: 3, upTo: 3, highest: 7, lacking: [[4, 4]] } });
    expect(gw.parity(SID)?.streams.controls).toMatchObject({ firstSeq: 3, lastSeq: 7, missing: 1 });
  });

  it('answers end at once with a final receipt, counting the tail that never came as missing', async () => {
    const gw = await gateway();
    const { client } = await Client.hello(gw.url, SID);
    for (const seq of [1, 2, 3]) client.send(frameMsg(SID, 'controls', seq));
    for (const seq of [1, 2]) client.send(frameMsg(SID, 'baseline', seq));
    client.send({ type: 'end', sessionId: SID, last: { controls: 5, baseline: 2 } });
    const final = await client.receipt((r) => r.final === true);
    expect(final).toEqual({
      type: 'receipt',
      sessionId: SID,
      final: true,
      streams: { controls: { from: 1, upTo: 3, highest: 5, lacking: [[4, 5]] }, baseline: { from: 1, upTo: 2, highest: 2 } },
    });
    const p = gw.parity(SID);
    expect(p?.streams.controls).toMatchObject({ lastSeq: 5, missing: 2, endedAt: 5, upTo: 3 });
    expect(p?.streams.baseline).toMatchObject({ missing: 0, endedAt: 2 });
    expect(p?.missing).toBe(2);
    client.ws.close(1000);
    expect((await client.waitClose()).code).toBe(1000);
  });

  it('refuses an end naming a seq no relay could have reached', async () => {
    const gw = await gateway();
    const { client } = await Client.hello(gw.url, SID);
    client.send(frameMsg(SID, 'controls', 1));
    client.send({ type: 'end', sessionId: SID, last: { controls: 2 + MAX_SEQ_ADVANCE } });
    expect(await client.next()).toMatchObject({ type: 'error', code: 'implausible', message: expect.stringContaining('"controls"') });
    expect(gw.parity(SID)?.streams.controls).toMatchObject({ missing: 0, endedAt: null, lastSeq: 1 });
  });

  it('stops its timer when the connection goes', async () => {
    const gw = await gateway();
    const { client } = await Client.hello(gw.url, SID);
    client.send(frameMsg(SID, 'controls', 1));
    await waitFor('the gateway to count the frame', () => gw.parity(SID)?.streams.controls?.framesIn === 1, 2000);
    await client.close();
    await waitFor('no connection at the gateway', () => gw.connections() === 0, 2000);
    // A receipt due now would go to a closed socket; the gateway must neither throw nor count it.
    await pastReceiptWindow();
    expect(await (await fetch(`${gw.httpUrl}/metrics`)).text()).toContain('gateway_receipts_sent_total 0');
  });
});

describe('announced gaps', () => {
  it('counts gapped seqs by reason: over earlier holes, below the first seq, and millions wide', async () => {
    const gw = await gateway();
    const { client } = await Client.hello(gw.url, SID);
    for (const seq of [10, 11, 15, 20]) client.send(frameMsg(SID, 'controls', seq));
    // Over the holes 12..14 and 16..19 and the held 15: only the holes count.
    client.send(gapMsg(SID, 'controls', 12, 19, 'killSwitch'));
    // Below the first seq, leaving 6..9 missing until told otherwise.
    client.send(gapMsg(SID, 'controls', 1, 5, 'beforeAdded'));
    client.send(gapMsg(SID, 'controls', 21, 30_000_020, 'standby'));
    client.send(frameMsg(SID, 'controls', 30_000_021));
    const receipt = await client.sync(SID);
    // The gap below the first frame (10) moved the start of the record down to 1.
    expect(receipt.streams.controls).toEqual({ from: 1, upTo: 5, highest: 30_000_021, lacking: [[6, 9]] });
    expect(gw.parity(SID)?.streams.controls).toMatchObject({
      framesIn: 5,
      firstSeq: 1,
      lastSeq: 30_000_021,
      missing: 4,
      gapped: noGaps({ killSwitch: 7, beforeAdded: 5, standby: 30_000_000 }),
      upTo: 5,
    });
    client.send(gapMsg(SID, 'controls', 6, 9, 'queueFull'));
    expect((await client.sync(SID)).streams.controls).toEqual({ from: 1, upTo: 30_000_021, highest: 30_000_021 });
    expect(gw.parity(SID)?.missing).toBe(0);
    const metrics = await (await fetch(`${gw.httpUrl}/metrics`)).text();
    expect(metrics).toContain('gateway_gapped_seqs_total{reason="standby"} 30000000');
    expect(metrics).toContain('gateway_gapped_seqs_total{reason="queueFull"} 4');
    expect(metrics).toContain('gateway_gapped_seqs_total{reason="removed"} 0');
  });

  it('sends a paced receipt after a gap', async () => {
    const gw = await gateway();
    const { client } = await Client.hello(gw.url, SID);
    client.send(gapMsg(SID, 'baseline', 1, 50, 'disabled'));
    expect((await client.receipt()).streams).toEqual({ baseline: { from: 1, upTo: 50, highest: 50 } });
  });

  it('refuses, without counting, a gap reaching further than MAX_SEQ_ADVANCE past the highest seq', async () => {
    const gw = await gateway();
    const { client } = await Client.hello(gw.url, SID);
    client.send(frameMsg(SID, 'controls', 100));
    client.send(gapMsg(SID, 'controls', 101, 101 + MAX_SEQ_ADVANCE, 'standby'));
    const err = await client.next();
    expect(err).toMatchObject({ type: 'error', code: 'implausible' });
    expect(err.message).toContain('"controls"');
    expect(err.message).toContain(String(MAX_SEQ_ADVANCE));
    expect(gw.parity(SID)?.lastError).toMatch(/^implausible: gap 101\.\.50000101 of stream "controls" refused/);
    client.send(frameMsg(SID, 'controls', 101));
    await client.drain();
    expect(gw.parity(SID)?.streams.controls).toMatchObject({ lastSeq: 101, missing: 0, gapped: noGaps(), framesIn: 2 });
  });

  it('refuses a frame further than MAX_SEQ_ADVANCE past the highest seq, so later real frames still count', async () => {
    const gw = await gateway();
    const { client } = await Client.hello(gw.url, SID);
    client.send(frameMsg(SID, 'controls', 1));
    client.send(frameMsg(SID, 'controls', Number.MAX_SAFE_INTEGER, { ack: true }));
    expect(await client.next()).toMatchObject({ type: 'error', code: 'implausible' });
    client.send(frameMsg(SID, 'controls', 2));
    await client.drain();
    expect(gw.parity(SID)?.streams.controls).toMatchObject({ framesIn: 2, lastSeq: 2, duplicates: 0, missing: 0, acked: 0 });
  });
});

describe('resent frames', () => {
  it('a resend filling a hole counts as resent, a resend of a held seq as a resent duplicate, a plain repeat as a duplicate', async () => {
    const gw = await gateway();
    const seen: number[] = [];
    gw.on('frame', (frame) => seen.push(frame.seq));
    const { client } = await Client.hello(gw.url, SID);
    for (const seq of [1, 2, 4]) client.send(frameMsg(SID, 'controls', seq));
    client.send(frameMsg(SID, 'controls', 3, { resend: true }));
    client.send(frameMsg(SID, 'controls', 3, { resend: true, ack: true }));
    client.send(frameMsg(SID, 'controls', 4, { ack: true }));
    // Both repeats asked for an ack and get one.
    expect(await client.drain()).toEqual([
      { type: 'ack', sessionId: SID, stream: 'controls', seq: 3 },
      { type: 'ack', sessionId: SID, stream: 'controls', seq: 4 },
    ]);
    expect(seen).toEqual([1, 2, 4, 3]);
    const p = gw.parity(SID);
    expect(p?.streams.controls).toMatchObject({ framesIn: 4, missing: 0, resent: 1, resentDuplicates: 1, duplicates: 1, outOfOrder: 0, upTo: 4 });
    expect(p).toMatchObject({ resent: 1, resentDuplicates: 1, duplicates: 1, outOfOrder: 0 });
    const metrics = await (await fetch(`${gw.httpUrl}/metrics`)).text();
    expect(metrics).toContain('gateway_resent_total 1');
    expect(metrics).toContain('gateway_resent_duplicates_total 1');
    expect(metrics).toContain('gateway_duplicates_total 1');
    expect(metrics).toContain('gateway_frames_received_total{stream="controls"} 4');
  });
});

describe('one connection per relay', () => {
  const INSTANCE = 'relay-run-0001';

  it('closes the older connection of the same instance and session at once, and never counts its late bytes', async () => {
    const gw = await gateway();
    const old = await Client.hello(gw.url, SID, { instance: INSTANCE });
    for (const seq of [1, 2, 3]) old.client.send(frameMsg(SID, 'controls', seq));
    await old.client.drain();
    const fresh = await Client.hello(gw.url, SID, { instance: INSTANCE });
    expect(fresh.welcome.holds).toEqual({ controls: { from: 1, upTo: 3, highest: 3 } });
    await old.client.waitClose();
    // Whatever the old socket still manages to send is never counted.
    old.client.send(frameMsg(SID, 'controls', 4));
    fresh.client.send(frameMsg(SID, 'controls', 4, { resend: true }));
    fresh.client.send(frameMsg(SID, 'controls', 5));
    await fresh.client.drain();
    await waitFor('one connection at the gateway', () => gw.connections() === 1, 2000);
    expect(gw.parity(SID)?.streams.controls).toMatchObject({ framesIn: 5, resent: 1, duplicates: 0, resentDuplicates: 0 });
  });

  it('leaves the connection of another instance of the same session alone', async () => {
    const gw = await gateway();
    const a = await Client.hello(gw.url, SID, { instance: INSTANCE });
    await Client.hello(gw.url, SID, { instance: 'relay-run-0002' });
    // A connection with the same instance on another session is not the same relay connection either.
    await Client.hello(gw.url, 'sess_other', { instance: INSTANCE });
    a.client.send(frameMsg(SID, 'controls', 1, { ack: true }));
    expect(await a.client.next()).toMatchObject({ type: 'ack', seq: 1 });
    expect(gw.connections()).toBe(3);
  });

  it('a hello without an instance supersedes any older connection of its session', async () => {
    const gw = await gateway();
    const a = await Client.hello(gw.url, SID);
    await Client.hello(gw.url, SID);
    await a.client.waitClose();
    await waitFor('one connection at the gateway', () => gw.connections() === 1, 2000);
  });
});

describe('hello.resume', () => {
  it('skips what a restarted relay never sent, within MAX_RESUME_SKIP', async () => {
    const gw = await gateway();
    const first = await Client.hello(gw.url, SID);
    for (const seq of [1, 2, 3]) first.client.send(frameMsg(SID, 'controls', seq));
    await first.client.drain();
    const second = await Client.hello(gw.url, SID, { resume: { controls: 3 + MAX_RESUME_SKIP + 1, baseline: Number.MAX_SAFE_INTEGER } });
    // The mark moves what the gateway holds; a stream it holds nothing of has nothing to skip.
    expect(second.welcome.holds).toEqual({ controls: { from: 1, upTo: 3 + MAX_RESUME_SKIP, highest: 3 + MAX_RESUME_SKIP } });
    second.client.send(frameMsg(SID, 'controls', 4 + MAX_RESUME_SKIP));
    second.client.send(frameMsg(SID, 'baseline', 1));
    await second.client.drain();
    expect(gw.parity(SID)?.streams.controls).toMatchObject({ framesIn: 4, missing: 0, restartSkipped: MAX_RESUME_SKIP, duplicates: 0 });
    expect(gw.parity(SID)?.streams.baseline).toMatchObject({ framesIn: 1, firstSeq: 1 });
  });

  it('refuses a hello whose mark skips more than MAX_RESUME_SKIP seqs, naming the stream, the mark and the bound, and closes with 1008', async () => {
    const gw = await gateway();
    const first = await Client.hello(gw.url, SID);
    for (const seq of [1, 2, 3]) first.client.send(frameMsg(SID, 'controls', seq));
    await first.client.drain();
    const client = await Client.connect(gw.url);
    client.send(helloMsg(SID, { resume: { controls: Number.MAX_SAFE_INTEGER } }));
    const err = await client.next();
    expect(err).toMatchObject({ type: 'error', code: 'implausible' });
    expect(err.message).toContain('"controls"');
    expect(err.message).toContain(String(Number.MAX_SAFE_INTEGER));
    expect(err.message).toContain(String(MAX_RESUME_SKIP));
    expect((await client.waitClose()).code).toBe(1008);
    expect(gw.parity(SID)?.lastError).toMatch(/^implausible: resume mark/);
    // Nothing changed: the next real frame counts.
    first.client.send(frameMsg(SID, 'controls', 4));
    await first.client.drain();
    expect(gw.parity(SID)?.streams.controls).toMatchObject({ framesIn: 4, lastSeq: 4, restartSkipped: 0, duplicates: 0 });
  });
});

describe('Origin', () => {
  it('refuses an upgrade from a web page with 403 saying how to allow it; relays send no Origin', async () => {
    const gw = await gateway();
    const res = await rawUpgrade(gw.port, '/relay', { Host: `127.0.0.1:${gw.port}`, Origin: 'http://evil.example' });
    expect(res).not.toBe('upgraded');
    const refused = res as RawResponse;
    expect(refused.status).toBe(403);
    expect(refused.headers['content-type']).toMatch(/^application\/json/);
    const error = (JSON.parse(refused.body) as { error: string }).error;
    expect(error).toContain('"http://evil.example"');
    expect(error).toContain('--allow-origin http://evil.example');
    await expect(Client.connect(gw.url, { origin: 'http://localhost:5173' })).rejects.toThrow(/403/);
    expect((await Client.hello(gw.url, SID)).welcome.type).toBe('welcome');
  });

  it('lets the allowed origins in, case-insensitively, and no other', async () => {
    const gw = await gateway({ allowedOrigins: ['http://localhost:5173', 'https://dash.example'] });
    expect((await Client.hello(gw.url, SID, {}, { origin: 'http://localhost:5173' })).welcome.type).toBe('welcome');
    expect((await Client.hello(gw.url, 'sess_2', {}, { origin: 'HTTPS://DASH.EXAMPLE' })).welcome.type).toBe('welcome');
    await expect(Client.connect(gw.url, { origin: 'http://localhost:5174' })).rejects.toThrow(/403/);
    await expect(startGateway({ allowedOrigins: ['localhost:5173'] })).rejects.toThrow(/allowed origin "localhost:5173" is invalid; expected scheme:\/\/host/);
  });
});

describe('session book', () => {
  it('forgets the least recently active session, not the least recently greeted', async () => {
    const gw = await gateway({ maxSessions: 3 });
    for (const id of ['sess_a', 'sess_b', 'sess_c']) {
      const { client } = await Client.hello(gw.url, id);
      client.send(frameMsg(id, 'controls', 1));
      await client.drain();
      await client.close();
    }
    await waitFor('no connection at the gateway', () => gw.connections() === 0, 2000);
    // sess_a is greeted again (no activity), then sess_b gets a frame: sess_a is now the least recently active.
    await (await Client.hello(gw.url, 'sess_a')).client.close();
    const b = await Client.hello(gw.url, 'sess_b');
    b.client.send(frameMsg('sess_b', 'controls', 2));
    await b.client.drain();
    await b.client.close();
    await waitFor('no connection at the gateway', () => gw.connections() === 0, 2000);
    await Client.hello(gw.url, 'sess_d');
    expect(gw.sessions().sort()).toEqual(['sess_b', 'sess_c', 'sess_d']);
  });

  it('a flood of junk hellos evicts neither a live session nor a recently active one', async () => {
    const gw = await gateway({ maxSessions: 3 });
    const active = await Client.hello(gw.url, 'sess_live');
    active.client.send(frameMsg('sess_live', 'controls', 1));
    await active.client.drain();
    const idle = await Client.hello(gw.url, 'sess_idle');
    idle.client.send(frameMsg('sess_idle', 'controls', 1));
    await idle.client.drain();
    await idle.client.close();
    const junk = await Client.connect(gw.url);
    for (let i = 0; i < MAX_SESSIONS_PER_CONNECTION; i++) {
      junk.send(helloMsg(`junk_${i}`));
      expect(await junk.next()).toMatchObject({ type: 'welcome', sessionId: `junk_${i}` });
    }
    // One socket may not greet more distinct sessions than that.
    junk.send(helloMsg('junk_more'));
    expect(await junk.next()).toMatchObject({ type: 'error', code: 'too_many_sessions' });
    expect((await junk.waitClose()).code).toBe(1008);
    expect(gw.sessions()).toContain('sess_live');
    expect(gw.sessions()).toContain('sess_idle');
    expect(gw.sessions()).not.toContain('junk_0');
    expect(gw.parity('sess_live')?.streams.controls?.framesIn).toBe(1);
  });

  it('refuses a new session with too_many_sessions when every session held has an open connection', async () => {
    const gw = await gateway({ maxSessions: 2 });
    await Client.hello(gw.url, 'sess_a');
    await Client.hello(gw.url, 'sess_b');
    const client = await Client.connect(gw.url);
    client.send(helloMsg('sess_c'));
    const err = await client.next();
    expect(err).toMatchObject({ type: 'error', code: 'too_many_sessions' });
    expect(err.message).toContain('"sess_c"');
    expect((await client.waitClose()).code).toBe(1008);
    expect(gw.sessions().sort()).toEqual(['sess_a', 'sess_b']);
    await expect(startGateway({ maxSessions: 0 })).rejects.toThrow(/maxSessions 0 is invalid/);
  });
});

describe('capture', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  function tempFile(name: string): string {
    const dir = mkdtempSync(join(tmpdir(), 'gateway-capture-'));
    dirs.push(dir);
    return join(dir, name);
  }

  it('appends every relay message as a JSON line, frames with their outcome, repeats included', async () => {
    const file = tempFile('capture.jsonl');
    const gw = await gateway({ capture: file });
    const early = await Client.connect(gw.url);
    early.send(frameMsg(SID, 'controls', 1));
    await early.next();
    const { client } = await Client.hello(gw.url, SID);
    for (const seq of [1, 3, 3]) client.send(frameMsg(SID, 'controls', seq));
    client.send(frameMsg(SID, 'controls', 2, { resend: true }));
    client.send(frameMsg(SID, 'controls', 2, { resend: true }));
    client.send(gapMsg(SID, 'controls', 4, 5, 'standby'));
    client.send(frameMsg(SID, 'controls', 6 + MAX_SEQ_ADVANCE));
    client.send({ type: 'end', sessionId: SID, last: { controls: 5 } });
    await client.receipt((r) => r.final === true);
    await gw.close();
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as { at: number; conn: number; outcome?: string; msg: Msg });
    expect(lines.map((l) => [l.conn, l.msg.type, l.outcome, l.msg.seq])).toEqual([
      [1, 'frame', 'refused', 1],
      [2, 'hello', undefined, undefined],
      [2, 'frame', 'new', 1],
      [2, 'frame', 'new', 3],
      [2, 'frame', 'duplicate', 3],
      [2, 'frame', 'resent', 2],
      [2, 'frame', 'resentDuplicate', 2],
      [2, 'gap', undefined, undefined],
      [2, 'frame', 'refused', 6 + MAX_SEQ_ADVANCE],
      [2, 'end', undefined, undefined],
    ]);
    for (const line of lines) {
      expect(Math.abs(line.at - Date.now())).toBeLessThan(60_000);
      expect(Object.keys(line)).toEqual(line.outcome === undefined ? ['at', 'conn', 'msg'] : ['at', 'conn', 'outcome', 'msg']);
    }
    expect(lines[2]?.msg).toEqual(frameMsg(SID, 'controls', 1));
  });

  it('refuses to start when the capture file cannot be opened, naming it', async () => {
    const file = join(tempFile('x'), 'no-such-dir', 'capture.jsonl');
    await expect(startGateway({ capture: file })).rejects.toThrow(`cannot open capture file ${JSON.stringify(file)}`);
  });
});
