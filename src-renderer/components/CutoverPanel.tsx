import { useState } from 'react';
import {
  CUTOVER_DEFAULT_WINDOW_MS,
  CUTOVER_WINDOW_MAX_MS,
  CUTOVER_WINDOW_MIN_MS,
  WINDOW_EXPECTED,
  parseDuration,
  type CutoverRequest,
  type CutoverStepStatus,
  type CutoverView,
} from '../../src-shared/cutover';
import { isBackendName, isWsUrl } from '../../src-shared/settings';
import { useDashboard } from '../context';
import { formatClock, formatCount, formatDuration, formatMs, formatPct } from '../format';
import { PARITY_WORDS, parityTone } from '../health';

const STATUS_WORDS: Record<CutoverStepStatus, string> = {
  pending: 'to do',
  running: 'waiting for its effect',
  done: 'confirmed',
  skipped: 'skipped',
  failed: 'not confirmed',
  undone: 'rolled back',
};

const PHASE_WORDS: Record<CutoverView['phase'], string> = {
  running: 'Running',
  paused: 'Paused',
  failed: 'Stopped at a step that was not confirmed',
  completed: 'Completed',
  aborted: 'Aborted',
  'rolling-back': 'Rolling back',
};

const STARTABLE: readonly CutoverView['phase'][] = ['completed', 'aborted'];

/**
 * The guided cutover. The relay runs the procedure and keeps its record; this panel starts it,
 * shows each step as the relay confirms it with the figures of both backends, and offers the
 * operator's buttons: pause, resume, retry, roll back, abort, remove the old backend.
 */
export function CutoverPanel() {
  const cutover = useDashboard((s) => s.state?.cutover ?? null);
  const readOnly = useDashboard((s) => s.readOnly !== null);
  return (
    <section className="panel cutover" data-testid="cutover-panel" aria-labelledby="cutover-title" data-phase={cutover?.phase ?? 'none'}>
      <h2 id="cutover-title">Cutover</h2>
      {cutover && <CutoverProgress cutover={cutover} readOnly={readOnly} />}
      {(!cutover || STARTABLE.includes(cutover.phase)) && <CutoverForm readOnly={readOnly} />}
    </section>
  );
}

