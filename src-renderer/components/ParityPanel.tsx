import { maskUrl } from '../../src-shared/settings';
import { useDashboard } from '../context';
import { formatCount, formatPct } from '../format';
import { PARITY_WORDS, describeParityCheck, driftBoundsText, driftTone, isInactive, parityTone } from '../health';

/**
 * The relay's parity verdict and its parity clock as they are: no verdict rule and no clock
 * of the dashboard's own, so the page, the tray and the report never disagree.
 */
export function ParityPanel() {
  const state = useDashboard((s) => s.state);
  const status = useDashboard((s) => s.status);
  if (!state) return null;

  const { parity } = state;
  const verdict = parity.verdict.status;
  const tone = parityTone(verdict);
  const check = describeParityCheck(parity, state.at, status === 'open');
  const passed = check.state === 'passed';
  const activeByUrl = new Map(state.targets.targets.map((t) => [t.url, !isInactive(t.state)]));
  const nameByUrl = new Map(state.targets.targets.map((t) => [t.url, t.name]));
  const numberByUrl = new Map(state.targets.targets.map((t, i) => [t.url, i]));

  const headline =
    verdict === 'no-data'
      ? 'No data: no confirmed deliveries yet, so nothing can be claimed.'
      : `${PARITY_WORDS[verdict]}: largest drift ${formatPct(parity.driftPct)} on deliveries confirmed by the gateways`;

  return (
    <section className="panel parity" data-testid="parity-panel" aria-labelledby="parity-title" data-verdict={verdict}>
      <h2 id="parity-title">Parity</h2>
      <p className={`parity-verdict tone-text-${tone}`} data-testid="parity-verdict">
        {headline}
      </p>
      {state.targets.killSwitch && <p className="fine">The kill switch is on: nothing is sent.</p>}
      {parity.verdict.reasons.length > 0 && (
        <ul className="reasons" data-testid="parity-reasons">
          {parity.verdict.reasons.map((r) => (
            <li key={r}>{r}</li>
          ))}
        </ul>
      )}
      <p
        className={`parity-check is-${check.state}`}
        data-testid="parity-healthy-for"
        data-state={check.state}
        data-ms={check.healthyForMs ?? ''}
        data-passed={passed ? 'true' : 'false'}
      >
        {check.text}
      </p>
      <table className="parity-table stack-table">
        <thead>
          <tr>
            <th scope="col">Target</th>
            <th scope="col">Frames given</th>
            <th scope="col" title="Delivered: confirmed by the gateway">
              Delivered <span className="th-note">(confirmed by the gateway)</span>
            </th>
            <th scope="col">In flight</th>
            <th scope="col">Queued</th>
            <th scope="col">Dropped</th>
            <th scope="col">Lost</th>
            <th scope="col" title="Spec: frames written at least once (delivered + in flight + lost)">
              Sent
            </th>
            <th scope="col" title="Spec: sampled frames whose ack came back">
              Acked
            </th>
            <th scope="col">Drift</th>
          </tr>
        </thead>
        <tbody>
          {parity.perTarget.map((p, i) => {
            const active = activeByUrl.get(p.url) ?? true;
            const rowTone = verdict !== 'no-data' && active ? driftTone(p.driftPct) : 'inactive';
            return (
              <tr key={`${i}:${p.url}`} data-testid="parity-row" data-url={maskUrl(p.url)} data-confirming={p.confirming ? 'true' : 'false'}>
                <th scope="row" className="parity-url">
                  {numberByUrl.has(p.url) && <span className="backend-number">#{numberByUrl.get(p.url)} </span>}
                  {nameByUrl.get(p.url) && <span className="backend-name">{nameByUrl.get(p.url)} </span>}
                  {maskUrl(p.url)}
                  {!active && <span className="badge badge-quiet">not sending</span>}
                  {active && !p.confirming && <span className="badge badge-quiet">no confirmations</span>}
                </th>
                <td data-label="Frames given">{formatCount(p.produced)}</td>
                <td data-label="Delivered (confirmed)" data-testid="parity-delivered">
                  {formatCount(p.delivered)}
                </td>
                <td data-label="In flight">{formatCount(p.inFlight)}</td>
                <td data-label="Queued">{formatCount(p.queued)}</td>
                <td data-label="Dropped">{formatCount(p.dropped)}</td>
                <td data-label="Lost" data-testid="parity-lost" className={p.lost > 0 ? 'tone-text-warning' : undefined}>
                  {formatCount(p.lost)}
                </td>
                <td data-label="Sent" data-testid="parity-sent">
                  {formatCount(p.sent)}
                </td>
                <td data-label="Acked">{formatCount(p.acked)}</td>
                <td data-label="Drift" data-testid="parity-drift" className={`tone-text-${rowTone}`}>
                  {formatPct(p.driftPct)}
                </td>
              </tr>
            );
          })}
        </tbody>
        <tfoot>
          <tr>
            <th scope="row">All targets</th>
            <td className="empty-cell" />
            <td data-label="Delivered (confirmed)">{formatCount(parity.totalDelivered)}</td>
            <td data-label="In flight">{formatCount(parity.totalInFlight)}</td>
            <td className="empty-cell" />
            <td data-label="Dropped">{formatCount(parity.totalDropped)}</td>
            <td data-label="Lost">{formatCount(parity.totalLost)}</td>
            <td data-label="Sent">{formatCount(parity.totalSent)}</td>
            <td data-label="Acked">{formatCount(parity.totalAcked)}</td>
            <td data-label="Largest drift" className={`tone-text-${tone}`}>
              {formatPct(parity.driftPct)}
            </td>
          </tr>
        </tfoot>
      </table>
      <p className="fine">
        Delivered: confirmed by the gateway. In flight: written, not confirmed yet. Lost: written, never confirmed, no longer resendable. Drift: how far a
        target&apos;s share of confirmed deliveries falls behind the best target&apos;s. Spec: {driftBoundsText()}.
      </p>
    </section>
  );
}
