// Builds the parity report: the relay's account of every frame per target and stream, each
// gateway's own count of the same session fetched side by side, and the two compared figure
// by figure (report.ts says what must agree). A gateway that does not answer is said so and
// leaves the report unproven; the report is written all the same.
//
// The relay keeps sending while the gateways are asked, so it is read twice: before asking
// and after the answers. A gateway's figure must lie between what the first read and the
// second say; when the relay stood still the two reads are equal and the comparison exact.
import type { LatencyHistory, ReportExport, TimelineEntry } from '../../src-shared/bridge';
import { DROP_REASONS, LOST_REASONS, type DropReason, type HealthResponse, type LostReason, type ParityResponse, type StreamCounts, type TargetState, type TargetView } from '../../src-shared/debug-api';
import { emptyStreamParity, type GatewayParity, type StreamParity } from '../../src-shared/gateway-api';
import { GAP_REASONS } from '../../src-shared/protocol';
import { redactText, secretsOfUrl } from '../../src-shared/redact';
import {
  REASON_WORDS,
  REPORT_SCHEMA,
  describeFigure,
  reportFileBase,
  type GatewayAnswer,
  type ParityCheck,
  type ParityReport,
  type ReportStatus,
  type ReportTarget,
  type ReportVerdict,
  type StreamAccount,
  type TargetProof,
} from '../../src-shared/report';
import { renderReportHtml } from './report-html';
import type { CutoverView } from '../../src-shared/cutover';
import { redactSettings, type Settings } from '../../src-shared/settings';
import { systemClock, type Clock } from '../runtime/clock';
import { environmentOf } from './environment';

export const GATEWAY_TIMEOUT_MS = 2000;
export const LOG_TAIL_LINES = 200;

/** One backend as the report needs it: its view, and the raw URL and token its gateway is asked with (never written into the report). */
export interface ReportSource {
  view: TargetView;
  url: string;
  token: string | undefined;
  /** Removed during this run: the view is as it stood when removed. */
  removed: boolean;
}

/** What the report reads of the relay: the BackendManager offers it. */
export interface ReportManager {
  readonly settings: Settings;
  /** The current targets first, in targetsView order, then those removed during the run. */
  reportSources(): ReportSource[];
  parityView(sessionId: string | null): ParityResponse;
  latencyHistory(): LatencyHistory;
  timeline(): TimelineEntry[];
}

export type AskGateway = (wsUrl: string, sessionId: string | null, timeoutMs: number, token?: string) => Promise<GatewayAnswer>;

export interface ReportInputs {
  manager: ReportManager;
  sessionId: string | null;
  /** Every session the relay sent frames of in this run: its counters cover them all, a gateway's parity only sessionId. */
  sessions?: string[];
  /** Streams of this session that continue where an earlier relay run stopped: the first seq this run sent of each. */
  resumedFrom?: Record<string, number>;
  /** Ticks the sim skipped, per stream, as the relay's frame builder saw them. */
  sourceGaps: Record<string, number>;
  health: HealthResponse;
  envOverrides: string[];
  logTail: () => Promise<string[]>;
  /** Strings never to appear in the report (the dashboard secret). */
  secrets: string[];
  relayUptimeMs: number;
  env: Record<string, string | undefined>;
  notes?: string[];
  /** The guided cutovers of this run, with their records. */
  cutovers?: CutoverView[];
  gatewayTimeoutMs?: number;
  /** How a gateway is asked for its parity; fetchGatewayParity unless a test gives its own. */
  askGateway?: AskGateway;
  /** When the report says it was generated. */
  clock?: Pick<Clock, 'now'>;
}

/**
 * The streams a hello says this relay run continues (hello.resume: the first seq it sends of
 * each), read from the hello itself since that is what the gateway was told.
 */
export function resumeOf(helloText: string): Record<string, number> {
  try {
    const resume = (JSON.parse(helloText) as { resume?: unknown }).resume;
    if (!isRecord(resume)) return {};
    return Object.fromEntries(Object.entries(resume).filter((e): e is [string, number] => isCount(e[1])));
  } catch {
    return {};
  }
}

export async function buildReport(inputs: ReportInputs): Promise<ParityReport> {
  return (await build(inputs)).report;
}

