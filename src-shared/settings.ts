// The one settings schema. The headless relay (conf) and the desktop shell (electron-store)
// keep the same JSON object in the same file; environment variables override it per run.
import { z } from 'zod';
import { DESKTOP_PREFS_KEY } from './desktop';

export const BACKEND_MODES = ['single', 'parallel'] as const;
export type BackendMode = (typeof BACKEND_MODES)[number];

export interface Backend {
  url: string;
  enabled: boolean;
  /** Sent as `Authorization: Bearer <token>` on the upgrade. A secret: never logged or reported. */
  token?: string;
  /** A friendly name ("Gateway B, eu-west") shown beside the URL in the dashboard, the tray, the report and the logs. */
  name?: string;
}

export interface Settings {
  backends: Backend[];
  mode: BackendMode;
  primaryIndex: number;
  targetTimeoutMs: number;
  sendTimeoutMs: number;
  killSwitch: boolean;
  paritySampleRate: number;
  /** 0 binds any free port (tests); the bound port is printed and written to the config dir. */
  debugPort: number;
  queueMaxFrames: number;
  queueMaxBytes: number;
  /** iRacing variables carried by the `controls` stream (one frame per sample). */
  controlsVars: string[];
  /** iRacing variables carried by the slower `baseline` stream. */
  baselineVars: string[];
  baselineHz: number;
  /** Send personal fields of the session (user names, ids) to gateways. Off unless a person turns it on. */
  sharePersonalData: boolean;
  /** A connected source with no new data for this long is `stale`. */
  sourceStaleMs: number;
  /** More backends than this are refused: each one is a socket, a queue and a copy of every frame. */
  maxBackends: number;
  /**
   * The end of a run (or a backend's removal) waits this long for each gateway to confirm the
   * last frames and close cleanly; what is not confirmed by then is named and counted lost.
   */
  endTimeoutMs: number;
  /**
   * Accept a configuration under which no enabled backend receives frames (single mode with
   * a disabled or missing primary, every backend disabled). Off: such a configuration is
   * refused. Set only by an explicit force (`relay set --force`, the dashboard's confirmation).
   */
  allowNoDelivery: boolean;
}

export const DEFAULT_CONTROLS_VARS: readonly string[] = ['SessionTime', 'Throttle', 'Brake', 'Clutch', 'SteeringWheelAngle', 'Gear', 'RPM', 'Speed'];
export const DEFAULT_BASELINE_VARS: readonly string[] = [
  'SessionTime',
  'SessionNum',
  'Lap',
  'LapDistPct',
  'FuelLevel',
  'OnPitRoad',
  'PlayerCarPosition',
  'SessionState',
  'SessionFlags',
];

export const DEFAULT_SETTINGS: Readonly<Settings> = Object.freeze({
  backends: [],
  mode: 'single',
  primaryIndex: 0,
  targetTimeoutMs: 1500,
  sendTimeoutMs: 250,
  killSwitch: false,
  paritySampleRate: 0.05,
  debugPort: 8765,
  // About 30 s of 60 Hz telemetry: enough to ride out a gateway restart.
  queueMaxFrames: 2000,
  queueMaxBytes: 4 * 1024 * 1024,
  controlsVars: [...DEFAULT_CONTROLS_VARS],
  baselineVars: [...DEFAULT_BASELINE_VARS],
  baselineHz: 4,
  sharePersonalData: false,
  sourceStaleMs: 2000,
  maxBackends: 16,
  endTimeoutMs: 5000,
  allowNoDelivery: false,
});

export type SettingSource = 'default' | 'file' | 'env' | 'cli';

export interface SettingsProblem {
  /** The environment variable the setting is known by (the spec's name). */
  variable: string;
  /** Where the bad value came from; for the file, the key inside it. */
  source: SettingSource;
  fileKey?: string;
  value: string;
  expected: string;
  /** What happens meanwhile, when that is worth saying (a kill-switch value nobody can read counts as ON). */
  note?: string;
}

export function formatProblem(p: SettingsProblem): string {
  const where = { env: 'environment', cli: 'command line', default: 'default', file: `settings file key "${p.fileKey ?? ''}"` }[p.source];
  return `${p.variable}: got ${JSON.stringify(p.value)} (from ${where}); expected ${p.expected}${p.note ? `; ${p.note}` : ''}`;
}

export class SettingsError extends Error {
  /**
   * The kill switch these settings ask for, read fail-safe: on when a kill-switch value in
   * the file or the environment means on or cannot be read as off. A caller that keeps
   * running on older settings applies it anyway (SettingsReload.reload).
   */
  readonly killSwitch: boolean;
  /** Warnings found along the way (unknown keys and variables); not part of the message. */
  readonly warnings: string[];

  constructor(
    readonly problems: SettingsProblem[],
    extra: { killSwitch?: boolean; warnings?: string[] } = {},
  ) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'SettingsError';
    this.killSwitch = extra.killSwitch ?? false;
    this.warnings = extra.warnings ?? [];
  }
}

// ---------------------------------------------------------------------------------------
// The kill switch: one rule for every place a value of it is read (the settings file, the
// environment, `relay set`, the relay's fallback when the rest of the file is broken).

export const KILL_SWITCH_KEY = 'killSwitch';
export const KILL_SWITCH_VARIABLE = 'RELAY_KILL_SWITCH';
const KILL_SWITCH_ON_TEXTS: readonly string[] = ['1', 'true', 'on', 'yes'];
const KILL_SWITCH_OFF_TEXTS: readonly string[] = ['0', 'false', 'off', 'no'];
const KILL_SWITCH_EXPECTED = '1 (kill switch on) or 0 (off); also true or false, "on" or "off", "yes" or "no"';
const KILL_SWITCH_UNREADABLE = 'a kill-switch value that is neither counts as ON: every backend stays cut off until it is fixed';

/**
 * What a kill-switch value means: true (on), false (off), or undefined when it is neither.
 * On: true, 1, and the texts "1", "true", "on", "yes"; off: false, 0, and "0", "false",
 * "off", "no" (texts trimmed, in any case). Callers treat undefined as ON (killSwitchMeansOn):
 * a value nobody can read must never be the reason telemetry keeps flowing.
 */
export function readKillSwitch(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (value === 1) return true;
  if (value === 0) return false;
  if (typeof value !== 'string') return undefined;
  const text = value.trim().toLowerCase();
  if (KILL_SWITCH_ON_TEXTS.includes(text)) return true;
  if (KILL_SWITCH_OFF_TEXTS.includes(text)) return false;
  return undefined;
}

