// The parity report as one self-contained HTML page for people: it opens offline from an
// email attachment, so the styles are inline, the charts are SVG drawn here, and there is
// no script and no external resource. Every value from the report is escaped: URLs, error
// texts and log lines come from the network and must not become markup.
import type { LatencyPoint } from '../../src-shared/bridge';
import { HEALTH_THRESHOLDS } from '../../src-shared/metrics';
import { latencyLinePath } from '../../src-shared/line-path';
import { GAP_REASONS } from '../../src-shared/protocol';
import { CUTOVER_STEP_TITLES, type CutoverParity, type CutoverView } from '../../src-shared/cutover';
import {
  describeFigure,
  describeReasons,
  type GatewayAnswer,
  type ParityCheck,
  type ParityReport,
  type ReportStatus,
  type ReportTarget,
  type StreamAccount,
  type TargetProofStatus,
} from '../../src-shared/report';

export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

const fmt = (n: number | null | undefined, unit = ''): string =>
  n === null || n === undefined || !Number.isFinite(n) ? '–' : `${Number.isInteger(n) ? n : n.toFixed(1)}${unit}`;
const sumOf = (r: Record<string, number>): number => Object.values(r).reduce((a, b) => a + b, 0);
const reasons = (r: Record<string, number>): string => escapeHtml(describeReasons(r));

/** A table's header row; on a narrow screen it hides and each cell carries its label instead (labelled). */
const th = (cells: readonly string[]): string => `<tr class="head">${cells.map((c) => `<th>${c}</th>`).join('')}</tr>`;
/** Cells with their column's name, shown beside the value when the table stacks on a narrow screen. */
const labelled = (cells: readonly string[], labels: readonly string[]): string =>
  cells.map((c, i) => c.replace(/^<td/, `<td data-label="${escapeHtml(labels[i] ?? '')}"`)).join('');
const num = (n: number | null | undefined, unit = ''): string => `<td class="n">${fmt(n, unit)}</td>`;
const text = (value: string): string => `<td>${value}</td>`;

const STATUS_CLASS: Record<string, string> = {
  healthy: 'ok',
  agrees: 'ok',
  warning: 'warn',
  unproven: 'muted',
  'no-data': 'muted',
  'nothing-to-prove': 'muted',
  critical: 'bad',
  killed: 'bad',
  disagreement: 'bad',
  disagrees: 'bad',
};
const badge = (status: string): string => `<span class="badge ${STATUS_CLASS[status] ?? 'muted'}">${escapeHtml(status)}</span>`;

const REPORT_STATUS_WORDS: Record<ReportStatus, string> = {
  disagreement: 'Disagreement: a gateway\'s own count contradicts the relay\'s',
  critical: 'Critical: the relay\'s parity verdict',
  warning: 'Warning: the relay\'s parity verdict',
  unproven: 'Unproven: not every figure could be checked against its gateway',
  'no-data': 'No data: no confirmed deliveries yet',
  healthy: 'Healthy: every gateway confirms the relay\'s account',
};

const PROOF_WORDS: Record<TargetProofStatus, string> = {
  agrees: 'its gateway\'s count agrees with the relay\'s account',
  disagrees: 'its gateway\'s count contradicts the relay\'s account',
  unproven: 'not proven against its gateway',
  'nothing-to-prove': 'nothing was written to it: nothing to prove',
};

