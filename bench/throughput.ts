// Fan-out throughput: N frames to the same two child-process sinks, once through a bare
// `ws` send loop and once through FrameBuilder + BackendManager.
import { WebSocket } from 'ws';
import { BackendManager } from '../src-main/relay/backend-manager';
import { FrameBuilder } from '../src-main/relay/frame-builder';
import { APP_VERSION } from '../src-main/version';
import type { BenchChild } from './child';
import { ControlsData, benchSettings, log, round, waitConnected, yieldTurn } from './util';

const BATCH = 256;
// The same backlog bound for both loops: past 1 MiB not yet on the wire, stop producing
// and let the event loop write.
const HIGH_WATER_BYTES = 1024 * 1024;
const DELIVERY_TIMEOUT_MS = 30_000;

function openClient(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

export async function bareRun(child: BenchChild, urls: string[], n: number): Promise<number> {
  const clients = await Promise.all(urls.map(openClient));
  try {
    await child.reset();
    const reached = child.expect(n, DELIVERY_TIMEOUT_MS);
    const data = new ControlsData();
    const t0 = performance.now();
    for (let seq = 1; seq <= n; ) {
      for (const end = Math.min(n, seq + BATCH - 1); seq <= end; seq++) {
        const payload = JSON.stringify({ type: 'frame', sessionId: 'bench-bare', stream: 'controls', seq, ts: Date.now(), tick: seq, data: data.next() });
        for (const c of clients) c.send(payload);
      }
      while (clients.some((c) => c.bufferedAmount > HIGH_WATER_BYTES)) await yieldTurn();
    }
    const r = await reached;
    const seconds = (performance.now() - t0) / 1000;
    if (!r.reached) throw new Error(`bare loop: sinks counted ${r.counts.sinks.join(', ')} of ${n}`);
    return n / seconds;
  } finally {
    for (const c of clients) c.terminate();
  }
}

export async function relayRun(child: BenchChild, urls: string[], n: number) {
  const builder = new FrameBuilder('bench-relay', {}, ['controls'], 0.05, APP_VERSION);
  // Caps raised so the comparison is of delivery, not of what the queue chose to drop.
  const manager = new BackendManager(benchSettings(urls, { queueMaxFrames: 1_000_000, queueMaxBytes: 1024 * 1024 * 1024 }), () => builder.current());
  try {
    await waitConnected(manager, urls);
    await child.reset();
    const reached = child.expect(n, DELIVERY_TIMEOUT_MS);
    const data = new ControlsData();
    const backlog = (): number => Math.max(...manager.targetsView().targets.map((t) => t.queueBytes));
    const t0 = performance.now();
    for (let seq = 1; seq <= n; ) {
      for (const end = Math.min(n, seq + BATCH - 1); seq <= end; seq++) manager.publish(builder.build('controls', data.next(), seq));
      while (backlog() > HIGH_WATER_BYTES) await yieldTurn();
    }
    const r = await reached;
    const seconds = (performance.now() - t0) / 1000;
    const parity = manager.parityView(null);
    if (!r.reached) throw new Error(`relay: sinks counted ${r.counts.sinks.join(', ')} of ${n}; dropped ${parity.totalDropped}, failed ${parity.totalFailed}`);
    return { rate: n / seconds, dropped: parity.totalDropped, failed: parity.totalFailed };
  } finally {
    await manager.close();
  }
}

export async function measureThroughput(child: BenchChild, urls: string[], opts: { frames: number; rounds: number }) {
  const bare: number[] = [];
  const relay: number[] = [];
  let dropped = 0;
  let failed = 0;
  // Alternating, best of each: the first run of a kind pays for JIT and socket warm-up,
  // and background noise on a shared machine only ever makes a run slower.
  for (let r = 0; r < opts.rounds; r++) {
    const b = await bareRun(child, urls, opts.frames);
    const rr = await relayRun(child, urls, opts.frames);
    bare.push(b);
    relay.push(rr.rate);
    dropped += rr.dropped;
    failed += rr.failed;
    log(`  round ${r + 1}: bare ${Math.round(b)} frames/s, relay ${Math.round(rr.rate)} frames/s (dropped ${rr.dropped}, failed ${rr.failed})`);
  }
  const bestBare = Math.max(...bare);
  const bestRelay = Math.max(...relay);
  return {
    ratio: round(bestRelay / bestBare, 3),
    bare: Math.round(bestBare),
    relay: Math.round(bestRelay),
    bareRuns: bare.map(Math.round),
    relayRuns: relay.map(Math.round),
    dropped,
    failed,
  };
}
