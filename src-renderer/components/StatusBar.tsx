import { useState } from 'react';
import { useDashboard } from '../context';
import { downloadText } from '../download';
import { safeFileBase } from '../../src-shared/report';
import { formatClock, formatCount, formatDuration } from '../format';
import { READ_ONLY_MESSAGE } from '../store';
import { NO_DELIVERY_MESSAGE as NO_DELIVERY_WORDS } from '../../src-shared/debug-api';

const STATUS_WORDS = { connecting: 'Connecting…', open: 'Live', reconnecting: 'Reconnecting…' } as const;

export function StatusBar() {
  const health = useDashboard((s) => s.state?.health);
  const status = useDashboard((s) => s.status);
  return (
    <header className="topbar">
      <h1>
        Relay Agent <span className="version">{health ? `v${health.version}` : ''}</span>
      </h1>
      <span className={`pill conn-${status}`} data-testid="connection-status" data-status={status} role="status">
        <span className="dot" aria-hidden="true" />
        {STATUS_WORDS[status]}
      </span>
      {health && (
        <span className={`pill tone-${health.status === 'killed' ? 'inactive' : health.status}`} data-testid="health-status" data-status={health.status}>
          {health.status === 'killed' ? 'Killed' : health.status[0]?.toUpperCase() + health.status.slice(1)}
        </span>
      )}
      {health && (
        <span className="meta">
          {health.source ? `Source: ${health.source.kind}, ${health.source.state}, ${formatCount(health.source.framesProduced)} frames` : 'No source'}
          {health.sessionId ? ` · session ${health.sessionId}` : ''} · up {formatDuration(health.uptimeMs)}
        </span>
      )}
      <span className="spacer" />
      <ExportReport />
    </header>
  );
}

export function ExportReport() {
  const pending = useDashboard((s) => s.pendingReport);
  const exportReport = useDashboard((s) => s.exportReport);
  const saveReport = useDashboard((s) => s.saveReport);
  const savesFiles = useDashboard((s) => s.savesFiles);
  const [saved, setSaved] = useState<string | null>(null);
  const onClick = async (): Promise<void> => {
    setSaved(null);
    if (savesFiles) {
      const result = await saveReport();
      if (result && 'files' in result) setSaved(result.files.join(' and '));
      return;
    }
    const report = await exportReport();
    if (!report) return;
    const base = safeFileBase(report.fileBase);
    downloadText(`${base}.json`, report.json, 'application/json');
    downloadText(`${base}.html`, report.html, 'text/html');
    setSaved(`${base}.json and .html`);
  };
  return (
    <span className="export">
      <button type="button" data-testid="export-report" onClick={() => void onClick()} disabled={pending} aria-busy={pending}>
        {pending ? 'Preparing report…' : 'Export parity report'}
      </button>
      {saved && (
        <span className="fine" role="status" data-testid="export-done">
          Saved {saved}
        </span>
      )}
    </span>
  );
}

export function Banners() {
  const readOnly = useDashboard((s) => s.readOnly);
  const status = useDashboard((s) => s.status);
  const at = useDashboard((s) => s.state?.at ?? null);
  const loadError = useDashboard((s) => s.loadError);
  const reasons = useDashboard((s) => s.state?.health.reasons);
  const healthStatus = useDashboard((s) => s.state?.health.status);
  const nowhere = reasons?.find((r) => r.startsWith(NO_DELIVERY_WORDS));
  return (
    <>
      {readOnly && (
        <div className="banner banner-info" data-testid="readonly-banner" data-reason={readOnly} role="note">
          <strong>{READ_ONLY_MESSAGE}.</strong>
          {readOnly === 'refused' && ' The relay refused this page’s secret: it changes each time the relay starts.'}
          <span> Everything here stays visible.</span>
        </div>
      )}
      {at === null && loadError && (
        <div className="banner banner-warn" data-testid="connection-banner" role="alert">
          Cannot reach the relay: {loadError}. Retrying.
        </div>
      )}
      {at !== null && status !== 'open' && (
        <div className="banner banner-warn" data-testid="connection-banner" role="alert">
          Connection to the relay lost; reconnecting. The figures below are as of {formatClock(at)}.
        </div>
      )}
      <ActionError />
      {nowhere && (
        <section className="banner banner-critical" data-testid="nowhere-banner" role="alert">
          <h2>Telemetry is going nowhere</h2>
          <p>{nowhere.slice(NO_DELIVERY_WORDS.length).replace(/^:\s*/, '')}</p>
        </section>
      )}
      {reasons && reasons.length > 0 && (
        // Remarks at warning or worse are shown open: they are the reason the page is not green.
        <details className={`banner banner-reasons tone-${healthStatus === 'critical' ? 'critical' : 'warning'}`} data-testid="health-reasons" open={healthStatus === 'warning' || healthStatus === 'critical'}>
          <summary>
            {reasons.length} health {reasons.length === 1 ? 'remark' : 'remarks'}
          </summary>
          <ul>
            {reasons.map((r) => (
              <li key={r}>{r}</li>
            ))}
          </ul>
        </details>
      )}
    </>
  );
}

const ACTION_WORDS = {
  'kill-switch': 'The kill switch was not changed',
  settings: 'The settings were not changed',
  report: 'No report was exported',
  cutover: 'The cutover did not do that',
} as const;

function ActionError() {
  const error = useDashboard((s) => s.lastError);
  const dismiss = useDashboard((s) => s.dismissError);
  if (!error) return null;
  const refused = error.status === 403;
  return (
    <div className="banner banner-error" data-testid="action-error" data-status={error.status} data-action={error.action} role="alert">
      <div className="banner-body">
        <strong>
          {ACTION_WORDS[error.action]}
          {refused ? ' (refused: no valid secret)' : ''}.
        </strong>{' '}
        {/* The read-only note above already says how to get the secret: no need to repeat it here. */}
        {error.message === READ_ONLY_MESSAGE ? 'This page has no secret (see the note above).' : error.message}
        {error.problems.length > 0 && (
          <ul>
            {error.problems.map((p) => (
              <li key={p}>{p}</li>
            ))}
          </ul>
        )}
      </div>
      <button type="button" className="quiet" onClick={dismiss} aria-label="Dismiss this message">
        Dismiss
      </button>
    </div>
  );
}
