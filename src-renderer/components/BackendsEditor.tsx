import { useEffect, useMemo, useRef, useState } from 'react';
import {
  attribute,
  canAddRow,
  envLockedVariables,
  fromSettings,
  moveRow,
  newRow,
  nowhereOf,
  problemsOf,
  removeRow,
  toEdit,
  type Draft,
  type Row,
  type TokenDraft,
} from '../backends-draft';
import { useDashboard } from '../context';

export function BackendsEditor() {
  const settings = useDashboard((s) => s.state?.settings);
  const pending = useDashboard((s) => s.pendingSettings);
  const update = useDashboard((s) => s.updateSettings);
  const [draft, setDraft] = useState<Draft | null>(null);
  const [dirty, setDirty] = useState(false);
  const [serverProblems, setServerProblems] = useState<{ row: number; text: string }[]>([]);
  const [savedNote, setSavedNote] = useState<string | null>(null);
  /** The person ticked "send nowhere anyway" for this draft. */
  const [forceNowhere, setForceNowhere] = useState(false);

  // While nothing is edited the form follows the relay; once edited, it is the person's until saved or reset.
  const serverKey = settings ? JSON.stringify([settings.backends, settings.primaryIndex]) : '';
  const lastKey = useRef('');
  useEffect(() => {
    if (!settings || dirty || serverKey === lastKey.current) return;
    lastKey.current = serverKey;
    setDraft(fromSettings(settings));
  }, [settings, dirty, serverKey]);

  const mode = settings?.mode ?? 'single';
  const maxBackends = settings?.values.maxBackends;
  const problems = useMemo(() => (draft ? problemsOf(draft, maxBackends) : []), [draft, maxBackends]);
  const nowhere = useMemo(() => (draft ? nowhereOf(draft, mode) : null), [draft, mode]);
  if (!settings || !draft) return null;

  const edit = (change: (d: Draft) => Draft): void => {
    setDraft((d) => (d ? change(d) : d));
    setDirty(true);
    setServerProblems([]);
    setSavedNote(null);
    setForceNowhere(false);
  };
  const editRow = (i: number, change: Partial<Row>): void =>
    edit((d) => ({ ...d, rows: d.rows.map((r, k) => (k === i ? { ...r, ...change } : r)) }));

  const move = (i: number, by: -1 | 1): void => edit((d) => moveRow(d, i, by));
  const remove = (i: number): void => edit((d) => removeRow(d, i));

  const add = (): void =>
    edit((d) => ({
      ...d,
      rows: [...d.rows, newRow()],
    }));

  const reset = (): void => {
    lastKey.current = serverKey;
    setDraft(fromSettings(settings));
    setDirty(false);
    setServerProblems([]);
  };

  const save = async (): Promise<void> => {
    const result = await update({ backends: draft.rows.map(toEdit), primaryIndex: draft.primaryIndex, ...(nowhere && forceNowhere ? { force: true } : {}) });
    if (result.ok) {
      // Keep showing what was saved until the next snapshot replaces it, and drop any typed token now.
      lastKey.current = serverKey;
      setDraft((d) =>
        d && {
          ...d,
          rows: d.rows.map((r) =>
            r.token.kind === 'keep' ? r : { ...r, hasToken: r.token.kind === 'set', token: { kind: 'keep' } },
          ),
        },
      );
      setDirty(false);
      setSavedNote('Saved. The relay applies the new list at once.');
    } else {
      setServerProblems(attribute(result.problems && result.problems.length > 0 ? result.problems : [result.error]));
    }
  };

  const invalid = problems.length > 0 || (nowhere !== null && !forceNowhere);
  const envLocked = envLockedVariables(settings);
  const rowProblems = (i: number) => [...problems, ...serverProblems].filter((p) => p.row === i);
  const listProblems = [...problems.filter((p) => p.row === -1 || p.row >= draft.rows.length), ...serverProblems.filter((p) => p.row === -1 || p.row >= draft.rows.length)];

  return (
    <form
      className="panel"
      data-testid="backends-editor"
      aria-labelledby="backends-title"
      noValidate
      onSubmit={(e) => {
        // Enter in a field saves, as the Save button does; the page never navigates.
        e.preventDefault();
        if (dirty && !invalid && !pending) void save();
      }}
    >
      <h2 id="backends-title">Backends</h2>
      {envLocked.length > 0 && (
        <p className="note">
          {envLocked.join(', ')} {envLocked.length === 1 ? 'is' : 'are'} set in the relay&apos;s environment for this run: edits are
          refused or do not take effect until the relay runs without {envLocked.length === 1 ? 'it' : 'them'}.
        </p>
      )}
      {draft.rows.length === 0 && <p className="empty">No backends. Add one: telemetry goes nowhere until then.</p>}
      <ol className="backend-rows">
        {draft.rows.map((r, i) => {
          const own = rowProblems(i);
          const errorId = `backend-${r.key}-error`;
          return (
            <li key={r.key} className={`backend-row ${own.length > 0 ? 'has-problem' : ''}`} data-testid="backend-row" data-index={i}>
              <span className="backend-index" aria-hidden="true">
                #{i}
              </span>
              <div className="backend-fields">
                <div className="backend-line">
                  <label className="visually-hidden" htmlFor={`backend-url-${r.key}`}>
                    Backend #{i} URL
                  </label>
                  <input
                    id={`backend-url-${r.key}`}
                    data-testid="backend-url-input"
                    className="backend-url"
                    type="text"
                    inputMode="url"
                    spellCheck={false}
                    autoComplete="off"
                    placeholder="wss://gateway.example.com/relay"
                    value={r.url}
                    aria-invalid={own.length > 0}
                    aria-describedby={own.length > 0 ? errorId : undefined}
                    onChange={(e) => editRow(i, { url: e.currentTarget.value, touched: true })}
                  />
                  <label className="check">
                    <input type="checkbox" data-testid="backend-enabled" checked={r.enabled} onChange={(e) => editRow(i, { enabled: e.currentTarget.checked })} />
                    Enabled
                  </label>
                  {i === draft.primaryIndex && <span className="badge">primary</span>}
                </div>
                <div className="name-line">
                  <label htmlFor={`backend-name-${r.key}`}>Name</label>
                  <input
                    id={`backend-name-${r.key}`}
                    data-testid="backend-name-input"
                    className="backend-name-input"
                    type="text"
                    maxLength={40}
                    autoComplete="off"
                    placeholder="optional, e.g. Gateway B (eu-west)"
                    value={r.name}
                    onChange={(e) => editRow(i, { name: e.currentTarget.value })}
                  />
                </div>
                {!r.touched && r.originalUrl !== null && r.url !== r.originalUrl && (
                  <p className="fine">Credentials in this URL are hidden (***); they are kept unless you edit the URL.</p>
                )}
                <TokenField row={r} index={i} onChange={(token) => editRow(i, { token })} />
                {own.length > 0 && (
                  <ul className="field-errors" id={errorId} data-testid="backend-error" role="alert">
                    {own.map((p) => (
                      <li key={p.text}>{p.text}</li>
                    ))}
                  </ul>
                )}
              </div>
              <div className="backend-actions">
                <button type="button" onClick={() => move(i, -1)} disabled={i === 0} aria-label={`Move backend #${i} up`}>
                  ↑
                </button>
                <button type="button" onClick={() => move(i, 1)} disabled={i === draft.rows.length - 1} aria-label={`Move backend #${i} down`}>
                  ↓
                </button>
                <button type="button" className="danger-quiet" onClick={() => remove(i)} aria-label={`Remove backend #${i}`}>
                  Remove
                </button>
              </div>
            </li>
          );
        })}
      </ol>
      {listProblems.length > 0 && (
        <ul className="field-errors" data-testid="backend-error" role="alert">
          {listProblems.map((p) => (
            <li key={p.text}>{p.text}</li>
          ))}
        </ul>
      )}
      {nowhere && (
        <div className="banner banner-error" data-testid="backends-nowhere" role="alert">
          <p>{nowhere} The relay refuses this unless you accept it.</p>
          <label className="check">
            <input type="checkbox" data-testid="backends-force" checked={forceNowhere} onChange={(e) => setForceNowhere(e.currentTarget.checked)} />
            Save anyway: I accept that no telemetry is sent (the relay shows Critical)
          </label>
        </div>
      )}
      <div className="editor-actions">
        <button type="button" data-testid="add-backend" onClick={add} disabled={!canAddRow(draft, settings.values.maxBackends)}>
          Add backend
        </button>
        <span className="spacer" />
        {dirty && (
          <button type="button" onClick={reset}>
            Discard changes
          </button>
        )}
        <button
          type="submit"
          className="primary"
          data-testid="save-backends"
          disabled={!dirty || invalid || pending}
          title={invalid ? 'Fix the problems shown first' : undefined}
        >
          {pending ? 'Saving…' : 'Save backends'}
        </button>
      </div>
      {savedNote && !dirty && <p className="fine" role="status">{savedNote}</p>}
    </form>
  );
}

