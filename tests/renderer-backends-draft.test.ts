import { describe, expect, it } from 'vitest';
import { PANEL_SETTING_KEYS, type DashboardSettings, type PanelSettings } from '../src-shared/bridge';
import { DEFAULT_SETTINGS } from '../src-shared/settings';
import { attribute, fromSettings, moveRow, newRow, nowhereOf, problemsOf, removeRow, toEdit, type Draft } from '../src-renderer/backends-draft';

type Listed = Omit<DashboardSettings['backends'][number], 'name'> & { name?: string | null };
const settings = (backends: Listed[], primaryIndex = 0): DashboardSettings => ({
  backends: backends.map((b) => ({ name: null, ...b })),
  mode: 'parallel',
  primaryIndex,
  killSwitch: false,
  paritySampleRate: 0.05,
  values: Object.fromEntries(PANEL_SETTING_KEYS.map((k) => [k, DEFAULT_SETTINGS[k]])) as unknown as PanelSettings,
  allowNoDelivery: false,
  envOverrides: [],
});

describe('backends form model', () => {
  it('shows credentials masked but sends the URL back as the relay gave it until edited', () => {
    const draft = fromSettings(settings([{ url: 'wss://user:pass@gw.example.com/relay?token=abc', enabled: true, hasToken: true }]));
    const row = draft.rows[0];
    expect(row?.url).toBe('wss://***:***@gw.example.com/relay?token=***');
    expect(row && toEdit(row)).toEqual({ url: 'wss://user:pass@gw.example.com/relay?token=abc', enabled: true, name: '' });
    expect(row && toEdit({ ...row, url: ' wss://new.example.com/relay ', touched: true })).toEqual({ url: 'wss://new.example.com/relay', enabled: true, name: '' });
  });

  it('sends token changes only when asked: set, clear, or nothing (keep)', () => {
    const row = fromSettings(settings([{ url: 'ws://a/relay', enabled: true, hasToken: true }])).rows[0];
    if (!row) throw new Error('no row');
    expect(toEdit(row).token).toBeUndefined();
    expect(toEdit({ ...row, token: { kind: 'set', value: 't0k' } }).token).toEqual({ set: 't0k' });
    expect(toEdit({ ...row, token: { kind: 'clear' } }).token).toEqual({ clear: true });
  });

  it('explains each problem next to its row before anything is saved', () => {
    const draft: Draft = {
      rows: [
        { ...newRow(), url: 'ws://a/relay' },
        { ...newRow(), url: 'http://b' },
        { ...newRow(), url: 'ws://a/relay' },
        { ...newRow(), url: 'ws://c/relay', token: { kind: 'set', value: 'has space' } },
        { ...newRow(), url: 'ws://d/relay', token: { kind: 'set', value: '' } },
      ],
      primaryIndex: 0,
    };
    const problems = problemsOf(draft);
    expect(problems.map((p) => p.row)).toEqual([1, 2, 3, 4]);
    expect(problems[0]?.text).toMatch(/"http:\/\/b" is not a ws:\/\/ or wss:\/\/ URL/);
    expect(problems[1]?.text).toMatch(/listed twice/);
    expect(problems[2]?.text).toMatch(/without spaces/);
    expect(problems[3]?.text).toMatch(/empty/);
    expect(problemsOf({ rows: [{ ...newRow(), url: 'ws://a/relay' }], primaryIndex: 0 })).toEqual([]);
  });

  it('list-wide problems (the primary) are not tied to a row', () => {
    const draft: Draft = { rows: [{ ...newRow(), url: 'ws://a/relay', enabled: false }], primaryIndex: 0 };
    // Sending nowhere is not a typo the form refuses but a choice it asks to confirm (sent with force).
    expect(problemsOf(draft)).toEqual([]);
    expect(nowhereOf(draft, 'single')).toMatch(/^Telemetry would go nowhere: every backend is disabled \(1 configured\)/);
    const twoRows: Draft = { rows: [draft.rows[0] as Draft['rows'][number], { ...newRow(), url: 'ws://b/relay' }], primaryIndex: 0 };
    expect(nowhereOf(twoRows, 'single')).toMatch(/^Telemetry would go nowhere: single mode sends to the primary only, and the primary, backend #0 ws:\/\/a\/relay, is disabled/);
    expect(nowhereOf(draft, 'parallel')).toMatch(/every backend is disabled/);
    expect(nowhereOf(twoRows, 'parallel')).toBeNull();
    expect(problemsOf({ ...draft, primaryIndex: 3 })).toEqual([{ row: -1, text: 'primary: backend #3 does not exist; expected one of #0 to #0' }]);
    expect(attribute(['backend #11: bad', 'something else', 'backend #11: bad'])).toEqual([
      { row: 11, text: 'bad' },
      { row: -1, text: 'something else' },
    ]);
  });

  it('the primary follows its backend when rows move or go', () => {
    const d = fromSettings(settings([
      { url: 'ws://a/relay', enabled: true, hasToken: false },
      { url: 'ws://b/relay', enabled: true, hasToken: false },
      { url: 'ws://c/relay', enabled: true, hasToken: false },
    ], 1));
    const moved = moveRow(d, 1, -1);
    expect(moved.rows.map((r) => r.url)).toEqual(['ws://b/relay', 'ws://a/relay', 'ws://c/relay']);
    expect(moved.primaryIndex).toBe(0);
    expect(moveRow(d, 0, -1)).toBe(d);
    expect(moveRow(d, 2, 1)).toBe(d);
    expect(removeRow(d, 0).primaryIndex).toBe(0); // b is now first
    expect(removeRow(d, 2).primaryIndex).toBe(1);
    expect(removeRow(d, 1).primaryIndex).toBe(0); // the primary itself went: fall back to the first
  });
});
