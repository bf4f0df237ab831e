// How the latency chart draws its lines, in one place for the chart and its legend: p50, p95
// and the spec's two thresholds are told apart by colour and by dash, so neither colour
// vision nor a grey printout is needed to read them.
import { HEALTH_THRESHOLDS } from '../src-shared/metrics';

export interface LineStyle {
  label: string;
  color: string;
  /** SVG stroke-dasharray; undefined for a solid line. */
  dash: string | undefined;
  width: number;
}

export const LINE_STYLES = {
  p50: { label: 'p50', color: '#7cc4ff', dash: undefined, width: 2 },
  p95: { label: 'p95', color: '#d69cff', dash: '1 3', width: 2.5 },
  warn: { label: `${HEALTH_THRESHOLDS.ackP95Ms.warning} ms: warning`, color: '#ffc53d', dash: '10 5', width: 1.5 },
  crit: { label: `${HEALTH_THRESHOLDS.ackP95Ms.critical} ms: critical`, color: '#ff6b6b', dash: '10 5', width: 1.5 },
} as const satisfies Record<string, LineStyle>;
