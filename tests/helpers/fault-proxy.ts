// A TCP proxy between the relay and a gateway that can stall, cut, throttle or refuse at will:
// the faults of a frozen peer, a dead link, a squeezed link and a partition, on 127.0.0.1.
//
// Written by hand on node:net rather than taken from a package: it is a few dozen lines, and
// it must hold data mid-stream, stop reading (so TCP backpressure reaches the relay), reset
// every connection at once and pace one direction with timers, which generic proxies do not
// offer. It also rewrites the Host header of the first HTTP request on each connection (the
// WebSocket upgrade), since the gateway only accepts `127.0.0.1:<its own port>` and the relay
// names the proxy's port. A stream that does not start like an HTTP request passes untouched.
import net, { type AddressInfo, type Socket } from 'node:net';

export interface FaultProxy {
  /** The port the proxy listens on (127.0.0.1). */
  readonly port: number;
  /** The port every connection is forwarded to (127.0.0.1). */
  readonly targetPort: number;
  /** Bytes written to each side so far (after the Host rewrite), over all connections. */
  readonly bytesForwarded: { readonly clientToTarget: number; readonly targetToClient: number };
  /** Connections accepted so far, including refused ones. */
  readonly accepted: number;
  /** Connections accepted then destroyed because of refuse(true). */
  readonly refused: number;
  /** `ws://127.0.0.1:<port><path>`. */
  url(path?: string): string;
  /** Connection pairs open now (either socket still open). */
  connections(): number;
  /** Stops forwarding and reading both ways on every connection, new ones too; what was read is held. */
  stall(): void;
  /** Forwards what was held, in order, then carries on. */
  resume(): void;
  readonly stalled: boolean;
  /** Destroys every current connection pair at once, with an RST where the socket allows it. */
  cut(): void;
  /** Caps client->target (relay->gateway) at this many bytes per second over all connections; null lifts it. */
  throttle(bytesPerSecond: number | null): void;
  /** While on, new connections are accepted and destroyed at once; current ones are left alone. */
  refuse(on: boolean): void;
  /** Destroys everything; resolves when the server is closed. */
  close(): Promise<void>;
}

const MAX_HEADER_BYTES = 64 * 1024;
/** While throttled, the client is not read once this much waits to be paced out. */
const THROTTLE_QUEUE_BYTES = 16 * 1024;
const TICK_MS = 20;

/** Replaces (or adds) the Host line of an HTTP request head ending in \r\n\r\n. */
export function rewriteHost(head: string, host: string): string {
  const lines = head.split('\r\n');
  let found = false;
  for (let i = 1; i < lines.length; i++) {
    if (/^host\s*:/i.test(lines[i] ?? '')) {
      lines[i] = `Host: ${host}`;
      found = true;
    }
  }
  if (!found) lines.splice(1, 0, `Host: ${host}`);
  return lines.join('\r\n');
}

/** Whether these first bytes can still be (or are) the head of an HTTP/1 request; if not, they are forwarded as they are. */
export function mayBeHttpRequest(start: Buffer): boolean {
  const lineEnd = start.indexOf('\r\n');
  const line = start.subarray(0, lineEnd === -1 ? Math.min(start.length, 8192) : lineEnd).toString('latin1');
  return lineEnd === -1 ? /^[A-Z]*( [^\r\n]*)?$/.test(line) && start.length <= 8192 : /^[A-Z]+ \S+ HTTP\/\d\.\d$/.test(line);
}

function reset(socket: Socket): void {
  if (socket.destroyed) return;
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy();
  }
}

/** One direction of one connection: what was read from `from` and not yet written to `to`. */
interface Flow {
  readonly from: Socket;
  readonly to: Socket;
  readonly paced: boolean;
  queue: Buffer[];
  queued: number;
  /** `from` sent its FIN. */
  ended: boolean;
  endForwarded: boolean;
  waitingDrain: boolean;
}

interface Pair {
  client: Socket;
  target: Socket;
  c2s: Flow;
  s2c: Flow;
}

