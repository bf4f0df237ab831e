// How the desktop app was launched and how it asks to be launched at login. The command
// line it sees is Electron's: the executable, in development the app path, Chromium's own
// switches, and ours. A mistyped option of ours is reported, never fatal: a login item
// with a stale argument must still bring the relay up.
import type { DesktopPrefs } from '../../src-shared/desktop';

export interface LaunchArgs {
  /** Start in the tray without showing the window. */
  hidden: boolean;
  /** Wait for iRacing's sim before relaying (the login item of "launch with iRacing"). */
  withIRacing: boolean;
  configDir?: string;
  source?: string;
  problems: string[];
}

export const LAUNCH_FLAGS = {
  hidden: '--hidden',
  withIRacing: '--with-iracing',
  configDir: '--config-dir',
  source: '--source',
} as const;

// Flags in this namespace are ours by name: one we do not know is a typo or from a newer version.
const OWN_PREFIX = '--relay-';

export function parseLaunchArgs(argv: readonly string[]): LaunchArgs {
  const result: LaunchArgs = { hidden: false, withIRacing: false, problems: [] };
  const seen = new Set<string>();
  const once = (flag: string) => {
    if (seen.has(flag)) result.problems.push(`${flag} is given more than once; using the last one`);
    seen.add(flag);
  };

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    // Chromium stops reading switches after "--"; nothing of ours follows it either.
    if (arg === '--') break;
    // The executable, the app path in development, and anything else that is not a switch.
    if (!arg.startsWith('--')) continue;

    const eq = arg.indexOf('=');
    const name = eq >= 0 ? arg.slice(0, eq) : arg;
    const inline = eq >= 0 ? arg.slice(eq + 1) : undefined;

    if (name === LAUNCH_FLAGS.hidden || name === LAUNCH_FLAGS.withIRacing) {
      if (inline !== undefined) result.problems.push(`${name} takes no value (got "${arg}"); treated as ${name}`);
      if (name === LAUNCH_FLAGS.hidden) result.hidden = true;
      else result.withIRacing = true;
      continue;
    }

    if (name === LAUNCH_FLAGS.configDir || name === LAUNCH_FLAGS.source) {
      let value = inline;
      if (value === undefined) {
        const next = argv[i + 1];
        if (next !== undefined && !next.startsWith('--')) {
          value = next;
          i++;
        }
      }
      const what = name === LAUNCH_FLAGS.configDir ? 'a directory' : 'a source spec';
      if (value === undefined || value.trim() === '') {
        result.problems.push(`${name} needs ${what} (e.g. ${name} <value> or ${name}=<value>); ignored`);
        continue;
      }
      once(name);
      if (name === LAUNCH_FLAGS.configDir) result.configDir = value;
      else result.source = value;
      continue;
    }

    if (name.startsWith(OWN_PREFIX)) {
      result.problems.push(`unknown option ${name}; ignored (known: ${Object.values(LAUNCH_FLAGS).join(', ')})`);
    }
    // Anything else is Electron's or Chromium's (--no-sandbox, --inspect=..., --enable-logging).
  }
  return result;
}

export interface LoginItemPlan {
  /** Whether this platform has login items the app can set. */
  supported: boolean;
  openAtLogin: boolean;
  args: string[];
  /** Why not, when unsupported. */
  reason?: string;
}

export function loginItemPlan(platform: NodeJS.Platform, prefs: Pick<DesktopPrefs, 'launchAtLogin' | 'launchWithIRacing'>): LoginItemPlan {
  if (platform === 'linux') {
    return {
      supported: false,
      openAtLogin: false,
      args: [],
      reason: 'Linux desktops have no login items; add Relay Agent (with --hidden) to your desktop\'s autostart applications instead',
    };
  }
  if (platform !== 'win32' && platform !== 'darwin') {
    return { supported: false, openAtLogin: false, args: [], reason: `launch at login is not available on ${platform}` };
  }
  // Waiting for the sim needs tasklist, so "launch with iRacing" is a Windows login item only.
  const withIRacing = platform === 'win32' && prefs.launchWithIRacing;
  const openAtLogin = prefs.launchAtLogin || withIRacing;
  if (!openAtLogin) return { supported: true, openAtLogin: false, args: [] };
  // macOS passes no arguments to login items (Electron's args are Windows-only): there the
  // window stays hidden only through prefs.startHidden. They are kept for the record.
  return { supported: true, openAtLogin: true, args: withIRacing ? [LAUNCH_FLAGS.hidden, LAUNCH_FLAGS.withIRacing] : [LAUNCH_FLAGS.hidden] };
}

export function shouldStartHidden(args: Pick<LaunchArgs, 'hidden'>, prefs: Pick<DesktopPrefs, 'startHidden'>): boolean {
  return args.hidden || prefs.startHidden;
}
