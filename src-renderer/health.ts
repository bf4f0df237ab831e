// How the dashboard colours and words health. The thresholds themselves live in
// src-shared/metrics.ts (the spec's table); this only maps verdicts to tones.
import type { TargetState, TargetView } from '../src-shared/debug-api';
import { HEALTH_THRESHOLDS, classifyMetric, worst, type HealthStatus } from '../src-shared/metrics';

export type Tone = HealthStatus | 'inactive';

/** Targets that are not meant to send right now are grey, whatever their old figures say. */
const INACTIVE_STATES: ReadonlySet<TargetState> = new Set(['killed', 'disabled', 'standby']);

export function isInactive(state: TargetState): boolean {
  return INACTIVE_STATES.has(state);
}

/**
 * The tone of a target: its verdict against the spec's table, except that a target that
 * should be sending but has lost its connection is at least a warning (its metrics may
 * still look healthy for a while, since nothing is being measured).
 */
export function targetTone(t: Pick<TargetView, 'state' | 'health'>): Tone {
  if (isInactive(t.state)) return 'inactive';
  if (t.state === 'backoff') return worst(t.health.status, 'warning');
  return t.health.status;
}

export function queueTone(queueSize: number): HealthStatus {
  return classifyMetric('queueSize', queueSize);
}

export function latencyTone(p95Ms: number | null): HealthStatus | 'inactive' {
  return p95Ms === null ? 'inactive' : classifyMetric('ackP95Ms', p95Ms);
}

export function driftTone(driftPct: number): HealthStatus {
  return classifyMetric('driftPct', driftPct);
}

export const TONE_WORDS: Record<Tone, string> = {
  healthy: 'Healthy',
  warning: 'Warning',
  critical: 'Critical',
  inactive: 'Inactive',
};

/** The drift row of the spec's table in words, for the parity panel's legend. */
export function driftBoundsText(): string {
  const d = HEALTH_THRESHOLDS.driftPct;
  return `healthy under ${d.warning}%, warning under ${d.critical}%, critical at ${d.critical}% or more`;
}
