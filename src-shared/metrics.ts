// Metric math shared by the relay, the gateway, the dashboard and the report:
// percentiles, drift between targets and the spec's health table.

export type HealthStatus = 'healthy' | 'warning' | 'critical';

/** Nearest-rank percentile of unsorted samples; null when there are none. */
export function percentile(samples: readonly number[], p: number): number | null {
  if (samples.length === 0) return null;
  return percentileOfSorted(Float64Array.from(samples).sort(), p);
}

/** Nearest-rank percentile of samples sorted ascending; null when there are none. */
export function percentileOfSorted(sorted: ArrayLike<number>, p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? null;
}

/** p50 and p95 of unsorted samples, from one sorted copy (a typed array's numeric sort, no comparator calls). */
export function latencySummary(samples: readonly number[]): LatencySummary {
  return summaryOfSorted(Float64Array.from(samples).sort());
}

function summaryOfSorted(sorted: ArrayLike<number>): LatencySummary {
  return { p50: round(percentileOfSorted(sorted, 50)), p95: round(percentileOfSorted(sorted, 95)), samples: sorted.length };
}

/**
 * The most recent N latency samples, in a fixed ring: constant memory however long a session
 * runs. Beside the ring it keeps the same samples sorted, one insertion and one removal per
 * sample, so a summary is two lookups: the relay asks for one per target every second, and a
 * sort of the whole window each time, on a cold cache at 60 Hz, cost more than the few acks a
 * second that change it.
 */
export class SampleWindow {
  private readonly ring: number[] = [];
  private readonly sorted: number[] = [];
  private next = 0;
  total = 0;

  constructor(readonly capacity = 512) {}

  add(value: number): void {
    if (this.ring.length < this.capacity) {
      this.ring.push(value);
    } else {
      const evicted = this.ring[this.next] as number;
      this.ring[this.next] = value;
      this.sorted.splice(firstAtLeast(this.sorted, evicted), 1);
    }
    this.sorted.splice(firstAtLeast(this.sorted, value), 0, value);
    this.next = (this.next + 1) % this.capacity;
    this.total++;
  }

  values(): readonly number[] {
    return this.ring;
  }

  get size(): number {
    return this.ring.length;
  }

  summary(): LatencySummary {
    return summaryOfSorted(this.sorted);
  }

  clear(): void {
    this.ring.length = 0;
    this.sorted.length = 0;
    this.next = 0;
  }
}

/**
 * Index of the first element not below `value` in an ascending array (a lower bound): the
 * latency window here, the gateway's holes in src-gateway/parity.ts. NaN sorts nowhere, so it
 * is kept at the end, where a typed array's sort puts it too.
 */
export function firstAtLeast(sorted: readonly number[], value: number): number {
  if (Number.isNaN(value)) {
    const i = sorted.findIndex((x) => Number.isNaN(x));
    return i === -1 ? sorted.length : i;
  }
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as number) < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export interface LatencySummary {
  p50: number | null;
  p95: number | null;
  samples: number;
}

export function round(value: number | null, digits = 1): number | null {
  if (value === null || !Number.isFinite(value)) return null;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** The spec's "Expected Metrics" table: the value must stay under the healthy bound, then the warning bound. */
export const HEALTH_THRESHOLDS = {
  dropRatePct: { warning: 0.1, critical: 1, label: 'frame drop rate', unit: '%' },
  ackP95Ms: { warning: 100, critical: 500, label: 'ack latency p95', unit: ' ms' },
  driftPct: { warning: 1, critical: 5, label: 'target drift', unit: '%' },
  queueSize: { warning: 100, critical: 300, label: 'queue size', unit: '' },
} as const;

export type HealthMetric = keyof typeof HEALTH_THRESHOLDS;
export type HealthInputs = { [K in HealthMetric]?: number | null };

export interface HealthVerdict {
  status: HealthStatus;
  reasons: string[];
}

const RANK: Record<HealthStatus, number> = { healthy: 0, warning: 1, critical: 2 };

export function worst(...statuses: HealthStatus[]): HealthStatus {
  return statuses.reduce<HealthStatus>((a, b) => (RANK[b] > RANK[a] ? b : a), 'healthy');
}

export function classifyMetric(metric: HealthMetric, value: number): HealthStatus {
  const t = HEALTH_THRESHOLDS[metric];
  if (value < t.warning) return 'healthy';
  if (value < t.critical) return 'warning';
  return 'critical';
}

/** Each metric against the table; the verdict is the worst of them, with a reason for every one not healthy. */
export function classifyHealth(inputs: HealthInputs): HealthVerdict {
  let status: HealthStatus = 'healthy';
  const reasons: string[] = [];
  for (const metric of Object.keys(HEALTH_THRESHOLDS) as HealthMetric[]) {
    const value = inputs[metric];
    if (value === null || value === undefined || !Number.isFinite(value)) continue;
    const level = classifyMetric(metric, value);
    if (level === 'healthy') continue;
    const t = HEALTH_THRESHOLDS[metric];
    const bound = level === 'critical' ? t.critical : t.warning;
    reasons.push(`${t.label} ${round(value, 2)}${t.unit} is at or above ${bound}${t.unit} (${level})`);
    status = worst(status, level);
  }
  return { status, reasons };
}

export interface DriftInputs {
  /** Frames the gateway confirmed. */
  delivered: number;
  /**
   * Frames the target was meant to deliver: given to it, less those deliberately withheld
   * (kill switch, standby, disabled, deactivated, removed). Queued and in-flight frames are in it, so they count
   * as behind until confirmed.
   */
  given: number;
}

/**
 * Drift of each target, in percent: how far its share of confirmed deliveries falls behind
 * the best target's. Shares, not raw counts, so a target added mid-session (blue/green
 * step 2) is compared over the frames it was given, not the whole run. A target given
 * nothing yet has no share and no drift.
 */
export function computeDrift(targets: readonly DriftInputs[]): number[] {
  const shares = targets.map((t) => (t.given > 0 ? t.delivered / t.given : null));
  const best = Math.max(...shares.map((s) => s ?? -1));
  // With no confirmed delivery anywhere there is nothing to compare: the verdict says no data.
  return shares.map((s) => (s === null || best <= 0 ? 0 : Math.max(0, (best - s) * 100)));
}
