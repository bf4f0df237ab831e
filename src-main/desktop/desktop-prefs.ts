// The desktop preferences live under one key of the relay's settings file, so the headless
// relay and the desktop shell keep a single file. Only that key is ever changed here: the
// relay settings beside it (tokens among them) are written back exactly as they were read.
import { DESKTOP_PREFS_KEY, DesktopPrefsSchema, parseDesktopPrefs, type DesktopPrefs } from '../../src-shared/desktop';
import type { SettingsStore } from '../settings/settings-store';

export function readDesktopPrefs(store: SettingsStore): { prefs: DesktopPrefs; problems: string[] } {
  return parseDesktopPrefs(store.read()[DESKTOP_PREFS_KEY]);
}

/**
 * Merges the patch into the file's `desktop` object and writes the file. Keys the patch does
 * not name stay as the file has them, even unknown or invalid ones: a hand edit is the
 * user's to fix, and readDesktopPrefs keeps naming it. An invalid patch throws and nothing
 * is written; a patch that changes nothing writes nothing, so a running relay's file
 * watcher is not woken for no change.
 */
export function writeDesktopPrefs(store: SettingsStore, patch: Partial<DesktopPrefs>): { prefs: DesktopPrefs; problems: string[] } {
  const checked = DesktopPrefsSchema.partial().safeParse(patch);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    throw new Error(`desktop preferences not saved: ${issue ? `${issue.path.join('.') || '(patch)'}: ${issue.message}` : 'invalid'}`);
  }
  const file = store.read();
  const current = file[DESKTOP_PREFS_KEY];
  const base: Record<string, unknown> = current !== null && typeof current === 'object' && !Array.isArray(current) ? (current as Record<string, unknown>) : {};
  const entries = Object.entries(checked.data).filter(([, v]) => v !== undefined);
  const changed = entries.some(([k, v]) => !Object.prototype.hasOwnProperty.call(base, k) || JSON.stringify(base[k]) !== JSON.stringify(v));
  const next = { ...base, ...Object.fromEntries(entries) };
  if (changed) store.write({ ...file, [DESKTOP_PREFS_KEY]: next });
  return parseDesktopPrefs(next);
}
