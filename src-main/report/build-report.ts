// Builds the parity report: the relay's counters per target and stream, each gateway's own
// count of the same session fetched side by side, and every gap attributed to the source,
// the relay or the transit between them. A gateway that does not answer is said so; the
// report is written all the same.
import type { ReportExport } from '../../src-shared/bridge';
import { DROP_REASONS, FAIL_REASONS, type DropReason, type FailReason, type HealthResponse, type StreamCounts } from '../../src-shared/debug-api';
import { redactText, secretsOfUrl } from '../../src-shared/redact';
import { REPORT_SCHEMA, reportFileBase, type GatewayAnswer, type GatewayParitySnapshot, type ParityReport, type ReportTarget, type StreamAttribution } from '../../src-shared/report';
import { renderReportHtml } from '../../src-shared/report-html';
import { redactSettings, type Settings } from '../../src-shared/settings';
import type { BackendManager } from '../relay/backend-manager';
import type { StreamDetail } from '../relay/target';
import { environmentOf } from './environment';

export const GATEWAY_TIMEOUT_MS = 2000;
export const LOG_TAIL_LINES = 200;

export interface ReportInputs {
  manager: BackendManager;
  sessionId: string | null;
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
  gatewayTimeoutMs?: number;
  now?: () => Date;
}

export async function buildReport(inputs: ReportInputs): Promise<ParityReport> {
  const { manager } = inputs;
  const generatedAt = (inputs.now?.() ?? new Date()).toISOString();
  // One synchronous read of every relay view, so the figures all describe the same instant.
  const settings: Settings = manager.settings;
  const targetsView = manager.targetsView();
  const parity = manager.parityView(inputs.sessionId);
  const details = manager.streamDetails();
  const history = manager.latencyHistory();
  const timeline = manager.timeline();

  const answers = await Promise.all(
    targetsView.targets.map((_, i) => {
      const backend = settings.backends[i];
      return backend === undefined
        ? Promise.resolve<GatewayAnswer>({ ok: false, url: '(unknown)', error: 'the target is no longer configured' })
        : fetchGatewayParity(backend.url, inputs.sessionId, inputs.gatewayTimeoutMs ?? GATEWAY_TIMEOUT_MS, backend.token);
    }),
  );

  const targets: ReportTarget[] = targetsView.targets.map((t, i) => {
    const gateway = answers[i] as GatewayAnswer;
    return {
      url: t.url,
      enabled: t.enabled,
      state: t.state,
      primary: t.primary,
      counters: t.counters,
      droppedBy: t.droppedBy,
      failedBy: t.failedBy,
      ackLatency: t.ackLatency,
      acksMissing: t.acksMissing,
      driftPct: t.driftPct,
      health: t.health,
      lastError: t.lastError,
      connects: t.connects,
      disconnects: t.disconnects,
      latencyHistory: history.targets[t.url] ?? [],
      gateway,
      streams: attribute(t.streams, details[i] ?? {}, gateway, inputs.sourceGaps),
    };
  });

  const notes = [...(inputs.notes ?? [])];
  if (targets.some((t) => !t.gateway.ok)) notes.push('Some gateways did not answer their parity endpoint: for them, frames lost in transit are unknown (see each target).');

  const report: ParityReport = {
    schema: REPORT_SCHEMA,
    generatedAt,
    environment: environmentOf(inputs.health.source, inputs.relayUptimeMs, inputs.env),
    sessionId: inputs.sessionId,
    settings: redactSettings(settings),
    envOverrides: inputs.envOverrides,
    health: inputs.health,
    parity,
    targets,
    timeline: timeline.map((e) => ({ ...e, at: new Date(e.ts).toISOString() })),
    notes,
    logTail: await inputs.logTail(),
  };
  return scrub(report, secretsOf(settings, inputs.secrets));
}

