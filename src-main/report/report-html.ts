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

const HTML_ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] as string);
}

const fmt = (n: number | null | undefined, unit = ''): string =>
  n === null || n === undefined || !Number.isFinite(n) ? '–' : `${Number.isInteger(n) ? n : n.toFixed(1)}${unit}`;
const sumOf = (r: Record<string, number>): number => Object.values(r).reduce((a, b) => a + b, 0);
const reasons = (r: Record<string, number>): string => escapeHtml(describeReasons(r));
const isoTime = (ms: number): string => escapeHtml(new Date(ms).toISOString());

/** A table's header row; on a narrow screen it hides and each cell carries its label instead (labelled). */
const th = (cells: readonly string[]): string => `<tr class="head">${cells.map((c) => `<th>${c}</th>`).join('')}</tr>`;
/** Cells with their column's name, shown beside the value when the table stacks on a narrow screen. */
const labelled = (cells: readonly string[], labels: readonly string[]): string =>
  cells.map((c, i) => c.replace(/^<td/, `<td data-label="${escapeHtml(labels[i] ?? '')}"`)).join('');
const num = (n: number | null | undefined, unit = ''): string => `<td class="n">${fmt(n, unit)}</td>`;
const text = (value: string): string => `<td>${value}</td>`;
/** A two-column table of facts, one per row: its label, then its value. */
const facts = (rows: readonly (readonly [string, string])[]): string => {
  const lines = rows.map(([label, value]) => `<tr><th>${label}</th><td>${value}</td></tr>`);
  return ['<table class="kv">', ...lines, '</table>'].join('\n');
};
/** List items, each escaped. */
const items = (texts: readonly string[], separator: string): string =>
  texts.map((t) => `<li>${escapeHtml(t)}</li>`).join(separator);

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
const badge = (status: string): string =>
  `<span class="badge ${STATUS_CLASS[status] ?? 'muted'}">${escapeHtml(status)}</span>`;

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

/** The page loads nothing and runs nothing: inline styles and data: images only. */
const REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

const CSS = [
  '',
  ':root{color-scheme:light;--ok:#1b7f3b;--warn:#a86500;--bad:#b3261e;--muted:#5f6368;--line:#d9dce1;--bg:#f6f7f9}',
  '*{box-sizing:border-box}',
  'body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;padding:24px;color:#1f2328;' +
    'background:#fff;max-width:1200px;overflow-wrap:anywhere}',
  'h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid var(--line);' +
    'padding-bottom:4px}',
  'h3{font-size:15px;margin:18px 0 6px}h4{font-size:14px;margin:14px 0 4px}',
  'table{border-collapse:collapse;margin:6px 0 12px;font-variant-numeric:tabular-nums;max-width:100%}',
  'th,td{border:1px solid var(--line);padding:3px 8px;text-align:left;vertical-align:top}',
  'th{background:var(--bg);font-weight:600}',
  'td.n{text-align:right}',
  'tr.disagrees td{background:#fdecea}tr.unproven td{background:#f1f3f4}',
  '.badge{display:inline-block;padding:0 8px;border-radius:10px;color:#fff;font-weight:600;font-size:12px}',
  '.ok{background:var(--ok)}.warn{background:var(--warn)}.bad{background:var(--bad)}.muted{background:var(--muted)}',
  '.banner{background:var(--bad);color:#fff;padding:10px 14px;border-radius:6px;font-weight:700;margin:10px 0}',
  '.verdict{border:2px solid var(--muted);border-radius:8px;padding:8px 16px;margin:14px 0}',
  '.verdict.ok{border-color:var(--ok);background:#e8f5ec}.verdict.warn{border-color:var(--warn);background:#fff4e0}',
  '.verdict.bad{border-color:var(--bad);background:#fdecea}' +
    '.verdict.muted{border-color:var(--muted);background:#f1f3f4}',
  '.verdict p{font-weight:700;margin:4px 0}',
  '.note{background:#fff8e1;border:1px solid #f0d58c;padding:6px 10px;border-radius:6px;margin:6px 0}',
  '.err{color:var(--bad)}',
  '.small{color:var(--muted);font-size:12px}',
  'pre{background:var(--bg);border:1px solid var(--line);padding:8px;overflow:auto;font-size:12px;' +
    'white-space:pre-wrap;word-break:break-all}',
  'svg{display:block;margin:6px 0 12px;background:#fff;border:1px solid var(--line);max-width:100%;height:auto}',
  'svg text{font:11px system-ui,sans-serif;fill:#3c4043}',
  '.target{border:1px solid var(--line);border-radius:8px;padding:4px 16px 8px;margin:16px 0}',
  '.target.removed{border-style:dashed;background:#fafafa}',
  '@media print{.target{break-inside:avoid}}',
  '.legend{display:flex;flex-wrap:wrap;gap:4px 14px;font-size:12px;color:var(--muted)}',
  '.name{font-weight:700}',
  '/* Narrow screens (a phone, a half-width window): no sideways scrolling. Wide tables become one',
  '   block per row, each value beside its column\'s name. */',
  '@media (max-width:820px){',
  'body{padding:12px}',
  '.target{padding:4px 10px 8px}',
  'table.stack,table.stack tbody,table.stack tr,table.stack th,table.stack td,table.stack caption{display:block;' +
    'width:100%}',
  'table.stack tr.head{display:none}',
  'table.stack tr{border:1px solid var(--line);border-radius:6px;margin:0 0 8px;padding:4px 8px}',
  'table.stack th,table.stack td{border:none;padding:2px 0;text-align:left}',
  'table.stack td[data-label]{display:flex;justify-content:space-between;gap:12px}',
  'table.stack td[data-label]::before{content:attr(data-label);color:var(--muted);font-size:12px;text-align:left}',
  'table.stack td.n{text-align:right}',
  'table.kv th{width:34%}',
  '}',
  '',
].join('\n');