/** Fail-safe reading of a kill-switch value that is present: on unless it plainly means off. */
export const killSwitchMeansOn = (value: unknown): boolean => readKillSwitch(value) !== false;

/**
 * Whether a name given to `relay set` means the kill switch: its variable or its file key, in
 * any case. Typed in a hurry, the emergency control must still be understood.
 */
export function isKillSwitchName(name: string): boolean {
  return name.toUpperCase() === KILL_SWITCH_VARIABLE || name.toLowerCase() === KILL_SWITCH_KEY.toLowerCase();
}

/** A kill-switch value from the command line that is neither on nor off: it changes nothing. */
export function killSwitchValueProblem(text: string): SettingsProblem {
  return { variable: KILL_SWITCH_VARIABLE, source: 'cli', value: text, expected: KILL_SWITCH_EXPECTED, note: 'nothing was changed' };
}

// ---------------------------------------------------------------------------------------
// Names: unknown keys and variables are reported with the nearest known name.

/**
 * Edit distance (Levenshtein, with a swap of two neighbours counting as one edit, as in
 * 'mdoe'), case-insensitive. Written here rather than taken from a package: it is a dozen
 * lines, the names compared are short (longer than 64 characters are not compared), and
 * this module is shared with the renderer, which should not grow a dependency for it.
 */
export function editDistance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  let before: number[] = [];
  let prev = Array.from({ length: t.length + 1 }, (_, j) => j);
  for (let i = 1; i <= s.length; i++) {
    const row = [i];
    for (let j = 1; j <= t.length; j++) {
      let d = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + (s[i - 1] === t[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) d = Math.min(d, (before[j - 2] as number) + 1);
      row[j] = d;
    }
    before = prev;
    prev = row;
  }
  return prev[t.length] as number;
}

const MAX_COMPARED_NAME = 64;

