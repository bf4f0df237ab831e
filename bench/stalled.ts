// A stalled target beside a healthy one: the healthy gateway's latency must not notice. The
// relay CLI runs at 60 Hz to the healthy reference gateway alone, or to a stalled peer and
// the healthy gateway (the stalled one listed first: its enqueue and write come first). Two
// kinds of stalled peer: raw TCP that never reads, and a WebSocket that upgrades then stops
// reading. Latency is taken at the healthy gateway (receipt minus the frame's own ts), each
// condition several times, interleaved; the ratio is of the medians of their p99s, unfloored.
import type { CliCommand } from './build';
import type { BenchChild } from './child';
import { RelayProcess } from './relay-process';
import { latencyStats, log, median, round, sleep } from './util';

type Condition = 'alone' | 'tcp' | 'ws';

export interface StalledResult {
  p99RunsMs: Record<Condition, number[]>;
  samplesPerRun: number;
  aloneP99Ms: number;
  tcpP99Ms: number;
  wsP99Ms: number;
  tcpRatio: number;
  wsRatio: number;
  ratio: number;
  /** What the stalled target's account said at the end of each run (it must drop, not grow). */
  stalledNotes: string[];
  peakRssMb: number;
}

export async function measureStalled(cli: CliCommand, child: BenchChild, healthy: { url: string; index: number }, plan: { rounds: number; warmupMs: number; windowMs: number }): Promise<StalledResult> {
  const peers = { tcp: await child.stalled('tcp'), ws: await child.stalled('ws') };
  const conditions: Array<{ name: Condition; urls: string[] }> = [
    { name: 'alone', urls: [healthy.url] },
    { name: 'tcp', urls: [peers.tcp, healthy.url] },
    { name: 'ws', urls: [peers.ws, healthy.url] },
  ];
  const runs: Record<Condition, number[]> = { alone: [], tcp: [], ws: [] };
  const notes: string[] = [];
  let samples = Infinity;
  let peakRss = 0;
  for (let r = 0; r < plan.rounds; r++) {
    for (const c of conditions) {
      const relay = await RelayProcess.start(cli, { backends: c.urls });
      try {
        await relay.waitConnected(15_000).catch(() => {
          // The stalled peer never connects (tcp) or never welcomes (ws): only the healthy one must.
        });
        const session = (await relay.health()).sessionId as string;
        await sleep(plan.warmupMs);
        await child.watch(healthy.index, [session]);
        const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, relay.rss() ?? 0)), 500);
        await sleep(plan.windowMs);
        clearInterval(rssTimer);
        const stats = latencyStats((await child.latency())[session] ?? []);
        samples = Math.min(samples, stats.samples);
        runs[c.name].push(stats.p99);
        const view = await relay.targets();
        const stalled = c.name === 'alone' ? undefined : view.targets[0];
        const healthyView = view.targets[view.targets.length - 1];
        if (healthyView?.state !== 'connected') throw new Error(`stalled phase: the healthy gateway is ${healthyView?.state}`);
        const note = stalled ? `; stalled target ${stalled.state}, ${stalled.connects} connects, in flight ${stalled.counters.inFlight}, queued ${stalled.counters.queued}, dropped ${stalled.counters.dropped}` : '';
        if (stalled) notes.push(`${c.name}: ${stalled.state}, in flight ${stalled.counters.inFlight}, queued ${stalled.counters.queued}, dropped ${stalled.counters.dropped}`);
        log(`    ${c.name.padEnd(5)} round ${r + 1}: healthy p50 ${stats.p50} ms, p99 ${stats.p99} ms, max ${stats.max} ms (${stats.samples} frames)${note}`);
      } finally {
        await relay.stop(3_000);
      }
    }
  }
  const med = (c: Condition): number => round(median(runs[c]), 3);
  const tcpRatio = round(med('tcp') / med('alone'), 3);
  const wsRatio = round(med('ws') / med('alone'), 3);
  return {
    p99RunsMs: runs,
    samplesPerRun: samples,
    aloneP99Ms: med('alone'),
    tcpP99Ms: med('tcp'),
    wsP99Ms: med('ws'),
    tcpRatio,
    wsRatio,
    ratio: Math.max(tcpRatio, wsRatio),
    stalledNotes: notes,
    peakRssMb: round(peakRss / (1024 * 1024), 1),
  };
}
