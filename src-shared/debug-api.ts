// Payloads of the relay's loopback debug endpoints. Every field of the spec's examples
// is here with the same name and type; the extra fields serve the dashboard and support.
import type { BackendMode } from './settings';
import type { HealthStatus, HealthVerdict, LatencySummary } from './metrics';

export const TARGET_STATES = ['connecting', 'connected', 'backoff', 'standby', 'disabled', 'killed', 'removed'] as const;
export type TargetState = (typeof TARGET_STATES)[number];

/**
 * Why frames given to a target were never written to it. Each is announced to the gateway
 * as a gap with the same reason (protocol GAP_REASONS), so both ends attribute them alike.
 */
export const DROP_REASONS = ['queueFull', 'killSwitch', 'standby', 'disabled', 'deactivated', 'removed'] as const;
export type DropReason = (typeof DROP_REASONS)[number];

/**
 * Why frames written to a target can no longer be confirmed: `connectionLost`, the gateway
 * said after a reconnect that it lacks them and they were no longer held for a resend;
 * `unconfirmedAtStop`, the relay stopped (or the target was removed) before the gateway
 * confirmed them, within the end-of-run wait.
 */
export const LOST_REASONS = ['connectionLost', 'unconfirmedAtStop'] as const;
export type LostReason = (typeof LOST_REASONS)[number];

/**
 * Where every frame given to a target stands. At every instant:
 * produced = delivered + inFlight + queued + dropped + lost.
 */
export interface DeliveryCounts {
  /** Frames given to this target (every frame of its streams since it was added). */
  produced: number;
  /** Confirmed by the gateway (a receipt or welcome covering its seq). */
  delivered: number;
  /** Written to a socket, not yet confirmed (held for a resend should the socket die). */
  inFlight: number;
  /** Waiting in the target's queue, never written yet. */
  queued: number;
  /** Never written, by reason (droppedBy); announced to the gateway as gaps. */
  dropped: number;
  /** Written, never confirmed, no longer resendable, by reason (lostBy). */
  lost: number;
}

/** The spec's four counters, in the terms above, beside the full delivery account. */
export interface TargetCounters extends DeliveryCounts {
  /** Spec: frames written to the gateway at least once = delivered + inFlight + lost. */
  sent: number;
  /** Spec: frames that failed = lost. */
  failed: number;
  /** Spec: sampled frames whose ack came back (the latency probe, RELAY_PARITY_SAMPLE_RATE). */
  acked: number;
  /** Frames written again after a reconnect because the gateway did not hold them (not a separate frame). */
  resent: number;
}

export interface StreamCounts extends TargetCounters {
  droppedBy: Record<DropReason, number>;
  lostBy: Record<LostReason, number>;
  /** Seqs produced before this target was added, announced as a `beforeAdded` gap to a gateway that held earlier ones (outside `produced`). */
  notGiven: number;
}

export interface TargetView {
  url: string;
  /** The backend's friendly name from the settings; null when it has none. */
  name: string | null;
  enabled: boolean;
  state: TargetState;
  primary: boolean;
  counters: TargetCounters;
  /** The same counters per stream, with their reasons; they add up to `counters`. */
  streams: Record<string, StreamCounts>;
  droppedBy: Record<DropReason, number>;
  lostBy: Record<LostReason, number>;
  queueSize: number;
  queueBytes: number;
  lastSendOkMs: number | null;
  /** Epoch ms of the last receipt that confirmed a frame. */
  lastConfirmMs: number | null;
  /** How long the oldest frame in flight has waited for its confirmation; null when none is in flight. */
  oldestUnconfirmedMs: number | null;
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
  /** Backends removed during this run, as they stood when removed: their proof stays in the report. */
  removed: TargetView[];
  mode: BackendMode;
  primaryIndex: number;
  killSwitch: boolean;
}

export interface ParityTarget extends DeliveryCounts {
  url: string;
  sent: number;
  acked: number;
  failed: number;
  driftPct: number;
  /** Connected, and its gateway confirmed a frame within the verdict window. */
  confirming: boolean;
}

/** `no-data`: nothing was confirmed in the window, so nothing can be claimed. */
export type ParityStatus = HealthStatus | 'no-data';

export interface ParityVerdict {
  status: ParityStatus;
  reasons: string[];
}

export interface ParityResponse {
  totalSent: number;
  totalAcked: number;
  totalFailed: number;
  totalDropped: number;
  totalDelivered: number;
  totalInFlight: number;
  totalLost: number;
  ackLatency: LatencySummary;
  perTarget: ParityTarget[];
  sessionId: string | null;
  /** Largest drift among the active targets, on confirmed deliveries (queued and in-flight count as behind). */
  driftPct: number;
  verdict: ParityVerdict;
  /** Epoch ms since which the verdict has been healthy without a break (the cutover's parity clock); null when not. */
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
  /** `critical` also when the settings send frames to no backend ("telemetry is going nowhere"). */
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
  /** Which relay answers: its pid and config folder (the CLI checks it is the one it meant). */
  pid?: number;
  configDir?: string;
}

export const KILL_SWITCH_MESSAGE = 'Kill Switch Active';
/** The first words of the health remark (Critical) when the settings send frames to no backend at all. */
export const NO_DELIVERY_MESSAGE = 'telemetry is going nowhere';