/** The report as the dashboard and the CLI save it: the JSON and the HTML page. */
export async function exportReport(inputs: ReportInputs): Promise<ReportExport> {
  const { report, secrets } = await build(inputs);
  // The object was scrubbed already; the rendered text is checked once more, as the last word.
  const last = (text: string) => secrets.reduce((t, s) => (s.length >= 4 ? t.split(s).join('***') : t), text);
  return { ok: true, fileBase: reportFileBase(report.generatedAt), json: last(JSON.stringify(report, null, 2)), html: last(renderReportHtml(report)) };
}

async function build(inputs: ReportInputs): Promise<{ report: ParityReport; secrets: string[] }> {
  const { manager, sessionId } = inputs;
  const generatedAt = new Date((inputs.clock ?? systemClock).now()).toISOString();
  // One synchronous read of every relay view, so the figures all describe the same instant.
  const settings: Settings = manager.settings;
  const sources = manager.reportSources();
  const parity = manager.parityView(sessionId);
  const history = manager.latencyHistory();
  const timeline = manager.timeline();

  const ask = inputs.askGateway ?? fetchGatewayParity;
  const timeoutMs = inputs.gatewayTimeoutMs ?? GATEWAY_TIMEOUT_MS;
  const answers = await Promise.all(
    sources.map((s) =>
      ask(s.url, sessionId, timeoutMs, s.token).catch((e: unknown): GatewayAnswer => ({ ok: false, url: '(unknown)', error: e instanceof Error ? e.message : String(e) })),
    ),
  );
  // The second read: where the relay's figures stood once every gateway had answered.
  const later = matchSources(sources, manager.reportSources());

  const scopes = scopeProblems(sources, sessionId, inputs.sessions ?? (sessionId === null ? [] : [sessionId]), inputs.resumedFrom ?? {});
  const currentUrls = new Set(sources.filter((s) => !s.removed).map((s) => s.view.url));
  const judged = sources.map((s, i) =>
    judgeTarget({
      first: s,
      later: later[i] ?? s,
      gateway: answers[i] ?? { ok: false, url: '(unknown)', error: 'not asked' },
      // A removed target's latency line is its own only when no current target has the same (masked) URL.
      latency: !s.removed || !currentUrls.has(s.view.url) ? (history.targets[s.view.url] ?? []) : [],
      sourceGaps: inputs.sourceGaps,
      scope: scopes[i] ?? null,
    }),
  );
  const targets = judged.map((j) => j.target);

  const report: ParityReport = {
    schema: REPORT_SCHEMA,
    generatedAt,
    sessionId,
    verdict: reportVerdict(parity, judged, generatedAt),
    environment: environmentOf(inputs.health.source, inputs.relayUptimeMs, inputs.env),
    settings: redactSettings(settings),
    envOverrides: inputs.envOverrides,
    health: inputs.health,
    parity,
    targets,
    timeline: timeline.map((e) => ({ ...e, at: new Date(e.ts).toISOString() })),
    notes: [...(inputs.notes ?? [])],
    cutovers: inputs.cutovers ?? [],
    logTail: await inputs.logTail(),
  };
  const secrets = secretsOf(settings, inputs.secrets, sources);
  return { report: scrub(report, secrets), secrets };
}

// ---- the comparison ---------------------------------------------------------------------

/** States in which a target is not meant to send. */
const NOT_SENDING: ReadonlySet<TargetState> = new Set(['standby', 'disabled', 'killed', 'removed']);

const STATE_WORDS: Record<TargetState, string> = {
  connecting: 'connecting',
  connected: 'connected',
  backoff: 'reconnecting',
  standby: 'standby',
  disabled: 'disabled',
  killed: 'stopped by the kill switch',
  removed: 'removed',
};

interface Judged {
  target: ReportTarget;
  /** Sentences for the top of the report: the disagreements, and the rest (unproven, nothing to prove). */
  disagreements: string[];
  others: string[];
}

/** The second read of each source, matched to the first by its URL (and which occurrence of it). */
export function matchSources(first: readonly ReportSource[], second: readonly ReportSource[]): (ReportSource | undefined)[] {
  const keyed = new Map<string, ReportSource>();
  const seen = new Map<string, number>();
  const keyOf = (s: ReportSource): string => {
    const n = seen.get(s.url) ?? 0;
    seen.set(s.url, n + 1);
    return `${n}:${s.url}`;
  };
  for (const s of second) keyed.set(keyOf(s), s);
  seen.clear();
  return first.map((s) => keyed.get(keyOf(s)));
}

