// The one settings schema, pure: defaults, environment parsing, file + environment merge,
// the sticky kill switch, tokens, the bad-settings matrix and secret hygiene.
import { describe, expect, it } from 'vitest';
import { planAssignments, planSettingsUpdate } from '../src-main/settings/settings-update';
import {
  DEFAULT_SETTINGS,
  SettingsError,
  applySettingText,
  applySettingTexts,
  deliveryProblem,
  editDistance,
  fileAsksForKillSwitch,
  formatProblem,
  killSwitchInText,
  killSwitchMeansOn,
  maskUrl,
  nearestName,
  readKillSwitch,
  redactSettings,
  resolveSettings,
  type Env,
  type SettingsProblem,
} from '../src-shared/settings';

const A = 'ws://127.0.0.1:9001/relay';
const B = 'wss://gateway-b.example.com/relay';
const C = 'ws://gateway-c.example.com:8080/relay';

/** The SettingsError that resolving these settings must throw. */
function rejection(file: unknown, env: Env = {}): SettingsError {
  try {
    resolveSettings(file, env);
  } catch (e) {
    if (e instanceof SettingsError) return e;
    throw e;
  }
  throw new Error(`expected a SettingsError for file ${JSON.stringify(file)} and env ${JSON.stringify(env)}, but the settings were accepted`);
}

function applyRejection(file: unknown, name: string, text: string): SettingsError {
  try {
    applySettingText(file, name, text);
  } catch (e) {
    if (e instanceof SettingsError) return e;
    throw e;
  }
  throw new Error(`expected applySettingText(${name}, ${JSON.stringify(text)}) to be rejected`);
}

describe('defaults', () => {
  it('gives every variable its default when neither the file nor the environment sets it', () => {
    for (const file of [undefined, {}]) {
      const { settings, envOverrides } = resolveSettings(file, {});
      expect(settings.backends).toEqual([]); // RELAY_BACKENDS empty
      expect(settings.mode).toBe('single'); // RELAY_BACKEND_MODE
      expect(settings.primaryIndex).toBe(0); // RELAY_PRIMARY_INDEX
      expect(settings.targetTimeoutMs).toBe(1500); // RELAY_TARGET_TIMEOUT_MS
      expect(settings.sendTimeoutMs).toBe(250); // RELAY_SEND_TIMEOUT_MS
      expect(settings.killSwitch).toBe(false); // RELAY_KILL_SWITCH
      expect(settings.paritySampleRate).toBe(0.05); // RELAY_PARITY_SAMPLE_RATE
      expect(settings.debugPort).toBe(8765); // RELAY_DEBUG_PORT
      expect(settings.maxBackends).toBe(16); // RELAY_MAX_BACKENDS
      expect(envOverrides).toEqual([]);
      expect(settings).toEqual({ ...DEFAULT_SETTINGS, backends: [] });
    }
  });

  it('enables every backend when RELAY_TARGETS_ENABLED is unset', () => {
    const { settings } = resolveSettings({}, { RELAY_BACKENDS: `${A},${B},${C}` });
    expect(settings.backends.map((b) => b.enabled)).toEqual([true, true, true]);
  });

  it('does not mutate DEFAULT_SETTINGS through a resolved result', () => {
    const { settings } = resolveSettings({}, { RELAY_BACKENDS: A });
    settings.backends.push({ url: B, enabled: true });
    expect(DEFAULT_SETTINGS.backends).toEqual([]);
    expect(resolveSettings({}, {}).settings.backends).toEqual([]);
  });
});

describe('environment parsing', () => {
  it('reads every variable of the spec', () => {
    const { settings, envOverrides } = resolveSettings(
      {},
      {
        RELAY_BACKENDS: `${A}, ${B}`,
        RELAY_BACKEND_MODE: 'parallel',
        RELAY_PRIMARY_INDEX: '1',
        RELAY_TARGET_TIMEOUT_MS: '3000',
        RELAY_SEND_TIMEOUT_MS: '100',
        RELAY_KILL_SWITCH: '1',
        RELAY_TARGETS_ENABLED: '1,0',
        RELAY_PARITY_SAMPLE_RATE: '0.25',
        RELAY_DEBUG_PORT: '9876',
      },
    );
    expect(settings).toMatchObject({
      backends: [
        { url: A, enabled: true },
        { url: B, enabled: false },
      ],
      mode: 'parallel',
      primaryIndex: 1,
      targetTimeoutMs: 3000,
      sendTimeoutMs: 100,
      killSwitch: true,
      paritySampleRate: 0.25,
      debugPort: 9876,
    });
    expect(new Set(envOverrides)).toEqual(
      new Set([
        'RELAY_BACKENDS',
        'RELAY_BACKEND_MODE',
        'RELAY_PRIMARY_INDEX',
        'RELAY_TARGET_TIMEOUT_MS',
        'RELAY_SEND_TIMEOUT_MS',
        'RELAY_KILL_SWITCH',
        'RELAY_TARGETS_ENABLED',
        'RELAY_PARITY_SAMPLE_RATE',
        'RELAY_DEBUG_PORT',
      ]),
    );
  });

  it.each([
    ['RELAY_BACKEND_MODE', 'single', { mode: 'single' }],
    ['RELAY_BACKEND_MODE', ' parallel ', { mode: 'parallel' }],
    ['RELAY_TARGET_TIMEOUT_MS', '50', { targetTimeoutMs: 50 }],
    ['RELAY_SEND_TIMEOUT_MS', '1', { sendTimeoutMs: 1 }],
    ['RELAY_KILL_SWITCH', '0', { killSwitch: false }],
    ['RELAY_KILL_SWITCH', '1', { killSwitch: true }],
    ['RELAY_PARITY_SAMPLE_RATE', '0', { paritySampleRate: 0 }],
    ['RELAY_PARITY_SAMPLE_RATE', '1', { paritySampleRate: 1 }],
    ['RELAY_PARITY_SAMPLE_RATE', '.5', { paritySampleRate: 0.5 }],
    ['RELAY_DEBUG_PORT', '0', { debugPort: 0 }],
    ['RELAY_DEBUG_PORT', '65535', { debugPort: 65535 }],
  ] as const)('%s=%j', (variable, text, expected) => {
    const { settings, envOverrides } = resolveSettings({}, { [variable]: text });
    expect(settings).toMatchObject(expected);
    expect(envOverrides).toEqual([variable]);
  });

  it('reads RELAY_PRIMARY_INDEX against the backends it indexes', () => {
    expect(resolveSettings({}, { RELAY_BACKENDS: `${A},${B},${C}`, RELAY_PRIMARY_INDEX: '2' }).settings.primaryIndex).toBe(2);
  });

  it('reads RELAY_TARGETS_ENABLED as one flag per backend', () => {
    const { settings } = resolveSettings({}, { RELAY_BACKENDS: `${A},${B},${C}`, RELAY_TARGETS_ENABLED: '0,1,0', RELAY_BACKEND_MODE: 'parallel' });
    expect(settings.backends.map((b) => b.enabled)).toEqual([false, true, false]);
  });
});

