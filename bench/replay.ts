// `--speed max` replay throughput: the relay CLI replaying a recording to N bench sinks (they
// welcome and confirm like a protocol 2 gateway), against the plain replay loop
// (bench/plain-replay.ts) sending the same frames to the same sinks. Frames per second are
// timed at the sinks, from the first frame to the last, so neither side's start-up counts;
// a relay run counts only when its every frame was confirmed (exit 0) and each sink holds them all.
import { fork } from 'node:child_process';
import { DEFAULT_SETTINGS } from '../src-shared/settings';
import type { CliCommand } from './build';
import type { BenchChild } from './child';
import type { ChildCounts } from './child-protocol';
import { PROJECT_DIR } from './paths';
import { CpuMeter } from './procfs';
import { RelayProcess, cleanEnv } from './relay-process';
import { log, median, round } from './util';

export interface ReplayRound {
  bare: number;
  relay: number;
  ratio: number;
  /** The sinks' process: its CPU over the span of the frames, in cores (1: it was the limit). */
  sinkCoresBare: number;
  sinkCoresRelay: number;
}

interface Run {
  rate: number;
  sinkCores: number;
}

export interface ReplayResult {
  gateways: number;
  frames: number;
  rounds: ReplayRound[];
  bareFramesPerSec: number;
  relayFramesPerSec: number;
  ratio: number;
  sinkCoresBare: number;
  sinkCoresRelay: number;
}

const TIMEOUT_MS = 120_000;

/** Frames per second at the sinks (every sink's frames over the span from the first frame anywhere to the last), and the sinks' CPU over that span. */
function runOf(counts: ChildCounts, sinks: number, frames: number, sinkCpuMs: number): Run {
  const used = counts.sinks.slice(0, sinks);
  for (const s of used) if (s.frames !== frames) throw new Error(`a sink counted ${s.frames} frames; expected ${frames}`);
  const first = used.reduce((a, s) => (a === null || BigInt(s.firstNs as string) < a ? BigInt(s.firstNs as string) : a), null as bigint | null) as bigint;
  const last = used.reduce((a, s) => (BigInt(s.lastNs as string) > a ? BigInt(s.lastNs as string) : a), 0n);
  const spanMs = Number(last - first) / 1e6;
  return { rate: frames / (spanMs / 1000), sinkCores: round(sinkCpuMs / spanMs, 2) };
}

async function bareRun(child: BenchChild, script: string, urls: readonly string[], file: string): Promise<Run & { frames: number }> {
  await child.reset();
  const sinkCpu = new CpuMeter(() => [child.pid as number]);
  sinkCpu.begin();
  const proc = fork(
    script,
    [JSON.stringify({ urls, file, sessionId: `bench-plain-replay-${Date.now()}`, sampleRate: DEFAULT_SETTINGS.paritySampleRate, controlsVars: DEFAULT_SETTINGS.controlsVars, baselineVars: DEFAULT_SETTINGS.baselineVars, baselineHz: DEFAULT_SETTINGS.baselineHz })],
    { cwd: PROJECT_DIR, env: cleanEnv(), execArgv: [], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] },
  );
  try {
    const frames = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('plain replay did not finish in time')), TIMEOUT_MS);
      proc.once('exit', (code) => reject(new Error(`plain replay exited (code ${code})`)));
      proc.on('message', (m: { frames: number }) => {
        clearTimeout(timer);
        resolve(m.frames);
      });
    });
    const r = await child.expect(frames, urls.length, TIMEOUT_MS);
    if (!r.reached) throw new Error(`plain replay: sinks counted ${r.counts.sinks.slice(0, urls.length).map((s) => s.frames).join(', ')} of ${frames}`);
    return { ...runOf(r.counts, urls.length, frames, sinkCpu.sample().cpuMs), frames };
  } finally {
    if (proc.exitCode === null) proc.kill('SIGTERM');
  }
}

async function relayRun(cli: CliCommand, child: BenchChild, urls: readonly string[], file: string, frames: number): Promise<Run> {
  await child.reset();
  const sinkCpu = new CpuMeter(() => [child.pid as number]);
  sinkCpu.begin();
  const relay = await RelayProcess.start(cli, { backends: urls, runArgs: ['--source', `ibt:${file}`, '--speed', 'max'] });
  try {
    const timer = setTimeout(() => void relay.stop(), TIMEOUT_MS);
    const code = await relay.exited;
    clearTimeout(timer);
    if (code !== 0) throw new Error(`relay replay exited ${code}, not every frame confirmed:\n${relay.output().split('\n').slice(-5).join('\n')}`);
    return runOf(await child.counts(), urls.length, frames, sinkCpu.sample().cpuMs);
  } finally {
    await relay.stop();
  }
}

export async function measureReplay(cli: CliCommand, child: BenchChild, plainReplay: string, urls: readonly string[], file: string, plan: { rounds: number }): Promise<ReplayResult> {
  const rounds: ReplayRound[] = [];
  // A warm-up of each (page cache, sockets, the sinks' JIT), not counted.
  const warm = await bareRun(child, plainReplay, urls, file);
  await relayRun(cli, child, urls, file, warm.frames);
  for (let r = 0; r < plan.rounds; r++) {
    // Turn about, so that neither always runs first after the other.
    let bare: Run;
    let relay: Run;
    if (r % 2 === 0) {
      bare = await bareRun(child, plainReplay, urls, file);
      relay = await relayRun(cli, child, urls, file, warm.frames);
    } else {
      relay = await relayRun(cli, child, urls, file, warm.frames);
      bare = await bareRun(child, plainReplay, urls, file);
    }
    const x: ReplayRound = { bare: Math.round(bare.rate), relay: Math.round(relay.rate), ratio: round(relay.rate / bare.rate, 3), sinkCoresBare: bare.sinkCores, sinkCoresRelay: relay.sinkCores };
    rounds.push(x);
    log(`    ${urls.length} gateway(s) round ${r + 1}: plain ${x.bare} frames/s, relay ${x.relay} frames/s: ${x.ratio}x (the sinks' process busy ${x.sinkCoresBare} and ${x.sinkCoresRelay} of a core)`);
  }
  return {
    gateways: urls.length,
    frames: warm.frames,
    rounds,
    bareFramesPerSec: Math.round(median(rounds.map((x) => x.bare))),
    relayFramesPerSec: Math.round(median(rounds.map((x) => x.relay))),
    ratio: round(median(rounds.map((x) => x.ratio)), 3),
    sinkCoresBare: round(median(rounds.map((x) => x.sinkCoresBare)), 2),
    sinkCoresRelay: round(median(rounds.map((x) => x.sinkCoresRelay)), 2),
  };
}