const CSS = `
:root{color-scheme:light;--ok:#1b7f3b;--warn:#a86500;--bad:#b3261e;--muted:#5f6368;--line:#d9dce1;--bg:#f6f7f9}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;padding:24px;color:#1f2328;background:#fff;max-width:1200px;overflow-wrap:anywhere}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}
h3{font-size:15px;margin:18px 0 6px}h4{font-size:14px;margin:14px 0 4px}
table{border-collapse:collapse;margin:6px 0 12px;font-variant-numeric:tabular-nums;max-width:100%}
th,td{border:1px solid var(--line);padding:3px 8px;text-align:left;vertical-align:top}
th{background:var(--bg);font-weight:600}
td.n{text-align:right}
tr.disagrees td{background:#fdecea}tr.unproven td{background:#f1f3f4}
.badge{display:inline-block;padding:0 8px;border-radius:10px;color:#fff;font-weight:600;font-size:12px}
.ok{background:var(--ok)}.warn{background:var(--warn)}.bad{background:var(--bad)}.muted{background:var(--muted)}
.banner{background:var(--bad);color:#fff;padding:10px 14px;border-radius:6px;font-weight:700;margin:10px 0}
.verdict{border:2px solid var(--muted);border-radius:8px;padding:8px 16px;margin:14px 0}
.verdict.ok{border-color:var(--ok);background:#e8f5ec}.verdict.warn{border-color:var(--warn);background:#fff4e0}
.verdict.bad{border-color:var(--bad);background:#fdecea}.verdict.muted{border-color:var(--muted);background:#f1f3f4}
.verdict p{font-weight:700;margin:4px 0}
.note{background:#fff8e1;border:1px solid #f0d58c;padding:6px 10px;border-radius:6px;margin:6px 0}
.err{color:var(--bad)}
.small{color:var(--muted);font-size:12px}
pre{background:var(--bg);border:1px solid var(--line);padding:8px;overflow:auto;font-size:12px;white-space:pre-wrap;word-break:break-all}
svg{display:block;margin:6px 0 12px;background:#fff;border:1px solid var(--line);max-width:100%;height:auto}
svg text{font:11px system-ui,sans-serif;fill:#3c4043}
.target{border:1px solid var(--line);border-radius:8px;padding:4px 16px 8px;margin:16px 0}
.target.removed{border-style:dashed;background:#fafafa}
@media print{.target{break-inside:avoid}}
.legend{display:flex;flex-wrap:wrap;gap:4px 14px;font-size:12px;color:var(--muted)}
.name{font-weight:700}
/* Narrow screens (a phone, a half-width window): no sideways scrolling. Wide tables become one
   block per row, each value beside its column's name. */
@media (max-width:820px){
body{padding:12px}
.target{padding:4px 10px 8px}
table.stack,table.stack tbody,table.stack tr,table.stack th,table.stack td,table.stack caption{display:block;width:100%}
table.stack tr.head{display:none}
table.stack tr{border:1px solid var(--line);border-radius:6px;margin:0 0 8px;padding:4px 8px}
table.stack th,table.stack td{border:none;padding:2px 0;text-align:left}
table.stack td[data-label]{display:flex;justify-content:space-between;gap:12px}
table.stack td[data-label]::before{content:attr(data-label);color:var(--muted);font-size:12px;text-align:left}
table.stack td.n{text-align:right}
table.kv th{width:34%}
}
`;

