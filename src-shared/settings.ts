// The one settings schema. The headless relay (conf) and the desktop shell (electron-store)
// keep the same JSON object in the same file; environment variables override it per run.
import { z } from 'zod';

export const BACKEND_MODES = ['single', 'parallel'] as const;
export type BackendMode = (typeof BACKEND_MODES)[number];

export interface Backend {
  url: string;
  enabled: boolean;
  /** Sent as `Authorization: Bearer <token>` on the upgrade. A secret: never logged or reported. */
  token?: string;
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
}

export function formatProblem(p: SettingsProblem): string {
  const where = { env: 'environment', cli: 'command line', default: 'default', file: `settings file key "${p.fileKey ?? ''}"` }[p.source];
  return `${p.variable}: got ${JSON.stringify(p.value)} (from ${where}); expected ${p.expected}`;
}

export class SettingsError extends Error {
  constructor(readonly problems: SettingsProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'SettingsError';
  }
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
    variable: 'RELAY_KILL_SWITCH',
    expected: '1 (kill switch on) or 0 (off)',
    schema: z.boolean(),
    fromEnv: parseFlag,
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
} satisfies { [K in Exclude<keyof Settings, 'backends'>]: FieldRule<K> };

export type ScalarSettingKey = keyof typeof scalarRules;

export const BACKENDS_VARIABLE = 'RELAY_BACKENDS';
export const ENABLED_VARIABLE = 'RELAY_TARGETS_ENABLED';
export const TOKENS_VARIABLE = 'RELAY_BACKEND_TOKENS';
const URL_EXPECTED = 'comma-separated ws:// or wss:// URLs, such as ws://127.0.0.1:8080/relay';

/** Every variable the relay reads, with the settings key it sets: the CLI's `set` takes either name. */
export const SETTING_VARIABLES: Record<string, keyof Settings | 'enabled' | 'tokens'> = {
  [BACKENDS_VARIABLE]: 'backends',
  [ENABLED_VARIABLE]: 'enabled',
  [TOKENS_VARIABLE]: 'tokens',
  ...Object.fromEntries(Object.values(scalarRules).map((r) => [r.variable, r.key])),
};

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
}

export type Env = Record<string, string | undefined>;

const splitList = (text: string): string[] => text.split(',').map((s) => s.trim());

/**
 * Merges the settings file with the environment (the environment wins, except that the
 * kill switch is on when either says so) and checks every rule. Every problem is reported,
 * not just the first, so one run shows the operator everything to fix.
 */