/**
 * Per source, why its relay counts and its gateway's cannot count the same frames, or null:
 * the relay's counters cover every session of the run and all of this run only, a gateway's
 * parity one session, every relay run of it, and every target of the run that fed it.
 */
function scopeProblems(sources: readonly ReportSource[], sessionId: string | null, sessions: readonly string[], resumedFrom: Record<string, number>): (string | null)[] {
  const distinct = [...new Set(sessions)];
  const runWide: string[] = [];
  if (distinct.length > 1) {
    runWide.push(`the relay's counts cover the ${distinct.length} sessions of this run (${distinct.join(', ')}), its gateway's only session ${sessionId ?? '(none)'}`);
  }
  const resumed = Object.entries(resumedFrom).filter(([, seq]) => seq > 1);
  if (resumed.length > 0) {
    const from = resumed.map(([stream, seq]) => `${stream} from seq ${seq}`).join(', ');
    runWide.push(`this relay run continued session ${sessionId ?? '(none)'} where an earlier run stopped (${from}), and the gateway counts that run's frames too`);
  }
  const gatewayOf = sources.map((s) => {
    try {
      return gatewayParityUrl(s.url, sessionId ?? '');
    } catch {
      return s.url;
    }
  });
  return sources.map((s, i) => {
    const others = sources.filter((o, j) => j !== i && gatewayOf[j] === gatewayOf[i]).map((o) => (o.removed ? `${o.view.url} (removed)` : o.view.url));
    const problems = [...runWide];
    if (others.length > 0) problems.push(`its gateway also counts what the relay sent to ${[...new Set(others)].join(' and ')} in this session`);
    return problems.length > 0 ? problems.join('; ') : null;
  });
}

function judgeTarget(x: {
  first: ReportSource;
  later: ReportSource;
  gateway: GatewayAnswer;
  latency: ReportTarget['latencyHistory'];
  sourceGaps: Record<string, number>;
  scope: string | null;
}): Judged {
  const { first, later, gateway, scope } = x;
  const v = first.view;
  const names = new Set([
    ...Object.keys(v.streams),
    ...Object.keys(later.view.streams),
    ...Object.keys(x.sourceGaps),
    ...(gateway.ok ? Object.keys(gateway.parity.streams) : []),
  ]);
  const streams: StreamAccount[] = [...names].sort().map((stream) => {
    const a = v.streams[stream] ?? emptyStreamCounts();
    const b = later.view.streams[stream] ?? a;
    const g = gateway.ok ? (gateway.parity.streams[stream] ?? emptyStreamParity()) : null;
    let checks = g ? compareStream(a, b, g, unsettledWhy(first, later, a, b)) : [];
    if (scope !== null) {
      checks = checks.map((c) => (c.result === 'disagrees' ? { ...c, result: 'unproven', detail: `not comparable: ${scope} (${c.detail ?? ''})` } : c));
    }
    return { stream, relay: a, gateway: g, atSource: { seenByRelay: x.sourceGaps[stream] ?? 0, seenByGateway: g ? g.sourceGaps : null }, checks };
  });

  const url = v.url;
  const disagreements: string[] = [];
  const unproven: string[] = [];
  for (const s of streams) {
    for (const c of s.checks) {
      const said = `the gateway says ${c.gateway}, the relay's counts say ${expectedText(c)} (${c.relayTerms})`;
      if (c.result === 'disagrees') disagreements.push(`Disagreement on ${url}, stream "${s.stream}", ${describeFigure(c.figure)}: ${said}. ${c.detail ?? ''}`.trim());
      else if (c.result === 'unproven' && scope === null) unproven.push(`Unproven on ${url}, stream "${s.stream}", ${describeFigure(c.figure)}: ${said}; ${c.detail ?? ''}.`);
    }
  }
  const nothingToProve = NOT_SENDING.has(later.view.state) && v.counters.sent === 0 && later.view.counters.sent === 0;
  const state = STATE_WORDS[later.view.state];
  let status: TargetProof['status'];
  const others: string[] = [];
  if (disagreements.length > 0) status = 'disagrees';
  else if (nothingToProve && (!gateway.ok || unproven.length > 0)) {
    status = 'nothing-to-prove';
    others.push(`${url} (${state}): the relay wrote nothing to it in this run, so there is nothing for its gateway to confirm${gateway.ok ? '' : ` (it did not answer: ${gateway.error})`}.`);
  } else if (!gateway.ok || scope !== null || unproven.length > 0) status = 'unproven';
  else status = 'agrees';
  if (status === 'unproven' || status === 'disagrees') {
    if (!gateway.ok) others.push(`${url}${first.removed ? ' (removed during this run)' : ''}: its gateway did not answer (${gateway.error}), so what it received cannot be checked: unproven.`);
    if (scope !== null) others.push(`${url}: ${scope}, so the two sides cannot be compared exactly: unproven.`);
    others.push(...unproven);
  }

  const target: ReportTarget = {
    url,
    name: v.name,
    enabled: v.enabled,
    state: v.state,
    primary: v.primary,
    removed: first.removed,
    counters: v.counters,
    droppedBy: v.droppedBy,
    lostBy: v.lostBy,
    ackLatency: v.ackLatency,
    acksMissing: v.acksMissing,
    driftPct: v.driftPct,
    health: v.health,
    lastError: v.lastError,
    connects: v.connects,
    disconnects: v.disconnects,
    lastConfirmMs: v.lastConfirmMs,
    oldestUnconfirmedMs: v.oldestUnconfirmedMs,
    latencyHistory: x.latency,
    gateway,
    streams,
    proof: { status, sentences: [...disagreements, ...others] },
  };
  return { target, disagreements, others };
}