export function renderReportHtml(report: ParityReport): string {
  const env = report.environment;
  const h = report.health;
  const p = report.parity;
  const parts: string[] = [];
  parts.push(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Relay parity report ${escapeHtml(report.generatedAt)}</title>
<style>${CSS}</style>
</head>
<body>
<h1>Relay Agent parity report</h1>
<div class="small">generated ${escapeHtml(report.generatedAt)} · session ${escapeHtml(report.sessionId ?? '–')} · ${escapeHtml(report.schema)}</div>`);

  // The verdict comes first: a disagreement between a gateway and the relay is the first thing read.
  const v = report.verdict;
  parts.push(`<section class="verdict ${STATUS_CLASS[v.status] ?? 'muted'}" id="verdict">
<p>${badge(v.status)} ${escapeHtml(REPORT_STATUS_WORDS[v.status] ?? v.status)}</p>
<ul>${v.sentences.map((s) => `<li>${escapeHtml(s)}</li>`).join('\n')}</ul>
</section>`);

  const source = env.source
    ? `${escapeHtml(env.source.kind)}: ${escapeHtml(env.source.state)} (${env.source.connected ? 'connected' : 'not connected'}), ` +
      `${fmt(env.source.framesProduced)} frames produced, session ${escapeHtml(env.source.sessionId ?? '–')}`
    : 'none';
  parts.push(`<h2>Environment</h2>
<table class="kv">
<tr><th>App</th><td>${escapeHtml(env.app.name)} ${escapeHtml(env.app.version)}</td></tr>
<tr><th>Build time</th><td>${escapeHtml(env.app.buildTime)}</td></tr>
<tr><th>OS</th><td>${escapeHtml(env.os.name)} ${escapeHtml(env.os.release)} (${escapeHtml(env.os.arch)})<br><span class="small">${escapeHtml(env.os.version)}</span></td></tr>
<tr><th>Elevated</th><td>${escapeHtml(env.elevated)} <span class="small">${escapeHtml(env.elevatedDetail)}</span></td></tr>
<tr><th>Node.js</th><td>${escapeHtml(env.node)}</td></tr>
<tr><th>Telemetry source</th><td>${source}</td></tr>
<tr><th>Relay uptime</th><td>${fmt(Math.round(env.relayUptimeMs / 1000), ' s')}</td></tr>
</table>`);

  const healthySince =
    p.healthySinceMs === null
      ? 'not healthy now'
      : `healthy without a break since ${escapeHtml(new Date(p.healthySinceMs).toISOString())}` +
        ` (${fmt(Math.floor((Date.parse(report.generatedAt) - p.healthySinceMs) / 60_000), ' min')} before this report)`;
  const list = (items: readonly string[]): string => (items.length ? `<ul>${items.map((r) => `<li>${escapeHtml(r)}</li>`).join('')}</ul>` : '');
  parts.push(`<h2>Summary</h2>`);
  if (h.killSwitch) parts.push(`<div class="banner">${escapeHtml(h.message ?? 'Kill Switch Active')}</div>`);
  parts.push(`<table class="kv">
<tr><th>Relay health</th><td>${badge(h.status)}${list(h.reasons)}</td></tr>
<tr><th>Mode</th><td>${escapeHtml(h.mode)}, primary #${fmt(report.settings.primaryIndex)}${h.killSwitch ? ', kill switch ON' : ''}</td></tr>
<tr><th>Relay's parity verdict</th><td>${badge(p.verdict.status)} ${healthySince}${list(p.verdict.reasons)}</td></tr>
<tr><th>Totals</th><td>delivered (confirmed by the gateways) ${fmt(p.totalDelivered)}, in flight ${fmt(p.totalInFlight)}, ` +
    `dropped ${fmt(p.totalDropped)}, lost ${fmt(p.totalLost)}<br>` +
    `<span class="small">spec counters: sent ${fmt(p.totalSent)}, acked ${fmt(p.totalAcked)}, failed ${fmt(p.totalFailed)}</span></td></tr>
<tr><th>Ack latency</th><td>p50 ${fmt(p.ackLatency.p50, ' ms')}, p95 ${fmt(p.ackLatency.p95, ' ms')} (${fmt(p.ackLatency.samples)} samples)</td></tr>
<tr><th>Drift</th><td>${fmt(p.driftPct, '%')} <span class="small">on confirmed deliveries; healthy under ${HEALTH_THRESHOLDS.driftPct.warning}%, ` +
    `warning under ${HEALTH_THRESHOLDS.driftPct.critical}%, critical above</span></td></tr>
</table>`);
  for (const note of report.notes) parts.push(`<div class="note">${escapeHtml(note)}</div>`);

  const current = report.targets.filter((t) => !t.removed);
  const removed = report.targets.filter((t) => t.removed);
  parts.push(`<h2>Targets</h2>`);
  if (current.length === 0) parts.push('<p>No backends are configured.</p>');
  for (const t of current) parts.push(renderTarget(t));
  if (removed.length > 0) {
    parts.push(`<h2>Removed during this run</h2>
<p class="small">Each as it stood when it was removed; its gateway was asked again for this report.</p>`);
    for (const t of removed) parts.push(renderTarget(t));
  }

  if (report.cutovers.length > 0) parts.push(renderCutovers(report.cutovers));

  parts.push(`<h2>Timeline</h2>`);
  if (report.timeline.length === 0) parts.push('<p>No events.</p>');
  else {
    const timelineColumns = ['Time (UTC)', 'Target', 'Event', 'Detail'];
    const names = new Map(report.targets.filter((t) => t.name).map((t) => [t.url, t.name as string]));
    parts.push(`<table class="stack">${th(timelineColumns)}`);
    for (const e of report.timeline) {
      const cls = e.kind === 'error' || e.kind === 'kill-switch-on' ? ' class="err"' : '';
      const who = e.url === null ? 'relay' : names.has(e.url) ? `${names.get(e.url)} (${e.url})` : e.url;
      parts.push(`<tr${cls}>${labelled([text(escapeHtml(e.at)), text(escapeHtml(who)), text(escapeHtml(e.kind)), text(escapeHtml(e.detail))], timelineColumns)}</tr>`);
    }
    parts.push('</table>');
  }

  parts.push(`<h2>Settings (secrets redacted)</h2>
<p>Overridden by the environment for this run: ${report.envOverrides.length ? escapeHtml(report.envOverrides.join(', ')) : 'nothing'}</p>
<pre>${escapeHtml(JSON.stringify(report.settings, null, 2))}</pre>`);

  parts.push(`<h2>Log (last ${report.logTail.length} lines, redacted)</h2>
<pre>${escapeHtml(report.logTail.join('\n')) || '(empty)'}</pre>
</body>
</html>
`);
  return parts.join('\n');
}

function renderTarget(t: ReportTarget): string {
  const c = t.counters;
  const out: string[] = [];
  const facts = [
    t.removed ? 'removed during this run' : '',
    t.primary ? 'primary' : '',
    t.enabled ? 'enabled' : 'disabled',
    `state ${escapeHtml(t.state)}`,
    `the relay's health verdict ${badge(t.health.status)}`,
    `connects ${fmt(t.connects)}`,
    `disconnects ${fmt(t.disconnects)}`,
    `last confirmation ${t.lastConfirmMs === null ? 'never' : escapeHtml(new Date(t.lastConfirmMs).toISOString())}`,
    t.oldestUnconfirmedMs === null ? '' : `oldest unconfirmed frame waiting ${fmt(t.oldestUnconfirmedMs, ' ms')}`,
  ].filter((f) => f !== '');
  out.push(`<section class="target${t.removed ? ' removed' : ''}">
<h3>${t.name ? `<span class="name">${escapeHtml(t.name)}</span> ` : ''}${escapeHtml(t.url)} ${badge(t.proof.status)} <span class="small">${escapeHtml(PROOF_WORDS[t.proof.status] ?? t.proof.status)}</span></h3>
<div class="small">${facts.join(' · ')}</div>`);
  if (t.proof.sentences.length) out.push(`<ul>${t.proof.sentences.map((s) => `<li>${escapeHtml(s)}</li>`).join('\n')}</ul>`);
  if (t.health.reasons.length) out.push(`<ul>${t.health.reasons.map((r) => `<li>${escapeHtml(r)}</li>`).join('')}</ul>`);
  if (t.lastError) out.push(`<p class="err">Last error: ${escapeHtml(t.lastError)}</p>`);
  const counterColumns = ['produced', 'delivered (confirmed by the gateway)', 'in flight', 'queued', 'dropped', 'lost', 'sent', 'acked', 'resent'];
  out.push(`<table class="stack">
${th(counterColumns)}
<tr>${labelled([c.produced, c.delivered, c.inFlight, c.queued, c.dropped, c.lost, c.sent, c.acked, c.resent].map((n) => num(n)), counterColumns)}</tr>
</table>
<div class="small">dropped: ${reasons(t.droppedBy)} · lost: ${reasons(t.lostBy)} · ack p50 ${fmt(t.ackLatency.p50, ' ms')}, ` +
    `p95 ${fmt(t.ackLatency.p95, ' ms')} · acks missing ${fmt(t.acksMissing)} · drift ${fmt(t.driftPct, '%')}</div>`);
  out.push(`<h4>Ack latency over time</h4>${latencyChart(t.latencyHistory)}`);
  out.push(`<h4>Gateway</h4>${gatewayLine(t.gateway)}`);
  out.push(`<h4>Where the frames went, per stream</h4>${countersChart(t.streams)}`);
  out.push(relayTable(t.streams));
  out.push(gatewayTable(t.streams, t.gateway.ok));
  out.push(checksTable(t.streams));
  out.push('</section>');
  return out.join('\n');
}