describe('the environment overrides the file', () => {
  const file = {
    backends: [
      { url: A, enabled: true },
      { url: B, enabled: false },
    ],
    mode: 'single',
    primaryIndex: 0,
    targetTimeoutMs: 2000,
    sendTimeoutMs: 300,
    paritySampleRate: 0.1,
    debugPort: 9000,
  };

  it('uses the file when the environment is silent', () => {
    const { settings, envOverrides } = resolveSettings(file, {});
    expect(settings).toMatchObject({ ...file, killSwitch: false });
    expect(envOverrides).toEqual([]);
  });

  it('lets each variable replace the file value for this run, and says which', () => {
    const { settings, envOverrides } = resolveSettings(file, {
      RELAY_BACKEND_MODE: 'parallel',
      RELAY_PRIMARY_INDEX: '1',
      RELAY_TARGET_TIMEOUT_MS: '700',
      RELAY_SEND_TIMEOUT_MS: '40',
      RELAY_PARITY_SAMPLE_RATE: '0.5',
      RELAY_DEBUG_PORT: '0',
      RELAY_TARGETS_ENABLED: '0,1',
    });
    expect(settings).toMatchObject({
      mode: 'parallel',
      primaryIndex: 1,
      targetTimeoutMs: 700,
      sendTimeoutMs: 40,
      paritySampleRate: 0.5,
      debugPort: 0,
      backends: [
        { url: A, enabled: false },
        { url: B, enabled: true },
      ],
    });
    expect(envOverrides).toContain('RELAY_BACKEND_MODE');
    expect(envOverrides).toContain('RELAY_TARGETS_ENABLED');
    expect(envOverrides).not.toContain('RELAY_BACKENDS');
  });

  it('lets RELAY_BACKENDS replace the whole list of the file', () => {
    const { settings } = resolveSettings(file, { RELAY_BACKENDS: C, RELAY_PRIMARY_INDEX: '0' });
    expect(settings.backends).toEqual([{ url: C, enabled: true }]);
  });

  it('checks the file primary index against the backends the environment lists', () => {
    // The file says primary 1; the environment lists one backend: index 1 no longer exists.
    const err = rejection({ ...file, primaryIndex: 1 }, { RELAY_BACKENDS: C });
    expect(err.problems).toHaveLength(1);
    expect(err.message).toContain('RELAY_PRIMARY_INDEX');
    expect(err.message).toContain('settings file key "primaryIndex"');
  });
});

describe('the kill switch is sticky: on in either place means on', () => {
  it.each([
    [undefined, undefined, false],
    [false, undefined, false],
    [true, undefined, true],
    [undefined, '1', true],
    [false, '0', false],
    [true, '0', true], // file on + env 0 => on
    [false, '1', true], // file off + env 1 => on
    [true, '1', true],
  ])('file %s, RELAY_KILL_SWITCH=%s => %s', (fileFlag, envFlag, expected) => {
    const file = fileFlag === undefined ? {} : { killSwitch: fileFlag };
    const env = envFlag === undefined ? {} : { RELAY_KILL_SWITCH: envFlag };
    expect(resolveSettings(file, env).settings.killSwitch).toBe(expected);
  });
});

describe('tokens', () => {
  it('reads RELAY_BACKEND_TOKENS as one token per backend, empty for none', () => {
    const { settings } = resolveSettings({}, { RELAY_BACKENDS: `${A},${B},${C}`, RELAY_BACKEND_TOKENS: 'tok-a,,tok-c' });
    expect(settings.backends).toEqual([
      { url: A, enabled: true, token: 'tok-a' },
      { url: B, enabled: true },
      { url: C, enabled: true, token: 'tok-c' },
    ]);
  });

  it('reads tokens from the file', () => {
    const { settings } = resolveSettings({ backends: [{ url: A, enabled: true, token: 'file-tok' }, { url: B }] }, {});
    expect(settings.backends).toEqual([
      { url: A, enabled: true, token: 'file-tok' },
      { url: B, enabled: true },
    ]);
  });

  it('keeps the file token for a URL that the environment lists again', () => {
    const file = { backends: [{ url: A, enabled: true, token: 'file-tok-a' }, { url: B, enabled: true, token: 'file-tok-b' }] };
    const { settings } = resolveSettings(file, { RELAY_BACKENDS: `${C},${A}` });
    expect(settings.backends).toEqual([
      { url: C, enabled: true },
      { url: A, enabled: true, token: 'file-tok-a' },
    ]);
  });

  it('lets RELAY_BACKEND_TOKENS replace the file tokens', () => {
    const file = { backends: [{ url: A, enabled: true, token: 'file-tok-a' }] };
    expect(resolveSettings(file, { RELAY_BACKEND_TOKENS: 'env-tok' }).settings.backends).toEqual([{ url: A, enabled: true, token: 'env-tok' }]);
  });
});

// ---------------------------------------------------------------------------------------
// The bad-settings matrix: each case has exactly one bad variable, so exactly one problem,
// whose message names the variable, the value given and what was expected.

interface BadCase {
  name: string;
  file?: unknown;
  env?: Env;
  variable: string;
  /** The value as the message must quote it. */
  value: string;
  /** Words of the expectation the message must carry. */
  expected: string;
  /** For file problems: the key in the file the message must name. */
  fileKey?: string;
}

