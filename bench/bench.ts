// `npm run bench`: measures the numbers DESIGN.md sets ("Numbers the design must reach")
// with the real relay classes, prints progress, and ends with one JSON object on the last
// line. Sinks and the CPU phase's gateways run in a child process (bench/sink.ts).
import { APP_VERSION } from '../src-main/version';
import { DEFAULT_SETTINGS } from '../src-shared/settings';
import { BenchChild } from './child';
import { measureCpu } from './cpu';
import { measureKillSwitch } from './kill-switch';
import { measureLatency } from './latency';
import { P99_FLOOR_MS, measureStalled } from './stalled';
import { measureThroughput } from './throughput';
import { measureIbtReader } from './ibt-reader';
import { log, mb, round } from './util';

const TARGETS = {
  cpuCoreFraction60Hz: 0.01,
  latencyP99Ms: 2,
  throughputRatio: 0.8,
  killSwitchMs: 100,
  stalledIsolationRatio: 1.2,
} as const;

const PLAN = {
  cpu: { rounds: 2, warmupMs: 1_000, windowMs: 5_000, timerMs: 2_000 },
  latency: { warmupMs: 1_000, durationMs: 5_000 },
  kill: { rounds: 5, afterMs: 500 },
  stalled: { rounds: 3, warmupMs: 500, durationMs: 4_000, floodFactor: 20 },
  throughput: { frames: 40_000, rounds: 2 },
  dashboard: { warmupMs: 10_000, windowMs: 60_000 },
} as const;

const verdict = (ok: boolean): string => (ok ? 'ok' : 'MISSES TARGET');
const pct = (fraction: number): string => `${(fraction * 100).toFixed(2)}%`;