const expectedText = (c: ParityCheck): string => (c.expected.min === c.expected.max ? `${c.expected.min}` : `between ${c.expected.min} and ${c.expected.max}`);

const range = (a: number, b: number): string => (a === b ? `${a}` : `${a} to ${b}`);

/**
 * Null when the relay's account of this stream was settled while its gateway was asked
 * (connected at both reads, nothing moved, nothing queued or unconfirmed): then a gateway
 * told of fewer gaps than the relay dropped disagrees. Otherwise why it may not know yet.
 */
function unsettledWhy(first: ReportSource, later: ReportSource, a: StreamCounts, b: StreamCounts): string | null {
  if (later.removed || later.view.state === 'removed') return 'the target was removed, perhaps before the relay could tell its gateway';
  const notConnected = [first.view.state, later.view.state].find((s) => s !== 'connected');
  if (notConnected !== undefined) return `the target is not connected (${STATE_WORDS[notConnected]}), so the relay cannot have told its gateway yet`;
  if (!sameAccount(a, b)) return 'the relay was still sending to it while its gateway was asked';
  if (b.queued + b.inFlight > 0) return `${b.queued + b.inFlight} of its frames were still queued or unconfirmed, and the gaps travel in stream order`;
  return null;
}

function sameAccount(a: StreamCounts, b: StreamCounts): boolean {
  const keys = ['produced', 'delivered', 'inFlight', 'queued', 'dropped', 'lost', 'notGiven'] as const;
  return (
    keys.every((k) => a[k] === b[k]) &&
    DROP_REASONS.every((r) => (a.droppedBy[r] ?? 0) === (b.droppedBy[r] ?? 0)) &&
    LOST_REASONS.every((r) => (a.lostBy[r] ?? 0) === (b.lostBy[r] ?? 0))
  );
}

/**
 * The figures both sides count, compared. `a` is the relay's first read, `b` its read after
 * the gateway answered (the same object when the relay stood still), `g` the gateway's count.
 * - framesIn: at least what the relay holds a confirmation for, at most that plus what it has in flight;
 * - missing: what the relay lost on a broken connection (plus what was unconfirmed at stop, once the gateway saw the end);
 * - gapped, per reason: what the relay dropped for that reason (beforeAdded: what it did not give the target).
 */
