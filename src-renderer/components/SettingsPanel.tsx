import { useEffect, useMemo, useRef, useState } from 'react';
import { PANEL_SETTING_KEYS, type PanelSettingKey, type SettingsUpdate } from '../../src-shared/bridge';
import { SETTING_MEANINGS, parseSettingText, settingText, variableOf } from '../../src-shared/settings';
import { useDashboard } from '../context';

const LABELS: Record<PanelSettingKey, string> = {
  paritySampleRate: 'Parity sample rate',
  targetTimeoutMs: 'Connection timeout (ms)',
  sendTimeoutMs: 'Send timeout (ms)',
  queueMaxFrames: 'Queue cap (frames)',
  queueMaxBytes: 'Queue cap (bytes)',
  endTimeoutMs: 'End-of-run wait (ms)',
  sourceStaleMs: 'Source stale after (ms)',
  baselineHz: 'Baseline rate (Hz)',
  controlsVars: 'Controls variables',
  baselineVars: 'Baseline variables',
  sharePersonalData: 'Share personal data',
  maxBackends: 'Most backends',
  debugPort: 'Debug port',
};

type Texts = Record<PanelSettingKey, string>;

/**
 * Every other setting the relay has, edited as text and read with exactly the rules of
 * `relay set` and the environment (src-shared/settings parseSettingText), so a value the CLI
 * refuses is refused here in the same words, before anything is sent.
 */
export function SettingsPanel() {
  const values = useDashboard((s) => s.state?.settings.values);
  const envOverrides = useDashboard((s) => s.state?.settings.envOverrides);
  const pending = useDashboard((s) => s.pendingSettings);
  const update = useDashboard((s) => s.updateSettings);
  const [texts, setTexts] = useState<Texts | null>(null);
  const [dirty, setDirty] = useState(false);
  const [note, setNote] = useState<string | null>(null);
  const key = values ? JSON.stringify(values) : '';
  const lastKey = useRef('');
  useEffect(() => {
    if (!values || dirty || key === lastKey.current) return;
    lastKey.current = key;
    setTexts(Object.fromEntries(PANEL_SETTING_KEYS.map((k) => [k, settingText(values[k])])) as Texts);
  }, [values, dirty, key]);

  const parsed = useMemo(() => {
    if (!texts) return null;
    return Object.fromEntries(PANEL_SETTING_KEYS.map((k) => [k, parseSettingText(k, texts[k])])) as Record<PanelSettingKey, ReturnType<typeof parseSettingText>>;
  }, [texts]);
  if (!values || !texts || !parsed || !envOverrides) return null;

  const pinned = (k: PanelSettingKey): boolean => envOverrides.includes(variableOf(k));
  const changed = PANEL_SETTING_KEYS.filter((k) => {
    const p = parsed[k];
    return p.ok && JSON.stringify(p.value) !== JSON.stringify(values[k]);
  });
  const problems = PANEL_SETTING_KEYS.map((k) => parsed[k]).filter((p): p is { ok: false; problem: string } => !p.ok);
  const edit = (k: PanelSettingKey, text: string): void => {
    setTexts((t) => (t ? { ...t, [k]: text } : t));
    setDirty(true);
    setNote(null);
  };
  const reset = (): void => {
    lastKey.current = '';
    setDirty(false);
  };
  const save = async (): Promise<void> => {
    const change: Record<string, unknown> = {};
    for (const k of changed) change[k] = (parsed[k] as { ok: true; value: unknown }).value;
    const result = await update(change as SettingsUpdate);
    if (result.ok) {
      setDirty(false);
      lastKey.current = '';
      setNote(`Saved and applied by the relay${result.confirmation?.notes.length ? `: ${result.confirmation.notes.join('; ')}` : '.'}`);
    }
  };

  return (
    <form
      className="panel settings-panel"
      data-testid="settings-panel"
      aria-labelledby="settings-title"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        if (changed.length > 0 && problems.length === 0 && !pending) void save();
      }}
    >
      <h2 id="settings-title">Settings</h2>
      <p className="fine">Each is checked with the same rules as relay set; the relay applies a saved change at once.</p>
      <div className="settings-grid">
        {PANEL_SETTING_KEYS.map((k) => {
          const variable = variableOf(k);
          const p = parsed[k];
          const id = `setting-${k}`;
          const errorId = `${id}-error`;
          return (
            <div className={`setting ${p.ok ? '' : 'has-problem'}`} key={k} data-testid="setting" data-key={k}>
              {k === 'sharePersonalData' ? (
                <label className="check" htmlFor={id}>
                  <input
                    id={id}
                    type="checkbox"
                    data-testid={`setting-input-${k}`}
                    checked={texts[k] === '1'}
                    disabled={pinned(k)}
                    onChange={(e) => edit(k, e.currentTarget.checked ? '1' : '0')}
                  />
                  {LABELS[k]}
                </label>
              ) : (
                <>
                  <label htmlFor={id}>{LABELS[k]}</label>
                  <input
                    id={id}
                    type="text"
                    data-testid={`setting-input-${k}`}
                    inputMode={k === 'controlsVars' || k === 'baselineVars' ? 'text' : 'decimal'}
                    spellCheck={false}
                    autoComplete="off"
                    value={texts[k]}
                    disabled={pinned(k)}
                    aria-invalid={!p.ok}
                    aria-describedby={p.ok ? `${id}-meaning` : errorId}
                    onChange={(e) => edit(k, e.currentTarget.value)}
                  />
                </>
              )}
              <p className="fine" id={`${id}-meaning`}>
                <code>{variable}</code>: {SETTING_MEANINGS[variable]}
              </p>
              {pinned(k) && <p className="note">Set by {variable} in the relay&apos;s environment for this run: it cannot be changed here.</p>}
              {!p.ok && (
                <p className="field-error" id={errorId} role="alert" data-testid="setting-error">
                  {p.problem}
                </p>
              )}
            </div>
          );
        })}
      </div>
      <div className="editor-actions">
        <span className="spacer" />
        {dirty && (
          <button type="button" onClick={reset}>
            Discard changes
          </button>
        )}
        <button type="submit" className="primary" data-testid="save-settings" disabled={changed.length === 0 || problems.length > 0 || pending}>
          {pending ? 'Saving…' : changed.length > 0 ? `Save ${changed.length} setting${changed.length > 1 ? 's' : ''}` : 'Save settings'}
        </button>
      </div>
      {note && !dirty && (
        <p className="fine" role="status" data-testid="settings-saved">
          {note}
        </p>
      )}
    </form>
  );
}