/** The known name nearest to `name`, if it is near enough to be a slip of the keyboard. */
export function nearestName(name: string, known: readonly string[]): string | undefined {
  if (name.length > MAX_COMPARED_NAME) return undefined;
  // One edit for short names, up to three for long ones: 'mod' means 'mode', 'foo' means nothing.
  const limit = Math.max(1, Math.min(3, Math.floor(name.length / 4)));
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const candidate of known) {
    const d = editDistance(name, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

// ---------------------------------------------------------------------------------------
// Field rules: one place says what each setting accepts, for the file and the environment.

const int = (min: number, max: number) => z.number().int().min(min).max(max);

export function isWsUrl(value: string): boolean {
  try {
    const u = new URL(value);
    return (u.protocol === 'ws:' || u.protocol === 'wss:') && u.hostname.length > 0;
  } catch {
    return false;
  }
}

interface FieldRule<K extends keyof Settings> {
  key: K;
  variable: string;
  expected: string;
  schema: z.ZodType<Settings[K]>;
  /** Environment text to a candidate value; undefined when the text is not even the right kind. */
  fromEnv?: (text: string) => unknown;
}

const parseInteger = (text: string): number | undefined => (/^\s*-?\d+\s*$/.test(text) ? Number(text) : undefined);
const parseDecimal = (text: string): number | undefined =>
  /^\s*-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(text) ? Number(text) : undefined;
const VAR_NAME = /^[A-Za-z][A-Za-z0-9_]{0,31}$/;
const varList = z.array(z.string().regex(VAR_NAME)).min(1).max(200);
const parseVarList = (text: string): string[] => text.split(',').map((s) => s.trim());

const parseFlag = (text: string): boolean | undefined => {
  const t = text.trim().toLowerCase();
  if (t === '1' || t === 'true' || t === 'on') return true;
  if (t === '0' || t === 'false' || t === 'off') return false;
  return undefined;
};

/** The highest RELAY_MAX_BACKENDS may go. */
export const MAX_BACKENDS_LIMIT = 64;

const scalarRules = {
  mode: {
    key: 'mode',
    variable: 'RELAY_BACKEND_MODE',
    expected: '"single" or "parallel"',
    schema: z.enum(BACKEND_MODES),
    fromEnv: (t: string) => t.trim(),
  },
  primaryIndex: {
    key: 'primaryIndex',
    variable: 'RELAY_PRIMARY_INDEX',
    expected: 'a whole number, the 0-based index of a backend in RELAY_BACKENDS',
    schema: int(0, 1000),
    fromEnv: parseInteger,
  },
  targetTimeoutMs: {
    key: 'targetTimeoutMs',
    variable: 'RELAY_TARGET_TIMEOUT_MS',
    expected: 'a whole number of milliseconds from 50 to 120000',
    schema: int(50, 120_000),
    fromEnv: parseInteger,
  },
  sendTimeoutMs: {
    key: 'sendTimeoutMs',
    variable: 'RELAY_SEND_TIMEOUT_MS',
    expected: 'a whole number of milliseconds from 1 to 60000',
    schema: int(1, 60_000),
    fromEnv: parseInteger,
  },
  killSwitch: {
    key: 'killSwitch',
    variable: KILL_SWITCH_VARIABLE,
    expected: KILL_SWITCH_EXPECTED,
    // The file's value and the environment's text go through the same rule.
    schema: z
      .unknown()
      .refine((v) => readKillSwitch(v) !== undefined)
      .transform((v) => readKillSwitch(v) === true),
    fromEnv: (t: string) => t,
  },
  paritySampleRate: {
    key: 'paritySampleRate',
    variable: 'RELAY_PARITY_SAMPLE_RATE',
    expected: 'a fraction from 0 to 1 (0.05 asks 5% of frames for an ack)',
    schema: z.number().min(0).max(1),
    fromEnv: parseDecimal,
  },
  debugPort: {
    key: 'debugPort',
    variable: 'RELAY_DEBUG_PORT',
    expected: 'a TCP port from 1 to 65535 (or 0 for any free port)',
    schema: int(0, 65_535),
    fromEnv: parseInteger,
  },
  queueMaxFrames: {
    key: 'queueMaxFrames',
    variable: 'RELAY_QUEUE_MAX_FRAMES',
    expected: 'a whole number of frames from 1 to 1000000',
    schema: int(1, 1_000_000),
    fromEnv: parseInteger,
  },
  queueMaxBytes: {
    key: 'queueMaxBytes',
    variable: 'RELAY_QUEUE_MAX_BYTES',
    expected: 'a whole number of bytes from 1024 to 1073741824',
    schema: int(1024, 1024 * 1024 * 1024),
    fromEnv: parseInteger,
  },
  controlsVars: {
    key: 'controlsVars',
    variable: 'RELAY_CONTROLS_VARS',
    expected: 'comma-separated iRacing variable names, such as Throttle,Brake,RPM (1 to 200 names)',
    schema: varList,
    fromEnv: parseVarList,
  },
  baselineVars: {
    key: 'baselineVars',
    variable: 'RELAY_BASELINE_VARS',
    expected: 'comma-separated iRacing variable names, such as SessionTime,Lap,FuelLevel (1 to 200 names)',
    schema: varList,
    fromEnv: parseVarList,
  },
  baselineHz: {
    key: 'baselineHz',
    variable: 'RELAY_BASELINE_HZ',
    expected: 'frames per second of the baseline stream, from 0.1 to 60',
    schema: z.number().min(0.1).max(60),
    fromEnv: parseDecimal,
  },
  sharePersonalData: {
    key: 'sharePersonalData',
    variable: 'RELAY_SHARE_PERSONAL_DATA',
    expected: '1 (send user names and ids from the session) or 0 (never send them)',
    schema: z.boolean(),
    fromEnv: parseFlag,
  },
  sourceStaleMs: {
    key: 'sourceStaleMs',
    variable: 'RELAY_SOURCE_STALE_MS',
    expected: 'a whole number of milliseconds from 100 to 600000',
    schema: int(100, 600_000),
    fromEnv: parseInteger,
  },
  maxBackends: {
    key: 'maxBackends',
    variable: 'RELAY_MAX_BACKENDS',
    expected: `a whole number of backends from 1 to ${MAX_BACKENDS_LIMIT}`,
    schema: int(1, MAX_BACKENDS_LIMIT),
    fromEnv: parseInteger,
  },
  endTimeoutMs: {
    key: 'endTimeoutMs',
    variable: 'RELAY_END_TIMEOUT_MS',
    expected: 'a whole number of milliseconds from 0 to 120000 (how long the end of a run waits for the gateways to confirm)',
    schema: int(0, 120_000),
    fromEnv: parseInteger,
  },
  allowNoDelivery: {
    key: 'allowNoDelivery',
    variable: 'RELAY_ALLOW_NO_DELIVERY',
    expected: '1 (accept settings under which no backend receives frames) or 0 (refuse them)',
    schema: z.boolean(),
    fromEnv: parseFlag,
  },
} satisfies { [K in Exclude<keyof Settings, 'backends'>]: FieldRule<K> };

export type ScalarSettingKey = keyof typeof scalarRules;

/**
 * A setting typed as text (the dashboard's settings panel), read exactly as its variable
 * would be by `relay set` and the environment: the same rule, the same words when it is wrong.
 */
export function parseSettingText<K extends ScalarSettingKey>(key: K, text: string): { ok: true; value: Settings[K] } | { ok: false; problem: string } {
  const rule = scalarRules[key] as unknown as FieldRule<K>;
  const candidate = rule.fromEnv ? rule.fromEnv(text) : text;
  const parsed = candidate === undefined ? undefined : rule.schema.safeParse(candidate);
  if (parsed?.success) return { ok: true, value: parsed.data };
  return { ok: false, problem: `${rule.variable}: got ${JSON.stringify(text)}; expected ${rule.expected}` };
}

/** A setting's value as the text parseSettingText reads back: lists comma-separated, flags 1 or 0. */
export function settingText(value: unknown): string {
  if (Array.isArray(value)) return value.join(',');
  if (typeof value === 'boolean') return value ? '1' : '0';
  return String(value);
}

export const BACKENDS_VARIABLE = 'RELAY_BACKENDS';
export const ENABLED_VARIABLE = 'RELAY_TARGETS_ENABLED';
export const TOKENS_VARIABLE = 'RELAY_BACKEND_TOKENS';
export const NAMES_VARIABLE = 'RELAY_BACKEND_NAMES';
const URL_EXPECTED = 'comma-separated ws:// or wss:// URLs, such as ws://127.0.0.1:8080/relay';
/**
 * The variables that together describe the backend list. An environment that sets any one
 * of them pins the list for the run: the dashboard, relay set and the cutover refuse to change it.
 */
export const BACKEND_LIST_VARIABLES: readonly string[] = [BACKENDS_VARIABLE, ENABLED_VARIABLE, TOKENS_VARIABLE, NAMES_VARIABLE];

/** Every variable the relay reads, with the settings key it sets: the CLI's `set` takes either name. */
export const SETTING_VARIABLES: Record<string, keyof Settings | 'enabled' | 'tokens' | 'names'> = {
  [BACKENDS_VARIABLE]: 'backends',
  [ENABLED_VARIABLE]: 'enabled',
  [TOKENS_VARIABLE]: 'tokens',
  [NAMES_VARIABLE]: 'names',
  ...Object.fromEntries(Object.values(scalarRules).map((r) => [r.variable, r.key])),
};

/**
 * What each setting means, in a sentence, by variable: relay --help, relay help set and the
 * dashboard's settings panel all say the same thing. Defaults and accepted values come from
 * DEFAULT_SETTINGS and the rules above.
 */
export const SETTING_MEANINGS: Readonly<Record<string, string>> = {
  [BACKENDS_VARIABLE]: 'the gateways, comma-separated ws:// or wss:// URLs; a running relay keeps the queues of the ones that stay',
  [ENABLED_VARIABLE]: 'one 1/0 flag per backend: 0 stops sending to it without removing it',
  [TOKENS_VARIABLE]: 'one bearer token per backend (empty for none), sent on the WebSocket upgrade; never shown or logged',
  [NAMES_VARIABLE]: 'one friendly name per backend (empty for none), shown beside its URL in the dashboard, tray, report and logs',
  RELAY_BACKEND_MODE: 'single: send to the primary only; parallel: send every frame to every enabled backend (for a cutover)',
  RELAY_PRIMARY_INDEX: 'the primary backend in single mode, numbered from 0 as listed (#0, #1, ...)',
  RELAY_TARGET_TIMEOUT_MS: 'how long a connection to a gateway may take before it is given up and retried',
  RELAY_SEND_TIMEOUT_MS: 'a write the socket has not completed within this time means the gateway is not reading: the socket is replaced',
  [KILL_SWITCH_VARIABLE]: '1 cuts every backend off at once and keeps them off, across restarts, until a person turns it off',
  RELAY_PARITY_SAMPLE_RATE: 'the fraction of frames that ask the gateway for an ack (the latency probe); the same frames at every gateway',
  RELAY_DEBUG_PORT: 'the loopback port of the debug endpoints and the dashboard (0: any free port); applies at the next start',
  RELAY_QUEUE_MAX_FRAMES: 'per backend, the most frames held for a gateway that is slow or away; past it the oldest are dropped (and counted)',
  RELAY_QUEUE_MAX_BYTES: 'per backend, the most bytes held; past it the oldest frames are dropped (and counted)',
  RELAY_CONTROLS_VARS: 'the iRacing variables of the controls stream (one frame per sample)',
  RELAY_BASELINE_VARS: 'the iRacing variables of the slower baseline stream',
  RELAY_BASELINE_HZ: 'baseline frames per second',
  RELAY_SHARE_PERSONAL_DATA: '1 sends user names and ids from the session to the gateways; 0 never does',
  RELAY_SOURCE_STALE_MS: 'a connected source with no new data for this long is reported stale',
  RELAY_MAX_BACKENDS: 'the most backends the relay accepts; a longer list is refused',
  RELAY_END_TIMEOUT_MS: 'at the end of a run or a removal, how long to wait for each gateway to confirm the last frames',
  RELAY_ALLOW_NO_DELIVERY: '1 accepts settings under which no backend receives frames (normally refused); set by relay set --force',
};

/** The key of a backend entry that holds its token sealed by the desktop app's safe storage. */
export const SEALED_TOKEN_KEY = 'tokenSealed';

/** The file keys of the relay's own settings. */
export const SETTING_KEYS: readonly string[] = ['backends', ...Object.keys(scalarRules)];
/**
 * Keys others keep in the same file, known but not the relay's: the desktop preferences
 * (checked by parseDesktopPrefs), and conf's and electron-store's own bookkeeping.
 */
export const SHARED_FILE_KEYS: readonly string[] = [DESKTOP_PREFS_KEY, '__internal__'];
const BACKEND_ENTRY_KEYS: readonly string[] = ['url', 'enabled', 'token', SEALED_TOKEN_KEY, 'name'];
/** RELAY_* variables that other parts of the app read: not settings, and not unknown. */
const OTHER_RELAY_VARIABLES: readonly string[] = ['RELAY_BUILD_TIME', 'RELAY_AGENT_E2E'];
/** At most this many unknown names are listed one by one; the rest are counted. */
const MAX_UNKNOWN_LISTED = 20;

function display(value: unknown): string {
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

export interface ResolvedSettings {
  settings: Settings;
  /** Variables whose environment value replaced the file's for this run. */
  envOverrides: string[];
  /**
   * Things to tell the operator that do not stop the relay: unknown keys in the file and
   * unknown RELAY_* variables, each with the nearest known name. One line each.
   */
  warnings: string[];
}

export type Env = Record<string, string | undefined>;

const splitList = (text: string): string[] => text.split(',').map((s) => s.trim());

/** The file as an object: anything else counts as empty (and resolveSettings says so). */
const asObject = (value: unknown): Record<string, unknown> =>
  value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};

/** A file key, or a variable named as one, to the file key to suggest. */
const FILE_NAME_TO_KEY: ReadonlyMap<string, string> = new Map([
  ...SETTING_KEYS.map((k) => [k, k] as const),
  ...SHARED_FILE_KEYS.map((k) => [k, k] as const),
  ...Object.entries(SETTING_VARIABLES).map(([variable, key]) => [variable, key === 'enabled' || key === 'tokens' || key === 'names' ? 'backends' : key] as const),
]);
const FILE_NAMES: readonly string[] = [...FILE_NAME_TO_KEY.keys()];
const KNOWN_VARIABLES: readonly string[] = [...Object.keys(SETTING_VARIABLES), ...OTHER_RELAY_VARIABLES];

/** The file key a name most likely means, if any (an exact key, a variable's name, or a slip of either). */
function fileKeyMeant(name: string): string | undefined {
  const near = nearestName(name, FILE_NAMES);
  return near === undefined ? undefined : FILE_NAME_TO_KEY.get(near);
}

/** A cheap first look: edit distance is at least the difference in length, and nearestName allows 3 at most. */
const mayNameKillSwitch = (name: string): boolean => [KILL_SWITCH_KEY, KILL_SWITCH_VARIABLE].some((n) => Math.abs(n.length - name.length) <= 3);

interface UnknownNames {
  warnings: string[];
  /** An unknown name that is a slip for the kill switch, with a value that does not plainly mean off. */
  killSwitch: boolean;
}

/**
 * Unknown keys of the file (and of its backend entries) and unknown RELAY_* variables, each
 * named with the nearest known one. They are warnings: the relay has always started with
 * them, ignoring them. One exception errs on the safe side: a near miss of the kill switch
 * (`kilSwitch: true`, RELAY_KILL_SWICH=1) whose value does not plainly mean off, when the
 * real one is not given, turns the kill switch on, for that is what its author wanted.
 */
function findUnknownNames(file: Record<string, unknown>, env: Env, backendEntries: readonly unknown[]): UnknownNames {
  const warnings: string[] = [];
  let killSwitch = false;
  let unlisted = 0;
  // Past the first few, names are only counted (and checked for the kill switch): a file of
  // ten thousand junk keys must not cost ten thousand suggestions.
  const listing = (): boolean => {
    if (warnings.length < MAX_UNKNOWN_LISTED) return true;
    unlisted++;
    return false;
  };

  for (const key of Object.keys(file)) {
    if (FILE_NAME_TO_KEY.get(key) === key) continue;
    const full = listing();
    if (!full && !mayNameKillSwitch(key)) continue;
    const suggestion = fileKeyMeant(key);
    if (suggestion === KILL_SWITCH_KEY && file[KILL_SWITCH_KEY] === undefined && killSwitchMeansOn(file[key])) {
      killSwitch = true;
      // Always said, listed or not.
      warnings.push(`settings file: unknown setting '${key}'; did you mean '${KILL_SWITCH_KEY}'? Its value does not read as off, so the kill switch is ON until the key is fixed`);
      if (!full) unlisted--;
    } else if (!full) {
      continue;
    } else if (suggestion !== undefined) {
      warnings.push(`settings file: unknown setting '${key}'; did you mean '${suggestion}'? It is ignored`);
    } else {
      warnings.push(`settings file: unknown setting '${key}' is ignored (the settings are ${SETTING_KEYS.join(', ')})`);
    }
  }

  backendEntries.forEach((entry, i) => {
    if (!entry || typeof entry !== 'object' || Array.isArray(entry)) return;
    for (const key of Object.keys(entry)) {
      if (BACKEND_ENTRY_KEYS.includes(key) || !listing()) continue;
      const suggestion = nearestName(key, BACKEND_ENTRY_KEYS);
      warnings.push(`settings file: backends[${i}]: unknown key '${key}'${suggestion ? `; did you mean '${suggestion}'? It is ignored` : ` is ignored (a backend has ${BACKEND_ENTRY_KEYS.join(', ')})`}`);
    }
  });

  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || !/^RELAY_/i.test(name) || KNOWN_VARIABLES.includes(name)) continue;
    const full = listing();
    if (!full && !mayNameKillSwitch(name)) continue;
    const suggestion = nearestName(name, KNOWN_VARIABLES);
    if (suggestion === KILL_SWITCH_VARIABLE && env[KILL_SWITCH_VARIABLE] === undefined && killSwitchMeansOn(value)) {
      killSwitch = true;
      warnings.push(`environment: unknown variable '${name}'; did you mean '${KILL_SWITCH_VARIABLE}'? Its value does not read as off, so the kill switch is ON for this run`);
      if (!full) unlisted--;
    } else if (!full) {
      continue;
    } else if (suggestion !== undefined) {
      warnings.push(`environment: unknown variable '${name}'; did you mean '${suggestion}'? It is ignored`);
    } else {
      warnings.push(`environment: unknown variable '${name}' is ignored (relay --help lists the settings)`);
    }
  }
  if (unlisted > 0) warnings.push(`settings file and environment: ${unlisted} more unknown names, ignored`);
  return { warnings, killSwitch };
}

