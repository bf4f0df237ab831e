// The reference gateway over real sockets on 127.0.0.1: a ws client that queues what it
// receives, fetch for plain HTTP, and node:http where the Host header must be forged.
import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, type ClientOptions } from 'ws';
import { startGateway, type Gateway, type GatewayOptions } from '../src-gateway/gateway';

type Msg = { type: string; [key: string]: unknown };

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
  readonly received: Msg[] = [];
  private waiters: Array<() => void> = [];
  closeInfo: { code: number; reason: string } | null = null;
  private readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      this.received.push(isBinary ? { type: '(binary)' } : (JSON.parse(String(data)) as Msg));
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
  static async hello(url: string, sessionId: string, options: ClientOptions = {}): Promise<{ client: Client; welcome: Msg }> {
    const client = await Client.connect(url, options);
    client.send(helloMsg(sessionId));
    const welcome = await client.next();
    return { client, welcome };
  }

  send(message: unknown): void {
    this.ws.send(typeof message === 'string' || Buffer.isBuffer(message) ? message : JSON.stringify(message));
  }

  /** The next message not yet taken, waiting up to timeoutMs. */
  async next(timeoutMs = 2000): Promise<Msg> {
    const deadline = Date.now() + timeoutMs;
    while (this.received.length === 0) {
      if (this.closeInfo) throw new Error(`closed (${this.closeInfo.code}) while waiting for a message`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out waiting for a message');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.received.shift() as Msg;
  }

  /**
   * Sends a message that surely gets an error reply, and returns everything received
   * before that reply: replies come in order, so this proves what was (not) sent.
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

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

function helloMsg(sessionId: string, extra: Record<string, unknown> = {}): Msg {
  return { type: 'hello', protocol: 1, agent: 'relay-agent/test', sessionId, streams: ['controls', 'baseline'], meta: {}, ...extra };
}

function frameMsg(sessionId: string, stream: string, seq: number, extra: Record<string, unknown> = {}): Msg {
  return { type: 'frame', sessionId, stream, seq, ts: 1_735_635_285_000 + seq, data: { v: seq }, ...extra };
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

async function until(check: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

afterEach(cleanup);

const SID = 'sess_abc123';

describe('relay protocol', () => {
  it('answers hello with welcome naming the gateway', async () => {
    const gw = await gateway({ name: 'gateway-a' });
    const { welcome } = await Client.hello(gw.url, SID);
    expect(welcome).toEqual({ type: 'welcome', protocol: 1, gateway: 'gateway-a' });
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
        controls: { framesIn: 10, acked: 2, lastFrameTs: 1_735_635_285_010, firstSeq: 1, lastSeq: 10, missing: 0, sourceGaps: 0, restartSkipped: 0 },
        baseline: { framesIn: 4, acked: 4, lastFrameTs: 1_735_635_285_004, firstSeq: 1, lastSeq: 4, missing: 0, sourceGaps: 0, restartSkipped: 0 },
      },
      duplicates: 0,
      outOfOrder: 0,
      missing: 0,
      lastError: 'unknown_type: unknown message type "barrier"; expected one of hello, frame',
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
    expect(p?.streams.controls).toEqual({ framesIn: 8, acked: 10, lastFrameTs: 1_735_635_285_012, firstSeq: 1, lastSeq: 12, missing: 4, sourceGaps: 0, restartSkipped: 0 });
    expect(p?.streams.baseline).toEqual({ framesIn: 6, acked: 0, lastFrameTs: 1_735_635_285_007, firstSeq: 1, lastSeq: 7, missing: 1, sourceGaps: 4, restartSkipped: 0 });
    expect(p?.duplicates).toBe(2);
    expect(p?.outOfOrder).toBe(2);
    expect(p?.missing).toBe(5);
  });

  it('continues the same parity record when a relay reconnects with the same session', async () => {
    const gw = await gateway();
    const first = await Client.hello(gw.url, SID);
    for (const seq of [1, 2, 3]) first.client.send(frameMsg(SID, 'controls', seq));
    await first.client.drain();
    await first.client.close();
    await until(() => gw.connections() === 0);
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
      [{ type: 'hello', protocol: 1 }, 'invalid_message'],
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
    expect(metrics).toContain('gateway_errors_total{code="invalid_message"} 3');
    expect(metrics).toContain('gateway_errors_total{code="unknown_type"} 1');
    expect(metrics).toContain('gateway_errors_total{code="binary_not_supported"} 1');
  });

  it('closes with 1002 after protocol_mismatch', async () => {
    const gw = await gateway();
    const client = await Client.connect(gw.url);
    client.send(helloMsg(SID, { protocol: 2 }));
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
    await until(() => gw.connections() === 1);
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
    await until(() => gw.connections() === 2);
    const h = await health();
    expect(h.connections).toBe(2);
    expect(typeof h.uptimeMs).toBe('number');
    await a.close();
    await until(() => gw.connections() === 1);
    expect((await health()).connections).toBe(1);
    await b.close();
    await until(() => gw.connections() === 0);
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
    const { welcome } = await Client.hello(gw.url, SID, { headers: { Authorization: 'Bearer s3cret' } });
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
