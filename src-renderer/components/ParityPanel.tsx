import { HEALTH_THRESHOLDS } from '../../src-shared/metrics';
import { maskUrl } from '../../src-shared/settings';
import { useDashboard } from '../context';
import { formatCount, formatDuration, formatPct } from '../format';
import { TONE_WORDS, driftBoundsText, driftTone, isInactive } from '../health';
import { parityComparable } from '../store';

/** The cutover playbook's "verify parity for 2 minutes", read off the screen. */
export const PARITY_CHECK_MS = 2 * 60_000;

export function ParityPanel() {
  const state = useDashboard((s) => s.state);
  const healthySince = useDashboard((s) => s.parityHealthySince);
  const status = useDashboard((s) => s.status);
  if (!state) return null;

  const { parity } = state;
  const comparable = parityComparable(state);
  const verdict = parity.verdict.status;
  const healthyFor = healthySince === null ? null : state.at - healthySince;
  const passed = healthyFor !== null && healthyFor >= PARITY_CHECK_MS;
  const tone = comparable ? driftTone(parity.driftPct) : 'inactive';
  const activeByUrl = new Map(state.targets.targets.map((t) => [t.url, !isInactive(t.state)]));

  let headline: string;
  if (state.targets.killSwitch) headline = 'Not measured: the kill switch is on, nothing is sent.';
  else if (!comparable) headline = 'Not measured: parity compares two or more targets sending at once (parallel mode, both enabled).';
  else headline = `${TONE_WORDS[verdict]}: largest drift ${formatPct(parity.driftPct)}`;

  let check: string;
  if (!comparable) check = '2-minute parity check: waiting for two active targets.';
  else if (status !== 'open') check = '2-minute parity check: paused while the connection to the relay is down.';
  else if (healthyFor === null) check = `2-minute parity check: not passing, drift must stay under ${HEALTH_THRESHOLDS.driftPct.warning}%.`;
  else if (passed) check = `2-minute parity check: passed. Healthy for ${formatDuration(healthyFor)} without a break.`;
  else check = `2-minute parity check: healthy for ${formatDuration(healthyFor)}, ${formatDuration(PARITY_CHECK_MS - healthyFor)} to go.`;

  return (
    <section className="panel parity" data-testid="parity-panel" aria-labelledby="parity-title" data-verdict={comparable ? verdict : 'not-measured'}>
      <h2 id="parity-title">Parity</h2>
      <p className={`parity-verdict tone-text-${tone}`} data-testid="parity-verdict">
        {headline}
      </p>
      <p
        className={`parity-check ${passed ? 'is-passed' : ''}`}
        data-testid="parity-healthy-for"
        data-ms={healthyFor ?? ''}
        data-passed={passed ? 'true' : 'false'}
      >
        {check}
      </p>
      <table className="parity-table">
        <thead>
          <tr>
            <th scope="col">Target</th>
            <th scope="col">Frames given</th>
            <th scope="col">Sent</th>
            <th scope="col">Acked</th>
            <th scope="col">Failed</th>
            <th scope="col">Dropped</th>
            <th scope="col">Queued</th>
            <th scope="col">Drift</th>
          </tr>
        </thead>
        <tbody>
          {parity.perTarget.map((p, i) => {
            const active = activeByUrl.get(p.url) ?? true;
            const rowTone = comparable && active ? driftTone(p.driftPct) : 'inactive';
            return (
              <tr key={`${i}:${p.url}`} data-testid="parity-row" data-url={maskUrl(p.url)}>
                <th scope="row" className="parity-url">
                  {maskUrl(p.url)}
                  {!active && <span className="badge badge-quiet">not sending</span>}
                </th>
                <td>{formatCount(p.produced)}</td>
                <td data-testid="parity-sent">{formatCount(p.sent)}</td>
                <td>{formatCount(p.acked)}</td>
                <td>{formatCount(p.failed)}</td>
                <td>{formatCount(p.dropped)}</td>
                <td>{formatCount(p.queued)}</td>
                <td data-testid="parity-drift" className={`tone-text-${rowTone}`}>
                  {formatPct(p.driftPct)}
                </td>
              </tr>
            );
          })}
        </tbody>
        <tfoot>
          <tr>
            <th scope="row">All targets</th>
            <td />
            <td>{formatCount(parity.totalSent)}</td>
            <td>{formatCount(parity.totalAcked)}</td>
            <td>{formatCount(parity.totalFailed)}</td>
            <td>{formatCount(parity.totalDropped)}</td>
            <td />
            <td className={`tone-text-${tone}`}>{formatPct(parity.driftPct)}</td>
          </tr>
        </tfoot>
      </table>
      <p className="fine">
        Drift: how far a target&apos;s share of delivered frames falls behind the best target&apos;s. Spec: {driftBoundsText()}.
        {parity.verdict.reasons.length > 0 && ` ${parity.verdict.reasons.join('; ')}.`}
      </p>
    </section>
  );
}
