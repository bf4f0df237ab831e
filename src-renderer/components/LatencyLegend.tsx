import { LINE_STYLES, type LineStyle } from '../chart-style';

/** Each line of the latency chart with a sample of its own colour and dash. */
export function LatencyLegend() {
  return (
    <p className="legend" data-testid="latency-legend">
      {Object.entries(LINE_STYLES).map(([key, style]) => (
        <span key={key} className="legend-item" data-line={key} data-color={style.color} data-dash={style.dash ?? 'solid'}>
          <Swatch style={style} />
          {style.label}
        </span>
      ))}
    </p>
  );
}

function Swatch({ style }: { style: LineStyle }) {
  return (
    <svg className="legend-swatch" width="30" height="10" viewBox="0 0 30 10" aria-hidden="true">
      <line x1="0" y1="5" x2="30" y2="5" stroke={style.color} strokeWidth={style.width + 0.5} strokeDasharray={style.dash} strokeLinecap="round" />
    </svg>
  );
}
