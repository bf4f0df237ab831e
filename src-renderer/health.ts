// How the dashboard colours and words health. The thresholds themselves live in
// src-shared/metrics.ts (the spec's table); this only maps verdicts to tones.
import type { ParityResponse, ParityStatus, TargetState, TargetView } from '../src-shared/debug-api';
import { HEALTH_THRESHOLDS, classifyMetric, worst, type HealthStatus } from '../src-shared/metrics';
import { formatDuration } from './format';

export type Tone = HealthStatus | 'inactive';

/** Targets that are not meant to send right now are grey, whatever their old figures say. */
const INACTIVE_STATES: ReadonlySet<TargetState> = new Set(['killed', 'disabled', 'standby', 'removed']);

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

// ---- parity: the relay's verdict and clock, shown as they are -------------------------------

/** The cutover playbook's "verify parity for 2 minutes", read off the relay's parity clock. */
export const PARITY_CHECK_MS = 2 * 60_000;

/** The relay's parity verdict as a tone: no-data is grey, never green. */
export function parityTone(status: ParityStatus): Tone {
  return status === 'no-data' ? 'inactive' : status;
}

export const PARITY_WORDS: Record<ParityStatus, string> = {
  healthy: 'Healthy',
  warning: 'Warning',
  critical: 'Critical',
  'no-data': 'No data',
};

/**
 * - `passed`: the relay's verdict is healthy and has been for 2 minutes without a break;
 * - `counting`: healthy, not for 2 minutes yet;
 * - `not-passing`: the relay's verdict is not healthy;
 * - `no-data`: nothing was confirmed, so nothing can be claimed;
 * - `paused`: the connection to the relay is down, so the figures are stale.
 */
export type ParityCheckState = 'passed' | 'counting' | 'not-passing' | 'no-data' | 'paused';

export interface ParityCheckView {
  state: ParityCheckState;
  /** How long the relay's verdict had been healthy at the snapshot; null unless passed or counting. */
  healthyForMs: number | null;
  text: string;
}

/**
 * The 2-minute parity check in words. The verdict and the clock are the relay's own
 * (ParityResponse.verdict and healthySinceMs); this adds no rule: it passes only when the
 * relay says healthy and its clock started at least 2 minutes before the snapshot `at`.
 */
export function describeParityCheck(parity: Pick<ParityResponse, 'verdict' | 'healthySinceMs'>, at: number, connectionOpen: boolean): ParityCheckView {
  const label = '2-minute parity check';
  if (!connectionOpen) return { state: 'paused', healthyForMs: null, text: `${label}: paused while the connection to the relay is down.` };
  const { status } = parity.verdict;
  if (status === 'no-data') return { state: 'no-data', healthyForMs: null, text: `${label}: no confirmed deliveries yet, so nothing is proven.` };
  const since = parity.healthySinceMs;
  if (status !== 'healthy' || since === null) {
    return { state: 'not-passing', healthyForMs: null, text: `${label}: not passing, the relay's parity verdict is ${PARITY_WORDS[status].toLowerCase()}.` };
  }
  const healthyFor = Math.max(0, at - since);
  if (healthyFor >= PARITY_CHECK_MS) {
    return { state: 'passed', healthyForMs: healthyFor, text: `${label}: passed. Healthy for ${formatDuration(healthyFor)} without a break.` };
  }
  return { state: 'counting', healthyForMs: healthyFor, text: `${label}: healthy for ${formatDuration(healthyFor)}, ${formatDuration(PARITY_CHECK_MS - healthyFor)} to go.` };
}