/** The problem of a backend list longer than the cap: names the count, the cap and the setting. */
export function tooManyBackends(count: number, cap: number, source: SettingSource, fileKey?: string): SettingsProblem {
  return {
    variable: BACKENDS_VARIABLE,
    source,
    ...(fileKey !== undefined ? { fileKey } : {}),
    value: `${count} backends`,
    expected: `at most ${cap} backends (the cap is ${scalarRules.maxBackends.variable}, file key ${scalarRules.maxBackends.key}, now ${cap}; it can be raised up to ${MAX_BACKENDS_LIMIT})`,
  };
}

/**
 * Merges the settings file with the environment (the environment wins, except that the
 * kill switch is on when either says so) and checks every rule. Every problem is reported,
 * not just the first, so one run shows the operator everything to fix. The SettingsError
 * thrown for them still says whether the kill switch is asked for (fail-safe: a value that
 * cannot be read counts as on), for a caller that keeps running on older settings.
 */
export function resolveSettings(fileValue: unknown, env: Env = {}): ResolvedSettings {
  const problems: SettingsProblem[] = [];
  const envOverrides: string[] = [];
  const file = asObject(fileValue);
  if (fileValue !== undefined && fileValue !== null && file !== fileValue) {
    problems.push({ variable: 'settings file', source: 'file', fileKey: '(root)', value: display(fileValue), expected: 'a JSON object' });
  }
  const out: Settings = { ...DEFAULT_SETTINGS, backends: [], controlsVars: [...DEFAULT_CONTROLS_VARS], baselineVars: [...DEFAULT_BASELINE_VARS] };
  const mutable = out as unknown as Record<string, unknown>;

  for (const rule of Object.values(scalarRules) as FieldRule<ScalarSettingKey>[]) {
    // Of a kill-switch value nobody can read, the problem says that it counts as on.
    const note = rule.key === KILL_SWITCH_KEY ? { note: KILL_SWITCH_UNREADABLE } : {};
    if (file[rule.key] !== undefined) {
      const parsed = rule.schema.safeParse(file[rule.key]);
      if (parsed.success) mutable[rule.key] = parsed.data;
      else problems.push({ variable: rule.variable, source: 'file', fileKey: rule.key, value: display(file[rule.key]), expected: rule.expected, ...note });
    }
    const text = env[rule.variable];
    // Set but empty is a bad value, not "unset": RELAY_TARGET_TIMEOUT_MS= must not quietly mean 1500.
    if (text !== undefined) {
      const candidate = rule.fromEnv ? rule.fromEnv(text) : text;
      const parsed = candidate === undefined ? undefined : rule.schema.safeParse(candidate);
      if (parsed?.success) {
        // Sticky kill switch: the environment can turn it on for a run, never off against the file.
        mutable[rule.key] = rule.key === KILL_SWITCH_KEY ? Boolean(parsed.data) || out.killSwitch : parsed.data;
        envOverrides.push(rule.variable);
      } else {
        problems.push({ variable: rule.variable, source: 'env', value: text, expected: rule.expected, ...note });
      }
    }
  }
  const cap = out.maxBackends;

  // Backends: the file holds objects; the environment holds three parallel lists. A list
  // longer than the cap is refused as a whole, before its entries are looked at.
  let backends: Backend[] = [];
  let backendsFrom: SettingSource = 'default';
  let fileEntries: unknown[] = [];
  let tooMany = false;
  if (file.backends !== undefined) {
    backendsFrom = 'file';
    if (!Array.isArray(file.backends)) {
      problems.push({ variable: BACKENDS_VARIABLE, source: 'file', fileKey: 'backends', value: display(file.backends), expected: 'a list of {url, enabled, token?} objects' });
    } else if (file.backends.length > cap) {
      tooMany = true;
      problems.push(tooManyBackends(file.backends.length, cap, 'file', 'backends'));
    } else {
      fileEntries = file.backends;
      file.backends.forEach((entry: unknown, i: number) => {
        const e = (entry && typeof entry === 'object' ? entry : {}) as Record<string, unknown>;
        const url = typeof e.url === 'string' ? e.url.trim() : '';
        // Never show the entry itself: it may hold a token, or be a bare URL string with credentials.
        const shown = typeof e.url === 'string' ? maskUrl(e.url) : e.url !== undefined ? display(e.url) : typeof entry === 'string' ? maskUrl(entry) : entry && typeof entry === 'object' ? '(no url)' : display(entry);
        if (!isWsUrl(url)) problems.push({ variable: BACKENDS_VARIABLE, source: 'file', fileKey: `backends[${i}].url`, value: shown, expected: 'a ws:// or wss:// URL' });
        if (e.enabled !== undefined && typeof e.enabled !== 'boolean') problems.push({ variable: ENABLED_VARIABLE, source: 'file', fileKey: `backends[${i}].enabled`, value: display(e.enabled), expected: 'true or false' });
        if (e.token !== undefined && (typeof e.token !== 'string' || !isBackendToken(e.token))) problems.push({ variable: TOKENS_VARIABLE, source: 'file', fileKey: `backends[${i}].token`, value: '(redacted)', expected: BACKEND_TOKEN_EXPECTED });
        if (e.name !== undefined && (typeof e.name !== 'string' || !isBackendName(e.name))) problems.push({ variable: NAMES_VARIABLE, source: 'file', fileKey: `backends[${i}].name`, value: display(e.name), expected: BACKEND_NAME_EXPECTED });
        const name = typeof e.name === 'string' ? e.name.trim() : '';
        backends.push({ url, enabled: e.enabled !== false, ...(typeof e.token === 'string' && e.token ? { token: e.token } : {}), ...(name ? { name } : {}) });
      });
    }
  }
  const envUrls = env[BACKENDS_VARIABLE];
  if (envUrls !== undefined && envUrls.trim() !== '') {
    backendsFrom = 'env';
    envOverrides.push(BACKENDS_VARIABLE);
    const previous = new Map(backends.map((b) => [b.url, b]));
    const entries = splitList(envUrls);
    if (entries.length > cap) {
      tooMany = true;
      problems.push(tooManyBackends(entries.length, cap, 'env'));
      backends = [];
    } else {
      backends = entries.map((url) => {
        // An empty entry is shown as the whole list, each URL masked: masking the list as one URL would leak the secrets after the first.
        if (url === '') problems.push({ variable: BACKENDS_VARIABLE, source: 'env', value: entries.map(maskUrl).join(','), expected: `${URL_EXPECTED}, with no empty entries` });
        else if (!isWsUrl(url)) problems.push({ variable: BACKENDS_VARIABLE, source: 'env', value: maskUrl(url), expected: URL_EXPECTED });
        // A token saved in the file for the same URL still applies when the env lists the URLs.
        const known = previous.get(url);
        return { url, enabled: true, ...(known?.token ? { token: known.token } : {}), ...(known?.name ? { name: known.name } : {}) };
      });
    }
  }
  const envEnabled = env[ENABLED_VARIABLE];
  if (envEnabled !== undefined && envEnabled.trim() !== '') {
    envOverrides.push(ENABLED_VARIABLE);
    const flags = splitList(envEnabled).map(parseFlag);
    if (tooMany) {
      // Matched against a list already refused: one line for the list is enough.
    } else if (flags.length !== backends.length || flags.some((f) => f === undefined)) {
      problems.push({
        variable: ENABLED_VARIABLE,
        source: 'env',
        value: envEnabled,
        expected: `${backends.length} comma-separated 1/0 flags, one per backend (${backendsFrom === 'env' ? BACKENDS_VARIABLE : 'the settings file'} lists ${backends.length})`,
      });
    } else {
      backends = backends.map((b, i) => ({ ...b, enabled: flags[i] === true }));
    }
  }
  // Optional lists with one entry per backend (empty for none): tokens and names alike.
  const perBackend = (variable: string, key: 'token' | 'name', valid: (v: string) => boolean, shown: string, expected: string): void => {
    const text = env[variable];
    if (text === undefined || text === '') return;
    envOverrides.push(variable);
    // Matched against a list already refused as too long: one line for the list is enough.
    if (tooMany) return;
    const values = text.split(',').map((v) => v.trim());
    if (values.length !== backends.length || values.some((v) => v !== '' && !valid(v))) {
      problems.push({ variable, source: 'env', value: shown, expected: `${backends.length} comma-separated ${expected}` });
      return;
    }
    backends = backends.map((b, i) => {
      const rest: Backend = { ...b };
      delete rest[key];
      return values[i] ? { ...rest, [key]: values[i] } : rest;
    });
  };
  perBackend(TOKENS_VARIABLE, 'token', isBackendToken, '(redacted)', 'tokens, one per backend (empty for none), without spaces');
  perBackend(NAMES_VARIABLE, 'name', isBackendName, env[NAMES_VARIABLE] ?? '', `names, one per backend (empty for none); each ${BACKEND_NAME_EXPECTED}`);
  out.backends = backends;
  for (const i of repeatedBackendUrls(backends.map((b) => b.url))) {
    const value = maskUrl((backends[i] as Backend).url);
    problems.push({ variable: BACKENDS_VARIABLE, source: backendsFrom, ...(backendsFrom === 'file' ? { fileKey: 'backends' } : {}), value, expected: DUPLICATE_URL_EXPECTED });
  }

  const primarySource: SettingSource = env[scalarRules.primaryIndex.variable] ? 'env' : file.primaryIndex !== undefined ? 'file' : 'default';
  const primaryBad = problems.some((p) => p.variable === scalarRules.primaryIndex.variable);
  if (!primaryBad && !tooMany && !primaryInRange(out.primaryIndex, backends.length)) {
    problems.push({
      variable: scalarRules.primaryIndex.variable,
      source: primarySource,
      ...(primarySource === 'file' ? { fileKey: 'primaryIndex' } : {}),
      value: String(out.primaryIndex),
      expected: backends.length === 0 ? '0 (no backends are configured)' : `an index from 0 to ${backends.length - 1} (${backends.length} backends are configured)`,
    });
  }

  // Refused like any bad value, unless explicitly accepted: settings that send to no one
  // (the spec's quick rollback to a primary that step 5 disabled) look like a working relay.
  const nowhere = problems.length === 0 && !out.allowNoDelivery ? deliveryProblem(out) : null;
  if (nowhere) {
    const variable = nowhere.cause === 'primary' ? scalarRules.primaryIndex.variable : ENABLED_VARIABLE;
    const source: SettingSource = nowhere.cause === 'primary' ? primarySource : env[ENABLED_VARIABLE] ? 'env' : backendsFrom;
    problems.push({
      variable,
      source,
      ...(source === 'file' ? { fileKey: nowhere.cause === 'primary' ? 'primaryIndex' : 'backends' } : {}),
      value: nowhere.cause === 'primary' ? String(out.primaryIndex) : backends.map((b) => (b.enabled ? '1' : '0')).join(','),
      expected: `settings under which an enabled backend receives frames: ${nowhere.text}. ${nowhere.remedy}, or accept sending nowhere with ${scalarRules.allowNoDelivery.variable}=1 (relay set --force)`,
    });
  }

  const unknown = findUnknownNames(file, env, fileEntries);
  if (unknown.killSwitch) out.killSwitch = true;

  // One line per problem: two empty entries, or a URL listed three times, is one problem, said once.
  const lines = new Set<string>();
  const unique = problems.filter((p) => {
    const line = formatProblem(p);
    if (lines.has(line)) return false;
    lines.add(line);
    return true;
  });
  if (unique.length > 0) {
    // Fail-safe: every kill-switch value, read or not, and every near miss of one.
    const killSwitch =
      out.killSwitch ||
      unknown.killSwitch ||
      (file[KILL_SWITCH_KEY] !== undefined && killSwitchMeansOn(file[KILL_SWITCH_KEY])) ||
      (env[KILL_SWITCH_VARIABLE] !== undefined && killSwitchMeansOn(env[KILL_SWITCH_VARIABLE]));
    throw new SettingsError(unique, { killSwitch, warnings: unknown.warnings });
  }
  return { settings: out, envOverrides, warnings: unknown.warnings };
}