function gatewayLine(g: GatewayAnswer): string {
  if (!g.ok) {
    return `<p class="err">The gateway did not answer <code>${escapeHtml(g.url)}</code>: ${escapeHtml(g.error)}. ` +
      'What it received is unknown, so nothing of this target is proven.</p>';
  }
  const q = g.parity;
  return `<p>Parity from <code>${escapeHtml(g.url)}</code> (answered in ${fmt(g.fetchedInMs, ' ms')}): missing ${fmt(q.missing)}, ` +
    `duplicates ${fmt(q.duplicates)}, out of order ${fmt(q.outOfOrder)}, resent ${fmt(q.resent)}, resent duplicates ${fmt(q.resentDuplicates)}` +
    `${q.lastError ? `, last error: ${escapeHtml(q.lastError)}` : ''}</p>`;
}

const RELAY_COLUMNS = [
  'stream', 'produced', 'delivered (confirmed)', 'in flight', 'queued', 'dropped', 'by reason', 'lost', 'by reason',
  'not given (before added)', 'sent', 'acked', 'resent', 'ticks skipped at the source',
];

const CHECK_COLUMNS = ['stream', 'figure', 'gateway says', 'relay says', 'from the relay\'s', 'result'];

const GATEWAY_COLUMNS = [
  'stream', 'frames in', 'missing', 'gapped', 'by reason', 'duplicates', 'resent', 'resent duplicates', 'out of order',
  'up to', 'last seq', 'end', 'ticks skipped at the source', 'acked',
];

