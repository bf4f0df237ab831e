// Each settings rule is written once (src-shared/settings.ts) and used by the relay, the CLI
// and the dashboard's form. These tests hold the places that apply a rule to the one source:
// where two of them judge the same input, they must judge it alike.
import { describe, expect, it } from 'vitest';
import { SettingsUpdateSchema, validateBackendEdits, type BackendEdit } from '../src-shared/bridge';
import { secretsOfUrl } from '../src-shared/redact';
import {
  BACKEND_LIST_VARIABLES,
  BACKENDS_VARIABLE,
  BACKEND_TOKEN_EXPECTED,
  DEFAULT_SETTINGS,
  KILL_SWITCH_KEY,
  SettingsError,
  applySettingText,
  applySettingTexts,
  formatProblem,
  isBackendToken,
  isKillSwitchName,
  isSecretQueryKey,
  killSwitchValueProblem,
  maskUrl,
  resolveSettings,
  settingTarget,
  type Settings,
} from '../src-shared/settings';
import { planAssignments, planSettingsUpdate } from '../src-main/settings/settings-update';
import { envLockedVariables, newRow, problemsOf } from '../src-renderer/backends-draft';
import { mulberry32 } from './helpers/random';

const A = 'ws://127.0.0.1:9001/relay';
const B = 'wss://gateway-b.example.com/relay';

/** The problems resolveSettings finds in a file, by variable; none when it resolves. */
function relayProblems(file: unknown): string[] {
  try {
    resolveSettings(file, {});
    return [];
  } catch (e) {
    if (e instanceof SettingsError) return e.problems.map((p) => p.variable);
    throw e;
  }
}

