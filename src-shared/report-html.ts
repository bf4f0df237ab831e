// The parity report as one self-contained HTML page for people: it opens offline from an
// email attachment, so the styles are inline, the charts are SVG drawn here, and there is
// no script and no external resource. Every value from the report is escaped: URLs, error
// texts and log lines come from the network and must not become markup.
import type { LatencyPoint } from './bridge';
import { HEALTH_THRESHOLDS } from './metrics';
import type { GatewayAnswer, ParityReport, ReportTarget, StreamAttribution } from './report';

export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

const fmt = (n: number | null | undefined, unit = ''): string => (n === null || n === undefined || !Number.isFinite(n) ? '–' : `${Number.isInteger(n) ? n : n.toFixed(1)}${unit}`);
const sumOf = (r: Record<string, number>): number => Object.values(r).reduce((a, b) => a + b, 0);
const reasons = (r: Record<string, number>): string => {
  const parts = Object.entries(r)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${REASON_WORDS[k] ?? k} ${n}`);
  return parts.length ? parts.join(', ') : 'none';
};

const REASON_WORDS: Record<string, string> = {
  queueFull: 'queue full',
  killSwitch: 'kill switch',
  deactivated: 'target deactivated',
  removed: 'target removed',
  sendTimeout: 'send timeout',
  connectionLost: 'connection lost',
  sendError: 'send error',
};

const STATUS_CLASS: Record<string, string> = { healthy: 'ok', warning: 'warn', critical: 'bad', killed: 'bad' };
const badge = (status: string): string => `<span class="badge ${STATUS_CLASS[status] ?? 'muted'}">${escapeHtml(status)}</span>`;

const CSS = `
:root{color-scheme:light;--ok:#1b7f3b;--warn:#a86500;--bad:#b3261e;--muted:#5f6368;--line:#d9dce1;--bg:#f6f7f9}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;padding:24px;color:#1f2328;background:#fff;max-width:1200px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}h3{font-size:15px;margin:18px 0 6px}
table{border-collapse:collapse;margin:6px 0 12px;font-variant-numeric:tabular-nums}
th,td{border:1px solid var(--line);padding:3px 8px;text-align:left;vertical-align:top}
th{background:var(--bg);font-weight:600}
td.n{text-align:right}
.badge{display:inline-block;padding:0 8px;border-radius:10px;color:#fff;font-weight:600;font-size:12px}
.ok{background:var(--ok)}.warn{background:var(--warn)}.bad{background:var(--bad)}.muted{background:var(--muted)}
.banner{background:var(--bad);color:#fff;padding:10px 14px;border-radius:6px;font-weight:700;margin:10px 0}
.note{background:#fff8e1;border:1px solid #f0d58c;padding:6px 10px;border-radius:6px;margin:6px 0}
.err{color:var(--bad)}
.small{color:var(--muted);font-size:12px}
pre{background:var(--bg);border:1px solid var(--line);padding:8px;overflow:auto;font-size:12px;white-space:pre-wrap;word-break:break-all}
svg{display:block;margin:6px 0 12px;background:#fff;border:1px solid var(--line)}
svg text{font:11px system-ui,sans-serif;fill:#3c4043}
.target{border:1px solid var(--line);border-radius:8px;padding:4px 16px 8px;margin:16px 0}
@media print{.target{break-inside:avoid}}
`;

export function renderReportHtml(report: ParityReport): string {
  const env = report.environment;
  const h = report.health;
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

  parts.push(`<h2>Environment</h2>
<table>
<tr><th>App</th><td>${escapeHtml(env.app.name)} ${escapeHtml(env.app.version)}</td></tr>
<tr><th>Build time</th><td>${escapeHtml(env.app.buildTime)}</td></tr>
<tr><th>OS</th><td>${escapeHtml(env.os.name)} ${escapeHtml(env.os.release)} (${escapeHtml(env.os.arch)})<br><span class="small">${escapeHtml(env.os.version)}</span></td></tr>
<tr><th>Elevated</th><td>${escapeHtml(env.elevated)} <span class="small">${escapeHtml(env.elevatedDetail)}</span></td></tr>
<tr><th>Node.js</th><td>${escapeHtml(env.node)}</td></tr>
<tr><th>Telemetry source</th><td>${env.source ? `${escapeHtml(env.source.kind)}: ${escapeHtml(env.source.state)} (${env.source.connected ? 'connected' : 'not connected'}), ${fmt(env.source.framesProduced)} frames produced, session ${escapeHtml(env.source.sessionId ?? '–')}` : 'none'}</td></tr>
<tr><th>Relay uptime</th><td>${fmt(Math.round(env.relayUptimeMs / 1000), ' s')}</td></tr>
</table>`);

  parts.push(`<h2>Summary</h2>`);
  if (h.killSwitch) parts.push(`<div class="banner">${escapeHtml(h.message ?? 'Kill Switch Active')}</div>`);
  parts.push(`<table>
<tr><th>Health</th><td>${badge(h.status)}${h.reasons.length ? `<ul>${h.reasons.map((r) => `<li>${escapeHtml(r)}</li>`).join('')}</ul>` : ''}</td></tr>
<tr><th>Mode</th><td>${escapeHtml(h.mode)}, primary ${fmt(report.settings.primaryIndex)}${h.killSwitch ? ', kill switch ON' : ''}</td></tr>
<tr><th>Totals</th><td>sent ${fmt(report.parity.totalSent)}, acked ${fmt(report.parity.totalAcked)}, failed ${fmt(report.parity.totalFailed)}, dropped ${fmt(report.parity.totalDropped)}</td></tr>
<tr><th>Ack latency</th><td>p50 ${fmt(report.parity.ackLatency.p50, ' ms')}, p95 ${fmt(report.parity.ackLatency.p95, ' ms')} (${fmt(report.parity.ackLatency.samples)} samples)</td></tr>
<tr><th>Drift</th><td>${fmt(report.parity.driftPct, '%')} ${badge(report.parity.verdict.status)} <span class="small">healthy under ${HEALTH_THRESHOLDS.driftPct.warning}%, warning under ${HEALTH_THRESHOLDS.driftPct.critical}%, critical above</span></td></tr>
</table>`);
  for (const note of report.notes) parts.push(`<div class="note">${escapeHtml(note)}</div>`);

  parts.push(`<h2>Targets</h2>`);
  if (report.targets.length === 0) parts.push('<p>No backends are configured.</p>');
  for (const t of report.targets) parts.push(renderTarget(t));

  parts.push(`<h2>Timeline</h2>`);
  if (report.timeline.length === 0) parts.push('<p>No events.</p>');
  else {
    parts.push('<table><tr><th>Time (UTC)</th><th>Target</th><th>Event</th><th>Detail</th></tr>');
    for (const e of report.timeline) {
      const cls = e.kind === 'error' || e.kind === 'kill-switch-on' ? ' class="err"' : '';
      parts.push(`<tr${cls}><td>${escapeHtml(e.at)}</td><td>${escapeHtml(e.url ?? 'relay')}</td><td>${escapeHtml(e.kind)}</td><td>${escapeHtml(e.detail)}</td></tr>`);
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
  out.push(`<section class="target">
<h3>${escapeHtml(t.url)} ${badge(t.health.status)}</h3>
<div class="small">${t.primary ? 'primary · ' : ''}${t.enabled ? 'enabled' : 'disabled'} · state ${escapeHtml(t.state)} · connects ${fmt(t.connects)} · disconnects ${fmt(t.disconnects)}</div>`);
  if (t.health.reasons.length) out.push(`<ul>${t.health.reasons.map((r) => `<li>${escapeHtml(r)}</li>`).join('')}</ul>`);
  if (t.lastError) out.push(`<p class="err">Last error: ${escapeHtml(t.lastError)}</p>`);
  out.push(`<table>
<tr><th>produced</th><th>sent</th><th>acked</th><th>failed</th><th>dropped</th><th>queued</th><th>ack p50</th><th>ack p95</th><th>acks missing</th><th>drift</th></tr>
<tr><td class="n">${fmt(c.produced)}</td><td class="n">${fmt(c.sent)}</td><td class="n">${fmt(c.acked)}</td><td class="n">${fmt(c.failed)}</td><td class="n">${fmt(c.dropped)}</td><td class="n">${fmt(c.queued)}</td><td class="n">${fmt(t.ackLatency.p50, ' ms')}</td><td class="n">${fmt(t.ackLatency.p95, ' ms')}</td><td class="n">${fmt(t.acksMissing)}</td><td class="n">${fmt(t.driftPct, '%')}</td></tr>
</table>
<div class="small">failed: ${escapeHtml(reasons(t.failedBy))} · dropped: ${escapeHtml(reasons(t.droppedBy))}</div>`);
  out.push(`<h3>Ack latency over time</h3>${latencyChart(t.latencyHistory)}`);
  out.push(`<h3>Gateway</h3>${gatewayLine(t.gateway)}`);
  out.push(`<h3>Where the frames went, per stream</h3>${countersChart(t.streams, t.gateway.ok)}`);
  out.push(streamTable(t.streams, t.gateway.ok));
  out.push('</section>');
  return out.join('\n');
}

function gatewayLine(g: GatewayAnswer): string {
  if (!g.ok) return `<p class="err">The gateway did not answer <code>${escapeHtml(g.url)}</code>: ${escapeHtml(g.error)}. Frames lost in transit are unknown for this target.</p>`;
  const p = g.parity;
  return `<p>Parity from <code>${escapeHtml(g.url)}</code> (answered in ${fmt(g.fetchedInMs, ' ms')}): duplicates ${fmt(p.duplicates)}, out of order ${fmt(p.outOfOrder)}, missing ${fmt(typeof p.missing === 'number' ? p.missing : null)}${p.lastError ? `, last error: ${escapeHtml(p.lastError)}` : ''}</p>`;
}

function streamTable(streams: StreamAttribution[], answered: boolean): string {
  if (streams.length === 0) return '<p>No frames yet.</p>';
  const rows = streams.map((s) => {
    const g = s.gateway;
    return `<tr><th>${escapeHtml(s.stream)}</th>
<td class="n">${fmt(s.relay.produced)}</td><td class="n">${fmt(s.relay.sent)}</td><td class="n">${fmt(s.relay.acked)}</td><td class="n">${fmt(s.relay.failed)}</td><td class="n">${fmt(s.relay.dropped)}</td><td class="n">${fmt(s.relay.queued)}</td>
<td class="n">${g ? fmt(g.framesIn) : '–'}</td><td class="n">${g ? fmt(g.acked) : '–'}</td><td class="n">${g ? fmt(g.missing) : '–'}</td>
<td>${fmt(s.atSource.seenByRelay)} ticks (relay)${s.atSource.seenByGateway === null ? '' : `, ${fmt(s.atSource.seenByGateway)} (gateway)`}</td>
<td>${fmt(s.inRelay.total)}: ${escapeHtml(reasons({ ...s.inRelay.failedBy, ...s.inRelay.droppedBy }))}${s.inRelay.queued ? `, still queued ${fmt(s.inRelay.queued)}` : ''}</td>
<td class="n">${s.inTransit === 'unknown' ? 'unknown' : fmt(s.inTransit)}${typeof s.beyondSent === 'number' && s.beyondSent > 0 ? ` <span class="small">(+${fmt(s.beyondSent)} counted by the gateway though the relay saw the send fail)</span>` : ''}</td></tr>`;
  });
  return `<table>
<tr><th rowspan="2">stream</th><th colspan="6">relay sent to this gateway</th><th colspan="3">gateway counted${answered ? '' : ' (no answer)'}</th><th colspan="3">gaps attributed</th></tr>
<tr><th>produced</th><th>sent</th><th>acked</th><th>failed</th><th>dropped</th><th>queued</th><th>frames in</th><th>acked</th><th>missing</th><th>at the source</th><th>in the relay</th><th>in transit</th></tr>
${rows.join('\n')}
</table>`;
}

const SERIES = [
  { color: '#1a73e8', dash: '' },
  { color: '#d93025', dash: '' },
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
  const line = (key: 'p50' | 'p95') => {
    let d = '';
    let pen = false;
    for (const p of points) {
      const v = p[key];
      if (v === null) {
        pen = false;
        continue;
      }
      d += `${pen ? 'L' : 'M'}${x(p.t).toFixed(1)},${y(v).toFixed(1)} `;
      pen = true;
    }
    return d.trim();
  };
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
<path d="${line('p95')}" fill="none" stroke="${SERIES[1]?.color}" stroke-width="1.5"/>
<text x="${L}" y="${H - 8}">${escapeHtml(new Date(t0).toISOString().slice(11, 19))} UTC</text>
<text x="${W - R}" y="${H - 8}" text-anchor="end">${escapeHtml(new Date(t1).toISOString().slice(11, 19))} UTC (${escapeHtml(span)})</text>
<text x="${L + 160}" y="${H - 8}" fill="${SERIES[0]?.color}">— p50 ms</text><text x="${L + 230}" y="${H - 8}" fill="${SERIES[1]?.color}">— p95 ms</text>
${offScale.length ? `<text x="${L + 300}" y="${H - 8}">(${offScale.map((v) => `${v} ms`).join(', ')} above the scale: all points below)</text>` : ''}
</svg>`;
}

const BAR_PARTS = [
  { key: 'delivered', label: 'delivered', color: '#1b7f3b' },
  { key: 'transit', label: 'lost in transit', color: '#8e24aa' },
  { key: 'failed', label: 'failed in the relay', color: '#b3261e' },
  { key: 'dropped', label: 'dropped in the relay', color: '#e37400' },
  { key: 'queued', label: 'still queued', color: '#9aa0a6' },
] as const;

/** One stacked bar per stream: how the frames produced for this target split into delivered and each kind of gap. */
export function countersChart(streams: readonly StreamAttribution[], answered: boolean): string {
  if (streams.length === 0) return '';
  const W = 760;
  const rowH = 34;
  const L = 90;
  const R = 12;
  const H = 24 + streams.length * rowH + 24;
  const rows = streams.map((s, i) => {
    const transit = typeof s.inTransit === 'number' ? s.inTransit : 0;
    const values: Record<(typeof BAR_PARTS)[number]['key'], number> = {
      delivered: Math.max(0, s.relay.sent - transit),
      transit,
      failed: s.relay.failed,
      dropped: s.relay.dropped,
      queued: s.relay.queued,
    };
    const total = Math.max(1, sumOf(values));
    let at = L;
    const y = 12 + i * rowH;
    const rects = BAR_PARTS.map((p) => {
      const w = (values[p.key] / total) * (W - L - R);
      const rect = w > 0 ? `<rect x="${at.toFixed(1)}" y="${y}" width="${Math.max(w, 1).toFixed(1)}" height="18" fill="${p.color}"><title>${escapeHtml(p.label)}: ${values[p.key]}</title></rect>` : '';
      at += w;
      return rect;
    });
    const lost = values.transit + values.failed + values.dropped;
    return `<text x="${L - 6}" y="${y + 13}" text-anchor="end">${escapeHtml(s.stream)}</text>${rects.join('')}<text x="${L}" y="${y + 30}" class="small">${values.delivered} delivered${answered ? '' : ' (sent; the gateway did not confirm)'}, ${lost} lost, ${values.queued} queued of ${s.relay.produced}</text>`;
  });
  const legend = BAR_PARTS.map((p, i) => `<rect x="${L + i * 130}" y="${H - 16}" width="10" height="10" fill="${p.color}"/><text x="${L + i * 130 + 14}" y="${H - 7}">${escapeHtml(p.label)}</text>`).join('');
  return `<svg width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="frames per stream: delivered and gaps">${rows.join('\n')}${legend}</svg>`;
}

const round1 = (v: number) => Math.round(v * 10) / 10;

function niceCeil(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}