/** The relay's account per stream: produced = delivered + in flight + queued + dropped + lost. */
function relayTable(streams: readonly StreamAccount[]): string {
  if (streams.length === 0) return '<p>No frames yet.</p>';
  const rows = streams.map((s) => {
    const r = s.relay;
    const cells = [num(r.produced), num(r.delivered), num(r.inFlight), num(r.queued), num(r.dropped), text(reasons(r.droppedBy)), num(r.lost), text(reasons(r.lostBy)), num(r.notGiven), num(r.sent), num(r.acked), num(r.resent), num(s.atSource.seenByRelay)];
    return `<tr><th>${escapeHtml(s.stream)}</th>${labelled(cells, RELAY_COLUMNS.slice(1))}</tr>`;
  });
  return `<table class="stack">
<caption class="small">The relay's account: produced = delivered + in flight + queued + dropped + lost</caption>
${th(RELAY_COLUMNS)}
${rows.join('\n')}
</table>`;
}

/** The gateway's own count per stream, as it gave it. */
function gatewayTable(streams: readonly StreamAccount[], answered: boolean): string {
  if (!answered || streams.length === 0) return '';
  const gapped = (g: NonNullable<StreamAccount['gateway']>): string => reasons(Object.fromEntries(GAP_REASONS.map((k) => [k, g.gapped[k]])));
  const rows = streams.map((s) => {
    const g = s.gateway;
    if (!g) return '';
    const cells = [
      num(g.framesIn), num(g.missing), num(sumOf(g.gapped)), text(gapped(g)), num(g.duplicates), num(g.resent), num(g.resentDuplicates), num(g.outOfOrder), num(g.upTo), num(g.lastSeq),
      text(g.endedAt === null ? 'open' : `ended at ${fmt(g.endedAt)}`), num(g.sourceGaps), num(g.acked),
    ];
    return `<tr><th>${escapeHtml(s.stream)}</th>${labelled(cells, GATEWAY_COLUMNS.slice(1))}</tr>`;
  });
  return `<table class="stack">
<caption class="small">The gateway's own count of this session</caption>
${th(GATEWAY_COLUMNS)}
${rows.join('\n')}
</table>`;
}

/** Each shared figure side by side; gapped reasons that neither side counted are left out. */
function checksTable(streams: readonly StreamAccount[]): string {
  const shown = (c: ParityCheck): boolean => !c.figure.startsWith('gapped.') || c.gateway > 0 || c.expected.max > 0 || c.result !== 'agrees';
  const rows = streams.flatMap((s) =>
    s.checks.filter(shown).map((c) => {
      const expected = c.expected.min === c.expected.max ? fmt(c.expected.min) : `${fmt(c.expected.min)} to ${fmt(c.expected.max)}`;
      const cells = [text(escapeHtml(describeFigure(c.figure))), num(c.gateway), `<td class="n">${expected}</td>`, text(escapeHtml(c.relayTerms)), text(`${badge(c.result)} ${escapeHtml(c.detail ?? '')}`)];
      return `<tr class="${c.result}"><th>${escapeHtml(s.stream)}</th>${labelled(cells, CHECK_COLUMNS.slice(1))}</tr>`;
    }),
  );
  if (rows.length === 0) return '';
  return `<table class="stack">
<caption class="small">Compared: the gateway's figure against what the relay's counts say it must be</caption>
${th(CHECK_COLUMNS)}
${rows.join('\n')}
</table>`;
}

// p50 and p95 told apart from each other and from the 100 ms and 500 ms marks by colour and dash.
const SERIES = [
  { color: '#1a73e8', dash: '' },
  { color: '#8e24aa', dash: '2 3' },
];