describe('the backend list: one rule for the relay and the dashboard', () => {
  it('validateBackendEdits (the form, the dashboard update) and resolveSettings (file, environment, relay set) agree on every list', () => {
    const good = [A, `${A} `, B, 'ws://u:p@a.example.com/x', `${A}?token=1`, 'ws://127.0.0.1:9002/relay'];
    const bad = ['', ' ', 'http://c.example.com/', 'ws://', 'not a url'];
    const names = [undefined, '', ' ', 'Gateway A', 'a,b', 'x'.repeat(41), ' B '];
    const seed = 0x5e771e5;
    const random = mulberry32(seed);
    const pick = <T>(from: readonly T[]): T => from[Math.floor(random() * from.length)] as T;
    let refused = 0;
    for (let n = 0; n < 5000; n++) {
      const backends: BackendEdit[] = Array.from({ length: Math.floor(random() * 4) }, () => {
        const name = pick(names);
        return { url: pick(random() < 0.85 ? good : bad), enabled: random() < 0.7, ...(name === undefined || random() < 0.5 ? {} : { name }) };
      });
      const primaryIndex = random() < 0.8 ? Math.floor(random() * Math.max(1, backends.length)) : Math.floor(random() * 5);
      const form = validateBackendEdits(backends, primaryIndex);
      // The file the dashboard's edits become (trimmed URLs, empty names left out), sending nowhere allowed: that is asked separately.
      const file = {
        mode: 'parallel',
        primaryIndex,
        allowNoDelivery: true,
        backends: backends.map((b) => ({ url: b.url.trim(), enabled: b.enabled, ...(b.name?.trim() ? { name: b.name.trim() } : {}) })),
      };
      const relay = relayProblems(file);
      expect({ seed, n, backends, primaryIndex, form: form.length > 0 }).toEqual({ seed, n, backends, primaryIndex, form: relay.length > 0 });
      if (form.length > 0) refused++;
    }
    // Both sides were exercised.
    expect(refused).toBeGreaterThan(500);
    expect(refused).toBeLessThan(4500);
  });

  it('a primary other than #0 with no backends is refused by the form as by the relay', () => {
    expect(validateBackendEdits([], 2)).toEqual(['primary: backend #2 does not exist; expected #0 (no backends are configured)']);
    expect(relayProblems({ backends: [], primaryIndex: 2 })).toEqual(['RELAY_PRIMARY_INDEX']);
    expect(validateBackendEdits([], 0)).toEqual([]);
  });

  it('the form counts backends against the relay\'s cap in force, as the relay does', () => {
    const rows = (n: number) => ({ rows: Array.from({ length: n }, (_, i) => ({ ...newRow(), url: `ws://127.0.0.1:${9000 + i}/relay` })), primaryIndex: 0 });
    expect(problemsOf(rows(3), 3)).toEqual([]);
    const over = problemsOf(rows(4), 3);
    expect(over).toEqual([{ row: -1, text: expect.stringMatching(/^backends: 4 backends; expected at most 3 backends \(the cap is RELAY_MAX_BACKENDS/) }]);
    // The relay's own refusal of the same list, from the dashboard.
    const current: Settings = { ...DEFAULT_SETTINGS, maxBackends: 3, backends: [] };
    const plan = planSettingsUpdate({}, { backends: rows(4).rows.map((r) => ({ url: r.url, enabled: true })) }, current, [], {});
    expect(plan).toMatchObject({ ok: false, status: 400, problems: [expect.stringContaining('expected at most 3 backends (the cap is RELAY_MAX_BACKENDS')] });
    // Without the relay's figure the form assumes the default cap.
    expect(problemsOf(rows(DEFAULT_SETTINGS.maxBackends))).toEqual([]);
    expect(problemsOf(rows(DEFAULT_SETTINGS.maxBackends + 1))).toHaveLength(1);
  });

  it('any one of the backend variables pins the whole list: the form says so, and the relay refuses a change', () => {
    const current: Settings = { ...DEFAULT_SETTINGS, mode: 'parallel', backends: [{ url: A, enabled: true }] };
    for (const variable of BACKEND_LIST_VARIABLES) {
      expect(envLockedVariables({ envOverrides: [variable, 'RELAY_BACKEND_MODE'] })).toEqual([variable]);
      const plan = planSettingsUpdate({ backends: [{ url: A, enabled: true }] }, { backends: [{ url: A, enabled: true }, { url: B, enabled: true }] }, current, [variable], {});
      expect(plan).toMatchObject({ ok: false, status: 409 });
      const assigned = planAssignments({ backends: [{ url: A, enabled: true }] }, [{ name: BACKENDS_VARIABLE, value: `${A},${B}` }], { envOverrides: [variable], env: {} });
      expect(assigned).toMatchObject({ ok: false, status: 409 });
    }
    expect(envLockedVariables({ envOverrides: [] })).toEqual([]);
  });
});

describe('a backend token: one rule for the file, the environment, the dashboard\'s request and its form', () => {
  const tokens = ['gw-token-123', '!~', 'a,b', 'has space', 'tab\there', 'caf\u00e9', 'x'];

  it('is accepted or refused alike by each', () => {
    for (const token of tokens) {
      const valid = isBackendToken(token);
      expect([token, relayProblems({ backends: [{ url: A, enabled: true, token }] }).length === 0]).toEqual([token, valid]);
      expect([token, relayProblems({ backends: [{ url: A, enabled: true }] }).length]).toEqual([token, 0]);
      const request = SettingsUpdateSchema.safeParse({ backends: [{ url: A, enabled: true, token: { set: token } }] });
      expect([token, request.success]).toEqual([token, valid]);
      if (!request.success) expect(request.error.issues.map((i) => i.message)).toContain(BACKEND_TOKEN_EXPECTED);
      const form = problemsOf({ rows: [{ ...newRow(), url: A, token: { kind: 'set', value: token } }], primaryIndex: 0 });
      expect([token, form.length === 0]).toEqual([token, valid]);
    }
    expect(tokens.filter(isBackendToken)).toEqual(['gw-token-123', '!~', 'x']);
  });
});

describe('the kill switch\'s name and value: one rule for the running relay and the CLI', () => {
  it('is named by its variable or its file key in any case, wherever relay set reads a name', () => {
    for (const name of ['RELAY_KILL_SWITCH', 'relay_kill_switch', 'killSwitch', 'killswitch', 'KILLSWITCH']) {
      expect([name, isKillSwitchName(name)]).toEqual([name, true]);
      expect(settingTarget(name)).toBe(KILL_SWITCH_KEY);
      expect(applySettingText({ mode: 'single' }, name, 'on')).toEqual({ mode: 'single', killSwitch: true });
    }
    for (const name of ['kill', 'RELAY_KILL', 'kill_switch', 'killSwitches']) expect([name, isKillSwitchName(name)]).toEqual([name, false]);
  });

  it('says a value that is neither on nor off in the same words from applySettingTexts, the relay and the CLI', () => {
    const expected = formatProblem(killSwitchValueProblem('maybe'));
    expect(expected).toMatch(/^RELAY_KILL_SWITCH: got "maybe" \(from command line\); expected 1 \(kill switch on\) or 0 \(off\).*; nothing was changed$/);
    let thrown: unknown;
    try {
      applySettingTexts({}, [['killSwitch', 'maybe']]);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(SettingsError);
    expect((thrown as SettingsError).message).toBe(expected);
  });
});

describe('secret query parameters: one list for maskUrl and the log and report scrubber', () => {
  const secret = ['token', 'TOKEN', 'access_token', 'key', 'api_key', 'api-key', 'apikey', 'secret', 'password', 'auth', 'sig', 'Signature'];
  const plain = ['tokens', 'keyboard', 'session', 'user', 'authority', 'signed'];

  it('masks and scrubs the same names, in a URL and in a text that is not one', () => {
    for (const key of [...secret, ...plain]) {
      const hidden = isSecretQueryKey(key);
      expect([key, hidden]).toEqual([key, secret.includes(key)]);
      expect([key, maskUrl(`wss://gw.example.com/relay?${key}=hunter22`).includes('hunter22')]).toEqual([key, !hidden]);
      // Not a URL with a host: masked as text, by the same list.
      expect([key, maskUrl(`gw.example.com/relay?${key}=hunter22`).includes('hunter22')]).toEqual([key, !hidden]);
      expect([key, secretsOfUrl(`wss://gw.example.com/relay?${key}=hunter22`).includes('hunter22')]).toEqual([key, hidden]);
    }
  });
});