function CutoverForm({ readOnly }: { readOnly: boolean }) {
  const primary = useDashboard((s) => {
    const st = s.state?.settings;
    const b = st?.backends[st.primaryIndex];
    return b ? `#${st?.primaryIndex} ${b.name ? `${b.name} (${b.url})` : b.url}` : null;
  });
  const pending = useDashboard((s) => s.pendingCutover);
  const run = useDashboard((s) => s.cutover);
  const [to, setTo] = useState('');
  const [name, setName] = useState('');
  const [token, setToken] = useState('');
  const [windowText, setWindowText] = useState(`${CUTOVER_DEFAULT_WINDOW_MS / 60_000}m`);
  const [removeOld, setRemoveOld] = useState(false);
  const [touched, setTouched] = useState(false);

  const windowMs = parseDuration(windowText);
  const problems: string[] = [];
  if (!isWsUrl(to.trim())) problems.push(to.trim() === '' ? 'the new gateway\'s URL is empty; expected ws:// or wss://' : `"${to.trim()}" is not a ws:// or wss:// URL`);
  if (name.trim() !== '' && !isBackendName(name)) problems.push('the name: 1 to 40 characters, without commas');
  if (token !== '' && !/^[\x21-\x7e]+$/.test(token)) problems.push('the token: printable characters without spaces');
  if (windowMs === null || windowMs < CUTOVER_WINDOW_MIN_MS || windowMs > CUTOVER_WINDOW_MAX_MS) problems.push(`the window: got "${windowText}"; expected ${WINDOW_EXPECTED}`);

  const start = (): void => {
    setTouched(true);
    if (problems.length > 0 || windowMs === null) return;
    const request: CutoverRequest = { action: 'start', to: to.trim(), windowMs, removeOld, ...(name.trim() ? { name: name.trim() } : {}), ...(token ? { token } : {}) };
    void run(request);
  };

  return (
    <form
      className="cutover-form"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        start();
      }}
    >
      <p className="fine">
        Moves telemetry from the primary{primary ? ` (${primary})` : ''} to a new gateway, the blue/green playbook step by step: add it, send to both, hold until the relay&apos;s
        parity verdict has been healthy for the whole window, make it the primary, single mode, disable the old one{removeOld ? ', remove it' : ''}. Each step waits for
        its effect; you can pause, roll back or abort at any step.
      </p>
      <div className="cutover-fields">
        <div className="field">
          <label htmlFor="cutover-to">New gateway</label>
          <input id="cutover-to" data-testid="cutover-to" type="text" inputMode="url" spellCheck={false} autoComplete="off" placeholder="wss://gateway-b.example.com/relay" value={to} onChange={(e) => setTo(e.currentTarget.value)} />
        </div>
        <div className="field">
          <label htmlFor="cutover-name">Its name (optional)</label>
          <input id="cutover-name" data-testid="cutover-name" type="text" maxLength={40} autoComplete="off" value={name} onChange={(e) => setName(e.currentTarget.value)} />
        </div>
        <div className="field">
          <label htmlFor="cutover-token">Its token (optional)</label>
          <input id="cutover-token" data-testid="cutover-token" type="password" autoComplete="off" spellCheck={false} value={token} onChange={(e) => setToken(e.currentTarget.value)} />
        </div>
        <div className="field field-narrow">
          <label htmlFor="cutover-window">Parity window</label>
          <input id="cutover-window" data-testid="cutover-window" type="text" spellCheck={false} autoComplete="off" value={windowText} onChange={(e) => setWindowText(e.currentTarget.value)} />
        </div>
      </div>
      <label className="check">
        <input type="checkbox" data-testid="cutover-remove" checked={removeOld} onChange={(e) => setRemoveOld(e.currentTarget.checked)} />
        Remove the old backend at the end (its account stays in the report)
      </label>
      {touched && problems.length > 0 && (
        <ul className="field-errors" data-testid="cutover-form-error" role="alert">
          {problems.map((p) => (
            <li key={p}>{p}</li>
          ))}
        </ul>
      )}
      <div className="editor-actions">
        <button type="submit" className="primary" data-testid="cutover-start" disabled={pending || readOnly}>
          {pending ? 'Starting…' : 'Start cutover'}
        </button>
      </div>
    </form>
  );
}

