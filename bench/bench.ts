// `npm run bench`: the numbers DESIGN.md and issue 12 set, measured on the real process paths:
// the relay as the CLI runs it (dist/cli/relay-agent.mjs: settings file and its watcher,
// debug server, log file, default queue caps), each figure against a baseline measured in
// the same run (a plain ws sender, a bare replay loop, a DataView decode, about:blank,
// `node -e 0`), the median of several interleaved rounds after a warm-up. The gateways and
// sinks live in a child process (bench/sink.ts), so receiving is never charged to the sender.
// Progress goes to stdout; the last line is one JSON object.
//
//   npm run bench                       everything (about 25 minutes)
//   npm run bench -- --only cpu,replay  some phases: cpu, replay, kill, stalled, ibt, dashboard, memory
//   npm run bench -- --profile          also where the relay's CPU goes at 60 Hz (node --cpu-prof)
//   npm run bench -- --only cpu --cpu-gateways 2,8 --cpu-rounds 3
//                                       for quicker local iteration: fewer gateway counts or
//                                       rounds (never fewer than 3); the defaults are the issue's
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { APP_VERSION } from '../src-main/runtime/version';
import { DEFAULT_SETTINGS } from '../src-shared/settings';
import { buildBenchScripts, relayCli } from './build';
import { BenchChild } from './child';
import { measureCpu, type CpuResult } from './cpu';
import type { DashboardResult } from './dashboard';
import { buildLargeRecording } from './ibt-floor';
import { runIbtReaderChild } from './ibt-reader';
import { measureKillSwitch } from './kill-switch';
import { MemoryPhase } from './memory';
import { loadAverage } from './procfs';
import { summarizeProfile } from './profile';
import { measureReplay, type ReplayResult } from './replay';
import { measureStalled } from './stalled';
import { log, round } from './util';

const PHASES = ['cpu', 'replay', 'kill', 'stalled', 'ibt', 'dashboard', 'memory'] as const;
type Phase = (typeof PHASES)[number];

/** The goals of issue 12: value against target, in the direction that is good. */
const GOALS = {
  relayCpuVsPlainSender60Hz: { at: 'most', target: 1.2 },
  relayCpuVsPlainSender60Hz8Targets: { at: 'most', target: 1.3 },
  replayMaxVsBare: { at: 'least', target: 0.8 },
  dashboardCpuVsBlank: { at: 'most', target: 3 },
  ibtReaderVsDecodeFloor: { at: 'least', target: 0.5 },
  killSwitchEndToEndMs: { at: 'most', target: 100 },
  cliKillVsNodeStart: { at: 'most', target: 3 },
  addedLatencyP99Ms: { at: 'below', target: 2 },
  stalledIsolationRatio: { at: 'most', target: 1.2 },
} as const;
type GoalKey = keyof typeof GOALS;

const PLAN = {
  /** More rounds where there is a goal (2 and 8 gateways). */
  cpu: { gateways: [1, 2, 4, 8, 16], goalGateways: [2, 8], warmupMs: 30_000, windowMs: 10_000, rounds: 3, goalRounds: 5 },
  replay: { gateways: [1, 2, 4, 8, 16], rounds: 3, repeat: 200 },
  kill: { rounds: 5, warmupMs: 3_000, afterMs: 500 },
  stalled: { rounds: 3, warmupMs: 5_000, windowMs: 15_000 },
  ibt: { rounds: 5, repeat: 50, minMs: 300 },
  dashboard: { warmupMs: 10_000, windowMs: 60_000 },
  memory: { warmupMs: 10_000, stoppedMs: 5 * 60_000 },
  profile: { warmupMs: 20_000, windowMs: 60_000 },
} as const;

/**
 * The CPU phase's plan, narrowed by --cpu-gateways (a subset of the table's gateway counts)
 * and --cpu-rounds (rounds for every count, at least 3 so that a median still means something).
 */