/** p50 and p95 over time, with the spec's 100 ms and 500 ms lines where they fall within the scale. */
export function latencyChart(points: readonly LatencyPoint[]): string {
  const W = 760;
  const H = 220;
  const L = 48;
  const R = 12;
  const T = 12;
  const B = 28;
  const valid = points.filter((p) => p.p50 !== null || p.p95 !== null);
  if (valid.length === 0) return `<svg width="${W}" height="60" viewBox="0 0 ${W} 60" role="img" aria-label="no ack latency samples"><text x="12" y="34">No ack latency samples yet (acks are asked for a sample of frames; none answered).</text></svg>`;
  const t0 = points[0]?.t ?? 0;
  const t1 = Math.max(t0 + 1000, points[points.length - 1]?.t ?? t0);
  const max = Math.max(...valid.flatMap((p) => [p.p50 ?? 0, p.p95 ?? 0]));
  const yMax = niceCeil(Math.max(max * 1.15, 10));
  const x = (t: number) => L + ((t - t0) / (t1 - t0)) * (W - L - R);
  const y = (v: number) => T + (1 - v / yMax) * (H - T - B);
  const line = (key: 'p50' | 'p95') => latencyLinePath(points, key, x, y);
  const grid: string[] = [];
  for (let i = 0; i <= 4; i++) {
    const v = (yMax / 4) * i;
    grid.push(`<line x1="${L}" x2="${W - R}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#eee"/><text x="${L - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${fmt(round1(v))}</text>`);
  }
  const marks: string[] = [];
  const offScale: number[] = [];
  for (const [ms, color] of [
    [HEALTH_THRESHOLDS.ackP95Ms.warning, '#a86500'],
    [HEALTH_THRESHOLDS.ackP95Ms.critical, '#b3261e'],
  ] as const) {
    if (ms <= yMax) marks.push(`<line x1="${L}" x2="${W - R}" y1="${y(ms).toFixed(1)}" y2="${y(ms).toFixed(1)}" stroke="${color}" stroke-dasharray="6 4"/><text x="${W - R - 4}" y="${(y(ms) - 4).toFixed(1)}" text-anchor="end" fill="${color}">${ms} ms</text>`);
    else offScale.push(ms);
  }
  const minutes = (t1 - t0) / 60_000;
  const span = minutes >= 1 ? `${minutes.toFixed(1)} min` : `${Math.round((t1 - t0) / 1000)} s`;
  return `<svg width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="ack latency p50 and p95 over time">
${grid.join('\n')}
<line x1="${L}" x2="${L}" y1="${T}" y2="${H - B}" stroke="#999"/><line x1="${L}" x2="${W - R}" y1="${H - B}" y2="${H - B}" stroke="#999"/>
${marks.join('\n')}
<path d="${line('p50')}" fill="none" stroke="${SERIES[0]?.color}" stroke-width="1.5"/>
<path d="${line('p95')}" fill="none" stroke="${SERIES[1]?.color}" stroke-width="2" stroke-dasharray="${SERIES[1]?.dash}"/>
<text x="${L}" y="${H - 8}">${escapeHtml(new Date(t0).toISOString().slice(11, 19))} UTC</text>
<text x="${W - R}" y="${H - 8}" text-anchor="end">${escapeHtml(new Date(t1).toISOString().slice(11, 19))} UTC (${escapeHtml(span)})</text>
<text x="${L + 160}" y="${H - 8}" fill="${SERIES[0]?.color}">— p50 ms</text><text x="${L + 230}" y="${H - 8}" fill="${SERIES[1]?.color}">··· p95 ms</text>
${offScale.length ? `<text x="${L + 300}" y="${H - 8}">(${offScale.map((v) => `${v} ms`).join(', ')} above the scale: all points below)</text>` : ''}
</svg>`;
}

const BAR_PARTS = [
  { key: 'delivered', label: 'delivered (confirmed)', color: '#1b7f3b' },
  { key: 'inFlight', label: 'in flight', color: '#1a73e8' },
  { key: 'queued', label: 'queued', color: '#9aa0a6' },
  { key: 'dropped', label: 'dropped', color: '#e37400' },
  { key: 'lost', label: 'lost', color: '#b3261e' },
] as const;

