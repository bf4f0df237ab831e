// Contracts of the desktop shell that more than one side needs: the desktop preferences
// kept beside the relay settings in the one settings file, the tray icon states, and the
// few facts the shell's main process, preload and tests must agree on.
import { z } from 'zod';

/** The key of the settings file that holds the desktop preferences (the headless relay ignores it). */
export const DESKTOP_PREFS_KEY = 'desktop';

export const UPDATE_MODES = ['auto', 'off'] as const;

/**
 * A global shortcut in Electron's accelerator syntax, with at least one modifier: a bare key
 * would be taken from the sim (a racer types and steers with the same hands).
 */
const MODIFIER = '(?:CommandOrControl|CmdOrCtrl|Command|Cmd|Control|Ctrl|Alt|Option|AltGr|Shift|Super|Meta)';
const KEY = '(?:[A-Z0-9]|F(?:[1-9]|1[0-9]|2[0-4])|Space|Tab|Backspace|Delete|Insert|Return|Enter|Up|Down|Left|Right|Home|End|PageUp|PageDown|Escape|Esc|Plus|Minus|Pause|num[0-9])';
export const ACCELERATOR_PATTERN = new RegExp(`^(?:${MODIFIER}\\+){1,3}${KEY}$`);
export const ACCELERATOR_EXPECTED = 'one to three modifiers and a key, such as CommandOrControl+Alt+K or Control+Shift+F12';

/** The kill-switch hotkeys the tray offers; any other valid accelerator can be set in the settings file. */
export const KILL_SWITCH_HOTKEY_PRESETS: readonly string[] = ['CommandOrControl+Alt+K', 'CommandOrControl+Shift+F12', 'Alt+Shift+End'];

/** An accelerator as a person reads it on this platform: Ctrl on Windows and Linux, Cmd on macOS. */
export function describeAccelerator(accelerator: string, platform: string): string {
  const mac = platform === 'darwin';
  return accelerator
    .split('+')
    .map((k) => (/^(CommandOrControl|CmdOrCtrl)$/.test(k) ? (mac ? 'Cmd' : 'Ctrl') : k === 'Control' ? 'Ctrl' : k === 'Command' ? 'Cmd' : k === 'Option' ? 'Alt' : k))
    .join('+');
}
export type UpdateMode = (typeof UPDATE_MODES)[number];

export const DesktopPrefsSchema = z
  .object({
    /** Create the window unshown at every launch: the app lives in the tray until opened. */
    startHidden: z.boolean(),
    /** Launch at login (Windows and macOS login items), hidden in the tray. */
    launchAtLogin: z.boolean(),
    /** Windows: launch at login, then wait quietly until iRacing runs before relaying. */
    launchWithIRacing: z.boolean(),
    /** 'auto': check, download and install between sessions; 'off': never check. */
    updates: z.enum(UPDATE_MODES),
    /** Epoch ms until which the user asked not to be offered updates; null when not deferred. */
    updatesDeferredUntil: z.number().int().nonnegative().nullable(),
    /** The one-time "still running in the tray" notice has been shown. */
    closeToTrayNoticeShown: z.boolean(),
    /** A global shortcut that toggles the kill switch even while the sim has focus; null: none (the default). */
    killSwitchHotkey: z.string().regex(ACCELERATOR_PATTERN, ACCELERATOR_EXPECTED).nullable(),
  })
  .strict();

export type DesktopPrefs = z.infer<typeof DesktopPrefsSchema>;

export const DEFAULT_DESKTOP_PREFS: DesktopPrefs = {
  startHidden: false,
  launchAtLogin: false,
  launchWithIRacing: false,
  updates: 'auto',
  updatesDeferredUntil: null,
  closeToTrayNoticeShown: false,
  killSwitchHotkey: null,
};

/**
 * The preferences from the file's `desktop` object: each field that is missing takes its
 * default, and each that is invalid takes its default with one line naming it, so a hand
 * edit gone wrong never stops the app from starting.
 */
export function parseDesktopPrefs(value: unknown): { prefs: DesktopPrefs; problems: string[] } {
  if (value === undefined) return { prefs: { ...DEFAULT_DESKTOP_PREFS }, problems: [] };
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { prefs: { ...DEFAULT_DESKTOP_PREFS }, problems: [`${DESKTOP_PREFS_KEY}: expected an object of desktop preferences; using the defaults`] };
  }
  const raw = value as Record<string, unknown>;
  const prefs: Record<string, unknown> = { ...DEFAULT_DESKTOP_PREFS };
  const problems: string[] = [];
  const shape = DesktopPrefsSchema.shape;
  for (const key of Object.keys(raw)) {
    if (!(key in shape)) {
      problems.push(`${DESKTOP_PREFS_KEY}.${key}: not a desktop preference (expected one of ${Object.keys(shape).join(', ')}); ignored`);
      continue;
    }
    const field = shape[key as keyof typeof shape];
    const parsed = field.safeParse(raw[key]);
    if (parsed.success) prefs[key] = parsed.data;
    else problems.push(`${DESKTOP_PREFS_KEY}.${key}: ${JSON.stringify(raw[key])} is not valid (${parsed.error.issues[0]?.message ?? 'invalid'}); using ${JSON.stringify(prefs[key])}`);
  }
  return { prefs: prefs as DesktopPrefs, problems };
}

/** What the tray icon shows, worst first: the kill switch wins over health. */
export const TRAY_ICON_STATES = ['killed', 'critical', 'warning', 'normal'] as const;
export type TrayIconState = (typeof TRAY_ICON_STATES)[number];

/** The custom scheme the window's dashboard is served from (the app's own files, never remote content). */
export const APP_SCHEME = 'app';
export const APP_HOST = 'dashboard';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
export const APP_INDEX_URL = `${APP_ORIGIN}/index.html`;

/**
 * The CSP of the desktop window: the dashboard's own scripts and styles only, no inline
 * code, no network (the window talks to the relay over IPC), no frames, no forms.
 */
export const DESKTOP_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "font-src 'self'",
  "connect-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join('; ');

/**
 * The only pages outside the app that a link may open, in the user's browser: origin plus
 * path prefix. Anything else is refused (and logged).
 */
export const EXTERNAL_URL_ALLOWLIST: readonly string[] = ['https://github.com/relay-agent/relay-agent', 'https://www.iracing.com/'];

export function isAllowedExternalUrl(text: string): boolean {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return false;
  }
  if (url.protocol !== 'https:' || url.username || url.password) return false;
  return EXTERNAL_URL_ALLOWLIST.some((allowed) => {
    const a = new URL(allowed);
    if (url.origin !== a.origin) return false;
    const prefix = a.pathname.endsWith('/') ? a.pathname : `${a.pathname}/`;
    return a.pathname === '/' || url.pathname === a.pathname || url.pathname.startsWith(prefix);
  });
}