/**
 * Whether a settings file asks for the kill switch, read fail-safe, whatever else is wrong
 * with it: its kill-switch value means on or cannot be read as off, or a near miss of the
 * key says so. For a file that parses; for one that does not, see killSwitchInText.
 */
export function fileAsksForKillSwitch(fileValue: unknown): boolean {
  const file = asObject(fileValue);
  if (file[KILL_SWITCH_KEY] !== undefined) return killSwitchMeansOn(file[KILL_SWITCH_KEY]);
  return findUnknownNames(file, {}, []).killSwitch;
}

/**
 * The same question of a settings file that is not valid JSON (a hand edit half done): each
 * `"key": value` pair whose key is the kill switch or a near miss of it counts, its value
 * read by the same rule. A file that names no such key does not ask for it.
 */
export function killSwitchInText(text: string): boolean {
  const pair = /"((?:[^"\\]|\\.){1,64})"\s*:\s*("(?:[^"\\]|\\.)*"|[^\s,}\]]*)/g;
  for (const m of text.matchAll(pair)) {
    const key = m[1] as string;
    if (key !== KILL_SWITCH_KEY && !(mayNameKillSwitch(key) && fileKeyMeant(key) === KILL_SWITCH_KEY)) continue;
    let value: unknown;
    try {
      value = JSON.parse(m[2] as string);
    } catch {
      value = m[2];
    }
    if (killSwitchMeansOn(value)) return true;
  }
  return false;
}