const BAD: BadCase[] = [
  // an invalid URL
  { name: 'http:// URL', env: { RELAY_BACKENDS: 'http://gateway.example.com/relay' }, variable: 'RELAY_BACKENDS', value: 'http://gateway.example.com/relay', expected: 'ws:// or wss:// URLs' },
  { name: 'garbage URL', env: { RELAY_BACKENDS: `${A},not a url` }, variable: 'RELAY_BACKENDS', value: 'not a url', expected: 'ws:// or wss:// URLs' },
  { name: 'URL without a host', env: { RELAY_BACKENDS: 'ws://' }, variable: 'RELAY_BACKENDS', value: 'ws://', expected: 'ws:// or wss:// URLs' },
  { name: 'empty entry', env: { RELAY_BACKENDS: `${A},,${B}` }, variable: 'RELAY_BACKENDS', value: `${A},,${B}`, expected: 'no empty entries' },
  { name: 'only empty entries', env: { RELAY_BACKENDS: ',' }, variable: 'RELAY_BACKENDS', value: ',', expected: 'no empty entries' },
  { name: 'duplicate URLs', env: { RELAY_BACKENDS: `${A},${B},${A}` }, variable: 'RELAY_BACKENDS', value: A, expected: 'each backend URL listed once' },
  { name: 'a URL three times', env: { RELAY_BACKENDS: `${A},${A},${A}` }, variable: 'RELAY_BACKENDS', value: A, expected: 'each backend URL listed once' },
  // an unknown mode
  { name: 'unknown mode', env: { RELAY_BACKEND_MODE: 'bogus' }, variable: 'RELAY_BACKEND_MODE', value: 'bogus', expected: '"single" or "parallel"' },
  { name: 'empty mode', env: { RELAY_BACKEND_MODE: '' }, variable: 'RELAY_BACKEND_MODE', value: '', expected: '"single" or "parallel"' },
  // a primary index outside the backends
  { name: 'primary past the end', env: { RELAY_BACKENDS: `${A},${B}`, RELAY_PRIMARY_INDEX: '2' }, variable: 'RELAY_PRIMARY_INDEX', value: '2', expected: 'an index from 0 to 1 (2 backends are configured)' },
  { name: 'primary with no backends', env: { RELAY_PRIMARY_INDEX: '1' }, variable: 'RELAY_PRIMARY_INDEX', value: '1', expected: '0 (no backends are configured)' },
  { name: 'negative primary', env: { RELAY_BACKENDS: A, RELAY_PRIMARY_INDEX: '-1' }, variable: 'RELAY_PRIMARY_INDEX', value: '-1', expected: 'whole number' },
  { name: 'garbage primary', env: { RELAY_BACKENDS: A, RELAY_PRIMARY_INDEX: 'first' }, variable: 'RELAY_PRIMARY_INDEX', value: 'first', expected: 'whole number' },
  // an enabled list of the wrong length or with a non-flag
  { name: 'enabled list too short', env: { RELAY_BACKENDS: `${A},${B}`, RELAY_TARGETS_ENABLED: '1' }, variable: 'RELAY_TARGETS_ENABLED', value: '1', expected: '2 comma-separated 1/0 flags, one per backend' },
  { name: 'enabled list too long', env: { RELAY_BACKENDS: `${A},${B}`, RELAY_TARGETS_ENABLED: '1,1,1' }, variable: 'RELAY_TARGETS_ENABLED', value: '1,1,1', expected: '2 comma-separated 1/0 flags' },
  { name: 'enabled list with a non-flag', env: { RELAY_BACKENDS: `${A},${B}`, RELAY_TARGETS_ENABLED: '1,yes please' }, variable: 'RELAY_TARGETS_ENABLED', value: '1,yes please', expected: '1/0 flags' },
  { name: 'enabled list with no backends', env: { RELAY_TARGETS_ENABLED: '1' }, variable: 'RELAY_TARGETS_ENABLED', value: '1', expected: '0 comma-separated 1/0 flags' },
  // a rate outside [0,1], or garbage
  { name: 'negative rate', env: { RELAY_PARITY_SAMPLE_RATE: '-0.1' }, variable: 'RELAY_PARITY_SAMPLE_RATE', value: '-0.1', expected: 'a fraction from 0 to 1' },
  { name: 'rate above 1', env: { RELAY_PARITY_SAMPLE_RATE: '1.5' }, variable: 'RELAY_PARITY_SAMPLE_RATE', value: '1.5', expected: 'a fraction from 0 to 1' },
  { name: 'garbage rate', env: { RELAY_PARITY_SAMPLE_RATE: 'lots' }, variable: 'RELAY_PARITY_SAMPLE_RATE', value: 'lots', expected: 'a fraction from 0 to 1' },
  { name: 'percent rate', env: { RELAY_PARITY_SAMPLE_RATE: '5%' }, variable: 'RELAY_PARITY_SAMPLE_RATE', value: '5%', expected: 'a fraction from 0 to 1' },
  // a port that is not a port
  { name: 'port above 65535', env: { RELAY_DEBUG_PORT: '70000' }, variable: 'RELAY_DEBUG_PORT', value: '70000', expected: 'a TCP port from 1 to 65535' },
  { name: 'negative port', env: { RELAY_DEBUG_PORT: '-1' }, variable: 'RELAY_DEBUG_PORT', value: '-1', expected: 'a TCP port' },
  { name: 'garbage port', env: { RELAY_DEBUG_PORT: 'abc' }, variable: 'RELAY_DEBUG_PORT', value: 'abc', expected: 'a TCP port' },
  { name: 'fractional port', env: { RELAY_DEBUG_PORT: '8765.5' }, variable: 'RELAY_DEBUG_PORT', value: '8765.5', expected: 'a TCP port' },
  // a garbage number for the timeouts
  { name: 'target timeout 12abc', env: { RELAY_TARGET_TIMEOUT_MS: '12abc' }, variable: 'RELAY_TARGET_TIMEOUT_MS', value: '12abc', expected: 'a whole number of milliseconds' },
  { name: 'target timeout 1.5', env: { RELAY_TARGET_TIMEOUT_MS: '1.5' }, variable: 'RELAY_TARGET_TIMEOUT_MS', value: '1.5', expected: 'a whole number of milliseconds' },
  { name: 'target timeout empty', env: { RELAY_TARGET_TIMEOUT_MS: '' }, variable: 'RELAY_TARGET_TIMEOUT_MS', value: '', expected: 'a whole number of milliseconds' },
  { name: 'target timeout too small', env: { RELAY_TARGET_TIMEOUT_MS: '10' }, variable: 'RELAY_TARGET_TIMEOUT_MS', value: '10', expected: 'from 50 to 120000' },
  { name: 'send timeout 12abc', env: { RELAY_SEND_TIMEOUT_MS: '12abc' }, variable: 'RELAY_SEND_TIMEOUT_MS', value: '12abc', expected: 'a whole number of milliseconds' },
  { name: 'send timeout 1.5', env: { RELAY_SEND_TIMEOUT_MS: '1.5' }, variable: 'RELAY_SEND_TIMEOUT_MS', value: '1.5', expected: 'a whole number of milliseconds' },
  { name: 'send timeout empty', env: { RELAY_SEND_TIMEOUT_MS: '' }, variable: 'RELAY_SEND_TIMEOUT_MS', value: '', expected: 'a whole number of milliseconds' },
  { name: 'send timeout zero', env: { RELAY_SEND_TIMEOUT_MS: '0' }, variable: 'RELAY_SEND_TIMEOUT_MS', value: '0', expected: 'from 1 to 60000' },
  // the kill switch and tokens
  { name: 'kill switch maybe', env: { RELAY_KILL_SWITCH: 'maybe' }, variable: 'RELAY_KILL_SWITCH', value: 'maybe', expected: '1 (kill switch on) or 0 (off)' },
  { name: 'token count', env: { RELAY_BACKENDS: `${A},${B}`, RELAY_BACKEND_TOKENS: 'only-one' }, variable: 'RELAY_BACKEND_TOKENS', value: '(redacted)', expected: '2 comma-separated tokens' },
  // bad types and values in the file
  { name: 'file mode: 3', file: { mode: 3 }, variable: 'RELAY_BACKEND_MODE', value: '3', fileKey: 'mode', expected: '"single" or "parallel"' },
  { name: "file backends: 'x'", file: { backends: 'x' }, variable: 'RELAY_BACKENDS', value: 'x', fileKey: 'backends', expected: 'a list of {url, enabled, token?} objects' },
  { name: "file primaryIndex: '1'", file: { backends: [{ url: A }, { url: B }], primaryIndex: '1' }, variable: 'RELAY_PRIMARY_INDEX', value: '1', fileKey: 'primaryIndex', expected: 'whole number' },
  { name: 'file primaryIndex past the end', file: { backends: [{ url: A }], primaryIndex: 1 }, variable: 'RELAY_PRIMARY_INDEX', value: '1', fileKey: 'primaryIndex', expected: 'an index from 0 to 0' },
  { name: 'file http URL', file: { backends: [{ url: A }, { url: 'http://gateway.example.com/relay' }] }, variable: 'RELAY_BACKENDS', value: 'http://gateway.example.com/relay', fileKey: 'backends[1].url', expected: 'a ws:// or wss:// URL' },
  { name: 'file backend without url', file: { backends: [{ enabled: true }] }, variable: 'RELAY_BACKENDS', value: '(no url)', fileKey: 'backends[0].url', expected: 'a ws:// or wss:// URL' },
  { name: 'file duplicate URLs', file: { backends: [{ url: A }, { url: A }] }, variable: 'RELAY_BACKENDS', value: A, fileKey: 'backends', expected: 'each backend URL listed once' },
  { name: "file enabled: 'yes'", file: { backends: [{ url: A, enabled: 'yes' }] }, variable: 'RELAY_TARGETS_ENABLED', value: 'yes', fileKey: 'backends[0].enabled', expected: 'true or false' },
  { name: "file killSwitch: 'maybe'", file: { killSwitch: 'maybe' }, variable: 'RELAY_KILL_SWITCH', value: 'maybe', fileKey: 'killSwitch', expected: '1 (kill switch on) or 0 (off)' },
  { name: 'file maxBackends: 65', file: { maxBackends: 65 }, variable: 'RELAY_MAX_BACKENDS', value: '65', fileKey: 'maxBackends', expected: 'a whole number of backends from 1 to 64' },
  { name: 'RELAY_MAX_BACKENDS=0', env: { RELAY_MAX_BACKENDS: '0' }, variable: 'RELAY_MAX_BACKENDS', value: '0', expected: 'from 1 to 64' },
  { name: 'file paritySampleRate: 2', file: { paritySampleRate: 2 }, variable: 'RELAY_PARITY_SAMPLE_RATE', value: '2', fileKey: 'paritySampleRate', expected: 'a fraction from 0 to 1' },
  { name: 'file debugPort: 70000', file: { debugPort: 70000 }, variable: 'RELAY_DEBUG_PORT', value: '70000', fileKey: 'debugPort', expected: 'a TCP port' },
  { name: 'file targetTimeoutMs: 1.5', file: { targetTimeoutMs: 1.5 }, variable: 'RELAY_TARGET_TIMEOUT_MS', value: '1.5', fileKey: 'targetTimeoutMs', expected: 'a whole number of milliseconds' },
  { name: "file sendTimeoutMs: '250'", file: { sendTimeoutMs: '250' }, variable: 'RELAY_SEND_TIMEOUT_MS', value: '250', fileKey: 'sendTimeoutMs', expected: 'a whole number of milliseconds' },
  { name: 'file root is an array', file: [1, 2], variable: 'settings file', value: '[1,2]', fileKey: '(root)', expected: 'a JSON object' },
];