/** The report as the dashboard and the CLI save it: the JSON and the HTML page. */
export async function exportReport(inputs: ReportInputs): Promise<ReportExport> {
  const report = await buildReport(inputs);
  const secrets = secretsOf(inputs.manager.settings, inputs.secrets);
  // The object was scrubbed already; the rendered text is checked once more, as the last word.
  const last = (text: string) => secrets.reduce((t, s) => (s.length >= 4 ? t.split(s).join('***') : t), text);
  return { ok: true, fileBase: reportFileBase(report.generatedAt), json: last(JSON.stringify(report, null, 2)), html: last(renderReportHtml(report)) };
}

/** Per stream: the relay's counts, the gateway's, and what lies between, each gap with its cause. */
export function attribute(
  streams: Record<string, StreamCounts>,
  details: Record<string, StreamDetail>,
  gateway: GatewayAnswer,
  sourceGaps: Record<string, number>,
): StreamAttribution[] {
  const names = new Set([...Object.keys(streams), ...Object.keys(sourceGaps), ...(gateway.ok ? Object.keys(gateway.parity.streams) : [])]);
  return [...names].sort().map((stream) => {
    const r = streams[stream] ?? { produced: 0, sent: 0, failed: 0, dropped: 0, queued: 0 };
    const l = details[stream];
    const droppedBy = Object.fromEntries(DROP_REASONS.map((k) => [k, l?.droppedBy[k] ?? 0])) as Record<DropReason, number>;
    const failedBy = Object.fromEntries(FAIL_REASONS.map((k) => [k, l?.failedBy[k] ?? 0])) as Record<FailReason, number>;
    const g = gateway.ok ? gateway.parity.streams[stream] : undefined;
    const framesIn = gateway.ok ? (g?.framesIn ?? 0) : null;
    return {
      stream,
      relay: { produced: r.produced, sent: r.sent, failed: r.failed, dropped: r.dropped, queued: r.queued, acked: l?.acked ?? 0 },
      gateway: gateway.ok
        ? { framesIn: framesIn ?? 0, acked: g?.acked ?? 0, missing: numberOrNull(g?.missing), sourceGaps: numberOrNull(g?.sourceGaps), lastFrameTs: g?.lastFrameTs ?? null }
        : null,
      atSource: { seenByRelay: sourceGaps[stream] ?? 0, seenByGateway: gateway.ok ? numberOrNull(g?.sourceGaps) : null },
      inRelay: { droppedBy, failedBy, queued: r.queued, total: r.dropped + r.failed + r.queued },
      inTransit: framesIn === null ? 'unknown' : Math.max(0, r.sent - framesIn),
      beyondSent: framesIn === null ? 'unknown' : Math.max(0, framesIn - r.sent),
    };
  });
}

const numberOrNull = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

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
    if (typeof parity === 'string') return { ok: false, url, error: `the gateway's answer is not a parity report: ${parity}` };
    return { ok: true, url, parity, fetchedInMs: Math.round(performance.now() - started) };
  } catch (e) {
    return { ok: false, url, error: describeFetchError(e as Error, timeoutMs) };
  }
}

function parseGatewayParity(text: string): GatewayParitySnapshot | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'not JSON';
  }
  const v = value as Partial<GatewayParitySnapshot> | null;
  if (!v || typeof v !== 'object' || typeof v.streams !== 'object' || v.streams === null) return 'no "streams" object';
  for (const [name, s] of Object.entries(v.streams)) {
    if (!s || typeof s.framesIn !== 'number') return `stream ${JSON.stringify(name)} has no framesIn count`;
  }
  return {
    ...v,
    sessionId: String(v.sessionId ?? ''),
    streams: v.streams,
    duplicates: typeof v.duplicates === 'number' ? v.duplicates : 0,
    outOfOrder: typeof v.outOfOrder === 'number' ? v.outOfOrder : 0,
    lastError: typeof v.lastError === 'string' ? v.lastError : null,
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

function secretsOf(settings: Settings, extra: string[]): string[] {
  const out = [...extra];
  for (const b of settings.backends) {
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
