// The settings file written by the CLI itself: when no relay runs for the folder (the change
// is then for the next start), and for the kill switch when the running relay does not answer.
import fs from 'node:fs';
import path from 'node:path';
import { SettingsError, resolveSettings } from '../../src-shared/settings';
import type { HealthResponse } from '../../src-shared/debug-api';
import { SETTINGS_FILE_NAME, SettingsFileError, SettingsStore } from '../settings/settings-store';
import { requestJson } from './relay-client';

/** Warnings (unknown keys and variables), one indented line each after a heading; nothing when there are none. */
export function warningLines(warnings: readonly string[]): string {
  return warnings.length === 0 ? '' : `\nwarnings:\n${warnings.map((w) => `  - ${w}`).join('\n')}`;
}

/**
 * The emergency control writes its one key whatever else the file holds: an unrelated bad
 * setting must never stand between a racer and the kill switch. Not even a file that is not
 * JSON at all: to turn the switch on, that file is kept beside as config.json.broken-<time>
 * and replaced by one that holds only the kill switch.
 */
export function saveKillSwitch(configDir: string, on: boolean): { file: string; notes: string } {
  let store: SettingsStore;
  let file: Record<string, unknown>;
  let moved = '';
  try {
    store = new SettingsStore(configDir);
    file = store.read();
  } catch (e) {
    if (!on || !(e instanceof SettingsFileError)) throw e;
    const target = path.join(path.resolve(configDir), SETTINGS_FILE_NAME);
    const aside = `${target}.broken-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    try {
      // Kept as it is, readable by this user only (it may hold tokens), then replaced in one rename.
      fs.writeFileSync(aside, fs.readFileSync(target), { mode: 0o600, flag: 'wx' });
      const temp = `${target}.kill-${process.pid}`;
      fs.writeFileSync(temp, `${JSON.stringify({ killSwitch: true }, undefined, '\t')}\n`, { mode: 0o600 });
      fs.renameSync(temp, target);
    } catch {
      // Not readable, or the directory not writable: nothing this command can fix.
      throw e;
    }
    moved = `\n(${e.message}\nThe broken file was kept as ${aside} and replaced by one holding only the kill switch; restore your settings from it once the kill switch has done its job)`;
    store = new SettingsStore(configDir);
    file = store.read();
  }
  store.write({ ...file, killSwitch: on });
  let note = '';
  let warnings: string[] = [];
  try {
    warnings = resolveSettings(store.read(), {}).warnings;
  } catch (e) {
    if (e instanceof SettingsError) {
      warnings = e.warnings;
      const effect = on ? 'the kill switch applies regardless' : 'a relay applies no settings file with problems, so its kill switch stays as it is (on, if it was) until they are fixed';
      note = `\n(note: other settings in the file are invalid and were left as they are:\n${e.message}\n${effect})`;
    }
  }
  return { file: store.path, notes: `${moved}${note}${warningLines(warnings)}` };
}

/** Polls /debug/health (no secret needed) until it shows the kill switch as asked, or the time is up. */
export async function killSwitchSeen(port: number, on: boolean, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    try {
      const answer = await requestJson(port, 'GET', '/debug/health', { timeoutMs: 500 });
      if ((answer.json as HealthResponse | undefined)?.killSwitch === on) return true;
    } catch {
      /* not answering: try again until the time is up */
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}