export function renderReportHtml(report: ParityReport): string {
  const env = report.environment;
  const h = report.health;
  const p = report.parity;
  const parts: string[] = [];
  const subtitle = [
    `generated ${escapeHtml(report.generatedAt)}`,
    `session ${escapeHtml(report.sessionId ?? '–')}`,
    escapeHtml(report.schema),
  ].join(' · ');
  parts.push(
    [
      '<!doctype html>',
      '<html lang="en">',
      '<head>',
      '<meta charset="utf-8">',
      `<meta http-equiv="Content-Security-Policy" content="${REPORT_CSP}">`,
      '<meta name="viewport" content="width=device-width, initial-scale=1">',
      `<title>Relay parity report ${escapeHtml(report.generatedAt)}</title>`,
      `<style>${CSS}</style>`,
      '</head>',
      '<body>',
      '<h1>Relay Agent parity report</h1>',
      `<div class="small">${subtitle}</div>`,
    ].join('\n'),
  );

  // The verdict comes first: a disagreement between a gateway and the relay is the first thing read.
  const v = report.verdict;
  parts.push(`<section class="verdict ${STATUS_CLASS[v.status] ?? 'muted'}" id="verdict">
<p>${badge(v.status)} ${escapeHtml(REPORT_STATUS_WORDS[v.status] ?? v.status)}</p>
<ul>${items(v.sentences, '\n')}</ul>
</section>`);

  const source = env.source
    ? `${escapeHtml(env.source.kind)}: ${escapeHtml(env.source.state)} ` +
      `(${env.source.connected ? 'connected' : 'not connected'}), ` +
      `${fmt(env.source.framesProduced)} frames produced, session ${escapeHtml(env.source.sessionId ?? '–')}`
    : 'none';
  const os = `${escapeHtml(env.os.name)} ${escapeHtml(env.os.release)} (${escapeHtml(env.os.arch)})`;
  const environment = facts([
    ['App', `${escapeHtml(env.app.name)} ${escapeHtml(env.app.version)}`],
    ['Build time', escapeHtml(env.app.buildTime)],
    ['OS', `${os}<br><span class="small">${escapeHtml(env.os.version)}</span>`],
    ['Elevated', `${escapeHtml(env.elevated)} <span class="small">${escapeHtml(env.elevatedDetail)}</span>`],
    ['Node.js', escapeHtml(env.node)],
    ['Telemetry source', source],
    ['Relay uptime', fmt(Math.round(env.relayUptimeMs / 1000), ' s')],
  ]);
  parts.push(`<h2>Environment</h2>\n${environment}`);

  const healthyMinutes = (since: number) => fmt(Math.floor((Date.parse(report.generatedAt) - since) / 60_000), ' min');
  const healthySince =
    p.healthySinceMs === null
      ? 'not healthy now'
      : `healthy without a break since ${isoTime(p.healthySinceMs)}` +
        ` (${healthyMinutes(p.healthySinceMs)} before this report)`;
  const list = (texts: readonly string[]): string => (texts.length ? `<ul>${items(texts, '')}</ul>` : '');
  const totals =
    `delivered (confirmed by the gateways) ${fmt(p.totalDelivered)}, in flight ${fmt(p.totalInFlight)}, ` +
    `dropped ${fmt(p.totalDropped)}, lost ${fmt(p.totalLost)}<br>` +
    `<span class="small">spec counters: sent ${fmt(p.totalSent)}, acked ${fmt(p.totalAcked)}, ` +
    `failed ${fmt(p.totalFailed)}</span>`;
  const drift =
    `${fmt(p.driftPct, '%')} <span class="small">on confirmed deliveries; ` +
    `healthy under ${HEALTH_THRESHOLDS.driftPct.warning}%, ` +
    `warning under ${HEALTH_THRESHOLDS.driftPct.critical}%, critical above</span>`;
  const killed = h.killSwitch ? ', kill switch ON' : '';
  const mode = `${escapeHtml(h.mode)}, primary #${fmt(report.settings.primaryIndex)}${killed}`;
  const { p50, p95, samples } = p.ackLatency;
  const latency = `p50 ${fmt(p50, ' ms')}, p95 ${fmt(p95, ' ms')} (${fmt(samples)} samples)`;
  parts.push(`<h2>Summary</h2>`);
  if (h.killSwitch) parts.push(`<div class="banner">${escapeHtml(h.message ?? 'Kill Switch Active')}</div>`);
  parts.push(
    facts([
      ['Relay health', `${badge(h.status)}${list(h.reasons)}`],
      ['Mode', mode],
      ["Relay's parity verdict", `${badge(p.verdict.status)} ${healthySince}${list(p.verdict.reasons)}`],
      ['Totals', totals],
      ['Ack latency', latency],
      ['Drift', drift],
    ]),
  );
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
      const cells = [e.at, who, e.kind, e.detail].map((value) => text(escapeHtml(value)));
      parts.push(`<tr${cls}>${labelled(cells, timelineColumns)}</tr>`);
    }
    parts.push('</table>');
  }

  const overridden = report.envOverrides.length ? escapeHtml(report.envOverrides.join(', ')) : 'nothing';
  parts.push(`<h2>Settings (secrets redacted)</h2>
<p>Overridden by the environment for this run: ${overridden}</p>
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
  const about = [
    t.removed ? 'removed during this run' : '',
    t.primary ? 'primary' : '',
    t.enabled ? 'enabled' : 'disabled',
    `state ${escapeHtml(t.state)}`,
    `the relay's health verdict ${badge(t.health.status)}`,
    `connects ${fmt(t.connects)}`,
    `disconnects ${fmt(t.disconnects)}`,
    `last confirmation ${t.lastConfirmMs === null ? 'never' : isoTime(t.lastConfirmMs)}`,
    t.oldestUnconfirmedMs === null ? '' : `oldest unconfirmed frame waiting ${fmt(t.oldestUnconfirmedMs, ' ms')}`,
  ].filter((f) => f !== '');
  const name = t.name ? `<span class="name">${escapeHtml(t.name)}</span> ` : '';
  const proofWords = escapeHtml(PROOF_WORDS[t.proof.status] ?? t.proof.status);
  const proof = `${badge(t.proof.status)} <span class="small">${proofWords}</span>`;
  out.push(`<section class="target${t.removed ? ' removed' : ''}">
<h3>${name}${escapeHtml(t.url)} ${proof}</h3>
<div class="small">${about.join(' · ')}</div>`);
  if (t.proof.sentences.length) out.push(`<ul>${items(t.proof.sentences, '\n')}</ul>`);
  if (t.health.reasons.length) out.push(`<ul>${items(t.health.reasons, '')}</ul>`);
  if (t.lastError) out.push(`<p class="err">Last error: ${escapeHtml(t.lastError)}</p>`);
  const counterColumns = [
    'produced', 'delivered (confirmed by the gateway)', 'in flight', 'queued',
    'dropped', 'lost', 'sent', 'acked', 'resent',
  ];
  const counters = [c.produced, c.delivered, c.inFlight, c.queued, c.dropped, c.lost, c.sent, c.acked, c.resent];
  const summary = [
    `dropped: ${reasons(t.droppedBy)}`,
    `lost: ${reasons(t.lostBy)}`,
    `ack p50 ${fmt(t.ackLatency.p50, ' ms')}, p95 ${fmt(t.ackLatency.p95, ' ms')}`,
    `acks missing ${fmt(t.acksMissing)}`,
    `drift ${fmt(t.driftPct, '%')}`,
  ].join(' · ');
  out.push(
    [
      '<table class="stack">',
      th(counterColumns),
      `<tr>${labelled(counters.map((n) => num(n)), counterColumns)}</tr>`,
      '</table>',
      `<div class="small">${summary}</div>`,
    ].join('\n'),
  );
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
  const figures = [
    `missing ${fmt(q.missing)}`,
    `duplicates ${fmt(q.duplicates)}`,
    `out of order ${fmt(q.outOfOrder)}`,
    `resent ${fmt(q.resent)}`,
    `resent duplicates ${fmt(q.resentDuplicates)}`,
    ...(q.lastError ? [`last error: ${escapeHtml(q.lastError)}`] : []),
  ];
  const from = `<code>${escapeHtml(g.url)}</code> (answered in ${fmt(g.fetchedInMs, ' ms')})`;
  return `<p>Parity from ${from}: ${figures.join(', ')}</p>`;
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

