// CPU of the relay at 60 Hz with 2 streams and 2 targets, beside two calibration figures
// taken the same way in the same process: what the least a sender could do (stringify +
// ws.send to the same gateways, no queue, no acks) costs, and what an empty 60 Hz timer
// costs on this machine.
//
// Relay and bare sender alternate: at 60 Hz V8 takes about a minute to optimise these paths
// (on the 2-core bench VM the relay alone went from 2.7% of a core in its first 5 s to
// 1.2-1.6% after 45-60 s, the compiler threads' share falling from a quarter to nothing),
// and whichever sender ran first paid for the shared ws and stream paths (3.5% vs 1.3%).
import fs from 'node:fs';
import { WebSocket } from 'ws';
import { SyntheticSource } from '../src-main/sources/synthetic';
import { PROTOCOL_VERSION, agentString } from '../src-shared/protocol';
import { APP_VERSION } from '../src-main/version';
import type { BenchChild } from './child';
import { relayPipeline } from './pipeline';
import { round, sleep, waitConnected } from './util';

export interface CpuSample {
  fraction: number;
  userMs: number;
  systemMs: number;
  wallMs: number;
  /** CPU of threads other than the main one (V8 compiler and GC, libuv pool); null off Linux. */
  otherThreadsMs: number | null;
}

// USER_HZ, which the kernel fixes at 100 for /proc whatever its own tick rate.
const CLOCK_TICKS_PER_S = 100;

/** User+system ms of every thread but the main one, from /proc (10 ms resolution). */
function otherThreadsCpuMs(): number | null {
  try {
    let ticks = 0;
    for (const tid of fs.readdirSync('/proc/self/task')) {
      if (tid === String(process.pid)) continue;
      const stat = fs.readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    }
    return (ticks * 1000) / CLOCK_TICKS_PER_S;
  } catch {
    return null;
  }
}

async function cpuOver(ms: number): Promise<CpuSample> {
  const threads0 = otherThreadsCpuMs();
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  await sleep(ms);
  const cpu = process.cpuUsage(cpu0);
  const wallMs = performance.now() - wall0;
  const threads1 = otherThreadsCpuMs();
  return {
    fraction: round((cpu.user + cpu.system) / 1000 / wallMs, 5),
    userMs: round(cpu.user / 1000, 1),
    systemMs: round(cpu.system / 1000, 1),
    wallMs: Math.round(wallMs),
    otherThreadsMs: threads0 === null || threads1 === null ? null : threads1 - threads0,
  };
}

function total(samples: CpuSample[]): CpuSample {
  const sum = (f: (s: CpuSample) => number): number => samples.reduce((a, s) => a + f(s), 0);
  const wallMs = sum((s) => s.wallMs);
  const others = samples.every((s) => s.otherThreadsMs !== null) ? sum((s) => s.otherThreadsMs as number) : null;
  return {
    fraction: round((sum((s) => s.userMs) + sum((s) => s.systemMs)) / wallMs, 5),
    userMs: round(sum((s) => s.userMs), 1),
    systemMs: round(sum((s) => s.systemMs), 1),
    wallMs,
    otherThreadsMs: others,
  };
}

/** The floor: waking up 60 times a second and doing nothing. */
async function emptyTimer(ms: number): Promise<CpuSample> {
  let timer: NodeJS.Timeout | undefined;
  const tick = (): void => {
    timer = setTimeout(tick, 1000 / 60);
  };
  tick();
  try {
    await sleep(250);
    return await cpuOver(ms);
  } finally {
    clearTimeout(timer);
  }
}

function openClient(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

/** The same source and gateways, sent to with nothing but JSON.stringify and ws.send. */
async function bareSender(urls: string[], warmupMs: number, ms: number): Promise<CpuSample> {
  const source = new SyntheticSource({ controlsHz: 60, baselineHz: 4 });
  const { sessionId, meta } = source.session;
  const clients = await Promise.all(urls.map(openClient));
  const hello = JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, agent: agentString(APP_VERSION), sessionId, streams: source.streams, meta });
  for (const c of clients) c.send(hello);
  const seqs = new Map<string, number>();
  try {
    source.start({
      session: () => {},
      state: () => {},
      sample: (s) => {
        const seq = (seqs.get(s.stream) ?? 0) + 1;
        seqs.set(s.stream, seq);
        const payload = JSON.stringify({ type: 'frame', sessionId, stream: s.stream, seq, ts: Date.now(), tick: s.tick, data: s.data });
        for (const c of clients) c.send(payload);
      },
    });
    await sleep(warmupMs);
    return await cpuOver(ms);
  } finally {
    await source.stop();
    for (const c of clients) c.terminate();
  }
}

/** The relay pipeline at 60 Hz to `gatewayUrls`: CPU over `windowMs` after `warmupMs`. */
async function relayWindow(gatewayUrls: string[], warmupMs: number, windowMs: number) {
  const p = relayPipeline(gatewayUrls);
  try {
    await waitConnected(p.manager, gatewayUrls);
    p.start();
    await sleep(warmupMs);
    const produced0 = p.source.framesProduced;
    const cpu = await cpuOver(windowMs);
    const produced = p.source.framesProduced - produced0;
    await p.source.stop();
    const parity = p.manager.parityView(p.sessionId);
    return { cpu, produced, acked: parity.totalAcked, lost: parity.totalDropped + parity.totalFailed };
  } finally {
    await p.stop();
  }
}

export async function measureCpu(child: BenchChild, gatewayUrls: string[], opts: { rounds: number; warmupMs: number; windowMs: number; timerMs: number }) {
  const relay: CpuSample[] = [];
  const bare: CpuSample[] = [];
  let produced = 0;
  let acked = 0;
  let lost = 0;
  await child.reset();
  for (let r = 0; r < opts.rounds; r++) {
    const w = await relayWindow(gatewayUrls, opts.warmupMs, opts.windowMs);
    relay.push(w.cpu);
    produced += w.produced;
    acked += w.acked;
    lost += w.lost;
    bare.push(await bareSender(gatewayUrls, opts.warmupMs, opts.windowMs));
  }
  await sleep(50);
  const counts = await child.counts();
  const timer = await emptyTimer(opts.timerMs);
  const relayTotal = total(relay);
  return {
    relay: relayTotal,
    relayRuns: relay.map((s) => s.fraction),
    bare: total(bare),
    bareRuns: bare.map((s) => s.fraction),
    timer,
    framesProduced: produced,
    framesPerSec: round(produced / (relayTotal.wallMs / 1000), 1),
    gatewayFrames: counts.gateways,
    acked,
    lost,
  };
}