export async function startFaultProxy(targetPort: number): Promise<FaultProxy> {
  const pairs = new Set<Pair>();
  const counts = { clientToTarget: 0, targetToClient: 0 };
  let stalled = false;
  let refusing = false;
  let rate: number | null = null;
  let budget = 0;
  let lastTick = 0;
  let ticker: NodeJS.Timeout | undefined;
  let accepted = 0;
  let refused = 0;

  const write = (flow: Flow, buf: Buffer): void => {
    if (flow.paced) counts.clientToTarget += buf.length;
    else counts.targetToClient += buf.length;
    if (!flow.to.write(buf) && !flow.waitingDrain) {
      flow.waitingDrain = true;
      flow.to.once('drain', () => {
        flow.waitingDrain = false;
        pump(flow);
      });
    }
  };

  const updateReading = (flow: Flow): void => {
    if (flow.from.destroyed || flow.ended) return;
    const throttledFull = flow.paced && rate !== null && flow.queued >= THROTTLE_QUEUE_BYTES;
    if (stalled || flow.waitingDrain || throttledFull) flow.from.pause();
    else flow.from.resume();
  };

  const finishIfDone = (flow: Flow): void => {
    if (flow.ended && flow.queued === 0 && !flow.endForwarded && !flow.to.destroyed) {
      flow.endForwarded = true;
      flow.to.end();
    }
  };

  /** Writes what the flow holds, unless stalled, backed up, or paced (the ticker does that). */
  const pump = (flow: Flow): void => {
    if (!stalled && !(flow.paced && rate !== null)) {
      while (flow.queue.length > 0 && !flow.waitingDrain && !flow.to.destroyed) {
        const buf = flow.queue.shift() as Buffer;
        flow.queued -= buf.length;
        write(flow, buf);
      }
      finishIfDone(flow);
    }
    updateReading(flow);
  };

  const tick = (): void => {
    const now = performance.now();
    if (rate === null) return;
    // At most a tick and a half of credit: a squeeze, not a burst after an idle spell.
    budget = Math.min(budget + (rate * (now - lastTick)) / 1000, (rate * TICK_MS * 1.5) / 1000 + 1);
    lastTick = now;
    if (stalled) return;
    const flows = [...pairs].map((p) => p.c2s).filter((f) => f.queued > 0 || f.ended);
    // Round robin in small slices so one connection cannot take the whole budget.
    let progress = true;
    while (budget >= 1 && progress) {
      progress = false;
      for (const flow of flows) {
        if (flow.queued === 0 || flow.waitingDrain || flow.to.destroyed || budget < 1) continue;
        const head = flow.queue[0] as Buffer;
        const n = Math.min(head.length, Math.floor(budget), 1024);
        const slice = head.subarray(0, n);
        if (n === head.length) flow.queue.shift();
        else flow.queue[0] = head.subarray(n);
        flow.queued -= n;
        budget -= n;
        write(flow, slice);
        progress = true;
      }
    }
    for (const flow of flows) {
      finishIfDone(flow);
      updateReading(flow);
    }
  };

  const newFlow = (from: Socket, to: Socket, paced: boolean): Flow => ({ from, to, paced, queue: [], queued: 0, ended: false, endForwarded: false, waitingDrain: false });

  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (client) => {
    accepted++;
    client.on('error', () => {});
    if (refusing) {
      refused++;
      client.destroy();
      return;
    }
    const target = net.connect({ host: '127.0.0.1', port: targetPort, allowHalfOpen: true });
    target.pause();
    const pair: Pair = { client, target, c2s: newFlow(client, target, true), s2c: newFlow(target, client, false) };
    pairs.add(pair);

    let headerDone = false;
    let head = Buffer.alloc(0);
    const push = (flow: Flow, buf: Buffer): void => {
      if (buf.length === 0) return;
      flow.queue.push(buf);
      flow.queued += buf.length;
      pump(flow);
    };
    client.on('data', (chunk: Buffer) => {
      if (headerDone) return push(pair.c2s, chunk);
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end === -1 && head.length <= MAX_HEADER_BYTES && mayBeHttpRequest(head)) return updateReading(pair.c2s);
      headerDone = true;
      if (end === -1) return push(pair.c2s, head);
      const rewritten = rewriteHost(head.subarray(0, end).toString('latin1'), `127.0.0.1:${targetPort}`);
      push(pair.c2s, Buffer.concat([Buffer.from(rewritten, 'latin1'), head.subarray(end)]));
    });
    target.on('data', (chunk: Buffer) => push(pair.s2c, chunk));

    const onEnd = (flow: Flow) => () => {
      flow.ended = true;
      if (flow === pair.c2s && !headerDone && head.length > 0) {
        headerDone = true;
        flow.queue.push(head);
        flow.queued += head.length;
      }
      pump(flow);
    };
    client.on('end', onEnd(pair.c2s));
    target.on('end', onEnd(pair.s2c));

    // An error on one side (a reset, a refused connect) resets the other: the relay sees the
    // gateway's failure, and the gateway sees the relay's.
    client.on('error', () => reset(target));
    target.on('error', () => reset(client));
    const onClose = (other: Socket, towardOther: Flow) => () => {
      if (!other.destroyed) {
        // Deliver what is held for the other side, then close it politely.
        towardOther.ended = true;
        pump(towardOther);
      }
      if (client.destroyed && target.destroyed) pairs.delete(pair);
    };
    client.on('close', onClose(target, pair.c2s));
    target.on('close', onClose(client, pair.s2c));
    target.once('connect', () => updateReading(pair.s2c));
    updateReading(pair.c2s);
  });
  server.on('error', () => {});

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  const everyFlow = (fn: (f: Flow) => void): void => {
    for (const p of [...pairs]) {
      fn(p.c2s);
      fn(p.s2c);
    }
  };

  return {
    port,
    targetPort,
    bytesForwarded: {
      get clientToTarget() {
        return counts.clientToTarget;
      },
      get targetToClient() {
        return counts.targetToClient;
      },
    },
    get accepted() {
      return accepted;
    },
    get refused() {
      return refused;
    },
    get stalled() {
      return stalled;
    },
    url: (path = '/relay') => `ws://127.0.0.1:${port}${path}`,
    connections: () => pairs.size,
    stall() {
      stalled = true;
      everyFlow(updateReading);
    },
    resume() {
      stalled = false;
      everyFlow(pump);
      if (rate !== null) tick();
    },
    cut() {
      for (const p of [...pairs]) {
        reset(p.client);
        reset(p.target);
        pairs.delete(p);
      }
    },
    throttle(bytesPerSecond) {
      if (bytesPerSecond !== null && !(bytesPerSecond > 0)) throw new Error(`throttle(${bytesPerSecond}): expected a positive rate in bytes per second, or null`);
      rate = bytesPerSecond;
      clearInterval(ticker);
      ticker = undefined;
      if (rate !== null) {
        budget = 0;
        lastTick = performance.now();
        ticker = setInterval(tick, TICK_MS);
        ticker.unref();
      }
      everyFlow(pump);
    },
    refuse(on) {
      refusing = on;
    },
    close() {
      clearInterval(ticker);
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const p of [...pairs]) {
          p.client.destroy();
          p.target.destroy();
        }
        pairs.clear();
      });
    },
  };
}