describe('the bad-settings matrix', () => {
  it.each(BAD.map((c) => [c.name, c] as const))('%s: one problem naming the variable, the value and the expectation', (_name, c) => {
    const err = rejection(c.file ?? {}, c.env ?? {});
    expect(err).toBeInstanceOf(SettingsError);
    expect(err.name).toBe('SettingsError');
    expect(err.problems, err.message).toHaveLength(1);
    const [p] = err.problems as [SettingsProblem];
    expect(p.variable).toBe(c.variable);
    expect(p.value).toBe(c.value);
    const text = formatProblem(p);
    expect(err.message).toBe(text);
    expect(text.startsWith(`${c.variable}: `)).toBe(true);
    expect(text).toContain(`got ${JSON.stringify(c.value)}`);
    expect(text).toContain('; expected ');
    expect(text.slice(text.indexOf('; expected '))).toContain(c.expected);
    if (c.fileKey !== undefined) {
      expect(p.source).toBe('file');
      expect(text).toContain(`(from settings file key "${c.fileKey}")`);
    } else {
      expect(p.source).toBe('env');
      expect(text).toContain('(from environment)');
    }
  });

  it('reports several bad variables at once, one problem each', () => {
    const err = rejection(
      {},
      {
        RELAY_BACKENDS: 'http://x',
        RELAY_BACKEND_MODE: 'bogus',
        RELAY_PARITY_SAMPLE_RATE: '2',
        RELAY_DEBUG_PORT: 'abc',
        RELAY_SEND_TIMEOUT_MS: '12abc',
      },
    );
    const lines = err.message.split('\n');
    expect(lines).toHaveLength(5);
    expect(err.problems.map((p) => p.variable).sort()).toEqual(
      ['RELAY_BACKENDS', 'RELAY_BACKEND_MODE', 'RELAY_DEBUG_PORT', 'RELAY_PARITY_SAMPLE_RATE', 'RELAY_SEND_TIMEOUT_MS'].sort(),
    );
    const line = (v: string) => lines.find((l) => l.startsWith(`${v}: `)) ?? '';
    expect(line('RELAY_BACKENDS')).toContain('got "http://x"');
    expect(line('RELAY_BACKENDS')).toContain('ws:// or wss://');
    expect(line('RELAY_BACKEND_MODE')).toContain('got "bogus"');
    expect(line('RELAY_BACKEND_MODE')).toContain('"single" or "parallel"');
    expect(line('RELAY_PARITY_SAMPLE_RATE')).toContain('got "2"');
    expect(line('RELAY_PARITY_SAMPLE_RATE')).toContain('from 0 to 1');
    expect(line('RELAY_DEBUG_PORT')).toContain('got "abc"');
    expect(line('RELAY_DEBUG_PORT')).toContain('TCP port');
    expect(line('RELAY_SEND_TIMEOUT_MS')).toContain('got "12abc"');
    expect(line('RELAY_SEND_TIMEOUT_MS')).toContain('whole number of milliseconds');
  });

  it('reports bad file keys and bad variables together', () => {
    const err = rejection({ mode: 3, backends: 'x', primaryIndex: '1' }, { RELAY_PARITY_SAMPLE_RATE: '-0.1' });
    expect(err.problems).toHaveLength(4);
    expect(err.message).toContain('RELAY_BACKEND_MODE: got "3" (from settings file key "mode")');
    expect(err.message).toContain('RELAY_BACKENDS: got "x" (from settings file key "backends")');
    expect(err.message).toContain('RELAY_PRIMARY_INDEX: got "1" (from settings file key "primaryIndex")');
    expect(err.message).toContain('RELAY_PARITY_SAMPLE_RATE: got "-0.1" (from environment)');
  });

  it('reports a bad environment value even when the file value is good, and the reverse', () => {
    expect(rejection({ mode: 'parallel' }, { RELAY_BACKEND_MODE: 'both' }).problems.map((p) => [p.variable, p.source])).toEqual([['RELAY_BACKEND_MODE', 'env']]);
    expect(rejection({ mode: 'both' }, { RELAY_BACKEND_MODE: 'parallel' }).problems.map((p) => [p.variable, p.source])).toEqual([['RELAY_BACKEND_MODE', 'file']]);
  });

  it('formats a problem as variable, value given, where from and what was expected', () => {
    expect(formatProblem({ variable: 'RELAY_DEBUG_PORT', source: 'env', value: '70000', expected: 'a port' })).toBe(
      'RELAY_DEBUG_PORT: got "70000" (from environment); expected a port',
    );
    expect(formatProblem({ variable: 'RELAY_BACKEND_MODE', source: 'file', fileKey: 'mode', value: '3', expected: 'a mode' })).toBe(
      'RELAY_BACKEND_MODE: got "3" (from settings file key "mode"); expected a mode',
    );
    expect(formatProblem({ variable: 'RELAY_BACKEND_MODE', source: 'cli', value: 'x', expected: 'a mode' })).toBe('RELAY_BACKEND_MODE: got "x" (from command line); expected a mode');
  });
});

describe('secrets never appear in problems or redacted settings', () => {
  const SECRET_URL = 'ws://user:pass@host/relay?token=abc';
  const leaks = (text: string) => ['user:pass', 'pass@', 'token=abc', 'abc'].filter((s) => text.includes(s));

  it.each([
    ['bad URL next to it (the secret URL is valid)', { RELAY_BACKENDS: `${SECRET_URL},http://x` }],
    ['listed twice', { RELAY_BACKENDS: `${SECRET_URL},${SECRET_URL}` }],
    ['next to an empty entry', { RELAY_BACKENDS: `${A},,${SECRET_URL}` }],
    ['as http://', { RELAY_BACKENDS: SECRET_URL.replace('ws://', 'http://') }],
    ['with a host that is not a host', { RELAY_BACKENDS: 'ws://user:pass@bad host/relay?token=abc' }],
    ['without a scheme', { RELAY_BACKENDS: 'user:pass@host/relay?token=abc' }],
    ['with a bad primary index', { RELAY_BACKENDS: SECRET_URL, RELAY_PRIMARY_INDEX: '3' }],
    ['with a wrong enabled list', { RELAY_BACKENDS: SECRET_URL, RELAY_TARGETS_ENABLED: '1,1' }],
    ['with a wrong token list', { RELAY_BACKENDS: SECRET_URL, RELAY_BACKEND_TOKENS: 'abc,abc' }],
  ])('in the environment, %s', (_name, env) => {
    const err = rejection({}, env);
    expect(err.problems.length).toBeGreaterThan(0);
    expect(leaks(err.message)).toEqual([]);
    for (const p of err.problems) expect(leaks(p.value)).toEqual([]);
  });

  it.each([
    ['an http:// URL', { backends: [{ url: SECRET_URL.replace('ws://', 'http://') }] }],
    ['listed twice', { backends: [{ url: SECRET_URL }, { url: SECRET_URL }] }],
    ['a bare URL string instead of an object', { backends: [SECRET_URL.replace('ws://', 'http://')] }],
    ['an entry with a token but no url', { backends: [{ enabled: true, token: 'abc' }] }],
    ['a token with a space', { backends: [{ url: A, token: 'abc abc' }] }],
  ])('in the file, %s', (_name, file) => {
    const err = rejection(file, {});
    expect(leaks(err.message)).toEqual([]);
  });

  it('redactSettings masks credentials, secret query values and tokens', () => {
    const { settings } = resolveSettings({}, { RELAY_BACKENDS: `${SECRET_URL},${A}`, RELAY_BACKEND_TOKENS: 'abc,' });
    expect(settings.backends[0]).toEqual({ url: SECRET_URL, enabled: true, token: 'abc' }); // the real settings keep them
    const redacted = redactSettings(settings);
    const text = JSON.stringify(redacted);
    expect(leaks(text)).toEqual([]);
    expect(redacted.backends[0]?.url).toBe('ws://***:***@host/relay?token=***');
    expect(redacted.backends[0]?.token).toBe('(redacted)');
    expect(redacted.backends[1]).toEqual({ url: A, enabled: true });
    expect(redacted.mode).toBe(settings.mode);
    // The input is not modified.
    expect(settings.backends[0]?.token).toBe('abc');
  });

  it('maskUrl leaves a URL without secrets alone', () => {
    expect(maskUrl(A)).toBe(A);
    expect(maskUrl(`${B}?session=1`)).toBe(`${B}?session=1`);
    expect(maskUrl('not a url')).toBe('not a url');
    expect(maskUrl(`${B}?api_key=k1&x=2`)).toBe(`${B}?api_key=***&x=2`);
  });
});

