// Small pieces shared by the bench phases.
import { setTimeout as delay } from 'node:timers/promises';

export const sleep = (ms: number): Promise<void> => delay(ms).then(() => undefined);

/** Waits for `check`; throws at the timeout, or at once when `hopeless` says it can no longer come. */
export async function until(check: () => boolean, timeoutMs: number, what: string, hopeless: () => boolean = () => false): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (hopeless()) throw new Error(`gave up waiting for ${what}`);
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}

/** The middle value (the mean of the two middle ones for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
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