/** What a backend's friendly name may be. */
export const BACKEND_NAME_EXPECTED = 'a name of 1 to 40 characters, without commas or control characters';

export function isBackendName(n: string): boolean {
  const t = n.trim();
  // eslint-disable-next-line no-control-regex
  return t.length >= 1 && t.length <= 40 && !/[,\u0000-\u001f\u007f]/.test(t);
}

/** Why a backend list names no gateway twice. */
export const DUPLICATE_URL_EXPECTED = 'each backend URL listed once (the same gateway twice would receive every frame twice)';

/**
 * The positions of backends whose URL an earlier backend already has: the one duplicate rule of
 * the settings file, the environment, relay set and the dashboard. Empty URLs are left to the URL rule.
 */
export function repeatedBackendUrls(urls: readonly string[]): number[] {
  const seen = new Set<string>();
  const repeated: number[] = [];
  urls.forEach((url, i) => {
    if (url && seen.has(url)) repeated.push(i);
    seen.add(url);
  });
  return repeated;
}

/** Whether the primary is a backend of a list of `count`; with none configured, only 0 is. */
export function primaryInRange(primaryIndex: number, count: number): boolean {
  return Number.isInteger(primaryIndex) && primaryIndex >= 0 && primaryIndex < Math.max(1, count);
}

