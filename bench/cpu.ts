// CPU at 60 Hz, and the latency it costs: the relay CLI (synthetic source, 2 streams) and
// the plain sender (bench/plain-sender.ts) run side by side, each its own process, sending
// the same frames to the same reference gateways, and each round's window measures both at
// once: whatever else the machine does in a window, it does to both.
//
// A warm-up first in every round: at 60 Hz V8 takes tens of seconds to optimise the paths
// that run per frame, and the first seconds of either process are start-up, not its steady cost.
//
// Where the two 60 Hz clocks fall against each other is chosen, not left to start-up time:
// on this 2-core machine the process that wakes after the longer idle gap pays more for the
// same work. Measured at 8 gateways over 60 s per pair, with the plain sender's ticks 4.2 ms
// after the relay's the ratio was 1.46 to 1.51 (the plain sender cheap); 4.2 ms before, 1.11
// to 1.15 (the plain sender dear); the relay's own CPU moved little. In step (0 ms) and half a
// period apart (8.3 ms), where neither waits longer than the other, gave 1.28 to 1.32. So the
// rounds alternate between those two: neither side is handed the other's idle gap, and a
// run's median no longer depends on which phases its start-up times happened to draw. Both
// sources tick on the wall clock's grid (src-main/sources/synthetic.ts: gridStart).
import { fork, type ChildProcess } from 'node:child_process';
import { PROJECT_DIR, type CliCommand } from './build';
import type { BenchChild } from './child';
import { CpuMeter } from './procfs';
import { RelayProcess, cleanEnv } from './relay-process';
import { latencyStats, log, median, round, sleep } from './util';

export interface CpuRound {
  /** The plain sender's ticks after the relay's, in ms: 0 (in step) or half a period. */
  plainPhaseMs: number;
  relayCpuMs: number;
  plainCpuMs: number;
  wallMs: number;
  ratio: number;
  /** Latency at gateway 0 in this window (ms, receipt minus the frame's own ts). */
  relayP99Ms: number;
  plainP99Ms: number;
  latencySamples: number;
}

export interface CpuResult {
  gateways: number;
  rounds: CpuRound[];
  /** Median of the rounds' ratios. */
  ratio: number;
  relayCoreFraction: number;
  plainCoreFraction: number;
  /**
   * p99 of every round's latency samples together, the relay's minus the plain sender's: a
   * p99 over thousands of frames, not one of a handful.
   */
  addedP99Ms: number;
  relayP99Ms: number;
  plainP99Ms: number;
  relayP50Ms: number;
  plainP50Ms: number;
  /** Frames timed per side, all rounds together. */
  latencySamples: number;
  framesPerSec: number;
  /** Both sides as the gateways counted them: frames of the relay and of the plain sender. */
  delivery: { relayProduced: number; relayLost: number; relayDropped: number };
}

export interface PlainSender {
  proc: ChildProcess;
  stop(): Promise<void>;
}

