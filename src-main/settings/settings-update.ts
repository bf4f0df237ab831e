// A settings change asked for by the dashboard, turned into the next settings file, or into
// the reasons it cannot be: the same rules as the relay applies at start, checked before
// anything is written. The dashboard only ever saw masked URLs and "has a token" flags, so
// its edits are mapped back onto the real URLs and tokens here, and never the reverse.
import { PANEL_SETTING_KEYS, failure, validateBackendEdits, type ActionFailure, type BackendEdit, type SettingsUpdate } from '../../src-shared/bridge';
import { redactText } from '../../src-shared/redact';
import {
  BACKENDS_VARIABLE,
  BACKEND_LIST_VARIABLES,
  KILL_SWITCH_KEY,
  KILL_SWITCH_VARIABLE,
  SettingsError,
  applySettingTexts,
  deliveryProblem,
  formatProblem,
  maskUrl,
  readKillSwitch,
  resolveSettings,
  settingTarget,
  tooManyBackends,
  variableOf,
  type Backend,
  type Env,
  type ScalarSettingKey,
  type Settings,
} from '../../src-shared/settings';

export type UpdatePlan = { ok: true; file: Record<string, unknown>; changed: string[]; warnings: string[] } | ActionFailure;

/** The scalar settings a dashboard update may carry, each with its variable. */
const SCALAR_KEYS: readonly ScalarSettingKey[] = ['mode', 'primaryIndex', ...PANEL_SETTING_KEYS];
export { KILL_SWITCH_VARIABLE };

/** 409: the named variables pin these settings for the run; nothing was saved. */
function pinnedByEnvironment(names: readonly string[], by: string): ActionFailure {
  const unique = [...new Set(names)];
  const many = unique.length > 1;
  return failure(
    409,
    `${unique.join(', ')} ${many ? 'are' : 'is'} set in the environment of the running relay and override${many ? '' : 's'} the settings file for this run: a change ${by} would not take effect. Unset ${many ? 'them' : 'it'} and restart the relay to change ${many ? 'them' : 'it'} this way. Nothing was saved.`,
  );
}

/** The file key a settings change writes when it forces settings that send nowhere, and removes once they deliver again. */
function markForce(next: Record<string, unknown>, force: boolean, env: Env): void {
  let delivers = true;
  try {
    delivers = deliveryProblem(resolveSettings({ ...next, allowNoDelivery: true }, env).settings) === null;
  } catch {
    return; // the whole check below reports it
  }
  if (force && !delivers) next.allowNoDelivery = true;
  else if (delivers && next.allowNoDelivery === true) delete next.allowNoDelivery;
}

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
      problems.push(`backend #${i}: ${url} hides its credentials behind ***, and no configured backend has that masked URL; type the full URL with its credentials`);
    }
    const token = !edit.token || 'keep' in edit.token ? match?.token : 'set' in edit.token ? edit.token.set : undefined;
    // Omitted: the name it has; empty: none.
    const name = edit.name === undefined ? match?.name : edit.name.trim() || undefined;
    return { url: match?.url ?? url, enabled: edit.enabled, ...(token ? { token } : {}), ...(name ? { name } : {}) };
  });
  return { backends, problems };
}

const sameBackends = (a: readonly Backend[], b: readonly Backend[]): boolean =>
  a.length === b.length && a.every((x, i) => x.url === b[i]?.url && x.enabled === b[i]?.enabled && (x.token ?? '') === (b[i]?.token ?? '') && (x.name ?? '') === (b[i]?.name ?? ''));