/** "Gateway B (ws://127.0.0.1:8082/relay)", or the masked URL alone: how a backend is named in every text. */
export function backendLabel(b: { url: string; name?: string | null | undefined }): string {
  const url = maskUrl(b.url);
  return b.name ? `${b.name} (${url})` : url;
}

export interface DeliveryProblem {
  /** `primary`: single mode's primary is disabled or missing; `disabled`: every backend is disabled. */
  cause: 'primary' | 'disabled';
  /** Why nothing would be sent, in words. */
  text: string;
  /** What to do instead. */
  remedy: string;
}

/**
 * Whether these settings would send frames to no backend at all although backends are
 * configured: the one rule behind the refusal (settings file, CLI, dashboard) and the
 * relay's Critical "telemetry is going nowhere". No backends at all is a relay kept local
 * on purpose (a first start), and the kill switch is a stop asked for: neither counts here.
 */
export function deliveryProblem(s: Pick<Settings, 'backends' | 'mode' | 'primaryIndex'>): DeliveryProblem | null {
  if (s.backends.length === 0) return null;
  if (s.backends.every((b) => !b.enabled)) {
    return { cause: 'disabled', text: `every backend is disabled (${s.backends.length} configured)`, remedy: 'Enable at least one' };
  }
  if (s.mode === 'single') {
    const primary = s.backends[s.primaryIndex];
    if (!primary) return { cause: 'primary', text: `single mode sends to the primary only, and there is no backend #${s.primaryIndex}`, remedy: 'Choose an enabled primary' };
    if (!primary.enabled) {
      return { cause: 'primary', text: `single mode sends to the primary only, and the primary, backend #${s.primaryIndex} ${backendLabel(primary)}, is disabled`, remedy: 'Enable it, choose an enabled primary or switch to parallel mode' };
    }
  }
  return null;
}

/** What a backend's token may be: it goes in an HTTP header, and RELAY_BACKEND_TOKENS separates tokens with commas. */
export const BACKEND_TOKEN_EXPECTED = 'a token of printable characters without spaces or commas';

export function isBackendToken(t: string): boolean {
  return /^[\x21-\x7e]+$/.test(t) && !t.includes(',');
}

export type SetTarget = ScalarSettingKey | 'backends' | 'enabled' | 'tokens' | 'names';
/** The targets that together make the backend list, as BACKEND_LIST_VARIABLES name them. */
const BACKEND_LIST_TARGETS: readonly SetTarget[] = ['backends', 'enabled', 'tokens', 'names'];
const LIST_TARGETS: readonly string[] = BACKEND_LIST_TARGETS;

/**
 * The setting a name given to `relay set` means: the variable (RELAY_BACKEND_MODE, in any
 * case) or the file key (mode). An unknown name is refused with the nearest known one.
 */
export function settingTarget(name: string, text = ''): SetTarget {
  if (isKillSwitchName(name)) return KILL_SWITCH_KEY;
  const byKey = Object.values(scalarRules).find((r) => r.key === name || r.variable === name.toUpperCase());
  const target = byKey?.key ?? SETTING_VARIABLES[name.toUpperCase()] ?? (LIST_TARGETS.includes(name) ? name : undefined);
  if (target !== undefined) return target as SetTarget;
  const names = /^relay_/i.test(name) || name === name.toUpperCase() ? Object.keys(SETTING_VARIABLES) : [...Object.keys(scalarRules), ...LIST_TARGETS];
  const near = nearestName(name, names) ?? nearestName(name, [...Object.keys(SETTING_VARIABLES), ...Object.keys(scalarRules), ...LIST_TARGETS]);
  throw new SettingsError([
    {
      variable: name,
      source: 'cli',
      value: text,
      expected:
        near !== undefined
          ? `a setting name: unknown setting '${name}'; did you mean '${near}'?`
          : `a setting name, one of ${Object.keys(SETTING_VARIABLES).join(', ')} (or their file keys, such as mode or killSwitch)`,
    },
  ]);
}