export function resolveSettings(fileValue: unknown, env: Env = {}): ResolvedSettings {
  const problems: SettingsProblem[] = [];
  const envOverrides: string[] = [];
  const file: Record<string, unknown> =
    fileValue && typeof fileValue === 'object' && !Array.isArray(fileValue) ? (fileValue as Record<string, unknown>) : {};
  if (fileValue !== undefined && fileValue !== null && file !== fileValue) {
    problems.push({ variable: 'settings file', source: 'file', fileKey: '(root)', value: display(fileValue), expected: 'a JSON object' });
  }
  const out: Settings = { ...DEFAULT_SETTINGS, backends: [], controlsVars: [...DEFAULT_CONTROLS_VARS], baselineVars: [...DEFAULT_BASELINE_VARS] };
  const mutable = out as unknown as Record<string, unknown>;

  for (const rule of Object.values(scalarRules) as FieldRule<ScalarSettingKey>[]) {
    if (file[rule.key] !== undefined) {
      const parsed = rule.schema.safeParse(file[rule.key]);
      if (parsed.success) mutable[rule.key] = parsed.data;
      else problems.push({ variable: rule.variable, source: 'file', fileKey: rule.key, value: display(file[rule.key]), expected: rule.expected });
    }
    const text = env[rule.variable];
    // Set but empty is a bad value, not "unset": RELAY_TARGET_TIMEOUT_MS= must not quietly mean 1500.
    if (text !== undefined) {
      const candidate = rule.fromEnv ? rule.fromEnv(text) : text;
      const parsed = candidate === undefined ? undefined : rule.schema.safeParse(candidate);
      if (parsed?.success) {
        // Sticky kill switch: the environment can turn it on for a run, never off against the file.
        mutable[rule.key] = rule.key === 'killSwitch' ? Boolean(parsed.data) || out.killSwitch : parsed.data;
        envOverrides.push(rule.variable);
      } else {
        problems.push({ variable: rule.variable, source: 'env', value: text, expected: rule.expected });
      }
    }
  }

  // Backends: the file holds objects; the environment holds three parallel lists.
  let backends: Backend[] = [];
  let backendsFrom: SettingSource = 'default';
  if (file.backends !== undefined) {
    backendsFrom = 'file';
    if (!Array.isArray(file.backends)) {
      problems.push({ variable: BACKENDS_VARIABLE, source: 'file', fileKey: 'backends', value: display(file.backends), expected: 'a list of {url, enabled, token?} objects' });
    } else {
      file.backends.forEach((entry: unknown, i: number) => {
        const e = (entry && typeof entry === 'object' ? entry : {}) as Record<string, unknown>;
        const url = typeof e.url === 'string' ? e.url.trim() : '';
        // Never show the entry itself: it may hold a token, or be a bare URL string with credentials.
        const shown = typeof e.url === 'string' ? maskUrl(e.url) : e.url !== undefined ? display(e.url) : typeof entry === 'string' ? maskUrl(entry) : entry && typeof entry === 'object' ? '(no url)' : display(entry);
        if (!isWsUrl(url)) problems.push({ variable: BACKENDS_VARIABLE, source: 'file', fileKey: `backends[${i}].url`, value: shown, expected: 'a ws:// or wss:// URL' });
        if (e.enabled !== undefined && typeof e.enabled !== 'boolean') problems.push({ variable: ENABLED_VARIABLE, source: 'file', fileKey: `backends[${i}].enabled`, value: display(e.enabled), expected: 'true or false' });
        if (e.token !== undefined && (typeof e.token !== 'string' || !isToken(e.token))) problems.push({ variable: TOKENS_VARIABLE, source: 'file', fileKey: `backends[${i}].token`, value: '(redacted)', expected: 'a token of printable characters without spaces or commas' });
        backends.push({ url, enabled: e.enabled !== false, ...(typeof e.token === 'string' && e.token ? { token: e.token } : {}) });
      });
    }
  }
  const envUrls = env[BACKENDS_VARIABLE];
  if (envUrls !== undefined && envUrls.trim() !== '') {
    backendsFrom = 'env';
    envOverrides.push(BACKENDS_VARIABLE);
    const previous = new Map(backends.map((b) => [b.url, b]));
    const entries = splitList(envUrls);
    backends = entries.map((url) => {
      // An empty entry is shown as the whole list, each URL masked: masking the list as one URL would leak the secrets after the first.
      if (url === '') problems.push({ variable: BACKENDS_VARIABLE, source: 'env', value: entries.map(maskUrl).join(','), expected: `${URL_EXPECTED}, with no empty entries` });
      else if (!isWsUrl(url)) problems.push({ variable: BACKENDS_VARIABLE, source: 'env', value: maskUrl(url), expected: URL_EXPECTED });
      // A token saved in the file for the same URL still applies when the env lists the URLs.
      const known = previous.get(url);
      return { url, enabled: true, ...(known?.token ? { token: known.token } : {}) };
    });
  }
  const envEnabled = env[ENABLED_VARIABLE];
  if (envEnabled !== undefined && envEnabled.trim() !== '') {
    envOverrides.push(ENABLED_VARIABLE);
    const flags = splitList(envEnabled).map(parseFlag);
    if (flags.length !== backends.length || flags.some((f) => f === undefined)) {
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
  const envTokens = env[TOKENS_VARIABLE];
  if (envTokens !== undefined && envTokens !== '') {
    envOverrides.push(TOKENS_VARIABLE);
    const tokens = envTokens.split(',').map((s) => s.trim());
    if (tokens.length !== backends.length || tokens.some((t) => t !== '' && !isToken(t))) {
      problems.push({ variable: TOKENS_VARIABLE, source: 'env', value: '(redacted)', expected: `${backends.length} comma-separated tokens, one per backend (empty for none), without spaces` });
    } else {
      backends = backends.map((b, i) => {
        const { token: _old, ...rest } = b;
        return tokens[i] ? { ...rest, token: tokens[i] } : rest;
      });
    }
  }
  out.backends = backends;
  const seen = new Set<string>();
  for (const b of backends) {
    if (b.url && seen.has(b.url)) {
      problems.push({ variable: BACKENDS_VARIABLE, source: backendsFrom, ...(backendsFrom === 'file' ? { fileKey: 'backends' } : {}), value: maskUrl(b.url), expected: 'each backend URL listed once (the same gateway twice would receive every frame twice)' });
    }
    seen.add(b.url);
  }

  const primarySource: SettingSource = env[scalarRules.primaryIndex.variable] ? 'env' : file.primaryIndex !== undefined ? 'file' : 'default';
  const primaryBad = problems.some((p) => p.variable === scalarRules.primaryIndex.variable);
  if (!primaryBad && out.primaryIndex >= Math.max(1, backends.length)) {
    problems.push({
      variable: scalarRules.primaryIndex.variable,
      source: primarySource,
      ...(primarySource === 'file' ? { fileKey: 'primaryIndex' } : {}),
      value: String(out.primaryIndex),
      expected: backends.length === 0 ? '0 (no backends are configured)' : `an index from 0 to ${backends.length - 1} (${backends.length} backends are configured)`,
    });
  }

  // One line per problem: two empty entries, or a URL listed three times, is one problem, said once.
  const unique = problems.filter((p, i) => problems.findIndex((q) => formatProblem(q) === formatProblem(p)) === i);
  if (unique.length > 0) throw new SettingsError(unique);
  return { settings: out, envOverrides };
}

function isToken(t: string): boolean {
  return /^[\x21-\x7e]+$/.test(t) && !t.includes(',');
}

/**
 * Turns `relay set <name> <value>` into a change of the file object. The name may be the
 * variable (RELAY_BACKEND_MODE) or the key (mode); the value is read as the variable would be.
 * The result is checked as a whole before anything is written.
 */
export function applySettingText(fileValue: unknown, name: string, text: string): Record<string, unknown> {
  const file: Record<string, unknown> =
    fileValue && typeof fileValue === 'object' && !Array.isArray(fileValue) ? { ...(fileValue as Record<string, unknown>) } : {};
  const byKey = Object.values(scalarRules).find((r) => r.key === name || r.variable === name.toUpperCase());
  const target = byKey?.key ?? SETTING_VARIABLES[name.toUpperCase()] ?? (name === 'backends' || name === 'enabled' || name === 'tokens' ? name : undefined);
  if (target === undefined) {
    throw new SettingsError([{ variable: name, source: 'cli', value: text, expected: `a setting name, one of ${Object.keys(SETTING_VARIABLES).join(', ')}` }]);
  }
  // Run the text through the same rules as the environment, over the current file.
  const envName = byKey?.variable ?? (target === 'backends' ? BACKENDS_VARIABLE : target === 'enabled' ? ENABLED_VARIABLE : TOKENS_VARIABLE);
  let resolved: ResolvedSettings;
  try {
    resolved = resolveSettings(file, { [envName]: text });
  } catch (e) {
    if (e instanceof SettingsError) throw new SettingsError(e.problems.map((p) => (p.source === 'env' ? { ...p, source: 'cli' as const } : p)));
    throw e;
  }
  if (target === 'killSwitch') {
    // `set` is the one place that may turn the kill switch off in the file.
    const flag = parseFlag(text);
    file.killSwitch = flag === true;
    return file;
  }
  if (target === 'backends' && text.trim() === '') {
    // An empty list removes every backend (local-only); the primary can then only be 0.
    file.backends = [];
    file.primaryIndex = 0;
  } else if (target === 'backends' || target === 'enabled' || target === 'tokens') {
    file.backends = resolved.settings.backends;
  } else {
    file[target] = resolved.settings[target as ScalarSettingKey];
  }
  return file;
}

/** The settings with every secret removed, for logs, status output and reports. */
export function redactSettings(settings: Settings): Settings {
  return { ...settings, backends: settings.backends.map((b) => ({ url: maskUrl(b.url), enabled: b.enabled, ...(b.token ? { token: '(redacted)' } : {}) })) };
}

const SECRET_QUERY = /^(token|access_token|key|api[_-]?key|secret|password|auth|sig|signature)$/i;

/** A URL safe to show: credentials and secret-looking query values replaced. */
export function maskUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.host) {
      const secretKeys = [...u.searchParams.keys()].filter((key) => SECRET_QUERY.test(key));
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
    .replace(/([?&](?:token|access_token|key|api[_-]?key|secret|password|auth|sig|signature)=)[^&#]*/gi, '$1***');
}
