// A settings change asked for by the dashboard, turned into the next settings file, or into
// the reasons it cannot be: the same rules as the relay applies at start, checked before
// anything is written. The dashboard only ever saw masked URLs and "has a token" flags, so
// its edits are mapped back onto the real URLs and tokens here, and never the reverse.
import { validateBackendEdits, type ActionResult, type BackendEdit, type SettingsUpdate } from '../src-shared/bridge';
import { redactText } from '../src-shared/redact';
import {
  BACKENDS_VARIABLE,
  ENABLED_VARIABLE,
  KILL_SWITCH_VARIABLE,
  SettingsError,
  TOKENS_VARIABLE,
  formatProblem,
  maskUrl,
  resolveSettings,
  tooManyBackends,
  type Backend,
  type Env,
  type Settings,
} from '../src-shared/settings';

export type UpdatePlan = { ok: true; file: Record<string, unknown> } | Extract<ActionResult, { ok: false }>;

const SCALAR_VARIABLES = {
  mode: 'RELAY_BACKEND_MODE',
  primaryIndex: 'RELAY_PRIMARY_INDEX',
  paritySampleRate: 'RELAY_PARITY_SAMPLE_RATE',
} as const;
const BACKEND_VARIABLES = [BACKENDS_VARIABLE, ENABLED_VARIABLE, TOKENS_VARIABLE];
export { KILL_SWITCH_VARIABLE };

/** The edits with their real URLs and tokens, matched to the backends in force by URL (or by its masked form). */
export function mapBackendEdits(edits: readonly BackendEdit[], existing: readonly Backend[]): { backends: Backend[]; problems: string[] } {
  const used = new Set<number>();
  const problems: string[] = [];
  const backends = edits.map((edit, i) => {
    const url = edit.url.trim();
    let index = existing.findIndex((b, k) => !used.has(k) && b.url === url);
    // The dashboard shows ws://***:***@host/...; sent back unchanged, it means "this backend, as it is".
    if (index < 0) index = existing.findIndex((b, k) => !used.has(k) && maskUrl(b.url) !== b.url && maskUrl(b.url) === url);
    const match = index >= 0 ? existing[index] : undefined;
    if (index >= 0) used.add(index);
    if (!match && url.includes('***')) {
      problems.push(`backend ${i + 1}: ${url} hides its credentials behind ***, and no configured backend has that masked URL; type the full URL with its credentials`);
    }
    const token = !edit.token || 'keep' in edit.token ? match?.token : 'set' in edit.token ? edit.token.set : undefined;
    return { url: match?.url ?? url, enabled: edit.enabled, ...(token ? { token } : {}) };
  });
  return { backends, problems };
}

const sameBackends = (a: readonly Backend[], b: readonly Backend[]): boolean =>
  a.length === b.length && a.every((x, i) => x.url === b[i]?.url && x.enabled === b[i]?.enabled && (x.token ?? '') === (b[i]?.token ?? ''));

export function planSettingsUpdate(file: Record<string, unknown>, update: SettingsUpdate, current: Settings, envOverrides: readonly string[], env: Env): UpdatePlan {
  const next: Record<string, unknown> = { ...file };
  const conflicts: string[] = [];
  const overridden = (v: string) => envOverrides.includes(v);

  for (const key of Object.keys(SCALAR_VARIABLES) as (keyof typeof SCALAR_VARIABLES)[]) {
    const value = update[key];
    if (value === undefined) continue;
    const variable = SCALAR_VARIABLES[key];
    if (overridden(variable)) {
      // The form sends every field; one the environment pins is a conflict only when it would change.
      if (value !== current[key]) conflicts.push(variable);
      continue;
    }
    next[key] = value;
  }

  let backends = current.backends;
  if (update.backends !== undefined) {
    // Refused before the edits are matched to the backends in force, which costs the square of their number.
    if (update.backends.length > current.maxBackends) {
      const p = tooManyBackends(update.backends.length, current.maxBackends, 'default');
      return { ok: false, status: 400, error: 'too many backends; nothing was saved', problems: [`${p.variable}: got ${p.value} from the dashboard; expected ${p.expected}`] };
    }
    const mapped = mapBackendEdits(update.backends, current.backends);
    if (mapped.problems.length > 0) return { ok: false, status: 400, error: 'the backends are not valid; nothing was saved', problems: mapped.problems.map((p) => redactText(p)) };
    const pinned = BACKEND_VARIABLES.filter(overridden);
    if (pinned.length > 0) {
      if (!sameBackends(mapped.backends, current.backends)) conflicts.push(...pinned);
    } else {
      backends = mapped.backends;
      next.backends = mapped.backends.map((b) => ({ url: b.url, enabled: b.enabled, ...(b.token ? { token: b.token } : {}) }));
    }
  }

  if (conflicts.length > 0) {
    const names = [...new Set(conflicts)];
    return {
      ok: false,
      status: 409,
      error: `${names.join(', ')} ${names.length > 1 ? 'are' : 'is'} set in the environment of this relay run and override${names.length > 1 ? '' : 's'} the settings file: a change here would not take effect. Unset ${names.length > 1 ? 'them' : 'it'} and restart the relay to change this from the dashboard. Nothing was saved.`,
    };
  }

  const mode = update.mode ?? current.mode;
  const primaryIndex = overridden(SCALAR_VARIABLES.primaryIndex) ? current.primaryIndex : (update.primaryIndex ?? current.primaryIndex);
  const problems = validateBackendEdits(
    backends.map((b) => ({ url: b.url, enabled: b.enabled })),
    primaryIndex,
    overridden(SCALAR_VARIABLES.mode) ? current.mode : mode,
  );
  if (problems.length > 0) return { ok: false, status: 400, error: 'the settings are not valid; nothing was saved', problems: problems.map((p) => redactText(p)) };

  try {
    resolveSettings(next, env);
  } catch (e) {
    if (e instanceof SettingsError) return { ok: false, status: 400, error: 'the settings are not valid; nothing was saved', problems: e.problems.map(formatProblem) };
    throw e;
  }
  return { ok: true, file: next };
}