export function compareStream(a: StreamCounts, b: StreamCounts, g: StreamParity, unsettled: string | null): ParityCheck[] {
  const checks: ParityCheck[] = [];

  {
    const min = a.delivered;
    const max = b.delivered + b.inFlight;
    const terms = `delivered ${range(a.delivered, b.delivered)} + in flight ${b.inFlight}`;
    let detail: string | null = null;
    if (g.framesIn < min) detail = `The gateway counts fewer frames than it confirmed: the relay holds its confirmation for ${min}.`;
    else if (g.framesIn > max) detail = `The gateway holds ${g.framesIn - max} more frames than the relay delivered or has in flight: it counts them queued, dropped or lost.`;
    checks.push({ figure: 'framesIn', gateway: g.framesIn, expected: { min, max }, relayTerms: terms, result: detail === null ? 'agrees' : 'disagrees', detail });
  }

  {
    const ended = g.endedAt !== null;
    const lostOf = (x: StreamCounts): number => (x.lostBy.connectionLost ?? 0) + (ended ? (x.lostBy.unconfirmedAtStop ?? 0) : 0);
    const min = lostOf(a);
    const max = lostOf(b);
    const terms = `lost, connection lost ${range(a.lostBy.connectionLost ?? 0, b.lostBy.connectionLost ?? 0)}${ended ? ` + unconfirmed at stop ${range(a.lostBy.unconfirmedAtStop ?? 0, b.lostBy.unconfirmedAtStop ?? 0)} (the gateway saw the end)` : ''}`;
    let result: ParityCheck['result'] = 'agrees';
    let detail: string | null = null;
    if (g.missing > max) {
      if (unsettled !== null && g.missing <= max + b.inFlight) {
        result = 'unproven';
        detail = `the gateway lacks ${g.missing - max} frames the relay does not count lost; it still holds ${b.inFlight} unconfirmed for a resend, and ${unsettled}`;
      } else {
        result = 'disagrees';
        detail = `The gateway lacks ${g.missing - max} frames the relay counts delivered, in flight, queued or dropped.`;
      }
    } else if (g.missing < min) {
      if (ended) {
        result = 'disagrees';
        detail = `The gateway saw the end of the stream, yet misses ${min - g.missing} fewer frames than the relay counts lost.`;
      } else {
        result = 'unproven';
        detail = `the relay counts ${min - g.missing} frames lost that the gateway does not count missing yet: it does so only once a later frame or the end of the stream arrives`;
      }
    }
    checks.push({ figure: 'missing', gateway: g.missing, expected: { min, max }, relayTerms: terms, result, detail });
  }

  for (const reason of GAP_REASONS) {
    const of = (x: StreamCounts): number => (reason === 'beforeAdded' ? x.notGiven : (x.droppedBy[reason as DropReason] ?? 0));
    const min = of(a);
    const max = of(b);
    const words = REASON_WORDS[reason] ?? reason;
    const terms = reason === 'beforeAdded' ? `not given ${range(min, max)}` : `dropped for ${words} ${range(min, max)}`;
    const told = g.gapped[reason] ?? 0;
    let result: ParityCheck['result'] = 'agrees';
    let detail: string | null = null;
    if (told > max) {
      result = 'disagrees';
      detail = `The gateway was told of ${told - max} more seqs not given (${words}) than the relay counts.`;
    } else if (told < min) {
      if (unsettled === null) {
        result = 'disagrees';
        detail = `The gateway was never told of ${min - told} frames the relay counts dropped (${words}), though nothing was left to send.`;
      } else {
        result = 'unproven';
        detail = `the gateway has not been told (yet) of ${min - told} frames the relay dropped (${words}): ${unsettled}`;
      }
    }
    checks.push({ figure: `gapped.${reason}`, gateway: told, expected: { min, max }, relayTerms: terms, result, detail });
  }
  return checks;
}

/**
 * The report's verdict: the relay's parity verdict as it gave it, made worse, never better,
 * by what the gateways said. Healthy only when the relay's verdict is healthy and every
 * target's gateway confirmed its account (or the relay wrote nothing to a target not meant to send).
 */
