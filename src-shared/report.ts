// The parity report for support: what the relay did, what each gateway says it received,
// and where every missing frame went. The JSON is for tools; report-html.ts renders the
// same object as a page for people. Nothing in it is ever a secret: URLs are masked and
// the settings redacted before the report is built.
import type { LatencyPoint, TimelineEntry } from './bridge';
import type { DropReason, FailReason, HealthResponse, ParityResponse, SourceView, TargetView } from './debug-api';
import type { Settings } from './settings';

export const REPORT_SCHEMA = 'relay-parity-report/1';

export interface ReportEnvironment {
  app: { name: string; version: string; buildTime: string };
  os: { name: string; version: string; release: string; arch: string; platform: string };
  /** 'yes' (root, or Administrator on Windows), 'no', or 'unknown' when it cannot be told. */
  elevated: 'yes' | 'no' | 'unknown';
  elevatedDetail: string;
  node: string;
  source: SourceView | null;
  hostUptimeS: number;
  relayUptimeMs: number;
}

/** One stream of the gateway's /api/dev/diagnostics/parity answer, as the reference gateway gives it. */
export interface GatewayStreamParity {
  framesIn: number;
  acked: number;
  lastFrameTs: number | null;
  missing?: number;
  sourceGaps?: number;
  [extra: string]: unknown;
}

export interface GatewayParitySnapshot {
  sessionId: string;
  streams: Record<string, GatewayStreamParity>;
  duplicates: number;
  outOfOrder: number;
  missing?: number;
  lastError: string | null;
  [extra: string]: unknown;
}

export type GatewayAnswer =
  | { ok: true; url: string; parity: GatewayParitySnapshot; fetchedInMs: number }
  | { ok: false; url: string; error: string };

/** Where the frames of one stream went, for one target: the relay's side, the gateway's side, and the difference explained. */
export interface StreamAttribution {
  stream: string;
  relay: { produced: number; sent: number; failed: number; dropped: number; queued: number; acked: number };
  gateway: { framesIn: number; acked: number; missing: number | null; sourceGaps: number | null; lastFrameTs: number | null } | null;
  /** Ticks the sim skipped: never produced, so nobody downstream lost them. */
  atSource: { seenByRelay: number; seenByGateway: number | null };
  /** Frames the relay did not deliver, by reason; queued ones are still waiting (for a target that is down, say). */
  inRelay: { droppedBy: Record<DropReason, number>; failedBy: Record<FailReason, number>; queued: number; total: number };
  /** Sent by the relay but not counted by the gateway; 'unknown' when the gateway did not answer. */
  inTransit: number | 'unknown';
  /**
   * Counted by the gateway beyond what the relay counted as sent: frames written just before
   * a connection dropped, which the relay had to count as failed. Zero almost always.
   */
  beyondSent: number | 'unknown';
}

/** A target as /debug/targets shows it, with its history, its gateway's answer and the gap attribution. */
export interface ReportTarget
  extends Pick<
    TargetView,
    'url' | 'enabled' | 'state' | 'primary' | 'counters' | 'droppedBy' | 'failedBy' | 'ackLatency' | 'acksMissing' | 'driftPct' | 'health' | 'lastError' | 'connects' | 'disconnects'
  > {
  latencyHistory: LatencyPoint[];
  gateway: GatewayAnswer;
  streams: StreamAttribution[];
}

export interface ReportTimelineEntry extends TimelineEntry {
  /** The same instant as ts, as an ISO 8601 timestamp. */
  at: string;
}

export interface ParityReport {
  schema: typeof REPORT_SCHEMA;
  generatedAt: string;
  environment: ReportEnvironment;
  sessionId: string | null;
  settings: Settings;
  envOverrides: string[];
  health: HealthResponse;
  parity: ParityResponse;
  targets: ReportTarget[];
  timeline: ReportTimelineEntry[];
  /** What a reader must know to read the figures right (a session change during the run, say). */
  notes: string[];
  logTail: string[];
}

/** The suggested file name: relay-parity-report-2026-11-27T15-40-00Z. */
export function reportFileBase(generatedAt: string): string {
  return `relay-parity-report-${generatedAt.replace(/\.\d+Z$/, 'Z').replace(/:/g, '-')}`;
}

/**
 * A report file name the relay suggested, reduced to characters every file system accepts:
 * the browser's download and the desktop app's save dialog both start from it.
 */
export function safeFileBase(name: string): string {
  const cleaned = name.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[.-]+/, '').slice(0, 120);
  return cleaned || 'relay-parity-report';
}
