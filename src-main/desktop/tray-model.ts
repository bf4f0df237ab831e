// What the tray shows: the icon state, the tooltip and the context menu, as plain data
// built from the relay's snapshot and the desktop preferences. The shell turns it into
// Electron's Tray and Menu; tests read it directly.
import type { DashboardState } from '../../src-shared/bridge';
import { KILL_SWITCH_HOTKEY_PRESETS, describeAccelerator, type DesktopPrefs, type TrayIconState } from '../../src-shared/desktop';
import type { MenuItemModel } from './ports';

/** Where the relay is in the app's life, beyond what a snapshot says. */
export type RelayPhase =
  | { kind: 'running'; state: DashboardState }
  | { kind: 'starting' }
  | { kind: 'waiting-for-sim' }
  | { kind: 'failed'; error: string };

export const MENU_IDS = {
  status: 'status',
  open: 'open-dashboard',
  killSwitch: 'kill-switch',
  hotkey: 'kill-switch-hotkey',
  exportReport: 'export-report',
  launchAtLogin: 'launch-at-login',
  launchWithIRacing: 'launch-with-iracing',
  startHidden: 'start-hidden',
  autoUpdates: 'auto-updates',
  deferUpdates: 'defer-updates',
  restartToUpdate: 'restart-to-update',
  quit: 'quit',
} as const;

/** How long "Not now" holds updates back. */
export const DEFER_UPDATES_HOURS = 24;

export function trayIconState(phase: RelayPhase, killSwitchSaved: boolean): TrayIconState {
  if (phase.kind !== 'running') {
    if (killSwitchSaved) return 'killed';
    return phase.kind === 'failed' ? 'critical' : 'normal';
  }
  const { health, settings } = phase.state;
  if (settings.killSwitch || health.status === 'killed') return 'killed';
  if (health.status === 'critical') return 'critical';
  if (health.status === 'warning') return 'warning';
  return 'normal';
}

/** One line that says what the relay is doing: the tooltip and the menu's first (greyed) item. */
export function statusLine(phase: RelayPhase): string {
  switch (phase.kind) {
    case 'starting':
      return 'Relay starting…';
    case 'waiting-for-sim':
      return 'Waiting for iRacing: the relay starts with the sim';
    case 'failed':
      return `Relay not running: ${firstLine(phase.error)}`;
    case 'running': {
      const { settings, targets, health } = phase.state;
      if (settings.killSwitch) return 'KILL SWITCH ON: every backend cut off';
      const active = targets.targets.filter((t) => t.state !== 'disabled' && t.state !== 'standby');
      const connected = active.filter((t) => t.state === 'connected').length;
      const source = health.source ? `${health.source.kind} ${health.source.state}` : 'no source';
      const verdict = health.status === 'healthy' ? 'healthy' : `${health.status}${health.reasons[0] ? `: ${health.reasons[0]}` : ''}`;
      // In single mode the one backend that matters is named, as people know it.
      const primary = settings.mode === 'single' ? settings.backends[settings.primaryIndex] : undefined;
      const mode = primary ? `single to ${primary.name ?? primary.url}` : settings.mode;
      return `${mode}, ${connected} of ${active.length} connected, ${source}, ${verdict}`;
    }
  }
}

/** Windows cuts tray tooltips at 127 characters: shorten with an ellipsis rather than mid-word without one. */
export const TOOLTIP_MAX_CHARS = 127;

export function trayToolTip(phase: RelayPhase): string {
  const text = `Relay Agent: ${statusLine(phase)}`;
  return text.length > TOOLTIP_MAX_CHARS ? `${text.slice(0, TOOLTIP_MAX_CHARS - 1)}…` : text;
}

function firstLine(text: string): string {
  const line = text.split('\n')[0] ?? '';
  return line.length > 100 ? `${line.slice(0, 99)}…` : line;
}

/** A hotkey choice's menu id: `kill-switch-hotkey:off` or `kill-switch-hotkey:<accelerator>`. */
export const HOTKEY_ITEM_PREFIX = `${MENU_IDS.hotkey}:`;

