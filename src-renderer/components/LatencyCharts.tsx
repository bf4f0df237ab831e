import { memo, useLayoutEffect, useMemo, useRef, useState, type MouseEvent, type RefObject } from 'react';
import type { LatencyPoint } from '../../src-shared/bridge';
import { latencyLinePath } from '../../src-shared/line-path';
import { HEALTH_THRESHOLDS } from '../../src-shared/metrics';
import { maskUrl } from '../../src-shared/settings';
import { useDashboard } from '../context';
import { formatAgoTick, formatClock, formatMs } from '../format';
import { CHART_WINDOW_MS } from '../store';
import { LINE_STYLES, type LineStyle } from '../chart-style';
import { LatencyLegend } from './LatencyLegend';

const WARN_MS = HEALTH_THRESHOLDS.ackP95Ms.warning;
const CRIT_MS = HEALTH_THRESHOLDS.ackP95Ms.critical;
const COLORS = { grid: '#2a3342', axis: '#9aa7b8' };
const MINUTE_TICKS = [5, 4, 3, 2, 1, 0].map((m) => m * 60_000);
/** Room for the axes' labels around the plot, in CSS pixels. */
const MARGIN = { left: 68, right: 14, top: 8, bottom: 24 };

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

/** d3's symmetric log with constant 1: like a log scale, but with a place for 0. */
const symlog = (v: number): number => Math.sign(v) * Math.log1p(Math.abs(v));

/** The width and height of an element, kept up to date by a ResizeObserver (it fires on resizes only). */
function useSize<T extends Element>(): [RefObject<T | null>, { width: number; height: number }] {
  const ref = useRef<T>(null);
  const [size, setSize] = useState({ width: 0, height: 0 });
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return undefined;
    const measure = () => {
      const r = el.getBoundingClientRect();
      const next = { width: Math.round(r.width), height: Math.round(r.height) };
      setSize((s) => (s.width === next.width && s.height === next.height ? s : next));
    };
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(el);
    return () => observer.disconnect();
  }, []);
  return [ref, size];
}

const lineProps = (style: LineStyle) => ({ stroke: style.color, strokeWidth: style.width, strokeDasharray: style.dash, fill: 'none' });

/**
 * p50 and p95 against the spec's 100 ms and 500 ms lines, on a symmetric-log scale: loopback
 * acks take well under a millisecond and WAN ones tens, and both must stay readable on the
 * same axis as 500 ms (symlog, unlike log, has a place for 0).
 *
 * Drawn as plain SVG here rather than with a chart library: recharts rebuilt its whole tree
 * of components for every chart every second, nearly half of the dashboard's CPU in Chromium
 * (CPU a racer wants for the sim). Here a second's update changes two paths' `d`; the axes'
 * labels are relative ("-4 min") and stay put.
 */
export const LatencyChart = memo(function LatencyChart({ url, name = null, points, now }: { url: string; name?: string | null; points: readonly LatencyPoint[]; now: number }) {
  const from = now - CHART_WINDOW_MS;
  const [box, { width, height }] = useSize<HTMLDivElement>();
  const [hover, setHover] = useState<LatencyPoint | null>(null);
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

  const left = MARGIN.left;
  const right = Math.max(left + 1, width - MARGIN.right);
  const plotTop = MARGIN.top;
  const bottom = Math.max(plotTop + 1, height - MARGIN.bottom);
  const x = (t: number): number => left + ((t - from) / (now - from)) * (right - left);
  // Beyond the top (a point above the scale) is drawn at the edge, as recharts' allowDataOverflow clipped it.
  const y = (v: number): number => bottom - (Math.min(symlog(v), symlog(top)) / symlog(top)) * (bottom - plotTop);

  const onMove = (e: MouseEvent<SVGRectElement>): void => {
    const rect = e.currentTarget.getBoundingClientRect();
    const t = from + ((e.clientX - rect.left) / Math.max(1, rect.width)) * (now - from);
    let best: LatencyPoint | null = null;
    for (const p of data) if (best === null || Math.abs(p.t - t) < Math.abs(best.t - t)) best = p;
    setHover(best);
  };

  return (
    <figure className="chart" data-testid="latency-chart" data-url={maskUrl(url)} data-points={shown}>
      <figcaption title={label}>{label}</figcaption>
      {shown === 0 && <p className="chart-empty">No acks yet: points appear once the gateway acknowledges sampled frames.</p>}
      <div className="chart-box" ref={box} style={{ position: 'relative' }}>
        {width > 0 && height > 0 && (
          <svg width={width} height={height} role="img" aria-label={`ack latency p50 and p95 of ${label}, last 5 minutes`}>
            {yTicks.map((v) => (
              <g key={v}>
                <line x1={left} x2={right} y1={y(v)} y2={y(v)} stroke={COLORS.grid} strokeDasharray="3 4" />
                <text x={left - 8} y={y(v)} dy="0.32em" textAnchor="end" fill={COLORS.axis} fontSize={12}>{`${v} ms`}</text>
              </g>
            ))}
            <line x1={left} x2={left} y1={plotTop} y2={bottom} stroke={COLORS.axis} />
            <line x1={left} x2={right} y1={bottom} y2={bottom} stroke={COLORS.axis} />
            {MINUTE_TICKS.map((m) => (
              <text key={m} x={x(now - m)} y={bottom + 16} textAnchor={m === 0 ? 'end' : 'middle'} fill={COLORS.axis} fontSize={12}>
                {formatAgoTick(now - m, now)}
              </text>
            ))}
            <line x1={left} x2={right} y1={y(WARN_MS)} y2={y(WARN_MS)} {...lineProps(LINE_STYLES.warn)} />
            <line x1={left} x2={right} y1={y(CRIT_MS)} y2={y(CRIT_MS)} {...lineProps(LINE_STYLES.crit)} />
            <path className="latency-line" data-line="p50" d={latencyLinePath(data, 'p50', x, y)} {...lineProps(LINE_STYLES.p50)} />
            <path className="latency-line" data-line="p95" d={latencyLinePath(data, 'p95', x, y)} {...lineProps(LINE_STYLES.p95)} />
            {hover && <line x1={x(hover.t)} x2={x(hover.t)} y1={plotTop} y2={bottom} stroke={COLORS.axis} strokeDasharray="2 3" />}
            <rect x={left} y={plotTop} width={right - left} height={bottom - plotTop} fill="transparent" onMouseMove={onMove} onMouseLeave={() => setHover(null)} />
          </svg>
        )}
        {hover && (
          <div
            role="status"
            style={{
              position: 'absolute',
              top: MARGIN.top,
              left: Math.min(Math.max(left, x(hover.t) + 8), Math.max(left, width - 150)),
              background: '#111722',
              border: '1px solid #3a4556',
              color: '#e8eef6',
              padding: '0.3rem 0.5rem',
              fontSize: '0.85rem',
              pointerEvents: 'none',
              whiteSpace: 'nowrap',
            }}
          >
            <div>{formatClock(hover.t)}</div>
            <div style={{ color: LINE_STYLES.p50.color }}>p50 {formatMs(hover.p50)}</div>
            <div style={{ color: LINE_STYLES.p95.color }}>p95 {formatMs(hover.p95)}</div>
          </div>
        )}
      </div>
    </figure>
  );
});
