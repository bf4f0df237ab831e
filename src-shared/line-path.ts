// The SVG path of one latency series (p50 or p95) over time, for the report's chart and the
// dashboard's: straight segments between points, a gap wherever a point has no value.
import type { LatencyPoint } from './bridge';

export function latencyLinePath(points: readonly LatencyPoint[], key: 'p50' | 'p95', x: (t: number) => number, y: (v: number) => number): string {
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
}