describe('applySettingText (relay set <name> <value>)', () => {
  it('clears every backend with an empty list, and resets the primary with them', () => {
    const file = { backends: [{ url: 'ws://a/relay', enabled: true }, { url: 'ws://b/relay', enabled: true }], primaryIndex: 1 };
    expect(applySettingText(file, 'RELAY_BACKENDS', '')).toMatchObject({ backends: [], primaryIndex: 0 });
  });

  it('takes the variable name or the settings key', () => {
    expect(applySettingText({}, 'RELAY_BACKEND_MODE', 'parallel')).toEqual({ mode: 'parallel' });
    expect(applySettingText({}, 'relay_backend_mode', 'parallel')).toEqual({ mode: 'parallel' });
    expect(applySettingText({}, 'mode', 'parallel')).toEqual({ mode: 'parallel' });
    expect(applySettingText({}, 'RELAY_PARITY_SAMPLE_RATE', '0.5')).toEqual({ paritySampleRate: 0.5 });
    expect(applySettingText({}, 'paritySampleRate', '0.5')).toEqual({ paritySampleRate: 0.5 });
    expect(applySettingText({}, 'RELAY_DEBUG_PORT', '9999')).toEqual({ debugPort: 9999 });
    expect(applySettingText({}, 'targetTimeoutMs', '2500')).toEqual({ targetTimeoutMs: 2500 });
    expect(applySettingText({}, 'RELAY_SEND_TIMEOUT_MS', '100')).toEqual({ sendTimeoutMs: 100 });
  });

  it('keeps the other keys and does not modify its input', () => {
    const file = { mode: 'single', debugPort: 9000, somethingElse: { kept: true } };
    const next = applySettingText(file, 'mode', 'parallel');
    expect(next).toEqual({ mode: 'parallel', debugPort: 9000, somethingElse: { kept: true } });
    expect(file.mode).toBe('single');
  });

  it('writes backends, enabled flags and tokens as the file objects', () => {
    let file = applySettingText({}, 'RELAY_BACKENDS', `${A},${B}`);
    expect(file).toEqual({ backends: [{ url: A, enabled: true }, { url: B, enabled: true }] });
    file = applySettingText(file, 'RELAY_TARGETS_ENABLED', '1,0');
    expect(file.backends).toEqual([{ url: A, enabled: true }, { url: B, enabled: false }]);
    file = applySettingText(file, 'tokens', 'tok-a,');
    expect(file.backends).toEqual([{ url: A, enabled: true, token: 'tok-a' }, { url: B, enabled: false }]);
    // Listing the backends again keeps the token of a URL that stays.
    file = applySettingText(file, 'backends', `${A},${C}`);
    expect(file.backends).toEqual([{ url: A, enabled: true, token: 'tok-a' }, { url: C, enabled: true }]);
    file = applySettingText(file, 'RELAY_PRIMARY_INDEX', '1');
    expect(file.primaryIndex).toBe(1);
    expect(resolveSettings(file, {}).settings.backends[1]?.url).toBe(C);
  });

  it('is the one place that turns the kill switch off in the file', () => {
    expect(applySettingText({}, 'RELAY_KILL_SWITCH', '1')).toEqual({ killSwitch: true });
    expect(applySettingText({ killSwitch: true }, 'RELAY_KILL_SWITCH', '0')).toEqual({ killSwitch: false });
    expect(applySettingText({ killSwitch: false }, 'killSwitch', 'on')).toEqual({ killSwitch: true });
    expect(applySettingText({ killSwitch: true }, 'killSwitch', 'off')).toEqual({ killSwitch: false });
  });

  it('rejects an unknown name, listing the names it knows', () => {
    const err = applyRejection({}, 'RELAY_BOGUS', '1');
    expect(err.problems).toHaveLength(1);
    expect(err.message).toContain('RELAY_BOGUS: got "1" (from command line); expected a setting name');
    expect(err.message).toContain('RELAY_BACKEND_MODE');
    expect(err.message).toContain('RELAY_KILL_SWITCH');
  });

  it.each([
    ['RELAY_BACKEND_MODE', 'bogus', 'RELAY_BACKEND_MODE', '"single" or "parallel"'],
    ['mode', '', 'RELAY_BACKEND_MODE', '"single" or "parallel"'],
    ['RELAY_PARITY_SAMPLE_RATE', '1.5', 'RELAY_PARITY_SAMPLE_RATE', 'from 0 to 1'],
    ['RELAY_DEBUG_PORT', '70000', 'RELAY_DEBUG_PORT', 'TCP port'],
    ['RELAY_TARGET_TIMEOUT_MS', '12abc', 'RELAY_TARGET_TIMEOUT_MS', 'whole number of milliseconds'],
    ['RELAY_TARGET_TIMEOUT_MS', '', 'RELAY_TARGET_TIMEOUT_MS', 'whole number of milliseconds'],
    ['sendTimeoutMs', '1.5', 'RELAY_SEND_TIMEOUT_MS', 'whole number of milliseconds'],
    ['RELAY_KILL_SWITCH', 'maybe', 'RELAY_KILL_SWITCH', '1 (kill switch on) or 0 (off)'],
    ['RELAY_BACKENDS', 'http://x', 'RELAY_BACKENDS', 'ws:// or wss://'],
    ['RELAY_PRIMARY_INDEX', '1', 'RELAY_PRIMARY_INDEX', '0 (no backends are configured)'],
    ['RELAY_TARGETS_ENABLED', '1', 'RELAY_TARGETS_ENABLED', '0 comma-separated 1/0 flags'],
  ])('rejects %s=%j as from the command line', (name, text, variable, expected) => {
    const err = applyRejection({}, name, text);
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]?.variable).toBe(variable);
    expect(err.message).toContain(`${variable}: got ${JSON.stringify(text)} (from command line); expected `);
    expect(err.message).toContain(expected);
  });

  it('never echoes a token it rejects', () => {
    const err = applyRejection({ backends: [{ url: A }] }, 'RELAY_BACKEND_TOKENS', 'abc,def');
    expect(err.message).not.toContain('abc');
    expect(err.message).toContain('(redacted)');
  });

  it('reports problems already in the file with the file as their source', () => {
    const err = applyRejection({ mode: 'bogus' }, 'RELAY_DEBUG_PORT', '9000');
    expect(err.message).toContain('RELAY_BACKEND_MODE: got "bogus" (from settings file key "mode")');
  });
});

describe('one rule for a kill-switch value', () => {
  const ON: unknown[] = [true, 1, '1', 'true', 'on', 'yes', 'TRUE', ' On ', 'Yes\n', ' 1 '];
  const OFF: unknown[] = [false, 0, '0', 'false', 'off', 'no', 'FALSE', ' Off ', 'NO', ' 0 '];
  const NEITHER: unknown[] = ['maybe', '', ' ', 'enabled', '2', 2, -1, 0.5, null, [], {}, ['1'], { on: true }];

  it('readKillSwitch: on, off, or undefined when it is neither', () => {
    for (const v of ON) expect(readKillSwitch(v), JSON.stringify(v)).toBe(true);
    for (const v of OFF) expect(readKillSwitch(v), JSON.stringify(v)).toBe(false);
    for (const v of NEITHER) expect(readKillSwitch(v), JSON.stringify(v)).toBeUndefined();
  });

  it('killSwitchMeansOn: fail-safe, so only a plain off is off', () => {
    for (const v of [...ON, ...NEITHER]) expect(killSwitchMeansOn(v), JSON.stringify(v)).toBe(true);
    for (const v of OFF) expect(killSwitchMeansOn(v), JSON.stringify(v)).toBe(false);
  });

  it.each(ON.map((v) => [JSON.stringify(v), v] as const))('the settings file killSwitch: %s turns it on, without a problem', (_name, value) => {
    const { settings } = resolveSettings({ killSwitch: value }, {});
    expect(settings.killSwitch).toBe(true);
  });

  it.each(OFF.map((v) => [JSON.stringify(v), v] as const))('the settings file killSwitch: %s leaves it off', (_name, value) => {
    expect(resolveSettings({ killSwitch: value }, {}).settings.killSwitch).toBe(false);
  });

  it.each(['1', 'true', 'TRUE', 'on', ' yes '])('RELAY_KILL_SWITCH=%j turns it on', (text) => {
    expect(resolveSettings({ killSwitch: false }, { RELAY_KILL_SWITCH: text }).settings.killSwitch).toBe(true);
  });

  it.each(['0', 'false', 'off', 'no'])('RELAY_KILL_SWITCH=%j never turns off a switch the file has on, whatever the file says it with', (text) => {
    for (const on of ['1', 1, 'true', 'yes']) expect(resolveSettings({ killSwitch: on }, { RELAY_KILL_SWITCH: text }).settings.killSwitch).toBe(true);
  });
});

