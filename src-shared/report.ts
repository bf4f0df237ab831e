// The parity report for support: what the relay did, what each gateway says it received,
// and the two compared figure by figure. The JSON is for tools (this module is its contract);
// src-main/report/report-html.ts renders the same object as a page for people. Nothing in it
// is ever a secret: URLs are masked and the settings redacted before the report is built.
//
// A frame counts as delivered only when its gateway confirmed it (wire protocol 2). Per
// target and stream the relay's account closes: produced = delivered + inFlight + queued +
// dropped (by reason) + lost (by reason). Beside it stands the gateway's own count of the
// session, and each figure the two must share is compared exactly: a disagreement is said
// in plain words at the top of the report, and a gateway that did not answer leaves the
// report unproven, never healthy.
import type { LatencyPoint, TimelineEntry } from './bridge';
import type { HealthResponse, ParityResponse, SourceView, StreamCounts, TargetView } from './debug-api';
import type { GatewayParity, StreamParity } from './gateway-api';
import type { GapReason } from './protocol';
import type { CutoverView } from './cutover';
import type { Settings } from './settings';

export const REPORT_SCHEMA = 'relay-parity-report/2';

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

/** What the gateway's /api/dev/diagnostics/parity said, or why it said nothing usable. */
export type GatewayAnswer =
  | { ok: true; url: string; parity: GatewayParity; fetchedInMs: number }
  | { ok: false; url: string; error: string };

/** A figure both sides count: the gateway's framesIn, its missing, or its gapped count of one reason. */
export type CheckFigure = 'framesIn' | 'missing' | `gapped.${GapReason}`;

/**
 * - `agrees`: the gateway's figure is what the relay's counts say it must be;
 * - `disagrees`: it cannot be, whatever was still on its way;
 * - `unproven`: it differs in a way frames or announcements still on their way (or a
 *   gateway that was never told) could explain, or the two sides do not count the same
 *   frames (see the detail): nothing is claimed either way.
 */
export type CheckResult = 'agrees' | 'disagrees' | 'unproven';

export interface ParityCheck {
  figure: CheckFigure;
  /** The gateway's value. */
  gateway: number;
  /**
   * What the relay's counts say the gateway's value must be: exactly `min` (= `max`) when
   * the relay's figures stood still while the gateway was asked; otherwise anywhere from
   * `min` (the relay's first read) to `max` (its read after the gateway answered).
   */
  expected: { min: number; max: number };
  /** The relay's figures it comes from, in words: "delivered 1200 + in flight 3". */
  relayTerms: string;
  result: CheckResult;
  /** Why it does not simply agree, in plain words; null when it agrees. */
  detail: string | null;
}

/** One stream of one target: the relay's account, the gateway's own count, and the two compared. */
export interface StreamAccount {
  stream: string;
  /** The relay's account at export, with its reasons (produced = delivered + inFlight + queued + dropped + lost). */
  relay: StreamCounts;
  /** The gateway's own count; zeros when it answered without this stream; null when it did not answer. */
  gateway: StreamParity | null;
  /** Ticks the sim skipped: never produced, so nobody downstream lost them. */
  atSource: { seenByRelay: number; seenByGateway: number | null };
  /** Empty when the gateway did not answer. */
  checks: ParityCheck[];
}

/**
 * - `agrees`: the gateway answered and every figure agrees;
 * - `disagrees`: at least one figure cannot be reconciled;
 * - `unproven`: the gateway did not answer, or a figure could not be settled;
 * - `nothing-to-prove`: a target not meant to send to which the relay wrote nothing at all.
 */
export type TargetProofStatus = 'agrees' | 'disagrees' | 'unproven' | 'nothing-to-prove';

export interface TargetProof {
  status: TargetProofStatus;
  /** Plain sentences: each disagreement (stream, figure, both values), then what is unproven and why. */
  sentences: string[];
}

/** A target as /debug/targets showed it at export (a removed one: as it stood when removed), with its gateway's answer and the comparison. */
export interface ReportTarget
  extends Pick<
    TargetView,
    | 'url'
    | 'name'
    | 'enabled'
    | 'state'
    | 'primary'
    | 'counters'
    | 'droppedBy'
    | 'lostBy'
    | 'ackLatency'
    | 'acksMissing'
    | 'driftPct'
    | 'health'
    | 'lastError'
    | 'connects'
    | 'disconnects'
    | 'lastConfirmMs'
    | 'oldestUnconfirmedMs'
  > {
  /** Removed during this run: every figure is as it stood when it was removed. */
  removed: boolean;
  latencyHistory: LatencyPoint[];
  gateway: GatewayAnswer;
  streams: StreamAccount[];
  proof: TargetProof;
}

/**
 * The report's verdict. Worst first: `disagreement` (a gateway's count contradicts the
 * relay's), the relay's own `critical` and `warning`, `unproven` (a gateway did not answer,
 * or a figure could not be settled), the relay's `no-data`, and `healthy` only when the
 * relay's parity verdict is healthy and every target's gateway confirmed its account.
 */
export type ReportStatus = 'disagreement' | 'critical' | 'warning' | 'unproven' | 'no-data' | 'healthy';

export interface ReportVerdict {
  status: ReportStatus;
  /** The sentences at the top of the report, most serious first. */
  sentences: string[];
}

export interface ReportTimelineEntry extends TimelineEntry {
  /** The same instant as ts, as an ISO 8601 timestamp. */
  at: string;
}

export interface ParityReport {
  schema: typeof REPORT_SCHEMA;
  generatedAt: string;
  sessionId: string | null;
  verdict: ReportVerdict;
  environment: ReportEnvironment;
  settings: Settings;
  envOverrides: string[];
  health: HealthResponse;
  /** The relay's parity, verdict and parity clock (healthySinceMs) as /debug/parity gave them: shown, never recomputed. */
  parity: ParityResponse;
  /** The current targets in /debug/targets order, then those removed during the run. */
  targets: ReportTarget[];
  timeline: ReportTimelineEntry[];
  /** What a reader must know to read the figures right (a session change during the run, say). */
  notes: string[];
  /** Every guided cutover of this relay run, oldest first, each step with the relay's verdict at that moment. */
  cutovers: CutoverView[];
  logTail: string[];
}

/** Reasons in words, for the report page and the dashboard alike. */
export const REASON_WORDS: Readonly<Record<string, string>> = {
  queueFull: 'queue full',
  killSwitch: 'kill switch',
  standby: 'standby',
  disabled: 'disabled',
  deactivated: 'target deactivated',
  removed: 'target removed',
  beforeAdded: 'before the target was added',
  connectionLost: 'connection lost',
  unconfirmedAtStop: 'unconfirmed at stop',
};

/** A compared figure in words: "frames in", "missing", "gapped for queue full". */
export function describeFigure(figure: CheckFigure): string {
  if (figure === 'framesIn') return 'frames in';
  if (figure === 'missing') return 'missing';
  const reason = figure.slice('gapped.'.length);
  return `gapped for ${REASON_WORDS[reason] ?? reason}`;
}

/** "queue full 3, connection lost 1", or "none": only the reasons that counted something. */
export function describeReasons(counts: Readonly<Record<string, number>>): string {
  const parts = Object.entries(counts)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${REASON_WORDS[k] ?? k} ${n}`);
  return parts.length ? parts.join(', ') : 'none';
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
