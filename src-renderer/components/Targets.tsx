import { memo, useState } from 'react';
import type { TargetView } from '../../src-shared/debug-api';
import type { DashboardSettings } from '../../src-shared/bridge';
import { noDeliveryProblem, validateBackendEdits, type BackendEdit } from '../../src-shared/bridge';
import { HEALTH_THRESHOLDS } from '../../src-shared/metrics';
import { describeReasons } from '../../src-shared/report';
import { maskUrl } from '../../src-shared/settings';
import { useDashboard } from '../context';
import { describeTargetState, formatBytes, formatCount, formatMs, formatPct, formatRelative, formatWait } from '../format';
import { TONE_WORDS, driftTone, latencyTone, queueTone, targetTone } from '../health';
import { NowhereConfirm } from './NowhereConfirm';

export function Targets() {
  const targets = useDashboard((s) => s.state?.targets.targets);
  const removed = useDashboard((s) => s.state?.targets.removed);
  const now = useDashboard((s) => s.state?.at ?? 0);
  if (!targets) return null;
  return (
    <section className="panel" aria-labelledby="targets-title">
      <h2 id="targets-title">Targets</h2>
      {targets.length === 0 ? (
        <p className="empty">No backends configured: telemetry is not sent anywhere. Add one in the editor below.</p>
      ) : (
        <ol className="targets">
          {targets.map((t, i) => (
            <TargetRow key={`${i}:${t.url}`} target={t} index={i} now={now} />
          ))}
        </ol>
      )}
      {removed && removed.length > 0 && <RemovedTargets removed={removed} />}
    </section>
  );
}