function cpuPlanOf(gatewaysArg: string | undefined, roundsArg: string | undefined): { gateways: readonly number[]; goalGateways: readonly number[]; warmupMs: number; windowMs: number; rounds: number; goalRounds: number } {
  const gateways = gatewaysArg === undefined ? PLAN.cpu.gateways : gatewaysArg.split(',').map((s) => Number(s.trim()));
  for (const n of gateways) {
    if (!(PLAN.cpu.gateways as readonly number[]).includes(n)) throw new Error(`--cpu-gateways: ${n} is not one of ${PLAN.cpu.gateways.join(', ')}`);
  }
  if (roundsArg === undefined) return { ...PLAN.cpu, gateways };
  const rounds = Number(roundsArg);
  if (!Number.isInteger(rounds) || rounds < 3) throw new Error(`--cpu-rounds: expected a whole number of at least 3, got ${JSON.stringify(roundsArg)}`);
  return { ...PLAN.cpu, gateways, rounds, goalRounds: rounds };
}

function met(key: GoalKey, value: number | null): boolean | null {
  if (value === null || !Number.isFinite(value)) return null;
  const g = GOALS[key];
  return g.at === 'most' ? value <= g.target : g.at === 'least' ? value >= g.target : value < g.target;
}

function verdict(key: GoalKey, value: number | null): string {
  const g = GOALS[key];
  const ok = met(key, value);
  const want = `${g.at === 'most' ? '<=' : g.at === 'least' ? '>=' : '<'} ${g.target}`;
  return ok === null ? `(goal ${want}: not measured)` : `${ok ? 'ok' : 'MISSES GOAL'} (goal ${want})`;
}

