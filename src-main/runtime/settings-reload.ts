// The settings file, applied live: every change to it is read again with the relay's
// environment and applied to the running relay. A bad edit is reported and the last good
// settings stay in force, except that the kill switch never stays off when the file asks for
// it (fail-safe, the same rule as resolveSettings).
import fs from 'node:fs';
import { SettingsError, fileAsksForKillSwitch, killSwitchInText, resolveSettings, variableOf, type Env, type ResolvedSettings } from '../../src-shared/settings';
import type { BackendManager } from '../relay/backend-manager';
import type { FrameBuilder } from '../relay/frame-builder';
import { joinClock } from '../relay/shared-clock';
import type { Logger } from '../log/logger';
import type { SettingsStore } from '../settings/settings-store';
import { describe } from './describe';

/** The settings file's stat poll once its folder watch has proven to work (see SettingsStore.watch). */
const SETTINGS_PROVEN_POLL_MS = 1000;

export interface SettingsReloadParts {
  store: SettingsStore;
  env: Env;
  manager: BackendManager;
  builder: FrameBuilder;
  log: Logger;
  /** True once the relay stops: a change then is left alone. */
  stopping: () => boolean;
}

export class SettingsReload {
  constructor(private readonly parts: SettingsReloadParts) {}

  /** Follows the settings file; returns what stops following it. */
  watch(): () => void {
    // The safety-net poll ticks with the heartbeats and the sampler: one wake-up a second for all of them.
    return this.parts.store.watch(() => this.reload(), undefined, SETTINGS_PROVEN_POLL_MS, joinClock);
  }

  /** Re-reads the file; a bad edit is reported and the last good settings stay in force. */
  reload(): void {
    const { store, env, manager, builder, log } = this.parts;
    if (this.parts.stopping()) return;
    let resolved: ResolvedSettings;
    try {
      resolved = resolveSettings(store.read(), env);
    } catch (e) {
      const detail = e instanceof SettingsError ? e.message : (e as Error).message;
      if (e instanceof SettingsError) for (const line of e.warnings) log.warn(line);
      // Fail-safe: a broken file never leaves the kill switch off when it asks for on, or when its value cannot be read as off.
      if (this.killRequestedDespite(e) && !manager.settings.killSwitch) {
        log.error(`settings file has problems, and its kill switch is on or cannot be read as off: applying the kill switch alone.\n${detail}`);
        manager.apply({ ...manager.settings, killSwitch: true });
        return;
      }
      log.error(`settings change ignored, the previous settings stay in force${manager.settings.killSwitch ? ' (the kill switch stays on)' : ''}:\n${detail}`);
      return;
    }
    // Said before the comparison below: an unknown key changes no setting, yet must be seen.
    for (const line of resolved.warnings) log.warn(line);
    const next = resolved.settings;
    const before = manager.settings;
    if (JSON.stringify(before) === JSON.stringify(next)) return;
    if (next.debugPort !== before.debugPort) log.warn(`${variableOf('debugPort')} changed: it applies at the next start`);
    if (next.killSwitch !== before.killSwitch) log.warn(next.killSwitch ? 'KILL SWITCH ON: every backend cut off' : 'kill switch off: backends reconnecting');
    builder.setSampleRate(next.paritySampleRate);
    manager.apply(next);
    log.info(`settings applied: ${describe(next)}`);
  }

  /**
   * Whether the settings file asks for the kill switch although it could not be applied: the
   * same fail-safe rule as resolveSettings (a value that cannot be read as off counts as on).
   * A file that does not even parse is searched as text; one that cannot be read at all
   * leaves the switch as it is.
   */
  private killRequestedDespite(error: unknown): boolean {
    if (error instanceof SettingsError) return error.killSwitch;
    try {
      return fileAsksForKillSwitch(this.parts.store.read());
    } catch {
      try {
        return killSwitchInText(fs.readFileSync(this.parts.store.path, 'utf8'));
      } catch {
        return false;
      }
    }
  }
}