export async function startPlainSender(script: string, urls: readonly string[], sessionId: string, sampleRate: number, nodeArgs: string[] = [], phaseMs = 0): Promise<PlainSender> {
  // The relay's synthetic source ticks on the grid's line (phase 0); this one `phaseMs` after it.
  const proc = fork(script, [JSON.stringify({ urls, sessionId, sampleRate, phaseMs })], { cwd: PROJECT_DIR, env: cleanEnv(), execArgv: nodeArgs, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('plain sender did not start within 15 s')), 15_000);
    proc.once('exit', (code) => reject(new Error(`plain sender exited early (code ${code})`)));
    proc.on('message', (m) => {
      if (m !== 'ready') return;
      clearTimeout(timer);
      resolve();
    });
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  return {
    proc,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * One round: a fresh relay and a fresh plain sender (started in turn, one or the other
 * first), the plain sender's clock `plainPhaseMs` after the relay's, a warm-up, then one
 * window measuring both at once.
 */
async function cpuRound(
  cli: CliCommand,
  child: BenchChild,
  plainScript: string,
  urls: readonly string[],
  plan: { warmupMs: number; windowMs: number; relayNodeArgs?: string[]; plainNodeArgs?: string[] },
  order: { plainFirst: boolean; plainPhaseMs: number },
  index: number,
) {
  const { plainFirst, plainPhaseMs } = order;
  const plainSession = `bench-plain-${urls.length}-${index}-${process.pid}`;
  let plain: PlainSender | null = null;
  let relay: RelayProcess | null = null;
  try {
    if (plainFirst) plain = await startPlainSender(plainScript, urls, plainSession, SAMPLE_RATE, plan.plainNodeArgs, plainPhaseMs);
    relay = await RelayProcess.start(cli, { backends: urls, nodeArgs: plan.relayNodeArgs });
    await relay.waitConnected();
    if (!plainFirst) plain = await startPlainSender(plainScript, urls, plainSession, SAMPLE_RATE, plan.plainNodeArgs, plainPhaseMs);
    const relaySession = (await relay.health()).sessionId as string;
    await sleep(plan.warmupMs);
    const relayPid = relay.pid;
    const plainPid = (plain as PlainSender).proc.pid as number;
    const relayMeter = new CpuMeter(() => [relayPid]);
    const plainMeter = new CpuMeter(() => [plainPid]);
    const produced0 = (await relay.health()).source?.framesProduced ?? 0;
    await child.watch(0, [relaySession, plainSession]);
    relayMeter.begin();
    plainMeter.begin();
    await sleep(plan.windowMs);
    const rc = relayMeter.sample();
    const pc = plainMeter.sample();
    const lat = await child.latency();
    const produced = ((await relay.health()).source?.framesProduced ?? 0) - produced0;
    const view = await relay.targets();
    return { rc, pc, relayLatency: lat[relaySession] ?? [], plainLatency: lat[plainSession] ?? [], produced, targets: view.targets };
  } finally {
    await plain?.stop();
    await relay?.stop();
  }
}

const SAMPLE_RATE = 0.05;
/** The synthetic source's controls period at its default 60 Hz, the relay's and the plain sender's. */
const TICK_MS = 1000 / 60;

/**
 * Round r's order: the phase alternates every round (in step, half a period apart) and who
 * starts first every two, so that every pairing comes round as the rounds go on.
 */
function roundOrder(r: number): { plainFirst: boolean; plainPhaseMs: number } {
  return { plainFirst: Math.floor(r / 2) % 2 === 1, plainPhaseMs: r % 2 === 0 ? 0 : TICK_MS / 2 };
}

export async function measureCpu(
  cli: CliCommand,
  child: BenchChild,
  plainScript: string,
  urls: readonly string[],
  plan: { warmupMs: number; windowMs: number; rounds: number; relayNodeArgs?: string[]; plainNodeArgs?: string[] },
): Promise<CpuResult> {
  const rounds: CpuRound[] = [];
  const pooled: { relay: number[]; plain: number[] } = { relay: [], plain: [] };
  let produced = 0;
  let seconds = 0;
  const delivery = { relayProduced: 0, relayLost: 0, relayDropped: 0 };
  for (let r = 0; r < plan.rounds; r++) {
    const order = roundOrder(r);
    const x = await cpuRound(cli, child, plainScript, urls, plan, order, r);
    const rl = latencyStats(x.relayLatency);
    const pl = latencyStats(x.plainLatency);
    pooled.relay.push(...x.relayLatency);
    pooled.plain.push(...x.plainLatency);
    produced += x.produced;
    seconds += x.rc.wallMs / 1000;
    for (const t of x.targets) {
      delivery.relayProduced += t.counters.produced;
      delivery.relayLost += t.counters.lost;
      delivery.relayDropped += t.counters.dropped;
    }
    const round_: CpuRound = {
      plainPhaseMs: round(order.plainPhaseMs, 2),
      relayCpuMs: round(x.rc.cpuMs, 1),
      plainCpuMs: round(x.pc.cpuMs, 1),
      wallMs: Math.round(x.rc.wallMs),
      ratio: round(x.rc.cpuMs / x.pc.cpuMs, 3),
      relayP99Ms: rl.p99,
      plainP99Ms: pl.p99,
      latencySamples: Math.min(rl.samples, pl.samples),
    };
    rounds.push(round_);
    log(
      `    round ${r + 1} (${order.plainFirst ? 'plain sender' : 'relay'} started first; plain sender's clock ${order.plainPhaseMs === 0 ? 'in step with' : `${order.plainPhaseMs.toFixed(1)} ms after`} the relay's): relay ${pctOf(x.rc.cpuMs, x.rc.wallMs)}, plain ${pctOf(x.pc.cpuMs, x.pc.wallMs)} of a core: ${round_.ratio}x; latency p99 relay ${rl.p99} ms, plain ${pl.p99} ms (${round_.latencySamples} frames each)`,
    );
  }
  const wall = rounds.reduce((a, x) => a + x.wallMs, 0);
  const relayLatency = latencyStats(pooled.relay);
  const plainLatency = latencyStats(pooled.plain);
  return {
    gateways: urls.length,
    rounds,
    ratio: round(median(rounds.map((x) => x.ratio)), 3),
    relayCoreFraction: round(rounds.reduce((a, x) => a + x.relayCpuMs, 0) / wall, 5),
    plainCoreFraction: round(rounds.reduce((a, x) => a + x.plainCpuMs, 0) / wall, 5),
    addedP99Ms: round(relayLatency.p99 - plainLatency.p99, 3),
    relayP99Ms: relayLatency.p99,
    plainP99Ms: plainLatency.p99,
    relayP50Ms: relayLatency.p50,
    plainP50Ms: plainLatency.p50,
    latencySamples: Math.min(relayLatency.samples, plainLatency.samples),
    framesPerSec: round(produced / seconds, 1),
    delivery,
  };
}

const pctOf = (cpuMs: number, wallMs: number): string => `${((cpuMs / wallMs) * 100).toFixed(2)}%`;