const pct = (cores: number): string => `${(cores * 100).toFixed(2)}%`;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { only: { type: 'string' }, profile: { type: 'boolean' }, 'cpu-gateways': { type: 'string' }, 'cpu-rounds': { type: 'string' } } });
  const only = values.only ? new Set(values.only.split(',').map((s) => s.trim())) : null;
  for (const p of only ?? []) if (!(PHASES as readonly string[]).includes(p)) throw new Error(`--only: unknown phase ${JSON.stringify(p)}; expected some of ${PHASES.join(', ')}`);
  const cpuPlan = cpuPlanOf(values['cpu-gateways'], values['cpu-rounds']);
  const runs = (p: Phase): boolean => only === null || only.has(p);
  const started = performance.now();
  const loads: Record<string, string> = { start: loadAverage() };
  log(`bench: relay-agent ${APP_VERSION}, node ${process.version}, ${os.cpus().length} cores, load average ${loads.start} (1, 5, 15 min: others share this machine)`);
  const scripts = await buildBenchScripts();
  const cli = relayCli();
  log(`bench: the relay is ${cli.describe} run --config-dir <a fresh folder>; gateways and sinks in a child process`);
  const child = await BenchChild.start(scripts.sink);
  let memory: MemoryPhase | null = null;
  const recording = buildLargeRecording(PLAN.replay.repeat);
  try {
    const gateways = await child.gateways(Math.max(...PLAN.cpu.gateways));
    const sinks = await child.sinks(Math.max(...PLAN.replay.gateways));

    // ---- 1. CPU and latency at 60 Hz -------------------------------------------------------
    const cpu: CpuResult[] = [];
    if (runs('cpu')) {
      log(`[cpu] 60 Hz (controls + 4 Hz baseline) to N reference gateways: the relay CLI and a plain ws sender side by side, same frames, same gateways; each round a fresh pair, ${cpuPlan.warmupMs / 1000} s warm-up, then ${cpuPlan.windowMs / 1000} s measuring both at once; ${cpuPlan.goalRounds} rounds for ${cpuPlan.goalGateways.join(' and ')} gateways, ${cpuPlan.rounds} for the others`);
      for (const n of cpuPlan.gateways) {
        log(`  ${n} gateway(s) (load ${loadAverage()}):`);
        const rounds = (cpuPlan.goalGateways as readonly number[]).includes(n) ? cpuPlan.goalRounds : cpuPlan.rounds;
        const r = await measureCpu(cli, child, scripts['plain-sender'], gateways.slice(0, n), { ...cpuPlan, rounds });
        cpu.push(r);
        log(`  ${n} gateway(s): relay ${pct(r.relayCoreFraction)}, plain sender ${pct(r.plainCoreFraction)} of a core; ratio ${r.ratio} (median of ${r.rounds.length}); ${r.framesPerSec} frames/s, dropped ${r.delivery.relayDropped}, lost ${r.delivery.relayLost}`);
      }
      loads.cpu = loadAverage();
    }
    const cpuAt = (n: number): CpuResult | undefined => cpu.find((r) => r.gateways === n);

    if (runs('memory')) {
      log(`[memory] started in the background: the relay CLI at 60 Hz to 2 gateways, the second one's process stopped (SIGSTOP) for ${PLAN.memory.stoppedMs / 60_000} minutes`);
      // A gateway of its own (the last one: the later phases use the first two), so that the
      // kill switch phase sees its gateways' sockets reach zero.
      memory = await MemoryPhase.start(cli, scripts.sink, gateways[gateways.length - 1] as string, PLAN.memory.warmupMs);
    }

    // ---- 2. --speed max replay -----------------------------------------------------------------
    const replay: ReplayResult[] = [];
    if (runs('replay')) {
      log(`[replay] --speed max of a recording (the fixture repeated ${PLAN.replay.repeat} times) to N sinks that confirm like a protocol 2 gateway, against a bare ws loop (decode floor, same frames, same sinks); timed at the sinks, ${PLAN.replay.rounds} rounds turn about after a warm-up`);
      for (const n of PLAN.replay.gateways) {
        const r = await measureReplay(cli, child, scripts['plain-replay'], sinks.slice(0, n), recording.file, PLAN.replay);
        replay.push(r);
        log(`  ${n} gateway(s) (load ${loadAverage()}): relay ${r.relayFramesPerSec} frames/s, bare loop ${r.bareFramesPerSec} frames/s: ${r.ratio}x (${r.frames} frames; the sinks' process used ${r.sinkCoresBare} and ${r.sinkCoresRelay} of a core)`);
      }
      loads.replay = loadAverage();
    }
    const replayAt = (n: number): ReplayResult | undefined => replay.find((r) => r.gateways === n);

    // ---- 3. kill switch ------------------------------------------------------------------------
    let kill: Awaited<ReturnType<typeof measureKillSwitch>> | null = null;
    if (runs('kill')) {
      log(`[kill] the relay CLI at 60 Hz to 2 gateways: kill command (the loopback API call relay kill makes) to zero sockets at the gateways, ${PLAN.kill.rounds} rounds; then relay kill on from a terminal against node -e 0`);
      kill = await measureKillSwitch(cli, child, gateways.slice(0, 2), PLAN.kill);
      log(`  end to end ${kill.endToEndMs} ms (median; runs ${kill.endToEndRunsMs.join(', ')} ms); frames at a gateway after its sockets closed ${kill.framesAfterKill}${kill.framesAfterKill === 0 ? '' : ' (MUST BE 0)'}; ${kill.framesInTransit} written before the switch was in force arrived while the command was on its way`);
      log(`  relay kill on ${kill.cliKillMs} ms, node -e 0 ${kill.nodeStartMs} ms: ${kill.cliKillVsNodeStart}x (median of ${kill.cliKillRunsMs.length}); it says: ${kill.cliSays}`);
      loads.kill = loadAverage();
    }

    // ---- 4. stalled target -------------------------------------------------------------------
    let stalled: Awaited<ReturnType<typeof measureStalled>> | null = null;
    if (runs('stalled')) {
      log(`[stalled] the healthy gateway's latency alone and beside a stalled peer (raw TCP that never reads; a WebSocket that upgrades then stops reading), ${PLAN.stalled.rounds} rounds of each interleaved, ${PLAN.stalled.windowMs / 1000} s windows`);
      stalled = await measureStalled(cli, child, { url: gateways[0] as string, index: 0 }, PLAN.stalled);
      log(`  p99 medians: alone ${stalled.aloneP99Ms} ms, beside tcp ${stalled.tcpP99Ms} ms (${stalled.tcpRatio}x), beside ws ${stalled.wsP99Ms} ms (${stalled.wsRatio}x); no floor`);
      loads.stalled = loadAverage();
    }

    // ---- 5. the .ibt reader ----------------------------------------------------------------------
    let ibt: Awaited<ReturnType<typeof runIbtReaderChild>> | null = null;
    if (runs('ibt')) {
      log(`[ibt] the reader (chunks, as the replay reads) against a minimal DataView decode of the same variables of the same file, in turn, ${PLAN.ibt.rounds} rounds, in a bundled process`);
      ibt = await runIbtReaderChild(scripts['ibt-reader'], PLAN.ibt);
      log(`  reader ${ibt.readerSamplesPerSec} samples/s, floor ${ibt.floorSamplesPerSec} samples/s: ${ibt.ratio}x (rounds ${ibt.ratios.join(', ')}; ${ibt.variables} variables, ${ibt.samples} samples)`);
      loads.ibt = loadAverage();
    }

    // ---- 6. the dashboard ------------------------------------------------------------------------
    let dash: DashboardResult | null = null;
    if (runs('dashboard')) {
      log(`[dashboard] the relay CLI at 60 Hz to 2 gateways, its dashboard in headless Chromium beside about:blank in another, every process of each, ${PLAN.dashboard.windowMs / 1000} s after ${PLAN.dashboard.warmupMs / 1000} s`);
      // Imported only now: Vite and Playwright would otherwise sit in this process from the start.
      const { measureDashboard } = await import('./dashboard');
      dash = await measureDashboard(cli, child, gateways.slice(0, 2), PLAN.dashboard);
      if (dash) log(`  ${dash.cpuVsBlank}% of a core above about:blank (${pct(dash.dashboardCores)} against ${pct(dash.blankCores)}); ${dash.snapshotsPerSec} snapshots/s; page script ${dash.pageScriptMs} ms, layout ${dash.pageLayoutMs} ms, style ${dash.pageStyleMs} ms; heap ${dash.heapStartMb} -> ${dash.heapEndMb} MB, DOM nodes ${dash.domNodesStart} -> ${dash.domNodesEnd}`);
      else log('  skipped: Chromium is not installed (apt-get install -y chromium)');
      loads.dashboard = loadAverage();
    }

    // ---- 7. memory (started after the CPU phase) ------------------------------------------------
    let mem: Awaited<ReturnType<MemoryPhase['finish']>> | null = null;
    if (memory) {
      const left = PLAN.memory.stoppedMs - memory.elapsedMs;
      if (left > 0) log(`[memory] waiting ${Math.round(left / 1000)} s more for the 5-minute outage`);
      mem = await memory.finish(PLAN.memory.stoppedMs);
      memory = null;
      log(
        `[memory] after ${mem.stoppedForS} s with one gateway stopped: RSS ${mem.baselineRssMb} MB before, peak ${mem.peakRssMb} MB (+${mem.growthMb} MB), bound +${mem.boundMb} MB (queue byte cap ${DEFAULT_SETTINGS.queueMaxBytes / 1048576} MB + unconfirmed window 1 MB + allowance): ${mem.withinBound ? 'within' : 'OUTSIDE'}; once a minute ${mem.perMinuteMb.join(', ')} MB; the stopped target: ${mem.stoppedTarget.state}, queued ${mem.stoppedTarget.queued}, in flight ${mem.stoppedTarget.inFlight}, dropped ${mem.stoppedTarget.dropped}`,
      );
    }

    // ---- profile (optional) --------------------------------------------------------------------
    let profile: ReturnType<typeof summarizeProfile> | null = null;
    if (values.profile) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-bench-prof-'));
      log(`[profile] the relay CLI at 60 Hz to 2 gateways under node --cpu-prof: ${PLAN.profile.warmupMs / 1000} s warm-up, ${PLAN.profile.windowMs / 1000} s counted`);
      await measureCpu(cli, child, scripts['plain-sender'], gateways.slice(0, 2), { warmupMs: PLAN.profile.warmupMs, windowMs: PLAN.profile.windowMs, rounds: 1, relayNodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`] });
      const file = fs.readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
      if (file) {
        profile = summarizeProfile(path.join(dir, file), { top: 20, fromMs: PLAN.profile.warmupMs + 2_000, toMs: PLAN.profile.warmupMs + PLAN.profile.windowMs });
        log(`  on the CPU ${profile.busyMs} ms of ${profile.wallMs} ms; garbage collection ${(profile.gcShare * 100).toFixed(1)}%, V8/Node native work outside JS ${(profile.programShare * 100).toFixed(1)}% of that`);
        for (const m of profile.modules) log(`    ${(m.share * 100).toFixed(1).padStart(5)}%  ${m.module}`);
        log('  functions:');
        for (const f of profile.functions) log(`    ${(f.share * 100).toFixed(1).padStart(5)}%  ${f.name}  ${f.module}`);
        log(`  (the profile: ${path.join(dir, file)})`);
      }
    }

    // ---- the table and the summary -------------------------------------------------------------
    if (cpu.length > 0 || replay.length > 0) {
      log('gateways | relay CPU at 60 Hz | plain sender | ratio | relay --speed max | bare loop   | ratio');
      for (const n of [...new Set([...cpu.map((c) => c.gateways), ...replay.map((r) => r.gateways)])]) {
        const c = cpuAt(n);
        const r = replayAt(n);
        log(
          `${String(n).padStart(8)} | ${(c ? pct(c.relayCoreFraction) : '-').padStart(18)} | ${(c ? pct(c.plainCoreFraction) : '-').padStart(12)} | ${String(c?.ratio ?? '-').padStart(5)} | ${(r ? `${r.relayFramesPerSec}/s` : '-').padStart(17)} | ${(r ? `${r.bareFramesPerSec}/s` : '-').padStart(11)} | ${r?.ratio ?? '-'}`,
        );
      }
    }
    const two = cpuAt(2);
    const replayMin = replayAt(1) && replayAt(4) ? Math.min((replayAt(1) as ReplayResult).ratio, (replayAt(4) as ReplayResult).ratio) : null;
    const results: Record<GoalKey, number | null> = {
      relayCpuVsPlainSender60Hz: two?.ratio ?? null,
      relayCpuVsPlainSender60Hz8Targets: cpuAt(8)?.ratio ?? null,
      replayMaxVsBare: replayMin,
      dashboardCpuVsBlank: dash?.cpuVsBlank ?? null,
      ibtReaderVsDecodeFloor: ibt?.ratio ?? null,
      killSwitchEndToEndMs: kill?.endToEndMs ?? null,
      cliKillVsNodeStart: kill?.cliKillVsNodeStart ?? null,
      addedLatencyP99Ms: two?.addedP99Ms ?? null,
      stalledIsolationRatio: stalled?.ratio ?? null,
    };
    loads.end = loadAverage();
    log('summary:');
    for (const key of Object.keys(GOALS) as GoalKey[]) log(`  ${key.padEnd(34)} ${String(results[key] ?? '-').padStart(8)}  ${verdict(key, results[key])}`);
    if (mem) log(`  ${'memory with a gateway stopped 5 min'.padEnd(34)} ${`+${mem.growthMb} MB`.padStart(8)}  ${mem.withinBound ? 'ok' : 'MISSES GOAL'} (bound +${mem.boundMb} MB over ${mem.baselineRssMb} MB)`);
    log(`  load average: ${Object.entries(loads).map(([k, v]) => `${k} ${v}`).join('; ')}`);

    await child.close();
    const result = {
      ...results,
      goalsMet: Object.fromEntries((Object.keys(GOALS) as GoalKey[]).map((k) => [k, met(k, results[k])])),
      // The cost of confirmation: the relay speaks protocol 2 (welcome, receipts, resends) and
      // a frame counts only once confirmed; the plain sender and the bare loop wait for nothing.
      relayThroughputVsPlainSender: replayMin,
      memoryBaselineRssMb: mem?.baselineRssMb ?? null,
      memoryPeakRssMb: mem?.peakRssMb ?? null,
      memoryGrowthMb: mem?.growthMb ?? null,
      memoryBoundMb: mem?.boundMb ?? null,
      memoryWithinBound: mem?.withinBound ?? null,
      memoryStoppedS: mem?.stoppedForS ?? null,
      memoryPerMinuteMb: mem?.perMinuteMb ?? null,
      cpuTable: cpu.map((c) => ({
        gateways: c.gateways,
        relayCores: c.relayCoreFraction,
        plainCores: c.plainCoreFraction,
        ratio: c.ratio,
        roundRatios: c.rounds.map((x) => x.ratio),
        framesPerSec: c.framesPerSec,
        relayDropped: c.delivery.relayDropped,
        relayLost: c.delivery.relayLost,
      })),
      replayTable: replay.map((r) => ({
        gateways: r.gateways,
        relayFramesPerSec: r.relayFramesPerSec,
        bareFramesPerSec: r.bareFramesPerSec,
        ratio: r.ratio,
        roundRatios: r.rounds.map((x) => x.ratio),
        frames: r.frames,
        sinkCoresBare: r.sinkCoresBare,
        sinkCoresRelay: r.sinkCoresRelay,
      })),
      latencyP99RelayMs: two?.relayP99Ms ?? null,
      latencyP99PlainMs: two?.plainP99Ms ?? null,
      latencyP50RelayMs: two?.relayP50Ms ?? null,
      latencyP50PlainMs: two?.plainP50Ms ?? null,
      latencySamples: two?.latencySamples ?? null,
      latencyRoundsAddedP99Ms: two?.rounds.map((x) => round(x.relayP99Ms - x.plainP99Ms, 3)) ?? null,
      killSwitchEndToEndRunsMs: kill?.endToEndRunsMs ?? null,
      framesAfterKill: kill?.framesAfterKill ?? null,
      framesInTransitAtKill: kill?.framesInTransit ?? null,
      cliKillMs: kill?.cliKillMs ?? null,
      nodeStartMs: kill?.nodeStartMs ?? null,
      stalledP99RunsMs: stalled?.p99RunsMs ?? null,
      stalledTcpRatio: stalled?.tcpRatio ?? null,
      stalledWsRatio: stalled?.wsRatio ?? null,
      stalledSamplesPerRun: stalled?.samplesPerRun ?? null,
      stalledPeakRssMb: stalled?.peakRssMb ?? null,
      ibtReaderSamplesPerSec: ibt?.readerSamplesPerSec ?? null,
      ibtDecodeFloorSamplesPerSec: ibt?.floorSamplesPerSec ?? null,
      ibtRoundRatios: ibt?.ratios ?? null,
      dashboardCores: dash?.dashboardCores ?? null,
      blankCores: dash?.blankCores ?? null,
      dashboardSnapshotsPerSec: dash?.snapshotsPerSec ?? null,
      dashboardHeapRatio: dash?.heapRatio ?? null,
      dashboardDomNodesStart: dash?.domNodesStart ?? null,
      dashboardDomNodesEnd: dash?.domNodesEnd ?? null,
      profileGcShare: profile?.gcShare ?? null,
      profileModules: profile?.modules ?? null,
      relay: cli.describe,
      loadAverage: loads,
      benchSeconds: round((performance.now() - started) / 1000, 1),
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    if (memory) await memory.finish(0).catch(() => undefined);
    recording.remove();
    await child.close();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${(e as Error)?.stack ?? String(e)}\n`);
  process.exitCode = 1;
});