/** Backends removed during this run, as they stood when removed: muted, their proof is in the report. */
function RemovedTargets({ removed }: { removed: readonly TargetView[] }) {
  return (
    <table className="removed-targets stack-table" data-testid="removed-targets">
      <caption>Removed during this run (as they stood when removed; the report keeps their proof)</caption>
      <thead>
        <tr>
          <th scope="col">Backend</th>
          <th scope="col">Delivered (confirmed by the gateway)</th>
          <th scope="col">In flight</th>
          <th scope="col">Queued</th>
          <th scope="col">Dropped</th>
          <th scope="col">Lost</th>
        </tr>
      </thead>
      <tbody>
        {removed.map((t, i) => (
          <tr key={`${i}:${t.url}`} data-testid="removed-row" data-url={maskUrl(t.url)}>
            <th scope="row">
              {t.name && <span className="backend-name">{t.name} </span>}
              {maskUrl(t.url)}
            </th>
            <td data-label="Delivered (confirmed)" data-testid="removed-delivered">{formatCount(t.counters.delivered)}</td>
            <td data-label="In flight">{formatCount(t.counters.inFlight)}</td>
            <td data-label="Queued">{formatCount(t.counters.queued)}</td>
            <td data-label="Dropped" title={`dropped: ${describeReasons(t.droppedBy)}`}>
              {formatCount(t.counters.dropped)}
            </td>
            <td data-label="Lost" data-testid="removed-lost" title={`lost: ${describeReasons(t.lostBy)}`}>
              {formatCount(t.counters.lost)}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

const TargetRow = memo(function TargetRow({ target: t, index, now }: { target: TargetView; index: number; now: number }) {
  const tone = targetTone(t);
  const url = maskUrl(t.url);
  return (
    <li className={`target tone-${tone}`} data-testid="target-row" data-index={index} data-url={url} data-state={t.state} data-tone={tone}>
      <header className="target-head">
        <span className={`state-pill tone-${tone}`} data-testid="target-state">
          <span className="dot" aria-hidden="true" />
          {describeTargetState(t.state, t.nextRetryMs)}
          <span className="visually-hidden">, {TONE_WORDS[tone].toLowerCase()}</span>
        </span>
        <span className="backend-number" data-testid="target-number">
          #{index}
        </span>
        {t.primary && <span className="badge">primary</span>}
        {t.gateway && <span className="badge badge-quiet">gateway {t.gateway}</span>}
        <span className="spacer" />
        <EnabledToggle index={index} enabled={t.enabled} url={url} />
      </header>
      {t.name && (
        <p className="target-name" data-testid="target-name">
          {t.name}
        </p>
      )}
      <p className="target-url" data-testid="target-url" title={url}>
        {url}
      </p>

      <dl className="counters">
        <Counter label="Delivered" note="confirmed by the gateway" testId="target-delivered" value={t.counters.delivered} />
        <Counter label="In flight" note="not confirmed yet" testId="target-in-flight" value={t.counters.inFlight} />
        <Counter label="Dropped" note="never written" testId="target-dropped" value={t.counters.dropped} warn={t.counters.dropped > 0} />
        <Counter label="Lost" note="written, never confirmed" testId="target-lost" value={t.counters.lost} warn={t.counters.lost > 0} />
      </dl>
      <p className="fine spec-counters" data-testid="target-spec-counters">
        Spec counters: sent <span data-testid="target-sent" data-value={t.counters.sent}>{formatCount(t.counters.sent)}</span> · acked{' '}
        <span data-testid="target-acked" data-value={t.counters.acked}>
          {formatCount(t.counters.acked)}
        </span>{' '}
        · queued <span data-testid="target-queued" data-value={t.counters.queued}>{formatCount(t.counters.queued)}</span>
        {t.counters.resent > 0 && ` · resent after a reconnect ${formatCount(t.counters.resent)}`}
      </p>
      {(t.counters.dropped > 0 || t.counters.lost > 0) && (
        <p className="fine" data-testid="target-loss-reasons">
          Dropped: {describeReasons(t.droppedBy)} · Lost: {describeReasons(t.lostBy)}
        </p>
      )}

      <QueueBar size={t.queueSize} bytes={t.queueBytes} />

      <dl className="facts">
        <div>
          <dt>Last confirmation</dt>
          <dd data-testid="target-last-confirm">{formatRelative(t.lastConfirmMs, now)}</dd>
        </div>
        <div>
          <dt>Oldest unconfirmed</dt>
          <dd data-testid="target-oldest-unconfirmed">{t.oldestUnconfirmedMs === null ? 'none in flight' : formatWait(t.oldestUnconfirmedMs)}</dd>
        </div>
        <div>
          <dt>Last ack latency</dt>
          <dd data-testid="target-last-ack" className={`tone-text-${latencyTone(t.lastAckLatencyMs)}`}>
            {formatMs(t.lastAckLatencyMs)}
          </dd>
        </div>
        <div>
          <dt>Ack p50 / p95</dt>
          <dd data-testid="target-latency" className={`tone-text-${latencyTone(t.ackLatency.p95)}`}>
            {formatPair(t.ackLatency.p50, t.ackLatency.p95)}
          </dd>
        </div>
        <div>
          <dt>Drift</dt>
          <dd data-testid="target-drift" className={`tone-text-${tone === 'inactive' ? 'inactive' : driftTone(t.driftPct)}`}>
            {formatPct(t.driftPct)}
          </dd>
        </div>
      </dl>

      <p className={`last-error ${t.lastError ? 'has-error' : ''}`} data-testid="target-last-error">
        <span className="label">Last error: </span>
        {t.lastError ?? 'none'}
      </p>
      {t.health.reasons.length > 0 && (
        <ul className="reasons" data-testid="target-reasons">
          {t.health.reasons.map((r) => (
            <li key={r}>{r}</li>
          ))}
        </ul>
      )}
    </li>
  );
});

function Counter({ label, note, value, testId, warn = false }: { label: string; note: string; value: number; testId: string; warn?: boolean }) {
  return (
    <div className={`counter ${warn ? 'counter-warn' : ''}`}>
      <dt>
        {label} <span className="counter-note">({note})</span>
      </dt>
      <dd data-testid={testId} data-value={value}>
        {formatCount(value)}
      </dd>
    </div>
  );
}

const QUEUE_SCALE = HEALTH_THRESHOLDS.queueSize.critical * (4 / 3);

/**
 * The queue against the spec's 100 and 300 marks; beyond the scale the bar stays full. The
 * relay's queueSize holds every frame not yet confirmed: waiting to be written and in flight.
 */
function QueueBar({ size, bytes }: { size: number; bytes: number }) {
  const tone = queueTone(size);
  const pct = (v: number): string => `${Math.min(100, (v / QUEUE_SCALE) * 100)}%`;
  const { warning, critical } = HEALTH_THRESHOLDS.queueSize;
  return (
    <div className="queue" data-testid="target-queue" data-value={size} data-tone={tone}>
      <div className="queue-caption">
        <span>Queue (waiting + in flight)</span>
        <span className={`queue-value tone-text-${tone}`}>
          {formatCount(size)} frames · {formatBytes(bytes)}
        </span>
      </div>
      <div
        className="queue-track"
        role="meter"
        aria-label={`Queue: ${size} frames waiting or in flight; warning at ${warning}, critical at ${critical}`}
        aria-valuemin={0}
        aria-valuemax={QUEUE_SCALE}
        aria-valuenow={Math.min(size, QUEUE_SCALE)}
      >
        <div className={`queue-fill tone-bg-${tone}`} style={{ width: pct(size) }} />
        <div className="queue-mark" style={{ left: pct(warning) }} title={`${warning}: warning`} />
        <div className="queue-mark queue-mark-critical" style={{ left: pct(critical) }} title={`${critical}: critical`} />
      </div>
      <div className="queue-scale" aria-hidden="true">
        <span style={{ left: pct(warning) }}>{warning}</span>
        <span style={{ left: pct(critical) }}>{critical}</span>
      </div>
    </div>
  );
}

function EnabledToggle({ index, enabled, url }: { index: number; enabled: boolean; url: string }) {
  const settings = useDashboard((s) => s.state?.settings);
  const pending = useDashboard((s) => s.pendingSettings);
  const update = useDashboard((s) => s.updateSettings);
  const reportLocalError = useDashboard((s) => s.reportLocalError);
  const [confirm, setConfirm] = useState<{ backends: BackendEdit[]; text: string } | null>(null);

  const onChange = (next: boolean): void => {
    if (!settings) return;
    const backends = withEnabled(settings, index, next);
    // The same rules the relay applies, before anything is sent.
    const problems = validateBackendEdits(backends, settings.primaryIndex);
    if (problems.length > 0) {
      reportLocalError('settings', `Backend #${index} was not ${next ? 'enabled' : 'disabled'}`, problems);
      return;
    }
    // Disabling the primary in single mode, or the last enabled backend, sends nowhere: asked first.
    const nowhere = noDeliveryProblem(backends, settings.primaryIndex, settings.mode);
    if (nowhere) {
      setConfirm({ backends, text: nowhere });
      return;
    }
    void update({ backends });
  };

  return (
    <>
      {confirm && (
        <NowhereConfirm
          text={confirm.text}
          pending={pending}
          onConfirm={() => {
            setConfirm(null);
            void update({ backends: confirm.backends, force: true });
          }}
          onCancel={() => setConfirm(null)}
        />
      )}
      <Toggle enabled={enabled} disabled={pending || !settings} url={url} onChange={onChange} />
    </>
  );
}

function Toggle({ enabled, disabled, url, onChange }: { enabled: boolean; disabled: boolean; url: string; onChange: (next: boolean) => void }) {
  return (
    <label className="toggle">
      <input
        type="checkbox"
        role="switch"
        data-testid="target-enabled"
        checked={enabled}
        disabled={disabled}
        aria-label={`Enabled: ${url}`}
        onChange={(e) => onChange(e.currentTarget.checked)}
      />
      <span className="toggle-track" aria-hidden="true">
        <span className="toggle-thumb" />
      </span>
      <span className="toggle-text">{enabled ? 'Enabled' : 'Disabled'}</span>
    </label>
  );
}

/** "0.4 / 0.6 ms" rather than "0.4 ms / 0.6 ms": it fits the card on one line. */
function formatPair(p50: number | null, p95: number | null): string {
  const a = formatMs(p50);
  const b = formatMs(p95);
  return a.endsWith(' ms') && b.endsWith(' ms') ? `${a.slice(0, -3)} / ${b}` : `${a} / ${b}`;
}

function withEnabled(settings: DashboardSettings, index: number, enabled: boolean) {
  // No token field: the relay keeps each backend's token as it is.
  return settings.backends.map((b, i) => ({ url: b.url, enabled: i === index ? enabled : b.enabled, ...(b.name ? { name: b.name } : {}) }));
}