describe('a broken settings file never turns the kill switch off', () => {
  it.each(['maybe', null, 2, '', 'enabled', ['1']])('a kill-switch value that is neither on nor off (%j) is a problem that counts as ON', (value) => {
    const err = rejection({ killSwitch: value }, {});
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]).toMatchObject({ variable: 'RELAY_KILL_SWITCH', source: 'file', fileKey: 'killSwitch' });
    expect(err.message).toContain('counts as ON');
    expect(err.killSwitch).toBe(true);
  });

  it('the same for RELAY_KILL_SWITCH in the environment', () => {
    const err = rejection({}, { RELAY_KILL_SWITCH: 'maybe' });
    expect(err.message).toContain('RELAY_KILL_SWITCH: got "maybe" (from environment)');
    expect(err.message).toContain('counts as ON');
    expect(err.killSwitch).toBe(true);
  });

  it.each([
    [1, true],
    ['1', true],
    [true, true],
    ['true', true],
    ['on', true],
    ['yes', true],
    ['maybe', true],
    [0, false],
    ['0', false],
    [false, false],
    ['off', false],
  ] as const)('a file with another bad key and killSwitch %j: the error says kill switch %s', (value, on) => {
    const err = rejection({ killSwitch: value, mode: 'sideways', debugPort: 70000 }, {});
    expect(err.problems.map((p) => p.variable)).toEqual(expect.arrayContaining(['RELAY_BACKEND_MODE', 'RELAY_DEBUG_PORT']));
    expect(err.killSwitch).toBe(on);
    expect(fileAsksForKillSwitch({ killSwitch: value, mode: 'sideways' })).toBe(on);
  });

  it('an error says kill switch on when the environment asks for it, or misspells it', () => {
    expect(rejection({ mode: 'sideways' }, { RELAY_KILL_SWITCH: '1' }).killSwitch).toBe(true);
    expect(rejection({ mode: 'sideways' }, { RELAY_KILL_SWITCH: '0' }).killSwitch).toBe(false);
    expect(rejection({ mode: 'sideways', kilSwitch: true }, {}).killSwitch).toBe(true);
    expect(rejection({ mode: 'sideways', backends: Array.from({ length: 100 }, (_, i) => ({ url: `ws://h${i}/relay` })), killSwitch: 'yes' }, {}).killSwitch).toBe(true);
  });

  it('a file that is not even JSON is searched as text for the kill switch, read by the same rule', () => {
    expect(killSwitchInText('{"killSwitch": true, "mode": }')).toBe(true);
    expect(killSwitchInText('{\n\t"killSwitch": "1",\n\t"mode": "single"\n')).toBe(true);
    expect(killSwitchInText('{"killSwitch": 1 "mode": "single"}')).toBe(true);
    expect(killSwitchInText('{"killSwitch": "maybe", ')).toBe(true);
    expect(killSwitchInText('{"killSwitch": tru')).toBe(true); // cut off mid-word: not off, so on
    expect(killSwitchInText('{"kilSwitch": true,')).toBe(true);
    expect(killSwitchInText('{"killSwitch": false, "mode": }')).toBe(false);
    expect(killSwitchInText('{"killSwitch": "off", "mode": }')).toBe(false);
    expect(killSwitchInText('{"mode": "single", "backends": [')).toBe(false);
    expect(killSwitchInText('')).toBe(false);
  });
});

describe('unknown names are reported with the nearest known one, and turn nothing off', () => {
  it('editDistance and nearestName', () => {
    expect(editDistance('kilSwitch', 'killSwitch')).toBe(1);
    expect(editDistance('killswitch', 'killSwitch')).toBe(0);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('mode', 'mdoe')).toBe(1); // a swap of neighbours is one slip
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(nearestName('kilSwitch', ['mode', 'killSwitch'])).toBe('killSwitch');
    expect(nearestName('mod', ['mode', 'killSwitch'])).toBe('mode');
    expect(nearestName('foo', ['mode', 'killSwitch'])).toBeUndefined();
    expect(nearestName('x'.repeat(5000), ['mode'])).toBeUndefined();
  });

  it("warns of an unknown key in the file by name, with the nearest known key: unknown setting 'kilSwitch'; did you mean 'killSwitch'?", () => {
    const { settings, warnings } = resolveSettings({ mod: 'parallel', debugprot: 9000, frobnicate: 1 }, {});
    expect(settings.mode).toBe('single');
    expect(warnings).toHaveLength(3);
    expect(warnings).toContainEqual(expect.stringContaining("unknown setting 'mod'; did you mean 'mode'?"));
    expect(warnings).toContainEqual(expect.stringContaining("unknown setting 'debugprot'; did you mean 'debugPort'?"));
    expect(warnings).toContainEqual(expect.stringContaining("unknown setting 'frobnicate' is ignored"));
    const kill = resolveSettings({ kilSwitch: false }, {}).warnings;
    expect(kill).toEqual([expect.stringContaining("unknown setting 'kilSwitch'; did you mean 'killSwitch'?")]);
  });

  it('suggests the file key for a variable name used as a key', () => {
    expect(resolveSettings({ RELAY_BACKEND_MODE: 'parallel' }, {}).warnings).toEqual([expect.stringContaining("unknown setting 'RELAY_BACKEND_MODE'; did you mean 'mode'?")]);
  });

  it('warns of an unknown key in a backend entry', () => {
    const { warnings } = resolveSettings({ backends: [{ url: A, enabeld: false }] }, {});
    expect(warnings).toEqual([expect.stringContaining("backends[0]: unknown key 'enabeld'; did you mean 'enabled'?")]);
  });

  it('warns of an unknown RELAY_* variable with the nearest known one, and leaves other variables alone', () => {
    const { warnings } = resolveSettings({}, { RELAY_BACKEND_MOD: 'parallel', RELAY_FROBNICATE: '1', PATH: '/bin', HOME: '/home/x', RELAY_BUILD_TIME: '2026-01-01', RELAY_AGENT_E2E: '1' });
    expect(warnings).toHaveLength(2);
    expect(warnings).toContainEqual(expect.stringContaining("unknown variable 'RELAY_BACKEND_MOD'; did you mean 'RELAY_BACKEND_MODE'?"));
    expect(warnings).toContainEqual(expect.stringContaining("unknown variable 'RELAY_FROBNICATE' is ignored"));
  });

  it('knows the keys the desktop app and conf keep in the same file', () => {
    const file = {
      backends: [{ url: A, enabled: true, tokenSealed: 'c2VhbGVk' }],
      desktop: { startHidden: true },
      __internal__: { migrations: { version: '0.1.0' } },
    };
    expect(resolveSettings(file, {}).warnings).toEqual([]);
  });

  it('never shows the value of an unknown key: it may be a secret', () => {
    const { warnings } = resolveSettings({ tokn: 'secret-abc', backends: [{ url: A, tokne: 'secret-def' }] }, { RELAY_BACKEND_TOKEN: 'secret-ghi' });
    expect(warnings).toHaveLength(3);
    expect(warnings.join('\n')).not.toMatch(/secret-/);
  });

  it('a near miss of the kill switch whose value is not off turns it on, and says so', () => {
    for (const file of [{ kilSwitch: true }, { killswitch: '1' }, { KillSwitch: 'yes' }, { RELAY_KILL_SWITCH: 1 }, { kilSwitch: 'maybe' }]) {
      const { settings, warnings } = resolveSettings(file, {});
      expect(settings.killSwitch, JSON.stringify(file)).toBe(true);
      expect(warnings).toEqual([expect.stringContaining('the kill switch is ON')]);
      expect(warnings[0]).toContain("did you mean 'killSwitch'?");
      expect(fileAsksForKillSwitch(file)).toBe(true);
    }
    const env = resolveSettings({}, { RELAY_KILL_SWICH: '1' });
    expect(env.settings.killSwitch).toBe(true);
    expect(env.warnings).toEqual([expect.stringContaining("unknown variable 'RELAY_KILL_SWICH'; did you mean 'RELAY_KILL_SWITCH'? Its value does not read as off")]);
  });

  it('a near miss that says off, or one beside the real key, only warns: unknown keys turn nothing off', () => {
    expect(resolveSettings({ kilSwitch: false }, {}).settings.killSwitch).toBe(false);
    expect(resolveSettings({ kilSwitch: 0 }, { RELAY_KILL_SWICH: 'off' }).settings.killSwitch).toBe(false);
    // The real key wins over its near miss, in both directions.
    expect(resolveSettings({ killSwitch: true, kilSwitch: false }, {}).settings.killSwitch).toBe(true);
    expect(resolveSettings({ killSwitch: false, kilSwitch: true }, {}).settings.killSwitch).toBe(false);
    // Nothing else an unknown key is near is changed by it either.
    const { settings } = resolveSettings({ killSwitch: true, sharePersonalData: false, sharePersonalDta: true, mod: 'parallel' }, {});
    expect(settings).toMatchObject({ killSwitch: true, sharePersonalData: false, mode: 'single' });
  });

  it('lists a few unknown names one by one and counts the rest, quickly, but still finds a kill-switch slip among them', () => {
    const file: Record<string, unknown> = Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`junk${i}`, i]));
    file.kilSwitch = true;
    const started = performance.now();
    const { settings, warnings } = resolveSettings(file, {});
    const ms = performance.now() - started;
    expect(settings.killSwitch).toBe(true);
    expect(warnings.length).toBeLessThanOrEqual(22);
    expect(warnings).toContainEqual(expect.stringContaining("'kilSwitch'"));
    expect(warnings[warnings.length - 1]).toMatch(/\d+ more unknown names/);
    expect(ms).toBeLessThan(2000);
  });

  it('resolveSettings warns, it does not throw: an unknown key never stops the relay', () => {
    expect(() => resolveSettings({ frobnicate: true, desktopp: {} }, { RELAY_FROB: '1' })).not.toThrow();
  });

  it('a rejected file still carries its warnings, apart from its problems', () => {
    const err = rejection({ mode: 'sideways', mdoe: 'single' }, {});
    expect(err.problems).toHaveLength(1);
    expect(err.message).not.toContain('mdoe');
    expect(err.warnings).toEqual([expect.stringContaining("unknown setting 'mdoe'; did you mean 'mode'?")]);
  });
});

