// The backends form's model, kept apart from React so it is unit-tested in Node: the draft
// rows, what each becomes on the wire, and every problem worded and tied to its row.
import { MAX_TOKEN_EDIT_LENGTH, SettingsUpdateSchema, noDeliveryProblem, validateBackendEdits, type BackendEdit, type DashboardSettings } from '../src-shared/bridge';
import { BACKEND_LIST_VARIABLES, BACKEND_TOKEN_EXPECTED, DEFAULT_SETTINGS, isBackendToken, maskUrl, tooManyBackends } from '../src-shared/settings';

export type TokenDraft = { kind: 'keep' } | { kind: 'set'; value: string } | { kind: 'clear' };

export interface Row {
  key: number;
  /** The URL as the relay gave it; sent back unchanged unless the person edits it. */
  originalUrl: string | null;
  /** What the input shows: the masked original until edited. */
  url: string;
  touched: boolean;
  enabled: boolean;
  hasToken: boolean;
  token: TokenDraft;
  /** The friendly name as typed; empty for none. */
  name: string;
}

export interface Draft {
  rows: Row[];
  primaryIndex: number;
}

let nextKey = 1;

export function fromSettings(settings: DashboardSettings): Draft {
  return {
    rows: settings.backends.map((b) => ({
      key: nextKey++,
      originalUrl: b.url,
      url: maskUrl(b.url),
      touched: false,
      enabled: b.enabled,
      hasToken: b.hasToken,
      token: { kind: 'keep' },
      name: b.name ?? '',
    })),
    primaryIndex: settings.primaryIndex,
  };
}

export function toEdit(row: Row): BackendEdit {
  const url = row.touched || row.originalUrl === null ? row.url.trim() : row.originalUrl;
  const edit: BackendEdit = { url, enabled: row.enabled, name: row.name.trim() };
  // Omitting the token keeps the one the relay holds for this URL: the dashboard never sees it.
  if (row.token.kind === 'set') edit.token = { set: row.token.value };
  else if (row.token.kind === 'clear') edit.token = { clear: true };
  return edit;
}

/**
 * Every problem, in the relay's own words where it has rules, keyed to the row it concerns
 * (-1: the list). `maxBackends` is the relay's cap in force (RELAY_MAX_BACKENDS).
 */
export function problemsOf(draft: Draft, maxBackends: number = DEFAULT_SETTINGS.maxBackends): { row: number; text: string }[] {
  const edits = draft.rows.map(toEdit);
  const lines = validateBackendEdits(edits, draft.primaryIndex);
  if (edits.length > maxBackends) {
    const p = tooManyBackends(edits.length, maxBackends, 'default');
    lines.push(`backends: ${p.value}; expected ${p.expected}`);
  }
  draft.rows.forEach((r, i) => {
    if (r.token.kind !== 'set') return;
    if (r.token.value === '') lines.push(`backend #${i}: the new token is empty; type it, or cancel to keep ${r.hasToken ? 'the current one' : 'none'}`);
    else if (!isBackendToken(r.token.value)) lines.push(`backend #${i}: the token has spaces, commas or characters that cannot go in an HTTP header; expected ${BACKEND_TOKEN_EXPECTED}`);
    else if (r.token.value.length > MAX_TOKEN_EDIT_LENGTH) lines.push(`backend #${i}: the token is longer than ${MAX_TOKEN_EDIT_LENGTH} characters`);
  });
  // Anything else the relay's schema would refuse (the length of a URL or a name).
  const parsed = SettingsUpdateSchema.safeParse({ backends: edits, primaryIndex: draft.primaryIndex });
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const [top, index, field] = issue.path;
      if (top === 'backends' && typeof index === 'number') {
        if (field === 'token') continue; // worded above
        lines.push(`backend #${index}: ${String(field ?? 'entry')}: ${issue.message}`);
      } else if (top === 'backends') lines.push(`backends: ${issue.message}`);
      else lines.push(`${issue.path.join('.') || 'settings'}: ${issue.message}`);
    }
  }
  return attribute(lines);
}

/** Settings that would send to no one: not a mistake the form refuses, but one it asks to confirm (sent with force). */
export function nowhereOf(draft: Draft, mode: string): string | null {
  return noDeliveryProblem(draft.rows.map(toEdit), draft.primaryIndex, mode);
}

/** Whether another backend may be added under the relay's cap. */
export function canAddRow(draft: Draft, maxBackends: number): boolean {
  return draft.rows.length < maxBackends;
}

/** The backend variables the relay's environment sets for this run: while one is, edits to the list are refused. */
export function envLockedVariables(settings: Pick<DashboardSettings, 'envOverrides'>): string[] {
  return BACKEND_LIST_VARIABLES.filter((v) => settings.envOverrides.includes(v));
}

export function attribute(lines: readonly string[]): { row: number; text: string }[] {
  return [...new Set(lines)].map((text) => {
    const m = /^backend #(\d+):\s*/.exec(text);
    return m ? { row: Number(m[1]), text: text.slice(m[0].length) } : { row: -1, text };
  });
}

export function newRow(): Row {
  return { key: nextKey++, originalUrl: null, url: '', touched: true, enabled: true, hasToken: false, token: { kind: 'keep' }, name: '' };
}

/** Swaps a row with its neighbour. The primary is a backend, not a position: it follows its row. */
export function moveRow(d: Draft, i: number, by: -1 | 1): Draft {
  const j = i + by;
  if (i < 0 || i >= d.rows.length || j < 0 || j >= d.rows.length) return d;
  const rows = [...d.rows];
  [rows[i], rows[j]] = [rows[j] as Row, rows[i] as Row];
  const primaryIndex = d.primaryIndex === i ? j : d.primaryIndex === j ? i : d.primaryIndex;
  return { rows, primaryIndex };
}

/** Removes a row; the primary keeps pointing at the same backend, or falls back to the first. */
export function removeRow(d: Draft, i: number): Draft {
  return {
    rows: d.rows.filter((_, k) => k !== i),
    primaryIndex: d.primaryIndex > i ? d.primaryIndex - 1 : d.primaryIndex === i ? 0 : d.primaryIndex,
  };
}