/** A stacked table: its caption, the header row and one row per stream. */
const streamTable = (caption: string, columns: readonly string[], rows: readonly string[]): string =>
  [
    '<table class="stack">',
    `<caption class="small">${caption}</caption>`,
    th(columns),
    rows.join('\n'),
    '</table>',
  ].join('\n');

/** The relay's account per stream: produced = delivered + in flight + queued + dropped + lost. */
function relayTable(streams: readonly StreamAccount[]): string {
  if (streams.length === 0) return '<p>No frames yet.</p>';
  const rows = streams.map((s) => {
    const r = s.relay;
    const cells = [
      num(r.produced), num(r.delivered), num(r.inFlight), num(r.queued),
      num(r.dropped), text(reasons(r.droppedBy)), num(r.lost), text(reasons(r.lostBy)),
      num(r.notGiven), num(r.sent), num(r.acked), num(r.resent), num(s.atSource.seenByRelay),
    ];
    return `<tr><th>${escapeHtml(s.stream)}</th>${labelled(cells, RELAY_COLUMNS.slice(1))}</tr>`;
  });
  const caption = 'The relay\'s account: produced = delivered + in flight + queued + dropped + lost';
  return streamTable(caption, RELAY_COLUMNS, rows);
}

/** The gateway's own count per stream, as it gave it. */
function gatewayTable(streams: readonly StreamAccount[], answered: boolean): string {
  if (!answered || streams.length === 0) return '';
  const gapped = (g: NonNullable<StreamAccount['gateway']>): string =>
    reasons(Object.fromEntries(GAP_REASONS.map((k) => [k, g.gapped[k]])));
  const rows = streams.map((s) => {
    const g = s.gateway;
    if (!g) return '';
    const cells = [
      num(g.framesIn), num(g.missing), num(sumOf(g.gapped)), text(gapped(g)), num(g.duplicates), num(g.resent),
      num(g.resentDuplicates), num(g.outOfOrder), num(g.upTo), num(g.lastSeq),
      text(g.endedAt === null ? 'open' : `ended at ${fmt(g.endedAt)}`), num(g.sourceGaps), num(g.acked),
    ];
    return `<tr><th>${escapeHtml(s.stream)}</th>${labelled(cells, GATEWAY_COLUMNS.slice(1))}</tr>`;
  });
  return streamTable('The gateway\'s own count of this session', GATEWAY_COLUMNS, rows);
}

