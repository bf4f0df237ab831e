// Added latency: from building a frame to the reference gateway's receipt of it, both in
// this process so one clock (process.hrtime) times both ends.
import { startGateway, type Gateway } from '../src-gateway/gateway';
import type { Frame } from '../src-shared/protocol';
import { relayPipeline } from './pipeline';
import { RssSampler, latencyStats, sleep, until, waitConnected, type LatencyStats } from './util';

export interface LatencyRun extends LatencyStats {
  produced: number;
  received: number;
  peakRss: number | null;
  targets: Array<{ url: string; state: string; sent: number; dropped: number; failed: number; queued: number; connects: number }>;
}

/**
 * Runs the 60 Hz pipeline to `urls` and times, at `measured`, every frame built after the
 * warm-up: the first frames pay for JIT and lazily built paths, not for the design.
 */
export async function latencyRun(opts: { measured: Gateway; urls: string[]; warmupMs: number; durationMs: number; rss?: boolean }): Promise<LatencyRun> {
  const producedAt = new Map<string, bigint>();
  let timing = false;
  let produced = 0;
  const p = relayPipeline(opts.urls, (frame, ns) => {
    if (!timing) return;
    produced++;
    producedAt.set(`${frame.stream}:${frame.seq}`, ns);
  });
  const samples: number[] = [];
  const onFrame = (frame: Frame, receivedAtNs: bigint): void => {
    if (frame.sessionId !== p.sessionId) return;
    const key = `${frame.stream}:${frame.seq}`;
    const at = producedAt.get(key);
    if (at === undefined) return;
    producedAt.delete(key);
    samples.push(Number(receivedAtNs - at) / 1e6);
  };
  opts.measured.on('frame', onFrame);
  let sampler: RssSampler | null = null;
  try {
    await waitConnected(p.manager, [opts.measured.url]);
    if (opts.rss) sampler = new RssSampler(50);
    p.start();
    await sleep(opts.warmupMs);
    timing = true;
    await sleep(opts.durationMs);
    timing = false;
    await p.source.stop();
    // Let the last frames land before counting what arrived.
    await sleep(50);
    const view = p.manager.targetsView();
    return {
      ...latencyStats(samples),
      produced,
      received: samples.length,
      peakRss: sampler ? sampler.stop() : null,
      targets: view.targets.map((t) => ({
        url: t.url,
        state: t.state,
        sent: t.counters.sent,
        dropped: t.counters.dropped,
        failed: t.counters.failed,
        queued: t.queueSize,
        connects: t.connects,
      })),
    };
  } finally {
    sampler?.stop();
    opts.measured.off('frame', onFrame);
    await p.stop();
    // The next run must start with the gateway to itself.
    await until(() => opts.measured.connections() === 0, 2_000, 'the gateway to see the relay leave');
  }
}

/** Two gateways in parallel mode; gateway A is timed. */
export async function measureLatency(opts: { warmupMs: number; durationMs: number }): Promise<LatencyRun> {
  const a = await startGateway({ name: 'A' });
  const b = await startGateway({ name: 'B' });
  try {
    return await latencyRun({ measured: a, urls: [a.url, b.url], ...opts });
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}
