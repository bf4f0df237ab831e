// Small pieces shared by the bench phases.
import { setImmediate as immediate, setTimeout as delay } from 'node:timers/promises';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { DEFAULT_SETTINGS, type Settings } from '../src-shared/settings';
import type { BackendManager } from '../src-main/relay/backend-manager';

export const sleep = (ms: number): Promise<void> => delay(ms).then(() => undefined);

/** One event-loop turn: lets sockets write, read and call back without a timer's 1 ms floor. */
export const yieldTurn = (): Promise<void> => immediate().then(() => undefined);

export async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}

export function benchSettings(urls: readonly string[], overrides: Partial<Settings> = {}): Settings {
  return {
    ...DEFAULT_SETTINGS,
    backends: urls.map((url) => ({ url, enabled: true })),
    mode: 'parallel',
    paritySampleRate: 0.05,
    // The manager never starts the debug server; 0 keeps the object valid all the same.
    debugPort: 0,
    ...overrides,
  };
}

export function targetState(manager: BackendManager, url: string): string | undefined {
  const index = manager.settings.backends.findIndex((b) => b.url === url);
  return manager.targetsView().targets[index]?.state;
}

export async function waitConnected(manager: BackendManager, urls: readonly string[], timeoutMs = 5_000): Promise<void> {
  await until(() => urls.every((u) => targetState(manager, u) === 'connected'), timeoutMs, `targets ${urls.join(', ')} to connect`);
}

/** Nearest-rank percentile of sorted samples. */
export function percentileSorted(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

export interface LatencyStats {
  samples: number;
  p50: number;
  p99: number;
  max: number;
}

export function latencyStats(samplesMs: readonly number[]): LatencyStats {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  return {
    samples: sorted.length,
    p50: round(percentileSorted(sorted, 50), 3),
    p99: round(percentileSorted(sorted, 99), 3),
    max: round(sorted[sorted.length - 1] ?? Number.NaN, 3),
  };
}

export function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

export const mb = (bytes: number): number => round(bytes / (1024 * 1024), 1);

export function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

/**
 * Values shaped like the synthetic source's controls frame (same keys, same kinds of
 * numbers, same rounding), cheap and deterministic, so the bare loop and the relay path
 * serialise identical data.
 */
export class ControlsData {
  private tick = 0;

  next(): Record<string, unknown> {
    const t = ++this.tick / 60;
    const speed = 30 + 45 * Math.abs(Math.sin(t * 0.11));
    return {
      SessionTime: round(t, 3),
      Throttle: round(0.5 + 0.5 * Math.sin(t * 0.9), 4),
      Brake: round(Math.max(0, -Math.sin(t * 0.9)) * 0.8, 4),
      Clutch: 0,
      SteeringWheelAngle: round(1.3 * Math.sin(t * 0.37), 4),
      Gear: 1 + (Math.floor(t) % 6),
      RPM: round(4200 + ((t * 0.41) % 1) * 7600, 1),
      Speed: round(speed, 3),
    };
  }
}

/** Samples RSS on a timer; `peak` includes a sample taken on stop. */
export class RssSampler {
  peak = process.memoryUsage().rss;
  private readonly timer: NodeJS.Timeout;

  constructor(everyMs = 50) {
    this.timer = setInterval(() => this.sample(), everyMs);
  }

  sample(): void {
    this.peak = Math.max(this.peak, process.memoryUsage().rss);
  }

  stop(): number {
    clearInterval(this.timer);
    this.sample();
    return this.peak;
  }
}

let gcFn: (() => void) | null = null;

/**
 * A full garbage collection, so heapUsed shows what is still referenced rather than how
 * much garbage happens to be waiting. Only the memory figures use it.
 */
export function collectGarbage(): void {
  if (!gcFn) {
    v8.setFlagsFromString('--expose-gc');
    gcFn = runInNewContext('gc') as () => void;
  }
  gcFn();
}