function TokenField({ row, index, onChange }: { row: Row; index: number; onChange: (t: TokenDraft) => void }) {
  const id = `backend-token-${row.key}`;
  if (row.token.kind === 'set') {
    return (
      <div className="token-line">
        <label htmlFor={id}>New token</label>
        <input
          id={id}
          data-testid="backend-token-input"
          type="password"
          autoComplete="off"
          spellCheck={false}
          value={row.token.value}
          onChange={(e) => onChange({ kind: 'set', value: e.currentTarget.value })}
        />
        <button type="button" onClick={() => onChange({ kind: 'keep' })}>
          Cancel
        </button>
      </div>
    );
  }
  if (row.token.kind === 'clear') {
    return (
      <div className="token-line">
        <span className="token-state">Token will be removed on save</span>
        <button type="button" onClick={() => onChange({ kind: 'keep' })}>
          Undo
        </button>
      </div>
    );
  }
  return (
    <div className="token-line">
      <span className="token-state" data-testid="backend-token-state">
        {row.hasToken ? 'Token set' : 'No token'}
      </span>
      <button type="button" data-testid="backend-token-set" onClick={() => onChange({ kind: 'set', value: '' })} aria-label={`${row.hasToken ? 'Replace' : 'Set'} the token of backend #${index}`}>
        {row.hasToken ? 'Replace token' : 'Set token'}
      </button>
      {row.hasToken && (
        <button type="button" className="danger-quiet" data-testid="backend-token-clear" onClick={() => onChange({ kind: 'clear' })} aria-label={`Clear the token of backend #${index}`}>
          Clear token
        </button>
      )}
    </div>
  );
}