/** Each shared figure side by side; gapped reasons that neither side counted are left out. */
function checksTable(streams: readonly StreamAccount[]): string {
  const shown = (c: ParityCheck): boolean =>
    !c.figure.startsWith('gapped.') || c.gateway > 0 || c.expected.max > 0 || c.result !== 'agrees';
  const rows = streams.flatMap((s) =>
    s.checks.filter(shown).map((c) => {
      const { min, max } = c.expected;
      const expected = min === max ? fmt(min) : `${fmt(min)} to ${fmt(max)}`;
      const cells = [
        text(escapeHtml(describeFigure(c.figure))),
        num(c.gateway),
        `<td class="n">${expected}</td>`,
        text(escapeHtml(c.relayTerms)),
        text(`${badge(c.result)} ${escapeHtml(c.detail ?? '')}`),
      ];
      return `<tr class="${c.result}"><th>${escapeHtml(s.stream)}</th>${labelled(cells, CHECK_COLUMNS.slice(1))}</tr>`;
    }),
  );
  if (rows.length === 0) return '';
  const caption = 'Compared: the gateway\'s figure against what the relay\'s counts say it must be';
  return streamTable(caption, CHECK_COLUMNS, rows);
}

const LATENCY_LABEL = 'ack latency p50 and p95 over time';

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
  if (valid.length === 0) {
    return `<svg width="${W}" height="60" viewBox="0 0 ${W} 60" role="img" aria-label="no ack latency samples">` +
      '<text x="12" y="34">No ack latency samples yet (acks are asked for a sample of frames; none answered).' +
      '</text></svg>';
  }
  const t0 = points[0]?.t ?? 0;
  const t1 = Math.max(t0 + 1000, points[points.length - 1]?.t ?? t0);
  const max = Math.max(...valid.flatMap((p) => [p.p50 ?? 0, p.p95 ?? 0]));
  const yMax = niceCeil(Math.max(max * 1.15, 10));
  const x = (t: number) => L + ((t - t0) / (t1 - t0)) * (W - L - R);
  const y = (v: number) => T + (1 - v / yMax) * (H - T - B);
  const line = (key: 'p50' | 'p95') => latencyLinePath(points, key, x, y);
  /** A horizontal line across the plot at value v. */
  const across = (v: number, stroke: string): string =>
    `<line x1="${L}" x2="${W - R}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="${stroke}"`;
  const grid: string[] = [];
  for (let i = 0; i <= 4; i++) {
    const v = (yMax / 4) * i;
    const label = `<text x="${L - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${fmt(round1(v))}</text>`;
    grid.push(`${across(v, '#eee')}/>${label}`);
  }
  const marks: string[] = [];
  const offScale: number[] = [];
  for (const [ms, color] of [
    [HEALTH_THRESHOLDS.ackP95Ms.warning, '#a86500'],
    [HEALTH_THRESHOLDS.ackP95Ms.critical, '#b3261e'],
  ] as const) {
    if (ms <= yMax) {
      marks.push(
        `${across(ms, color)} stroke-dasharray="6 4"/>` +
          `<text x="${W - R - 4}" y="${(y(ms) - 4).toFixed(1)}" text-anchor="end" fill="${color}">${ms} ms</text>`,
      );
    } else offScale.push(ms);
  }
  const minutes = (t1 - t0) / 60_000;
  const span = minutes >= 1 ? `${minutes.toFixed(1)} min` : `${Math.round((t1 - t0) / 1000)} s`;
  const clock = (t: number) => escapeHtml(new Date(t).toISOString().slice(11, 19));
  const axes =
    `<line x1="${L}" x2="${L}" y1="${T}" y2="${H - B}" stroke="#999"/>` +
    `<line x1="${L}" x2="${W - R}" y1="${H - B}" y2="${H - B}" stroke="#999"/>`;
  const legend =
    `<text x="${L + 160}" y="${H - 8}" fill="${SERIES[0]?.color}">— p50 ms</text>` +
    `<text x="${L + 230}" y="${H - 8}" fill="${SERIES[1]?.color}">··· p95 ms</text>`;
  const above = offScale.map((v) => `${v} ms`).join(', ');
  const offScaleNote = offScale.length
    ? `<text x="${L + 300}" y="${H - 8}">(${above} above the scale: all points below)</text>`
    : '';
  return [
    `<svg width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${LATENCY_LABEL}">`,
    grid.join('\n'),
    axes,
    marks.join('\n'),
    `<path d="${line('p50')}" fill="none" stroke="${SERIES[0]?.color}" stroke-width="1.5"/>`,
    `<path d="${line('p95')}" fill="none" stroke="${SERIES[1]?.color}" stroke-width="2" ` +
      `stroke-dasharray="${SERIES[1]?.dash}"/>`,
    `<text x="${L}" y="${H - 8}">${clock(t0)} UTC</text>`,
    `<text x="${W - R}" y="${H - 8}" text-anchor="end">${clock(t1)} UTC (${escapeHtml(span)})</text>`,
    legend,
    offScaleNote,
    '</svg>',
  ].join('\n');
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
  const legend = BAR_PARTS.map((p, i) => {
    const at = L + i * 130;
    return `<rect x="${at}" y="${H - 16}" width="10" height="10" fill="${p.color}"/>` +
      `<text x="${at + 14}" y="${H - 7}">${escapeHtml(p.label)}</text>`;
  }).join('');
  const label = 'frames per stream: delivered, in flight, queued, dropped, lost';
  const svg = `<svg width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${label}">`;
  return `${svg}${rows.join('\n')}${legend}</svg>`;
}