/** The variable a target of `relay set` is known by (RELAY_BACKEND_MODE for mode, RELAY_TARGETS_ENABLED for enabled). */
export function variableOf(target: SetTarget): string {
  switch (target) {
    case 'backends':
      return BACKENDS_VARIABLE;
    case 'enabled':
      return ENABLED_VARIABLE;
    case 'tokens':
      return TOKENS_VARIABLE;
    case 'names':
      return NAMES_VARIABLE;
    default:
      return scalarRules[target].variable;
  }
}

export interface ApplyOptions {
  /** Accept settings under which no backend receives frames (writes allowNoDelivery). */
  force?: boolean;
}

/**
 * Turns `relay set <name> <value>` (or `relay set A=1 B=2 ...`, one change) into a change of
 * the file object. A name may be the variable (RELAY_BACKEND_MODE) or the key (mode); each
 * value is read as the variable would be, all of them together over the current file, so a
 * change that is only valid as a whole (the backend list and the primary) goes through at
 * once. The result is checked as a whole before anything is written, except for the kill
 * switch: its value alone is checked, so that no other setting can stand in its way.
 */
export function applySettingTexts(fileValue: unknown, pairs: readonly (readonly [string, string])[], options: ApplyOptions = {}): Record<string, unknown> {
  const file: Record<string, unknown> = { ...asObject(fileValue) };
  const problems: SettingsProblem[] = [];
  const given = new Map<SetTarget, string>();
  const env: Env = {};
  for (const [name, text] of pairs) {
    let target: SetTarget;
    try {
      target = settingTarget(name, text);
    } catch (e) {
      if (!(e instanceof SettingsError)) throw e;
      problems.push(...e.problems);
      continue;
    }
    const before = given.get(target);
    if (before !== undefined) {
      problems.push({ variable: variableOf(target), source: 'cli', value: text, expected: `one value per setting in one change (${before} and ${name} both set it)` });
      continue;
    }
    given.set(target, name);
    if (target === KILL_SWITCH_KEY) {
      // `set` is the one place, with `relay kill off`, that may turn the kill switch off in the file.
      const flag = readKillSwitch(text);
      // A command can be typed again: a value that is neither on nor off changes nothing.
      if (flag === undefined) problems.push(killSwitchValueProblem(text));
      else file[KILL_SWITCH_KEY] = flag;
      continue;
    }
    env[variableOf(target)] = text;
  }
  if (problems.length > 0) throw new SettingsError(problems);
  const targets = [...given.keys()].filter((t) => t !== KILL_SWITCH_KEY);
  if (targets.length === 0) return file;
  const allowGiven = given.has('allowNoDelivery');
  if (options.force && !allowGiven) env[scalarRules.allowNoDelivery.variable] = '1';
  // Run the texts through the same rules as the environment, over the current file.
  let resolved: ResolvedSettings;
  try {
    resolved = resolveSettings(file, env);
  } catch (e) {
    if (e instanceof SettingsError) throw new SettingsError(e.problems.map((p) => (p.source === 'env' ? { ...p, source: 'cli' as const } : p)), { killSwitch: e.killSwitch, warnings: e.warnings });
    throw e;
  }
  const next = resolved.settings;
  if (given.has('backends') && (env[BACKENDS_VARIABLE] ?? '').trim() === '') {
    // An empty list removes every backend (local-only); the primary can then only be 0.
    file.backends = [];
    file.primaryIndex = 0;
  } else if (targets.some((t) => BACKEND_LIST_TARGETS.includes(t))) {
    file.backends = next.backends;
  }
  for (const t of targets) {
    if (!BACKEND_LIST_TARGETS.includes(t)) file[t] = next[t as ScalarSettingKey];
  }
  if (!allowGiven) {
    // The force covers this change only: once the settings deliver again, the next change
    // that would send nowhere needs a force of its own.
    if (options.force && deliveryProblem(next)) file.allowNoDelivery = true;
    else if (file.allowNoDelivery === true && !deliveryProblem(next)) delete file.allowNoDelivery;
  }
  return file;
}

/** `relay set <name> <value>`: applySettingTexts with one pair. */
export function applySettingText(fileValue: unknown, name: string, text: string, options: ApplyOptions = {}): Record<string, unknown> {
  return applySettingTexts(fileValue, [[name, text]], options);
}

/** The settings with every secret removed, for logs, status output and reports. */
export function redactSettings(settings: Settings): Settings {
  return { ...settings, backends: settings.backends.map((b) => ({ url: maskUrl(b.url), enabled: b.enabled, ...(b.token ? { token: '(redacted)' } : {}), ...(b.name ? { name: b.name } : {}) })) };
}

/** Query parameters whose value is a secret, wherever a URL is shown or scrubbed (maskUrl, redact's secretsOfUrl). */
const SECRET_QUERY_KEYS = 'token|access_token|key|api[_-]?key|secret|password|auth|sig|signature';
const SECRET_QUERY_KEY = new RegExp(`^(?:${SECRET_QUERY_KEYS})$`, 'i');
const SECRET_QUERY_IN_TEXT = new RegExp(`([?&](?:${SECRET_QUERY_KEYS})=)[^&#]*`, 'gi');

export function isSecretQueryKey(key: string): boolean {
  return SECRET_QUERY_KEY.test(key);
}

/** A URL safe to show: credentials and secret-looking query values replaced. */
export function maskUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.host) {
      const secretKeys = [...u.searchParams.keys()].filter(isSecretQueryKey);
      // Nothing to hide: show the value exactly as given (toString would rewrite http://x as http://x/).
      if (!u.username && !u.password && secretKeys.length === 0) return url;
      if (u.username) u.username = '***';
      if (u.password) u.password = '***';
      for (const key of secretKeys) u.searchParams.set(key, '***');
      return u.toString();
    }
  } catch {
    /* not a URL: masked as text below */
  }
  // Not a URL with a host (ws://user:pass@bad host/, or user:pass@host without a scheme), yet it may
  // still carry credentials or a secret query value: a bad URL is exactly the one that gets printed.
  return url
    .replace(/^([a-z][a-z0-9+.-]*:\/\/)?[^/?#]*@/i, (_m, scheme?: string) => `${scheme ?? ''}***@`)
    .replace(SECRET_QUERY_IN_TEXT, '$1***');
}