export function planSettingsUpdate(file: Record<string, unknown>, update: SettingsUpdate, current: Settings, envOverrides: readonly string[], env: Env): UpdatePlan {
  const next: Record<string, unknown> = { ...file };
  const conflicts: string[] = [];
  const overridden = (v: string) => envOverrides.includes(v);

  const changed: string[] = [];
  for (const key of SCALAR_KEYS) {
    const value = (update as Record<string, unknown>)[key];
    if (value === undefined) continue;
    const variable = variableOf(key);
    const same = JSON.stringify(value) === JSON.stringify(current[key]);
    if (overridden(variable)) {
      // The form sends every field; one the environment pins is a conflict only when it would change.
      if (!same) conflicts.push(variable);
      continue;
    }
    if (!same) changed.push(variable);
    next[key] = value;
  }

  let backends = current.backends;
  if (update.backends !== undefined) {
    // Refused before the edits are matched to the backends in force, which costs the square of their number.
    if (update.backends.length > current.maxBackends) {
      const p = tooManyBackends(update.backends.length, current.maxBackends, 'default');
      return failure(400, 'too many backends; nothing was saved', [`${p.variable}: got ${p.value} from the dashboard; expected ${p.expected}`]);
    }
    const mapped = mapBackendEdits(update.backends, current.backends);
    if (mapped.problems.length > 0) return failure(400, 'the backends are not valid; nothing was saved', mapped.problems.map((p) => redactText(p)));
    const pinned = BACKEND_LIST_VARIABLES.filter(overridden);
    if (pinned.length > 0) {
      if (!sameBackends(mapped.backends, current.backends)) conflicts.push(...pinned);
    } else {
      backends = mapped.backends;
      if (!sameBackends(mapped.backends, current.backends)) changed.push(BACKENDS_VARIABLE);
      next.backends = mapped.backends.map((b) => ({ url: b.url, enabled: b.enabled, ...(b.token ? { token: b.token } : {}), ...(b.name ? { name: b.name } : {}) }));
    }
  }

  if (conflicts.length > 0) return pinnedByEnvironment(conflicts, 'from the dashboard');

  const primaryIndex = overridden(variableOf('primaryIndex')) ? current.primaryIndex : (update.primaryIndex ?? current.primaryIndex);
  const problems = validateBackendEdits(
    backends.map((b) => ({ url: b.url, enabled: b.enabled, ...(b.name ? { name: b.name } : {}) })),
    primaryIndex,
  );
  if (problems.length > 0) return failure(400, 'the settings are not valid; nothing was saved', problems.map((p) => redactText(p)));

  markForce(next, update.force === true, env);
  let warnings: string[];
  try {
    warnings = resolveSettings(next, env).warnings;
  } catch (e) {
    if (e instanceof SettingsError) return failure(400, 'the settings are not valid; nothing was saved', e.problems.map((p) => redactText(formatProblem(p))));
    throw e;
  }
  return { ok: true, file: next, changed, warnings };
}

export interface Assignment {
  name: string;
  value: string;
}

export interface AssignContext {
  /** Variables the running relay's environment sets: settings they pin are refused (409). */
  envOverrides: readonly string[];
  /** That environment, for the final check of what the relay would run with. */
  env: Env;
  force?: boolean;
}

/**
 * `relay set NAME VALUE` and `relay set A=1 B=2 ...`: the texts read with the settings file's
 * rules, all of them as one change over the current file, refused whole when one is bad,
 * pinned by the relay's environment, or would leave the relay sending nowhere (unless forced).
 */
export function planAssignments(file: Record<string, unknown>, assignments: readonly Assignment[], context: AssignContext): UpdatePlan {
  const pinned: string[] = [];
  const changed: string[] = [];
  for (const { name, value } of assignments) {
    let target;
    try {
      target = settingTarget(name, value);
    } catch {
      continue; // said with the nearest known name below, by applySettingTexts
    }
    const variable = variableOf(target);
    changed.push(variable);
    if (target === KILL_SWITCH_KEY) {
      // The environment can hold the switch on, never off: turning it on is never pinned.
      if (context.envOverrides.includes(KILL_SWITCH_VARIABLE) && readKillSwitch(value) === false) pinned.push(KILL_SWITCH_VARIABLE);
      continue;
    }
    const family = BACKEND_LIST_VARIABLES.includes(variable) ? BACKEND_LIST_VARIABLES : [variable];
    pinned.push(...family.filter((v) => context.envOverrides.includes(v)));
  }
  let next: Record<string, unknown>;
  try {
    next = applySettingTexts(
      file,
      assignments.map((a) => [a.name, a.value] as const),
      context.force ? { force: true } : {},
    );
  } catch (e) {
    if (e instanceof SettingsError) return failure(400, 'the settings are not valid; nothing was saved', e.problems.map((p) => redactText(formatProblem(p))));
    throw e;
  }
  if (pinned.length > 0) return pinnedByEnvironment(pinned, 'from relay set');
  // What the relay would run with, its environment included: a change it would ignore is refused now.
  let warnings: string[];
  try {
    warnings = resolveSettings(next, context.env).warnings;
  } catch (e) {
    if (e instanceof SettingsError) {
      return failure(400, 'with the running relay\'s environment these settings are not valid; nothing was saved', e.problems.map((p) => redactText(formatProblem(p))));
    }
    throw e;
  }
  return { ok: true, file: next, changed: [...new Set(changed)], warnings };
}
