// Payloads of the relay's loopback debug endpoints. Every field of the spec's examples
// is here with the same name and type; the extra fields serve the dashboard and support.
import type { BackendMode } from './settings';
import type { HealthStatus, HealthVerdict, LatencySummary } from './metrics';

export const TARGET_STATES = ['connecting', 'connected', 'backoff', 'standby', 'disabled', 'killed'] as const;
export type TargetState = (typeof TARGET_STATES)[number];

export const DROP_REASONS = ['queueFull', 'killSwitch', 'deactivated', 'removed'] as const;
export type DropReason = (typeof DROP_REASONS)[number];

export const FAIL_REASONS = ['sendTimeout', 'connectionLost', 'sendError'] as const;
export type FailReason = (typeof FAIL_REASONS)[number];

export interface TargetCounters {
  sent: number;
  failed: number;
  acked: number;
  dropped: number;
  /** Frames given to this target: always sent + failed + dropped + queued. */
  produced: number;
  queued: number;
}

export interface StreamCounts {
  produced: number;
  sent: number;
  failed: number;
  dropped: number;
  queued: number;
}

export interface TargetView {
  url: string;
  enabled: boolean;
  state: TargetState;
  primary: boolean;
  counters: TargetCounters;
  /** The same counters per stream; they add up to `counters`. */
  streams: Record<string, StreamCounts>;
  droppedBy: Record<DropReason, number>;
  failedBy: Record<FailReason, number>;
  queueSize: number;
  queueBytes: number;
  lastSendOkMs: number | null;
  lastAckLatencyMs: number | null;
  lastError: string | null;
  ackLatency: LatencySummary;
  /** Acks asked for but not received within the ack timeout. */
  acksMissing: number;
  /** Messages from the gateway that were not valid protocol. */
  badMessages: number;
  driftPct: number;
  health: HealthVerdict;
  connects: number;
  disconnects: number;
  connectedSinceMs: number | null;
  nextRetryMs: number | null;
  /** The gateway's name from its welcome. */
  gateway: string | null;
  authenticated: boolean;
}

export interface TargetsResponse {
  targets: TargetView[];
  mode: BackendMode;
  primaryIndex: number;
  killSwitch: boolean;
}

export interface ParityTarget {
  url: string;
  sent: number;
  acked: number;
  failed: number;
  dropped: number;
  queued: number;
  produced: number;
  driftPct: number;
}

export interface ParityResponse {
  totalSent: number;
  totalAcked: number;
  totalFailed: number;
  totalDropped: number;
  ackLatency: LatencySummary;
  perTarget: ParityTarget[];
  sessionId: string | null;
  driftPct: number;
  verdict: HealthVerdict;
  /** Epoch ms since which two or more connected targets have been within healthy drift without a break; null when not. */
  healthySinceMs: number | null;
}

export interface SourceView {
  kind: string;
  state: string;
  connected: boolean;
  framesProduced: number;
  sessionId: string | null;
  /** The source's own figures: a replay's position, the live reader's read cost. */
  stats?: Record<string, unknown>;
}

export interface HealthResponse {
  status: HealthStatus | 'killed';
  killSwitch: boolean;
  mode: BackendMode;
  version: string;
  sessionId: string | null;
  /** "Kill Switch Active" while the kill switch is on. */
  message: string | null;
  reasons: string[];
  targets: { url: string; state: TargetState; status: HealthStatus }[];
  source: SourceView | null;
  uptimeMs: number;
}

export const KILL_SWITCH_MESSAGE = 'Kill Switch Active';
