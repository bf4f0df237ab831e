import { memo, useMemo } from 'react';
import { CartesianGrid, Line, LineChart, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { LatencyPoint } from '../../src-shared/bridge';
import { HEALTH_THRESHOLDS } from '../../src-shared/metrics';
import { maskUrl } from '../../src-shared/settings';
import { useDashboard } from '../context';
import { formatAgoTick, formatClock, formatMs } from '../format';
import { CHART_WINDOW_MS } from '../store';
import { LINE_STYLES } from '../chart-style';
import { LatencyLegend } from './LatencyLegend';

const WARN_MS = HEALTH_THRESHOLDS.ackP95Ms.warning;
const CRIT_MS = HEALTH_THRESHOLDS.ackP95Ms.critical;
const COLORS = { grid: '#2a3342', axis: '#9aa7b8' };
const MINUTE_TICKS = [5, 4, 3, 2, 1, 0].map((m) => m * 60_000);

export function LatencyCharts() {
  const urls = useDashboard((s) => s.state?.targets.targets.map((t) => t.url).join('\n') ?? '');
  // Whole seconds: the charts re-render once a second (when history gains a point), not per snapshot.
  const nowSec = useDashboard((s) => Math.floor((s.state?.at ?? 0) / 1000));
  const list = urls ? urls.split('\n') : [];
  return (
    <section className="panel" aria-labelledby="latency-title">
      <h2 id="latency-title">Ack latency, last 5 minutes</h2>
      <LatencyLegend />
      {list.length === 0 ? (
        <p className="empty">No targets.</p>
      ) : (
        <div className="charts">
          {list.map((url) => (
            <TargetChart key={url} url={url} nowSec={nowSec} />
          ))}
        </div>
      )}
    </section>
  );
}

function TargetChart({ url, nowSec }: { url: string; nowSec: number }) {
  const points = useDashboard((s) => s.history[url]);
  const name = useDashboard((s) => s.state?.targets.targets.find((t) => t.url === url)?.name ?? null);
  return <LatencyChart url={url} name={name} points={points ?? EMPTY} now={nowSec * 1000} />;
}

const EMPTY: readonly LatencyPoint[] = [];

/**
 * p50 and p95 against the spec's 100 ms and 500 ms lines. A symmetric-log scale: loopback
 * acks take well under a millisecond and WAN ones tens, and both must stay readable on the
 * same axis as 500 ms (symlog, unlike log, has a place for 0).
 */
export const LatencyChart = memo(function LatencyChart({ url, name = null, points, now }: { url: string; name?: string | null; points: readonly LatencyPoint[]; now: number }) {
  const from = now - CHART_WINDOW_MS;
  const { data, shown, top } = useMemo(() => {
    const inWindow = points.filter((p) => p.t >= from && p.t <= now + 1000);
    let max = 0;
    let withValues = 0;
    for (const p of inWindow) {
      if (p.p50 !== null || p.p95 !== null) withValues++;
      max = Math.max(max, p.p50 ?? 0, p.p95 ?? 0);
    }
    // Always tall enough to show both reference lines, taller when latency goes beyond them.
    const top = max > CRIT_MS * 1.1 ? Math.ceil((max * 1.1) / 100) * 100 : Math.round(CRIT_MS * 1.2);
    return { data: inWindow, shown: withValues, top };
  }, [points, from, now]);
  const yTicks = [1, 10, WARN_MS, CRIT_MS, ...(top > 2000 ? [1000] : []), ...(top > 1000 ? [top] : [])];
  const label = name ? `${name} (${maskUrl(url)})` : maskUrl(url);

  return (
    <figure className="chart" data-testid="latency-chart" data-url={maskUrl(url)} data-points={shown}>
      <figcaption title={label}>{label}</figcaption>
      {shown === 0 && <p className="chart-empty">No acks yet: points appear once the gateway acknowledges sampled frames.</p>}
      <div className="chart-box">
        <ResponsiveContainer width="100%" height="100%">
          <LineChart data={data} margin={{ top: 8, right: 12, bottom: 4, left: 4 }}>
            <CartesianGrid stroke={COLORS.grid} strokeDasharray="3 4" vertical={false} />
            <XAxis
              dataKey="t"
              type="number"
              scale="linear"
              domain={[from, now]}
              allowDataOverflow
              ticks={MINUTE_TICKS.map((m) => now - m)}
              tickFormatter={(t: number) => formatAgoTick(t, now)}
              stroke={COLORS.axis}
              tick={{ fill: COLORS.axis, fontSize: 12 }}
            />
            <YAxis
              scale="symlog"
              domain={[0, top]}
              allowDataOverflow
              ticks={yTicks}
              interval={0}
              width={64}
              tickFormatter={(v: number) => `${v} ms`}
              stroke={COLORS.axis}
              tick={{ fill: COLORS.axis, fontSize: 12 }}
            />
            <ReferenceLine y={WARN_MS} stroke={LINE_STYLES.warn.color} strokeWidth={LINE_STYLES.warn.width} strokeDasharray={LINE_STYLES.warn.dash} ifOverflow="extendDomain" />
            <ReferenceLine y={CRIT_MS} stroke={LINE_STYLES.crit.color} strokeWidth={LINE_STYLES.crit.width} strokeDasharray={LINE_STYLES.crit.dash} ifOverflow="extendDomain" />
            <Tooltip
              isAnimationActive={false}
              contentStyle={{ background: '#111722', border: '1px solid #3a4556', color: '#e8eef6' }}
              labelFormatter={(t) => formatClock(Number(t))}
              formatter={(v, name) => [formatMs(typeof v === 'number' ? v : null), String(name)]}
            />
            <Line type="linear" dataKey="p50" name="p50" stroke={LINE_STYLES.p50.color} strokeWidth={LINE_STYLES.p50.width} dot={false} isAnimationActive={false} />
            <Line
              type="linear"
              dataKey="p95"
              name="p95"
              stroke={LINE_STYLES.p95.color}
              strokeWidth={LINE_STYLES.p95.width}
              strokeDasharray={LINE_STYLES.p95.dash}
              dot={false}
              isAnimationActive={false}
            />
          </LineChart>
        </ResponsiveContainer>
      </div>
    </figure>
  );
});