async function main(): Promise<void> {
  const started = performance.now();
  log(`bench: relay-agent ${APP_VERSION}, node ${process.version}, pid ${process.pid}`);
  const child = await BenchChild.start();
  try {
    log(`bench: sinks and gateways in child process ${child.pid}`);

    const sinks = await child.sinks(2);
    const cpuGateways = await child.gateways(2);

    // CPU first, while this process has nothing else behind it (no garbage from the floods).
    log(`[1/7] CPU at 60 Hz (controls + 4 Hz baseline) -> 2 reference gateways in the child: relay and a bare sender alternating, ${PLAN.cpu.rounds} x (${PLAN.cpu.warmupMs / 1000} s warm-up + ${PLAN.cpu.windowMs / 1000} s) each`);
    const cpu = await measureCpu(child, cpuGateways, PLAN.cpu);
    const threads = (s: { otherThreadsMs: number | null }): string => (s.otherThreadsMs === null ? '' : `, ${s.otherThreadsMs} ms of it off the main thread`);
    log(`  relay ${pct(cpu.relay.fraction)} of one core (runs ${cpu.relayRuns.map(pct).join(', ')}; user ${cpu.relay.userMs} ms, system ${cpu.relay.systemMs} ms over ${cpu.relay.wallMs} ms${threads(cpu.relay)}; ${cpu.framesProduced} frames, ${cpu.acked} acked, ${cpu.lost} lost) ${verdict(cpu.relay.fraction < TARGETS.cpuCoreFraction60Hz)}`);
    log(`  calibration on this machine: bare stringify + ws.send to the same gateways ${pct(cpu.bare.fraction)} (runs ${cpu.bareRuns.map(pct).join(', ')}${threads(cpu.bare)}); an empty 60 Hz timer ${pct(cpu.timer.fraction)}`);
    log(`  cost of confirmation (protocol 2 relay over a plain ws sender, same gateways, same window): ${round(cpu.relay.fraction / cpu.bare.fraction, 3)}x CPU`);

    log(`[2/7] latency: produced -> received at gateway A, 2 in-process gateways, 60 Hz, ${PLAN.latency.warmupMs / 1000} s warm-up + ${PLAN.latency.durationMs / 1000} s`);
    const lat = await measureLatency(PLAN.latency);
    log(`  p50 ${lat.p50} ms, p99 ${lat.p99} ms, max ${lat.max} ms over ${lat.received}/${lat.produced} frames ${verdict(lat.p99 < TARGETS.latencyP99Ms)}`);

    log(`[3/7] kill switch: 2 gateways at 60 Hz, switch on -> zero sockets on both sides, ${PLAN.kill.rounds} rounds`);
    const kill = await measureKillSwitch(PLAN.kill);
    log(`  worst ${kill.worstMs} ms (runs ${kill.runsMs.join(', ')} ms); frames at the gateways after the switch: ${kill.framesAfterKill}, built after it ${kill.builtAfterKill} (${kill.publishedWhileKilled} produced while killed) ${verdict(kill.worstMs < TARGETS.killSwitchMs && kill.framesAfterKill === 0)}`);
    for (const f of kill.late) log(`  late frame: built ${f.builtBeforeMs} ms before the switch, taken in by the gateway ${f.receivedAfterMs} ms after it`);

    log(`[4/7] stalled target: healthy gateway p99 alone vs beside a stalled peer (raw TCP; ws upgraded then paused), ${PLAN.stalled.rounds} rounds x ${PLAN.stalled.durationMs / 1000} s`);
    const st = await measureStalled(PLAN.stalled);
    const isolation = Math.max(st.tcpRatio, st.wsRatio);
    log(`  ratio (p99 floored at ${P99_FLOOR_MS} ms, best of ${PLAN.stalled.rounds}): tcp ${st.tcpRatio}, ws ${st.wsRatio}; unfloored ${st.unflooredRatio.tcp}, ${st.unflooredRatio.ws} ${verdict(isolation <= TARGETS.stalledIsolationRatio)}`);
    for (const f of st.flood) {
      log(`  flood ${f.peer}: ${f.frames} frames; queued+in flight peak ${f.peakQueueFrames} frames / ${mb(f.peakQueueBytes)} MB (bound ${DEFAULT_SETTINGS.queueMaxFrames} frames + ${mb(f.boundBytes - DEFAULT_SETTINGS.queueMaxBytes)} MB in flight), dropped ${f.droppedQueueFull}, written ${f.sent}, failed ${f.failed}; heap retained after GC ${mb(f.retainedHeapBytes)} MB, rss peak ${mb(f.peakRss)} MB`);
    }
    log(`  rss: baseline ${mb(st.baselineRss)} MB, peak during stalled runs ${mb(st.stalledRunPeak)} MB, peak during floods ${mb(st.floodPeak)} MB`);

    log(`[5/7] throughput: ${PLAN.throughput.frames} frames to 2 child-process ws sinks, bare ws loop vs relay, alternating x${PLAN.throughput.rounds}, best of each`);
    const tp = await measureThroughput(child, sinks, PLAN.throughput);
    log(`  ratio ${tp.ratio} (relay ${tp.relay} / bare ${tp.bare} frames/s, relay dropped ${tp.dropped}, failed ${tp.failed}) ${verdict(tp.ratio >= TARGETS.throughputRatio)}`);

    log('[6/7] .ibt reader: samples per second decoding the streams\' variables of the fixture (repeated x50), vs a plain sequential read of the same bytes');
    const ibt = await measureIbtReader();
    log(`  reader ${ibt.readerSamplesPerSec} samples/s, plain read ${ibt.plainSamplesPerSec} samples/s: ratio ${ibt.ratio} over ${ibt.samples} samples (best of ${ibt.readerRuns.length})`);

    log('[7/7] dashboard in Chromium over a long session at 60 Hz: JS heap after GC and DOM nodes, start vs end of the window');
    // Imported only now: Vite and Playwright would otherwise sit in this process's memory
    // and skew the RSS and CPU figures measured before.
    const { measureDashboard } = await import('./dashboard');
    const dash = await measureDashboard(PLAN.dashboard);
    if (dash) log(`  heap ${dash.heapStartMb} -> ${dash.heapEndMb} MB (ratio ${dash.heapRatio}), DOM nodes ${dash.domNodesStart} -> ${dash.domNodesEnd}, ${dash.snapshotsPerSec} snapshots/s over ${dash.windowS} s`);
    else log('  skipped: Chromium is not installed (apt-get install -y chromium)');

    await child.close();
    const result = {
      // The cost of confirmation: the relay speaks protocol 2 (welcome, receipts, resends) and a
      // frame counts only once confirmed; the plain sender writes the same frames and waits for nothing.
      relayCpuVsPlainSender60Hz: round(cpu.relay.fraction / cpu.bare.fraction, 3),
      relayThroughputVsPlainSender: tp.ratio,
      throughputRatio: tp.ratio,
      cpuCoreFraction60Hz: cpu.relay.fraction,
      latencyP50Ms: lat.p50,
      latencyP99Ms: lat.p99,
      killSwitchMs: kill.worstMs,
      stalledIsolationRatio: isolation,
      stalledPeakRssMb: mb(st.stalledRunPeak),
      // What lies behind the headline figures.
      bareFramesPerSec: tp.bare,
      relayFramesPerSec: tp.relay,
      bareRunsFramesPerSec: tp.bareRuns,
      relayRunsFramesPerSec: tp.relayRuns,
      throughputDropped: tp.dropped,
      throughputFailed: tp.failed,
      cpuRunsFraction: cpu.relayRuns,
      cpuUserMs: cpu.relay.userMs,
      cpuSystemMs: cpu.relay.systemMs,
      cpuWallMs: cpu.relay.wallMs,
      cpuOtherThreadsMs: cpu.relay.otherThreadsMs,
      cpuFramesPerSec: cpu.framesPerSec,
      cpuBareSender60HzFraction: cpu.bare.fraction,
      cpuBareSenderRunsFraction: cpu.bareRuns,
      cpuEmptyTimer60HzFraction: cpu.timer.fraction,
      latencyMaxMs: lat.max,
      latencySamples: lat.received,
      killSwitchRunsMs: kill.runsMs,
      framesAfterKill: kill.framesAfterKill,
      framesBuiltAfterKill: kill.builtAfterKill,
      aloneP99Ms: st.alone.p99,
      stalledP99Ms: Math.max(st.tcp.p99, st.ws.p99),
      stalledTcpP99Ms: st.tcp.p99,
      stalledWsP99Ms: st.ws.p99,
      stalledTcpRatio: st.tcpRatio,
      stalledWsRatio: st.wsRatio,
      stalledRatioFloorMs: P99_FLOOR_MS,
      aloneP99RunsMs: st.p99Runs.alone,
      stalledTcpP99RunsMs: st.p99Runs.tcp,
      stalledWsP99RunsMs: st.p99Runs.ws,
      baselineRssMb: mb(st.baselineRss),
      floodPeakRssMb: mb(st.floodPeak),
      floodPeakQueueFrames: Math.max(...st.flood.map((f) => f.peakQueueFrames)),
      floodPeakQueueBytes: Math.max(...st.flood.map((f) => f.peakQueueBytes)),
      floodRetainedHeapMb: Math.max(...st.flood.map((f) => mb(f.retainedHeapBytes))),
      ibtReaderSamplesPerSec: ibt.readerSamplesPerSec,
      ibtPlainReadSamplesPerSec: ibt.plainSamplesPerSec,
      ibtReaderRatio: ibt.ratio,
      ibtReaderSamples: ibt.samples,
      dashboardHeapRatio: dash?.heapRatio ?? null,
      dashboardHeapStartMb: dash?.heapStartMb ?? null,
      dashboardHeapEndMb: dash?.heapEndMb ?? null,
      dashboardDomNodesStart: dash?.domNodesStart ?? null,
      dashboardDomNodesEnd: dash?.domNodesEnd ?? null,
      dashboardSnapshotsPerSec: dash?.snapshotsPerSec ?? null,
      benchSeconds: round((performance.now() - started) / 1000, 1),
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await child.close();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${(e as Error)?.stack ?? String(e)}\n`);
  process.exitCode = 1;
});