function reportVerdict(parity: ParityResponse, judged: readonly Judged[], generatedAt: string): ReportVerdict {
  const relay = parity.verdict;
  const disagreements = judged.flatMap((j) => j.disagreements);
  const others = judged.flatMap((j) => j.others);
  const unproven = judged.some((j) => j.target.proof.status === 'unproven');
  const reasons = relay.reasons.length > 0 ? `: ${relay.reasons.join('; ')}` : '';
  let status: ReportStatus;
  if (disagreements.length > 0) status = 'disagreement';
  else if (relay.status === 'critical' || relay.status === 'warning') status = relay.status;
  else if (unproven) status = 'unproven';
  else if (relay.status === 'healthy') status = 'healthy';
  else status = 'no-data';

  const sentences: string[] = [...disagreements];
  if (status === 'healthy') {
    const since = parity.healthySinceMs;
    const forMin = since === null ? null : Math.floor((Date.parse(generatedAt) - since) / 60_000);
    const clock = since === null ? '' : ` without a break since ${new Date(since).toISOString()}${forMin !== null && forMin >= 0 ? ` (${forMin} min before this report)` : ''}`;
    sentences.push(`Every gateway's own count agrees with the relay's account of every stream, and the relay's parity verdict is healthy${clock}.`);
  } else if (relay.status === 'no-data') {
    sentences.push(`The relay's parity verdict is no-data: no confirmed deliveries yet, so nothing can be claimed${reasons ? ` (${relay.reasons.join('; ')})` : ''}.`);
  } else if (relay.status !== 'healthy') {
    sentences.push(`The relay's own parity verdict is ${relay.status}${reasons}.`);
  } else if (status !== 'disagreement') {
    sentences.push('The relay\'s own parity verdict is healthy, but the gateways could not confirm all of it (below).');
  }
  sentences.push(...others);
  return { status, sentences };
}

function emptyStreamCounts(): StreamCounts {
  return {
    produced: 0,
    delivered: 0,
    inFlight: 0,
    queued: 0,
    dropped: 0,
    lost: 0,
    sent: 0,
    failed: 0,
    acked: 0,
    resent: 0,
    droppedBy: Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<DropReason, number>,
    lostBy: Object.fromEntries(LOST_REASONS.map((r) => [r, 0])) as Record<LostReason, number>,
    notGiven: 0,
  };
}

// ---- asking a gateway ---------------------------------------------------------------------

/** http(s)://<host:port> of a ws(s):// backend URL: the gateway serves its diagnostics on the same port. */
export function gatewayParityUrl(wsUrl: string, sessionId: string): string {
  const u = new URL(wsUrl);
  const scheme = u.protocol === 'wss:' ? 'https:' : 'http:';
  // u.host carries no credentials: user and password of the backend URL never go to the diagnostics endpoint.
  return `${scheme}//${u.host}/api/dev/diagnostics/parity?sessionId=${encodeURIComponent(sessionId)}`;
}

/**
 * Asks the gateway what it received. The backend's token goes along, as on the WebSocket
 * upgrade, for gateways that guard their diagnostics with it (the reference one does not).
 */
export async function fetchGatewayParity(wsUrl: string, sessionId: string | null, timeoutMs = GATEWAY_TIMEOUT_MS, token?: string): Promise<GatewayAnswer> {
  let url: string;
  try {
    url = gatewayParityUrl(wsUrl, sessionId ?? '');
  } catch {
    return { ok: false, url: '(invalid URL)', error: 'the backend URL cannot be turned into the gateway\'s HTTP address' };
  }
  if (sessionId === null) return { ok: false, url, error: 'not asked: the relay has no session yet' };
  const started = performance.now();
  try {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (token) headers.authorization = `Bearer ${token}`;
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'error', headers });
    const text = await res.text();
    if (!res.ok) {
      let detail = '';
      try {
        const body = JSON.parse(text) as { error?: unknown };
        if (typeof body.error === 'string') detail = `: ${body.error.slice(0, 300)}`;
      } catch {
        /* not JSON: the status says enough */
      }
      const hint =
        res.status === 404
          ? ' (diagnostics disabled on the gateway, or it has no frames of this session)'
          : res.status === 403
            ? ' (the gateway refused the request)'
            : '';
      return { ok: false, url, error: `the gateway answered HTTP ${res.status}${detail}${hint}` };
    }
    const parity = parseGatewayParity(text);
    if (typeof parity === 'string') return { ok: false, url, error: `the gateway's answer is not a protocol 2 parity report: ${parity}` };
    return { ok: true, url, parity, fetchedInMs: Math.round(performance.now() - started) };
  } catch (e) {
    return { ok: false, url, error: describeFetchError(e as Error, timeoutMs) };
  }
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The gateway's answer, field by field as gateway-api.ts has it: the compared figures
 * (framesIn, missing, upTo, gapped, endedAt) must be there, the rest defaults to nothing
 * counted, and nothing else the gateway sent reaches the report.
 */