/** The kill-switch hotkey as the app holds it: the one chosen, and whether the system granted it. */
export interface HotkeyState {
  accelerator: string | null;
  registered: boolean;
}

export interface TrayMenuInput {
  phase: RelayPhase;
  /** The kill switch as saved: shown even while the relay is not running. */
  killSwitch: boolean;
  prefs: DesktopPrefs;
  platform: NodeJS.Platform;
  /** A downloaded update that may be installed now (not during a live session). */
  updateReady: { version: string; installable: boolean } | null;
  /** Updates can exist at all (a packaged build with a publish feed). */
  updatesSupported: boolean;
  /** The user's "not now" is running. */
  updatesDeferred: boolean;
  /** Absent where global shortcuts cannot exist. */
  hotkey?: HotkeyState;
}

function hotkeyMenu(hotkey: HotkeyState, platform: NodeJS.Platform): MenuItemModel {
  const shown = hotkey.accelerator ? describeAccelerator(hotkey.accelerator, platform) : null;
  const label = shown === null ? 'Kill switch hotkey: off' : `Kill switch hotkey: ${shown}${hotkey.registered ? '' : ' (taken by another program: not active)'}`;
  const choices = [...KILL_SWITCH_HOTKEY_PRESETS, ...(hotkey.accelerator && !KILL_SWITCH_HOTKEY_PRESETS.includes(hotkey.accelerator) ? [hotkey.accelerator] : [])];
  return {
    type: 'submenu',
    id: MENU_IDS.hotkey,
    label,
    items: [
      { type: 'checkbox', id: `${HOTKEY_ITEM_PREFIX}off`, label: 'Off', checked: hotkey.accelerator === null },
      ...choices.map((a): MenuItemModel => ({ type: 'checkbox', id: `${HOTKEY_ITEM_PREFIX}${a}`, label: describeAccelerator(a, platform), checked: hotkey.accelerator === a })),
    ],
  };
}

export function buildTrayMenu(input: TrayMenuInput): MenuItemModel[] {
  const { phase, prefs, platform } = input;
  const items: MenuItemModel[] = [
    { type: 'normal', id: MENU_IDS.status, label: statusLine(phase), enabled: false },
    { type: 'separator' },
    { type: 'normal', id: MENU_IDS.open, label: 'Open dashboard' },
    { type: 'checkbox', id: MENU_IDS.killSwitch, label: 'Kill switch: cut every backend off', checked: input.killSwitch },
    ...(input.hotkey ? [hotkeyMenu(input.hotkey, platform)] : []),
    { type: 'normal', id: MENU_IDS.exportReport, label: 'Export parity report…', enabled: phase.kind === 'running' },
    { type: 'separator' },
  ];
  if (platform === 'win32' || platform === 'darwin') {
    items.push({ type: 'checkbox', id: MENU_IDS.launchAtLogin, label: 'Start at login', checked: prefs.launchAtLogin });
  }
  if (platform === 'win32') {
    items.push({ type: 'checkbox', id: MENU_IDS.launchWithIRacing, label: 'Start with iRacing', checked: prefs.launchWithIRacing });
  }
  items.push({ type: 'checkbox', id: MENU_IDS.startHidden, label: 'Start hidden in the tray', checked: prefs.startHidden });
  if (input.updatesSupported) {
    items.push({ type: 'checkbox', id: MENU_IDS.autoUpdates, label: 'Automatic updates (never during a session)', checked: prefs.updates === 'auto' });
    if (prefs.updates === 'auto') {
      items.push({ type: 'checkbox', id: MENU_IDS.deferUpdates, label: `Not now: no updates for ${DEFER_UPDATES_HOURS} hours`, checked: input.updatesDeferred });
    }
    if (input.updateReady) {
      items.push({
        type: 'normal',
        id: MENU_IDS.restartToUpdate,
        label: input.updateReady.installable ? `Restart to update to ${input.updateReady.version}` : `Update ${input.updateReady.version} installs after the session`,
        enabled: input.updateReady.installable,
      });
    }
  }
  items.push({ type: 'separator' }, { type: 'normal', id: MENU_IDS.quit, label: 'Quit Relay Agent' });
  return items;
}
