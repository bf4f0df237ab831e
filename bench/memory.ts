// Memory with a gateway gone: the relay CLI at 60 Hz to two reference gateways, the second in
// a process of its own that is then stopped (SIGSTOP: it accepts nothing, reads nothing,
// answers nothing) for the whole window. The relay's RSS must stay within what its caps
// allow: the queue (frames and bytes) plus the written-but-unconfirmed window, plus a fixed
// allowance for the runtime's own swings (V8's young generation, buffers), whatever the
// length of the outage. Runs in the background beside the other phases.
import { DEFAULT_TUNING } from '../src-main/relay/target';
import { DEFAULT_SETTINGS } from '../src-shared/settings';
import type { CliCommand } from './build';
import { BenchChild } from './child';
import { RelayProcess } from './relay-process';
import { mb, round, sleep } from './util';

/** What the runtime may add on top of the caps, however long the outage: fixed, not a share of anything. */
export const MEMORY_ALLOWANCE_BYTES = 24 * 1024 * 1024;

export interface MemoryResult {
  stoppedForS: number;
  baselineRssMb: number;
  peakRssMb: number;
  endRssMb: number;
  growthMb: number;
  /** The queue's byte cap plus the unconfirmed window plus the allowance, over the baseline. */
  boundMb: number;
  withinBound: boolean;
  /** RSS once a minute during the outage (MB), to show it levels off. */
  perMinuteMb: number[];
  stoppedTarget: { state: string; queued: number; inFlight: number; dropped: number; lost: number };
}

export class MemoryPhase {
  private constructor(
    private readonly relay: RelayProcess,
    private readonly stopped: BenchChild,
    private readonly baseline: number,
    private readonly startedAt: number,
    private readonly timer: NodeJS.Timeout,
    private readonly samples: number[],
  ) {}

  /** Starts the relay, lets it settle, then stops the second gateway's process. */
  static async start(cli: CliCommand, sinkScript: string, healthyUrl: string, warmupMs: number): Promise<MemoryPhase> {
    const stopped = await BenchChild.start(sinkScript);
    const [doomed] = await stopped.gateways(1);
    const relay = await RelayProcess.start(cli, { backends: [healthyUrl, doomed as string] });
    try {
      await relay.waitConnected();
      await sleep(warmupMs);
      const baseline = relay.rss() ?? 0;
      stopped.signal('SIGSTOP');
      const samples: number[] = [];
      const timer = setInterval(() => samples.push(relay.rss() ?? 0), 1000);
      return new MemoryPhase(relay, stopped, baseline, performance.now(), timer, samples);
    } catch (e) {
      await relay.stop();
      await stopped.close();
      throw e;
    }
  }

  get elapsedMs(): number {
    return performance.now() - this.startedAt;
  }

  /** Waits until the outage has lasted `durationMs`, then measures and cleans up. */
  async finish(durationMs: number): Promise<MemoryResult> {
    try {
      if (this.elapsedMs < durationMs) await sleep(durationMs - this.elapsedMs);
      clearInterval(this.timer);
      const end = this.relay.rss() ?? 0;
      this.samples.push(end);
      const view = await this.relay.targets();
      const t = view.targets[1];
      const peak = Math.max(...this.samples);
      const bound = DEFAULT_SETTINGS.queueMaxBytes + DEFAULT_TUNING.maxInFlightBytes + MEMORY_ALLOWANCE_BYTES;
      return {
        stoppedForS: round(this.elapsedMs / 1000, 1),
        baselineRssMb: mb(this.baseline),
        peakRssMb: mb(peak),
        endRssMb: mb(end),
        growthMb: mb(peak - this.baseline),
        boundMb: mb(bound),
        withinBound: peak - this.baseline <= bound,
        perMinuteMb: this.samples.filter((_, i) => (i + 1) % 60 === 0).map(mb),
        stoppedTarget: { state: t?.state ?? '?', queued: t?.counters.queued ?? 0, inFlight: t?.counters.inFlight ?? 0, dropped: t?.counters.dropped ?? 0, lost: t?.counters.lost ?? 0 },
      };
    } finally {
      clearInterval(this.timer);
      this.stopped.signal('SIGCONT');
      await this.relay.stop(3_000);
      await this.stopped.close();
    }
  }
}