function CutoverProgress({ cutover: c, readOnly }: { cutover: CutoverView; readOnly: boolean }) {
  const pending = useDashboard((s) => s.pendingCutover);
  const act = useDashboard((s) => s.cutover);
  const press = (action: Exclude<CutoverRequest, { action: 'start' }>['action']) => () => void act({ action });
  const hold = c.steps.find((s) => s.name === 'hold');
  const holding = c.current === 'hold' && hold?.status === 'running';
  const healthyFor = c.progress.healthyForMs;
  const holdPct = healthyFor === null ? 0 : Math.min(100, (healthyFor / c.windowMs) * 100);
  const tone = parityTone(c.progress.verdict);
  const removeDone = c.steps.find((s) => s.name === 'remove')?.status === 'done';
  const disabled = pending || readOnly;

  return (
    <div className="cutover-progress" data-testid="cutover-progress">
      <p className={`cutover-phase phase-${c.phase}`} data-testid="cutover-phase" data-phase={c.phase}>
        <strong>{PHASE_WORDS[c.phase]}</strong>: from {c.from.name ? `${c.from.name} (${c.from.url})` : c.from.url} to {c.to.name ? `${c.to.name} (${c.to.url})` : c.to.url}, window{' '}
        {formatDuration(c.windowMs)}
        {c.problem && <span className="cutover-problem"> · {c.problem}</span>}
      </p>
      <ol className="cutover-steps">
        {c.steps.map((s) => (
          <li key={s.name} className={`cutover-step step-${s.status}${c.current === s.name ? ' is-current' : ''}`} data-testid="cutover-step" data-step={s.name} data-status={s.status}>
            <span className="step-mark" aria-hidden="true">
              {s.status === 'done' ? '✓' : s.status === 'failed' ? '✗' : s.status === 'running' ? '…' : s.status === 'undone' ? '↶' : '·'}
            </span>
            <span className="step-title">{s.title}</span>
            <span className="step-status">{STATUS_WORDS[s.status]}</span>
            {s.detail && <span className="step-detail">{s.detail}</span>}
          </li>
        ))}
      </ol>
      {holding && (
        <div className="cutover-hold" data-testid="cutover-hold" data-healthy-ms={healthyFor ?? ''}>
          <div className="hold-caption">
            <span>
              Parity healthy for {healthyFor === null ? 'no time yet' : formatDuration(healthyFor)} of {formatDuration(c.windowMs)}
            </span>
            <span className={`tone-text-${tone}`}>{PARITY_WORDS[c.progress.verdict]}</span>
          </div>
          <div className="hold-track" role="meter" aria-label="Parity window" aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(holdPct)}>
            <div className="hold-fill" style={{ width: `${holdPct}%` }} />
          </div>
        </div>
      )}
      <table className="parity-table cutover-figures stack-table" data-testid="cutover-figures">
        <caption>
          Parity {PARITY_WORDS[c.progress.verdict].toLowerCase()}, drift {formatPct(c.progress.driftPct)}
          {c.progress.reasons.length > 0 ? `: ${c.progress.reasons.join('; ')}` : ''}
        </caption>
        <thead>
          <tr>
            <th scope="col">Backend</th>
            <th scope="col">State</th>
            <th scope="col">Delivered</th>
            <th scope="col">In flight</th>
            <th scope="col">Lost</th>
            <th scope="col">Drift</th>
            <th scope="col">Ack p50 / p95</th>
          </tr>
        </thead>
        <tbody>
          {c.progress.targets.map((t) => (
            <tr key={t.url} data-testid="cutover-target" data-url={t.url}>
              <th scope="row">{t.name ? `${t.name} (${t.url})` : t.url}</th>
              <td data-label="State">{t.state}</td>
              <td data-label="Delivered">{formatCount(t.delivered)}</td>
              <td data-label="In flight">{formatCount(t.inFlight)}</td>
              <td data-label="Lost">{formatCount(t.lost)}</td>
              <td data-label="Drift">{formatPct(t.driftPct)}</td>
              <td data-label="Ack p50 / p95">
                {formatMs(t.p50)} / {formatMs(t.p95)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="editor-actions cutover-actions">
        {c.phase === 'running' && (
          <button type="button" data-testid="cutover-pause" disabled={disabled} onClick={press('pause')}>
            Pause
          </button>
        )}
        {c.phase === 'paused' && (
          <button type="button" className="primary" data-testid="cutover-resume" disabled={disabled} onClick={press('resume')}>
            Resume
          </button>
        )}
        {c.phase === 'failed' && (
          <button type="button" className="primary" data-testid="cutover-retry" disabled={disabled} onClick={press('retry')}>
            Retry the step
          </button>
        )}
        {c.canRollBack && (
          <button type="button" data-testid="cutover-rollback" disabled={disabled} onClick={press('rollback')}>
            Roll back one step
          </button>
        )}
        {(c.phase === 'running' || c.phase === 'paused' || c.phase === 'failed') && (
          <button type="button" className="danger-quiet" data-testid="cutover-abort" disabled={disabled} onClick={press('abort')}>
            Abort
          </button>
        )}
        {c.phase === 'completed' && !removeDone && (
          <button type="button" data-testid="cutover-remove-old" disabled={disabled} onClick={press('remove')}>
            Remove the old backend
          </button>
        )}
      </div>
      <details className="cutover-record">
        <summary>Record (the latest entries; the parity report keeps all of it)</summary>
        <ol>
          {c.events.map((e, i) => (
            <li key={`${e.at}:${i}`}>
              <time dateTime={new Date(e.at).toISOString()}>{formatClock(e.at)}</time> {e.step ? `${e.step}: ` : ''}
              {e.kind}: {e.detail} <span className="fine">(parity {e.parity.verdict})</span>
            </li>
          ))}
        </ol>
      </details>
    </div>
  );
}