describe('RELAY_MAX_BACKENDS caps the number of backends', () => {
  const urls = (n: number) => Array.from({ length: n }, (_, i) => `ws://gateway-${i}.example.com/relay`);

  it('accepts up to 16 backends by default, and refuses 17 naming the count, the cap and the setting', () => {
    expect(resolveSettings({ backends: urls(16).map((url) => ({ url })) }, {}).settings.backends).toHaveLength(16);
    const err = rejection({ backends: urls(17).map((url) => ({ url })) }, {});
    expect(err.problems).toHaveLength(1);
    expect(err.message).toContain('RELAY_BACKENDS: got "17 backends" (from settings file key "backends"); expected at most 16 backends');
    expect(err.message).toContain('RELAY_MAX_BACKENDS');
    expect(err.message).toContain('maxBackends');
    const env = rejection({}, { RELAY_BACKENDS: urls(17).join(',') });
    expect(env.problems).toHaveLength(1);
    expect(env.message).toContain('RELAY_BACKENDS: got "17 backends" (from environment); expected at most 16 backends');
  });

  it('takes the cap from the file key maxBackends or from RELAY_MAX_BACKENDS, from 1 to 64', () => {
    expect(resolveSettings({ maxBackends: 20, backends: urls(20).map((url) => ({ url })) }, {}).settings).toMatchObject({ maxBackends: 20 });
    expect(resolveSettings({}, { RELAY_MAX_BACKENDS: '64', RELAY_BACKENDS: urls(64).join(',') }).settings.backends).toHaveLength(64);
    expect(rejection({}, { RELAY_MAX_BACKENDS: '2', RELAY_BACKENDS: urls(3).join(',') }).message).toContain('expected at most 2 backends');
    expect(rejection({}, { RELAY_MAX_BACKENDS: '65' }).message).toContain('RELAY_MAX_BACKENDS: got "65" (from environment); expected a whole number of backends from 1 to 64');
    expect(applySettingText({}, 'RELAY_MAX_BACKENDS', '32')).toEqual({ maxBackends: 32 });
    expect(applySettingText({}, 'maxBackends', '8')).toEqual({ maxBackends: 8 });
    // Lowering the cap below the backends already listed is refused.
    expect(applyRejection({ backends: urls(3).map((url) => ({ url })) }, 'maxBackends', '2').message).toContain('got "3 backends"');
  });

  it('refuses 3000 backends quickly, in one line, from the file, the environment, relay set and the dashboard', () => {
    const many = urls(3000);
    const started = performance.now();
    const fromFile = rejection({ backends: many.map((url) => ({ url, enabled: true, token: 'tok' })) }, {});
    const fromEnv = rejection({}, { RELAY_BACKENDS: many.join(','), RELAY_TARGETS_ENABLED: many.map(() => '1').join(','), RELAY_BACKEND_TOKENS: many.map(() => 'tok').join(',') });
    const fromSet = applyRejection({}, 'RELAY_BACKENDS', many.join(','));
    const current = resolveSettings({}, {}).settings;
    const fromDashboard = planSettingsUpdate({}, { backends: many.map((url) => ({ url, enabled: true })) }, current, [], {});
    const ms = performance.now() - started;
    for (const err of [fromFile, fromEnv, fromSet]) {
      expect(err.problems, err.message).toHaveLength(1);
      expect(err.message).toContain('got "3000 backends"');
      expect(err.message).toContain('at most 16 backends');
      expect(err.message).toContain('RELAY_MAX_BACKENDS');
    }
    expect(fromDashboard.ok).toBe(false);
    if (!fromDashboard.ok) {
      expect(fromDashboard.status).toBe(400);
      expect(fromDashboard.problems?.join('\n')).toContain('3000 backends');
      expect(fromDashboard.problems?.join('\n')).toContain('RELAY_MAX_BACKENDS');
    }
    expect(ms).toBeLessThan(500);
  });
});

describe('relay set: the kill switch and unknown names', () => {
  it('sets the kill switch from any value that means on or off, even when other settings in the file are bad', () => {
    expect(applySettingText({ mode: 'sideways' }, 'killSwitch', 'yes')).toEqual({ mode: 'sideways', killSwitch: true });
    expect(applySettingText({ mode: 'sideways', killSwitch: true }, 'RELAY_KILL_SWITCH', 'no')).toEqual({ mode: 'sideways', killSwitch: false });
    expect(applySettingText({}, 'killSwitch', ' TRUE ')).toEqual({ killSwitch: true });
  });

  it('refuses a kill-switch value that is neither, and says nothing was changed', () => {
    const err = applyRejection({ killSwitch: false }, 'killSwitch', 'maybe');
    expect(err.message).toContain('RELAY_KILL_SWITCH: got "maybe" (from command line)');
    expect(err.message).toContain('nothing was changed');
  });

  it.each([
    ['kilSwitch', 'killSwitch'],
    ['RELAY_KILL_SWICH', 'RELAY_KILL_SWITCH'],
    ['relay_backend_mod', 'RELAY_BACKEND_MODE'],
    ['mdoe', 'mode'],
    ['maxBackend', 'maxBackends'],
  ])("refuses the unknown name %s with the nearest known one (did you mean '%s'?)", (name, near) => {
    const err = applyRejection({}, name, '1');
    expect(err.problems).toHaveLength(1);
    expect(err.message).toContain(`${name}: got "1" (from command line); expected a setting name: unknown setting '${name}'; did you mean '${near}'?`);
  });
});