/** One stacked bar per stream: how the frames produced for this target split, as the relay accounts for them. */
export function countersChart(streams: readonly StreamAccount[]): string {
  if (streams.length === 0) return '';
  const W = 760;
  const rowH = 34;
  const L = 90;
  const R = 12;
  const H = 24 + streams.length * rowH + 24;
  const rows = streams.map((s, i) => {
    const values: Record<(typeof BAR_PARTS)[number]['key'], number> = {
      delivered: s.relay.delivered,
      inFlight: s.relay.inFlight,
      queued: s.relay.queued,
      dropped: s.relay.dropped,
      lost: s.relay.lost,
    };
    const total = Math.max(1, sumOf(values));
    let at = L;
    const y = 12 + i * rowH;
    const rects = BAR_PARTS.map((p) => {
      const w = (values[p.key] / total) * (W - L - R);
      const rect =
        w > 0
          ? `<rect x="${at.toFixed(1)}" y="${y}" width="${Math.max(w, 1).toFixed(1)}" height="18" fill="${p.color}">` +
            `<title>${escapeHtml(p.label)}: ${values[p.key]}</title></rect>`
          : '';
      at += w;
      return rect;
    });
    const caption = BAR_PARTS.map((p) => `${values[p.key]} ${p.label}`).join(', ');
    return `<text x="${L - 6}" y="${y + 13}" text-anchor="end">${escapeHtml(s.stream)}</text>${rects.join('')}` +
      `<text x="${L}" y="${y + 30}" class="small">${escapeHtml(caption)} of ${s.relay.produced} produced</text>`;
  });
  const legend = BAR_PARTS.map(
    (p, i) => `<rect x="${L + i * 130}" y="${H - 16}" width="10" height="10" fill="${p.color}"/><text x="${L + i * 130 + 14}" y="${H - 7}">${escapeHtml(p.label)}</text>`,
  ).join('');
  return `<svg width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="frames per stream: delivered, in flight, queued, dropped, lost">${rows.join('\n')}${legend}</svg>`;
}

const round1 = (v: number) => Math.round(v * 10) / 10;

function niceCeil(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/** Each guided cutover: its steps as the relay confirmed them, and its record with the verdict at every entry. */
function renderCutovers(cutovers: readonly CutoverView[]): string {
  const name = (b: { url: string; name: string | null }) => escapeHtml(b.name ? `${b.name} (${b.url})` : b.url);
  const figures = (p: CutoverParity) =>
    `${badge(p.verdict)} drift ${fmt(p.driftPct, '%')}${p.healthyForMs !== null ? `, healthy for ${fmt(Math.round(p.healthyForMs / 1000), ' s')}` : ''}` +
    (p.targets.length ? `<br><span class="small">${p.targets.map((t) => `${escapeHtml(t.name ?? t.url)}: ${escapeHtml(t.state)}, delivered ${fmt(t.delivered)}, lost ${fmt(t.lost)}, p95 ${fmt(t.p95, ' ms')}`).join('; ')}</span>` : '');
  const out = ['<h2>Cutovers</h2>'];
  for (const c of cutovers) {
    out.push(`<section class="target">
<h3>From ${name(c.from)} to ${name(c.to)} ${badge(c.phase === 'completed' ? 'healthy' : c.phase === 'failed' || c.phase === 'aborted' ? 'critical' : 'warning')} <span class="small">${escapeHtml(c.phase)}</span></h3>
<div class="small">started ${escapeHtml(new Date(c.startedAt).toISOString())}${c.endedAt ? `, ended ${escapeHtml(new Date(c.endedAt).toISOString())}` : ''} · parity window ${fmt(Math.round(c.windowMs / 1000), ' s')}${c.problem ? ` · ${escapeHtml(c.problem)}` : ''}</div>`);
    const stepColumns = ['step', 'status', 'what was confirmed (or why not)'];
    out.push(`<table class="stack">${th(stepColumns)}${c.steps
      .map((s) => `<tr><th>${escapeHtml(CUTOVER_STEP_TITLES[s.name])}</th>${labelled([text(escapeHtml(s.status)), text(escapeHtml(s.detail))], stepColumns.slice(1))}</tr>`)
      .join('\n')}</table>`);
    const eventColumns = ['time (UTC)', 'step', 'what', 'the relay\'s verdict then'];
    out.push(`<h4>Record</h4><table class="stack">${th(eventColumns)}${c.events
      .map((e) => `<tr>${labelled([text(escapeHtml(new Date(e.at).toISOString())), text(escapeHtml(e.step ?? '')), text(`${escapeHtml(e.kind)}: ${escapeHtml(e.detail)}`), text(figures(e.parity))], eventColumns)}</tr>`)
      .join('\n')}</table></section>`);
  }
  return out.join('\n');
}