const round1 = (v: number) => Math.round(v * 10) / 10;

function niceCeil(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/** The relay's verdict at an entry of a cutover's record, with each target's figures then. */
function cutoverParity(p: CutoverParity): string {
  const healthy = p.healthyForMs !== null ? `, healthy for ${fmt(Math.round(p.healthyForMs / 1000), ' s')}` : '';
  const verdict = `${badge(p.verdict)} drift ${fmt(p.driftPct, '%')}${healthy}`;
  if (!p.targets.length) return verdict;
  const targets = p.targets.map(
    (t) =>
      `${escapeHtml(t.name ?? t.url)}: ${escapeHtml(t.state)}, ` +
      `delivered ${fmt(t.delivered)}, lost ${fmt(t.lost)}, p95 ${fmt(t.p95, ' ms')}`,
  );
  return `${verdict}<br><span class="small">${targets.join('; ')}</span>`;
}

const CUTOVER_PHASE_STATUS = (phase: CutoverView['phase']): string =>
  phase === 'completed' ? 'healthy' : phase === 'failed' || phase === 'aborted' ? 'critical' : 'warning';

/** Each guided cutover: its steps as the relay confirmed them, and its record with the verdict at every entry. */
function renderCutovers(cutovers: readonly CutoverView[]): string {
  const name = (b: { url: string; name: string | null }) => escapeHtml(b.name ? `${b.name} (${b.url})` : b.url);
  const out = ['<h2>Cutovers</h2>'];
  for (const c of cutovers) {
    const when = [
      `started ${isoTime(c.startedAt)}${c.endedAt ? `, ended ${isoTime(c.endedAt)}` : ''}`,
      `parity window ${fmt(Math.round(c.windowMs / 1000), ' s')}`,
      ...(c.problem ? [escapeHtml(c.problem)] : []),
    ].join(' · ');
    const phase = `${badge(CUTOVER_PHASE_STATUS(c.phase))} <span class="small">${escapeHtml(c.phase)}</span>`;
    out.push(`<section class="target">
<h3>From ${name(c.from)} to ${name(c.to)} ${phase}</h3>
<div class="small">${when}</div>`);
    const stepColumns = ['step', 'status', 'what was confirmed (or why not)'];
    const steps = c.steps.map((s) => {
      const cells = [text(escapeHtml(s.status)), text(escapeHtml(s.detail))];
      return `<tr><th>${escapeHtml(CUTOVER_STEP_TITLES[s.name])}</th>${labelled(cells, stepColumns.slice(1))}</tr>`;
    });
    out.push(`<table class="stack">${th(stepColumns)}${steps.join('\n')}</table>`);
    const eventColumns = ['time (UTC)', 'step', 'what', 'the relay\'s verdict then'];
    const events = c.events.map((e) => {
      const cells = [
        text(isoTime(e.at)),
        text(escapeHtml(e.step ?? '')),
        text(`${escapeHtml(e.kind)}: ${escapeHtml(e.detail)}`),
        text(cutoverParity(e.parity)),
      ];
      return `<tr>${labelled(cells, eventColumns)}</tr>`;
    });
    out.push(`<h4>Record</h4><table class="stack">${th(eventColumns)}${events.join('\n')}</table></section>`);
  }
  return out.join('\n');
}