describe('settings that send nowhere are refused unless forced', () => {
  it('refuses single mode with a disabled or missing primary, and every backend disabled, naming the setting and the way out', () => {
    const disabledPrimary = rejection({ backends: [{ url: A, enabled: false }, { url: B, enabled: true }], mode: 'single', primaryIndex: 0 });
    expect(disabledPrimary.problems).toHaveLength(1);
    expect(formatProblem(disabledPrimary.problems[0] as SettingsProblem)).toMatch(
      /^RELAY_PRIMARY_INDEX: got "0" \(from settings file key "primaryIndex"\); expected settings under which an enabled backend receives frames: single mode sends to the primary only, and the primary, backend #0 ws:\/\/127\.0\.0\.1:9001\/relay, is disabled\. .*RELAY_ALLOW_NO_DELIVERY=1/,
    );
    // The spec's quick rollback after step 5 disabled A: RELAY_PRIMARY_INDEX=0 over a file where A is disabled.
    const quickRollback = rejection({ backends: [{ url: A, enabled: false }, { url: B, enabled: true }], mode: 'single', primaryIndex: 1 }, { RELAY_PRIMARY_INDEX: '0' });
    expect(quickRollback.problems[0]).toMatchObject({ variable: 'RELAY_PRIMARY_INDEX', source: 'env', value: '0' });
    const allDisabled = rejection({}, { RELAY_BACKENDS: `${A},${B}`, RELAY_TARGETS_ENABLED: '0,0', RELAY_BACKEND_MODE: 'parallel' });
    expect(allDisabled.problems[0]).toMatchObject({ variable: 'RELAY_TARGETS_ENABLED', source: 'env', value: '0,0' });
    expect(formatProblem(allDisabled.problems[0] as SettingsProblem)).toContain('every backend is disabled (2 configured)');
  });

  it('accepts them with RELAY_ALLOW_NO_DELIVERY (the force), and never counts no backends or the kill switch as sending nowhere', () => {
    const forced = resolveSettings({ backends: [{ url: A, enabled: false }], allowNoDelivery: true });
    expect(forced.settings.allowNoDelivery).toBe(true);
    expect(deliveryProblem(forced.settings)?.cause).toBe('disabled');
    expect(resolveSettings({ backends: [{ url: A, enabled: false }] }, { RELAY_ALLOW_NO_DELIVERY: '1' }).settings.backends[0]?.enabled).toBe(false);
    expect(deliveryProblem(resolveSettings({}).settings)).toBeNull();
    expect(deliveryProblem({ backends: [{ url: A, enabled: true }], mode: 'single', primaryIndex: 0 })).toBeNull();
    expect(resolveSettings({ backends: [{ url: A, enabled: true }], killSwitch: true }).settings.killSwitch).toBe(true);
  });
});

describe('relay set with several settings at once', () => {
  const twoBackends = { backends: [{ url: A, enabled: true }, { url: B, enabled: true, token: 'tok-b' }], mode: 'single', primaryIndex: 1 };

  it('applies a change that is valid only as a whole: the cutover\'s last step, B only with the primary moved to it', () => {
    // One at a time, each is refused: B alone leaves primary 1 pointing past the list.
    expect(() => applySettingText(twoBackends, 'RELAY_BACKENDS', B)).toThrow(/RELAY_PRIMARY_INDEX: got "1"/);
    const next = applySettingTexts(twoBackends, [
      ['RELAY_BACKENDS', B],
      ['RELAY_PRIMARY_INDEX', '0'],
    ]);
    expect(next).toMatchObject({ backends: [{ url: B, enabled: true, token: 'tok-b' }], primaryIndex: 0, mode: 'single' });
    expect(resolveSettings(next).settings.backends).toEqual([{ url: B, enabled: true, token: 'tok-b' }]);
  });

  it('refuses the whole change when one part is bad, or a setting is given twice, and says each problem', () => {
    let error: unknown;
    try {
      applySettingTexts(twoBackends, [
        ['mode', 'sideways'],
        ['RELAY_PARITY_SAMPLE_RATE', '2'],
        ['kilSwitch', '1'],
      ]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SettingsError);
    const text = (error as SettingsError).message;
    expect(text).toContain("unknown setting 'kilSwitch'; did you mean 'killSwitch'?");
    expect(() => applySettingTexts(twoBackends, [['mode', 'parallel'], ['RELAY_BACKEND_MODE', 'single']])).toThrow(/one value per setting in one change \(mode and RELAY_BACKEND_MODE both set it\)/);
    expect(() => applySettingTexts(twoBackends, [['mode', 'sideways'], ['RELAY_PRIMARY_INDEX', '0']])).toThrow(/RELAY_BACKEND_MODE: got "sideways"/);
  });

  it('writes the force into the file only while the settings send nowhere, and drops it once they deliver again', () => {
    expect(() => applySettingTexts(twoBackends, [['RELAY_TARGETS_ENABLED', '1,0']])).toThrow(/telemetry|receives frames/);
    const forced = applySettingTexts(twoBackends, [['RELAY_TARGETS_ENABLED', '1,0']], { force: true });
    expect(forced).toMatchObject({ allowNoDelivery: true, backends: [{ url: A, enabled: true }, { url: B, enabled: false }] });
    const back = applySettingTexts(forced, [['RELAY_TARGETS_ENABLED', '1,1']]);
    expect(back).not.toHaveProperty('allowNoDelivery');
  });

  it('reads friendly names per backend, from the file and RELAY_BACKEND_NAMES', () => {
    const named = applySettingTexts(twoBackends, [['RELAY_BACKEND_NAMES', 'Gateway A,']]);
    expect(named.backends).toEqual([{ url: A, enabled: true, name: 'Gateway A' }, { url: B, enabled: true, token: 'tok-b' }]);
    expect(resolveSettings(named).settings.backends[0]?.name).toBe('Gateway A');
    expect(rejection({ backends: [{ url: A, enabled: true, name: 'a,b' }] }).problems[0]).toMatchObject({ variable: 'RELAY_BACKEND_NAMES', fileKey: 'backends[0].name' });
    expect(rejection({ backends: [{ url: A, enabled: true }] }, { RELAY_BACKEND_NAMES: 'one,two' }).problems[0]).toMatchObject({ variable: 'RELAY_BACKEND_NAMES', source: 'env' });
  });
});

describe('relay set through a running relay: what its environment pins is refused', () => {
  const file = { backends: [{ url: A, enabled: true }, { url: B, enabled: true }], mode: 'parallel' };

  it('answers 409 naming the pinning variable, for the setting itself and for the backend list\'s family', () => {
    const context = { envOverrides: ['RELAY_BACKEND_MODE', 'RELAY_BACKENDS'], env: { RELAY_BACKEND_MODE: 'parallel', RELAY_BACKENDS: `${A},${B}` } };
    const mode = planAssignments(file, [{ name: 'RELAY_BACKEND_MODE', value: 'single' }], context);
    expect(mode).toMatchObject({ ok: false, status: 409 });
    expect(!mode.ok && mode.error).toMatch(/^RELAY_BACKEND_MODE is set in the environment of the running relay/);
    const enabled = planAssignments(file, [{ name: 'RELAY_TARGETS_ENABLED', value: '1,0' }], context);
    expect(!enabled.ok && enabled.error).toMatch(/^RELAY_BACKENDS is set in the environment/);
    // Not pinned: applied, and said which variables changed.
    const rate = planAssignments(file, [{ name: 'RELAY_PARITY_SAMPLE_RATE', value: '0.5' }], context);
    expect(rate).toMatchObject({ ok: true, changed: ['RELAY_PARITY_SAMPLE_RATE'], file: { paritySampleRate: 0.5 } });
    // The environment can hold the kill switch on, never off.
    const killCtx = { envOverrides: ['RELAY_KILL_SWITCH'], env: { RELAY_KILL_SWITCH: '1' } };
    expect(planAssignments(file, [{ name: 'killSwitch', value: 'off' }, { name: 'mode', value: 'single' }], killCtx)).toMatchObject({ ok: false, status: 409 });
    expect(planAssignments(file, [{ name: 'killSwitch', value: 'on' }, { name: 'mode', value: 'single' }], killCtx)).toMatchObject({ ok: true });
  });
});
