// The fault-injection helpers themselves, over real sockets: the TCP fault proxy, the gateway
// as a child process, and (where the machine allows it) a network namespace with tc.
import { execFileSync } from 'node:child_process';
import net, { type AddressInfo } from 'node:net';
import { once } from 'node:events';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { request } from './helpers/cli';
import { mayBeHttpRequest, rewriteHost, startFaultProxy, type FaultProxy } from './helpers/fault-proxy';
import { killAllGatewayProcesses, liveGatewayProcesses, spawnGateway } from './helpers/gateway-process';
import { createNetns, destroyAllNetns, netnsAvailable } from './helpers/netns';
import { sleep, waitFor } from './helpers/wait';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await killAllGatewayProcesses();
  await destroyAllNetns();
});
afterAll(async () => {
  await killAllGatewayProcesses();
  expect(liveGatewayProcesses()).toBe(0);
});

async function proxyTo(port: number): Promise<FaultProxy> {
  const proxy = await startFaultProxy(port);
  cleanups.push(() => proxy.close());
  return proxy;
}

/** A raw TCP server that keeps what it receives and lets the test write back. */
async function tcpTarget() {
  const received: Buffer[] = [];
  const sockets: net.Socket[] = [];
  let closed = 0;
  const server = net.createServer((s) => {
    sockets.push(s);
    s.on('data', (d: Buffer) => received.push(d));
    s.on('error', () => {});
    s.on('close', () => closed++);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  return {
    port: (server.address() as AddressInfo).port,
    sockets,
    bytes: () => received.reduce((n, b) => n + b.length, 0),
    data: () => Buffer.concat(received),
    closed: () => closed,
  };
}

async function connect(port: number, host = '127.0.0.1'): Promise<net.Socket> {
  const socket = net.connect({ host, port });
  socket.on('error', () => {});
  cleanups.push(() => void socket.destroy());
  await once(socket, 'connect');
  return socket;
}

function collect(socket: net.Socket): () => Buffer {
  const chunks: Buffer[] = [];
  socket.on('data', (d: Buffer) => chunks.push(d));
  return () => Buffer.concat(chunks);
}

/** ws does not end its connections on close(): terminate them, or the close never completes. */
function closeWss(wss: WebSocketServer): Promise<void> {
  for (const c of wss.clients) c.terminate();
  return new Promise<void>((resolve) => wss.close(() => resolve()));
}

function pattern(bytes: number, seed = 0): Buffer {
  const b = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) b[i] = (i * 31 + seed + (i >> 10)) & 0xff;
  return b;
}

describe('fault proxy', () => {
  it('rewrites the Host line of the request head only', () => {
    const head = 'GET /relay HTTP/1.1\r\nhost: 127.0.0.1:9\r\nUpgrade: websocket';
    expect(rewriteHost(head, '127.0.0.1:5')).toBe('GET /relay HTTP/1.1\r\nHost: 127.0.0.1:5\r\nUpgrade: websocket');
    expect(rewriteHost('GET / HTTP/1.1\r\nX: y', 'h:1')).toBe('GET / HTTP/1.1\r\nHost: h:1\r\nX: y');
    expect(mayBeHttpRequest(Buffer.from('GE'))).toBe(true);
    expect(mayBeHttpRequest(Buffer.from('GET /relay HTT'))).toBe(true);
    expect(mayBeHttpRequest(Buffer.from('GET /relay HTTP/1.1\r\nHost'))).toBe(true);
    expect(mayBeHttpRequest(Buffer.from('before-'))).toBe(false);
    expect(mayBeHttpRequest(Buffer.from('GET nonsense\r\n'))).toBe(false);
  });

  it('forwards a WebSocket echo both ways, with the Host header rewritten for the target', async () => {
    const hosts: (string | undefined)[] = [];
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(wss, 'listening');
    cleanups.push(() => closeWss(wss));
    const port = (wss.address() as AddressInfo).port;
    wss.on('connection', (ws, req) => {
      hosts.push(req.headers.host);
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    });
    const proxy = await proxyTo(port);
    expect(proxy.url()).toBe(`ws://127.0.0.1:${proxy.port}/relay`);

    const ws = new WebSocket(proxy.url('/echo'));
    cleanups.push(() => ws.terminate());
    await once(ws, 'open');
    expect(hosts).toEqual([`127.0.0.1:${port}`]);
    expect(proxy.connections()).toBe(1);
    const big = pattern(100_000);
    const replies: Buffer[] = [];
    ws.on('message', (d: Buffer) => replies.push(d));
    ws.send('hello');
    ws.send(big);
    await waitFor('two echoes', () => replies.length === 2);
    expect(replies[0]?.toString()).toBe('hello');
    expect(replies[1]?.equals(big)).toBe(true);
    expect(proxy.bytesForwarded.clientToTarget).toBeGreaterThan(100_000);
    expect(proxy.bytesForwarded.targetToClient).toBeGreaterThan(100_000);
  });

  it('stall() holds data both ways with backpressure; resume() delivers it in order, nothing lost', async () => {
    const target = await tcpTarget();
    const proxy = await proxyTo(target.port);
    const client = await connect(proxy.port);
    const fromTarget = collect(client);
    client.write('before-');
    await waitFor('first bytes at the target', () => target.bytes() === 7);

    proxy.stall();
    const big = pattern(16 * 1024 * 1024, 7);
    client.write(big);
    target.sockets[0]?.write('reply-while-stalled');
    await sleep(400);
    expect(target.bytes()).toBe(7);
    expect(fromTarget().length).toBe(0);
    // The proxy stopped reading: the kernel buffers filled and Node kept the rest.
    expect(client.writableLength).toBeGreaterThan(0);
    const forwardedWhileStalled = proxy.bytesForwarded.clientToTarget;

    proxy.resume();
    await waitFor('everything at the target', () => target.bytes() === 7 + big.length, 10_000);
    await waitFor('the reply at the client', () => fromTarget().length === 19);
    expect(target.data().subarray(0, 7).toString()).toBe('before-');
    expect(target.data().subarray(7).equals(big)).toBe(true);
    expect(fromTarget().toString()).toBe('reply-while-stalled');
    expect(proxy.bytesForwarded.clientToTarget - forwardedWhileStalled).toBe(big.length);
  });

  it('cut() closes both sides of every connection at once', async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(wss, 'listening');
    cleanups.push(() => closeWss(wss));
    const serverCloses: number[] = [];
    wss.on('connection', (ws) => {
      ws.on('error', () => {});
      ws.on('close', (code) => serverCloses.push(code));
    });
    const proxy = await proxyTo((wss.address() as AddressInfo).port);
    const clients = [new WebSocket(proxy.url()), new WebSocket(proxy.url())];
    const clientCloses: number[] = [];
    for (const ws of clients) {
      ws.on('error', () => {});
      ws.on('close', (code) => clientCloses.push(code));
      await once(ws, 'open');
    }
    await waitFor('two server connections', () => wss.clients.size === 2);
    expect(proxy.connections()).toBe(2);
    proxy.cut();
    await waitFor('both ends closed', () => clientCloses.length === 2 && serverCloses.length === 2);
    // No close frame made it: abnormal closure on both sides.
    expect(clientCloses).toEqual([1006, 1006]);
    expect(serverCloses).toEqual([1006, 1006]);
    expect(proxy.connections()).toBe(0);
  });

  it('throttle() paces client->target to the given rate, and null lifts it', async () => {
    const target = await tcpTarget();
    const proxy = await proxyTo(target.port);
    const size = 200 * 1024;

    const fast = await connect(proxy.port);
    let t0 = performance.now();
    fast.write(pattern(size));
    await waitFor('unthrottled transfer', () => target.bytes() === size);
    const fastMs = performance.now() - t0;

    proxy.throttle(128 * 1024);
    const slow = await connect(proxy.port);
    t0 = performance.now();
    slow.write(pattern(size, 3));
    await waitFor('throttled transfer', () => target.bytes() === 2 * size, 15_000);
    const slowMs = performance.now() - t0;
    // 200 KB at 128 KB/s is ~1.56 s; loose bounds for a loaded machine.
    expect(slowMs).toBeGreaterThan(1200);
    expect(slowMs).toBeLessThan(8000);
    expect(fastMs).toBeLessThan(1000);
    expect(target.data().subarray(size).equals(pattern(size, 3))).toBe(true);

    proxy.throttle(null);
    t0 = performance.now();
    slow.write(pattern(size, 5));
    await waitFor('transfer after the throttle is lifted', () => target.bytes() === 3 * size);
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it('refuse() destroys new connections at once and leaves current ones alone', async () => {
    const target = await tcpTarget();
    const proxy = await proxyTo(target.port);
    const existing = await connect(proxy.port);
    await waitFor('one target connection', () => target.sockets.length === 1);

    proxy.refuse(true);
    const refused = net.connect({ host: '127.0.0.1', port: proxy.port });
    refused.on('error', () => {});
    await once(refused, 'close');
    expect(proxy.refused).toBe(1);
    expect(target.sockets.length).toBe(1);
    existing.write('still here');
    await waitFor('the current connection still works', () => target.data().toString() === 'still here');

    proxy.refuse(false);
    await connect(proxy.port);
    await waitFor('a new target connection', () => target.sockets.length === 2);
  });
});

describe('gateway process', () => {
  it('starts, answers health and parity, and accepts a relay upgrade through the proxy', async () => {
    const gw = await spawnGateway({ name: 'fh-a' });
    expect(gw.url).toBe(`ws://127.0.0.1:${gw.port}/relay`);
    expect(gw.httpUrl).toBe(`http://127.0.0.1:${gw.port}`);
    expect(gw.pid).toBeGreaterThan(0);
    const health = await gw.get('/api/health');
    expect(health.status).toBe(200);
    expect(health.json).toMatchObject({ status: 'ok', name: 'fh-a' });
    expect(await gw.parity('no-such-session')).toBeNull();

    const proxy = await proxyTo(gw.port);
    // Plain HTTP through the proxy gets the rewritten Host too.
    const proxied = await request(proxy.port, '/api/health');
    expect(proxied.status).toBe(200);
    // Straight at the gateway with the proxy's Host the upgrade is refused; through the proxy it is not.
    const direct = new WebSocket(gw.url, { headers: { Host: `127.0.0.1:${proxy.port}` } });
    const refusal = await new Promise<number>((resolve) => {
      direct.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      direct.on('open', () => resolve(101));
      direct.on('error', () => {});
    });
    direct.terminate();
    expect(refusal).toBe(403);
    const viaProxy = new WebSocket(proxy.url());
    cleanups.push(() => viaProxy.terminate());
    viaProxy.on('error', () => {});
    await once(viaProxy, 'open');
  });

  it('pauses (requests time out), resumes, dies to kill -9, restarts on the same port, and stops', async () => {
    const gw = await spawnGateway({ name: 'fh-b' });
    gw.pause();
    expect(gw.paused).toBe(true);
    await expect(gw.get('/api/health', 500)).rejects.toThrow(/timed out/);
    gw.resume();
    expect((await gw.get('/api/health')).status).toBe(200);

    gw.pause();
    const exit = await gw.kill9();
    expect(exit.signal).toBe('SIGKILL');
    expect(gw.running).toBe(false);
    await expect(gw.get('/api/health', 500)).rejects.toThrow(/ECONNREFUSED/);

    const again = await gw.restartOnSamePort();
    expect(again.port).toBe(gw.port);
    expect(again.pid).not.toBe(gw.pid);
    expect((await again.get('/api/health')).json).toMatchObject({ name: 'fh-b' });
    expect(await again.stop()).toEqual({ code: 0, signal: null });
    expect(liveGatewayProcesses()).toBe(0);
  });
});

const netns = await netnsAvailable();

describe.skipIf(!netns.ok)(`network namespace${netns.ok ? '' : ` (skipped: ${netns.why})`}`, () => {
  /** An echo server inside the namespace, started with node; resolves once it listens. */
  async function nsEcho(ns: Awaited<ReturnType<typeof createNetns>>, port: number): Promise<void> {
    const child = ns.spawn(process.execPath, ['-e', `require('net').createServer((s) => { s.on('error', () => {}); s.pipe(s); }).listen(${port}, '${ns.nsAddress}', () => console.log('ready'))`]);
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor('the echo server in the namespace', () => out.includes('ready'), 10_000);
  }

  async function echoTime(port: number, host: string, bytes: number): Promise<number> {
    const socket = await connect(port, host);
    const got = collect(socket);
    const t0 = performance.now();
    socket.write(pattern(bytes));
    await waitFor(`${bytes} bytes echoed`, () => got().length === bytes, 15_000);
    expect(got().equals(pattern(bytes))).toBe(true);
    socket.destroy();
    return performance.now() - t0;
  }

  it('creates a namespace, runs commands in it, squeezes, partitions, heals and destroys it', async () => {
    const ns = await createNetns();
    expect(ns.nsAddress).toMatch(/^10\.200\.\d+\.\d+$/);
    const addr = await ns.exec('ip', ['addr']);
    expect(addr.code).toBe(0);
    expect(addr.stdout).toContain(`inet ${ns.nsAddress}/30`);

    await nsEcho(ns, 7000);
    const size = 200 * 1024;
    const freeMs = await echoTime(7000, ns.nsAddress, size);
    // 1600 kbit/s is 200 KB/s: 200 KB toward the namespace takes about a second.
    await ns.squeeze(1600, { direction: 'to-ns' });
    const squeezedMs = await echoTime(7000, ns.nsAddress, size);
    expect(freeMs).toBeLessThan(500);
    expect(squeezedMs).toBeGreaterThan(600);
    await ns.unsqueeze();

    // Partition: an open connection hears nothing, then gets its bytes after heal().
    const socket = await connect(7000, ns.nsAddress);
    const got = collect(socket);
    await ns.partition();
    expect(ns.partitioned).toBe(true);
    socket.write('across the partition');
    await sleep(600);
    expect(got().length).toBe(0);
    await ns.heal();
    await waitFor('the echo after heal', () => got().toString() === 'across the partition', 10_000);

    const name = ns.name;
    await ns.destroy();
    await ns.destroy();
    expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).not.toContain(name);
  });

  it('runs the gateway inside the namespace, reachable from here on its address', async () => {
    const ns = await createNetns();
    const gw = await ns.spawnGateway({ name: 'fh-ns' });
    expect(gw.host).toBe(ns.nsAddress);
    expect(gw.url).toBe(`ws://${ns.nsAddress}:${gw.port}/relay`);
    expect((await gw.get('/api/health')).json).toMatchObject({ name: 'fh-ns' });
    await ns.partition();
    await expect(gw.get('/api/health', 500)).rejects.toThrow(/timed out/);
    await ns.heal();
    expect((await gw.get('/api/health', 5000)).status).toBe(200);
    await ns.destroy();
    expect(gw.running).toBe(false);
  });
});