export function parseGatewayParity(text: string): GatewayParity | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'not JSON';
  }
  if (!isRecord(value) || !isRecord(value.streams)) return 'no "streams" object';
  const streams: Record<string, StreamParity> = {};
  for (const [name, raw] of Object.entries(value.streams)) {
    const parsed = parseStreamParity(name, raw);
    if (typeof parsed === 'string') return parsed;
    streams[name] = parsed;
  }
  const total = (key: 'duplicates' | 'outOfOrder' | 'missing' | 'resent' | 'resentDuplicates'): number => {
    const given = value[key];
    return isCount(given) ? given : Object.values(streams).reduce((n, s) => n + s[key], 0);
  };
  return {
    sessionId: typeof value.sessionId === 'string' ? value.sessionId : '',
    streams,
    duplicates: total('duplicates'),
    outOfOrder: total('outOfOrder'),
    missing: total('missing'),
    resent: total('resent'),
    resentDuplicates: total('resentDuplicates'),
    lastError: typeof value.lastError === 'string' ? value.lastError.slice(0, 2000) : null,
  };
}

function parseStreamParity(name: string, raw: unknown): StreamParity | string {
  const which = `stream ${JSON.stringify(name)}`;
  if (!isRecord(raw)) return `${which} is not an object`;
  for (const key of ['framesIn', 'missing', 'upTo'] as const) {
    if (!isCount(raw[key])) return `${which} has no ${key} count (a gateway older than protocol 2?)`;
  }
  const gapped = raw.gapped;
  if (!isRecord(gapped)) return `${which} has no gapped counts (a gateway older than protocol 2?)`;
  const byReason = {} as StreamParity['gapped'];
  for (const reason of GAP_REASONS) {
    const n = gapped[reason] ?? 0;
    if (!isCount(n)) return `${which} has a gapped.${reason} that is not a count`;
    byReason[reason] = n;
  }
  const endedAt = raw.endedAt;
  if (!(endedAt === null || isCount(endedAt))) return `${which} has no endedAt (null, or the last seq an end named)`;
  const count = (key: string): number => (isCount(raw[key]) ? raw[key] : 0);
  const seqOrNull = (key: string): number | null => (isCount(raw[key]) ? raw[key] : null);
  const lastFrameTs = typeof raw.lastFrameTs === 'number' && Number.isFinite(raw.lastFrameTs) ? raw.lastFrameTs : null;
  return {
    framesIn: raw.framesIn as number,
    acked: count('acked'),
    lastFrameTs,
    firstSeq: seqOrNull('firstSeq'),
    lastSeq: seqOrNull('lastSeq'),
    upTo: raw.upTo as number,
    missing: raw.missing as number,
    gapped: byReason,
    sourceGaps: count('sourceGaps'),
    restartSkipped: count('restartSkipped'),
    duplicates: count('duplicates'),
    resent: count('resent'),
    resentDuplicates: count('resentDuplicates'),
    outOfOrder: count('outOfOrder'),
    endedAt,
  };
}

function describeFetchError(e: Error, timeoutMs: number): string {
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return `no answer within ${timeoutMs} ms`;
  const cause = (e as Error & { cause?: { code?: string; message?: string } }).cause;
  switch (cause?.code) {
    case 'ECONNREFUSED':
      return 'connection refused: nothing listens on that host and port (the gateway is down?)';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'the gateway\'s host name does not resolve';
    case 'ECONNRESET':
      return 'the connection was reset before the gateway answered';
    case 'ETIMEDOUT':
      return 'the connection timed out';
    default:
      return cause?.message ? `${e.message}: ${cause.message}` : e.message;
  }
}

// ---- secrets ------------------------------------------------------------------------------

/** The dashboard secret, and every token and URL credential of the backends, removed ones included. */
function secretsOf(settings: Settings, extra: string[], sources: readonly ReportSource[]): string[] {
  const out = [...extra];
  for (const b of [...settings.backends, ...sources]) {
    if (b.token) out.push(b.token);
    out.push(...secretsOfUrl(b.url));
  }
  return [...new Set(out.filter((s) => s.length > 0))];
}

/** Every string of the report through the redactor: a secret that slipped into an error text or a log line stops here. */
function scrub<T>(value: T, secrets: string[]): T {
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return redactText(v, secrets);
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(value) as T;
}
