import { BACKEND_MODES, backendLabel, variableOf } from '../../src-shared/settings';
import { noDeliveryProblem, validateBackendEdits, type SettingsUpdate } from '../../src-shared/bridge';
import { useEffect, useState } from 'react';
import { useDashboard, useDashboardStore } from '../context';
import { NowhereConfirm } from './NowhereConfirm';

const MODE_WORDS: Record<(typeof BACKEND_MODES)[number], string> = {
  single: 'Single: the primary only',
  parallel: 'Parallel: every enabled backend',
};

const MODE_VARIABLE = variableOf('mode');
const PRIMARY_VARIABLE = variableOf('primaryIndex');

/**
 * Mode and primary, changed live: each change is one POST, checked first with the relay's own
 * rules. Backends are numbered as RELAY_PRIMARY_INDEX counts them, from #0, everywhere.
 */
export function ModeControls() {
  const settings = useDashboard((s) => s.state?.settings);
  const pending = useDashboard((s) => s.pendingSettings);
  const update = useDashboard((s) => s.updateSettings);
  const reportLocalError = useDashboard((s) => s.reportLocalError);
  const store = useDashboardStore();
  // The value asked for, shown until the relay answers and the next snapshot tells the truth,
  // so the select does not snap back for half a second after each change. `answeredAt`: the
  // time of the last snapshot when the relay answered.
  const [asked, setAsked] = useState<{ change: SettingsUpdate; answeredAt: number | null } | null>(null);
  const [confirm, setConfirm] = useState<{ change: SettingsUpdate; text: string } | null>(null);
  // Snapshots keep the same settings object while nothing in it changes, so while a change
  // waits the panel follows the snapshots' time too (and only then: it would render every second).
  const snapshotAt = useDashboard((s) => (asked ? (s.state?.at ?? 0) : 0));
  useEffect(() => {
    setAsked((a) => (a && a.answeredAt !== null && snapshotAt > a.answeredAt ? null : a));
  }, [settings, snapshotAt]);
  if (!settings) return null;

  const send = (change: SettingsUpdate): void => {
    setConfirm(null);
    setAsked({ change, answeredAt: null });
    void update(change).then((result) => setAsked(result.ok ? { change, answeredAt: store.getState().state?.at ?? 0 } : null));
  };
  const apply = (change: SettingsUpdate, what: string): void => {
    const mode = change.mode ?? settings.mode;
    const primary = change.primaryIndex ?? settings.primaryIndex;
    const problems = validateBackendEdits(settings.backends.map((b) => ({ url: b.url, enabled: b.enabled })), primary);
    if (problems.length > 0) {
      reportLocalError('settings', `${what} was not changed`, problems);
      return;
    }
    const nowhere = noDeliveryProblem(settings.backends.map((b) => ({ url: b.url, enabled: b.enabled, name: b.name ?? '' })), primary, mode);
    if (nowhere) {
      setConfirm({ change, text: nowhere });
      return;
    }
    send(change);
  };
  const shownMode = asked?.change.mode ?? settings.mode;
  const shownPrimary = asked?.change.primaryIndex ?? settings.primaryIndex;
  const overridden = (v: string): boolean => settings.envOverrides.includes(v);

  return (
    <section className="panel mode-controls" aria-label="Mode and primary">
      <div className="field">
        <label htmlFor="mode-select">Mode</label>
        <select
          id="mode-select"
          data-testid="mode-select"
          value={shownMode}
          disabled={pending}
          onChange={(e) => apply({ mode: e.currentTarget.value as (typeof BACKEND_MODES)[number] }, 'The mode')}
        >
          {BACKEND_MODES.map((m) => (
            <option key={m} value={m}>
              {MODE_WORDS[m]}
            </option>
          ))}
        </select>
        {overridden(MODE_VARIABLE) && <p className="note">Set by {MODE_VARIABLE} for this run: a change here does not take effect.</p>}
      </div>
      <div className="field">
        <label htmlFor="primary-select">Primary ({PRIMARY_VARIABLE})</label>
        <select
          id="primary-select"
          data-testid="primary-select"
          value={String(shownPrimary)}
          disabled={pending || settings.backends.length === 0}
          onChange={(e) => apply({ primaryIndex: Number(e.currentTarget.value) }, 'The primary')}
        >
          {settings.backends.length === 0 && <option value={String(settings.primaryIndex)}>no backends</option>}
          {settings.backends.map((b, i) => (
            <option key={`${i}:${b.url}`} value={String(i)}>
              #{i} {backendLabel(b)}
              {b.enabled ? '' : ' (disabled)'}
            </option>
          ))}
        </select>
        {overridden(PRIMARY_VARIABLE) && <p className="note">Set by {PRIMARY_VARIABLE} for this run: a change here does not take effect.</p>}
      </div>
      <p className="mode-explain">
        {shownMode === 'single'
          ? 'Single mode sends to the primary only; the others stand by.'
          : 'Parallel mode sends every frame to every enabled backend: compare them in the parity panel.'}
      </p>
      {confirm && <NowhereConfirm text={confirm.text} pending={pending} onConfirm={() => send({ ...confirm.change, force: true })} onCancel={() => setConfirm(null)} />}
    </section>
  );
}
