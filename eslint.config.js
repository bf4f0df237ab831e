import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

// The layering of DESIGN.md, as import bans. A ban is a regular expression over the module
// specifier as written: a package name, or a folder of this repository as a path segment
// ("../desktop/ports", "../../src-main/log/logger"). ESLint keeps one setting per rule per file, so
// each zone below lists every ban that holds in it, and no two zones cover the same file.
export const BANS = {
  electron: {
    // electron, electron/main, electron-store, electron-updater, @electron/remote ...
    regex: '^(?:electron(?:$|[/-])|@electron/)',
    message: 'Only src-main/shell/ imports electron or its packages: the relay core, the sources and the desktop logic run headless and under test.',
  },
  desktopOrShell: {
    regex: '(?:^|/)(?:desktop|shell)/',
    message: 'The core does not import src-main/desktop/ or src-main/shell/: they sit on top of it, and what the core needs of them is a port it defines itself.',
  },
  shell: {
    regex: '(?:^|/)shell/',
    message: 'src-main/desktop/ does not import src-main/shell/: the shell implements the desktop ports, not the other way round.',
  },
  relay: {
    // src-main/relay/** (the fan-out) and src-main/runtime/** (the composition root and its
    // parts), by any relative path.
    regex: '(?:^|/)(?:relay|runtime)(?:$|/|\\.[cm]?[jt]s$)',
    message: 'Sources (sources/, ibt/, telemetry/) do not import the relay (relay/, runtime/): the relay consumes them through sources/source.ts.',
  },
  srcMain: {
    regex: '(?:^|/)src-main(?:$|/)',
    message: 'src-main is the relay and the desktop app: the gateway and the renderer do not import it (shared contracts live in src-shared).',
  },
  srcGateway: {
    regex: '(?:^|/)src-gateway(?:$|/)',
    message: 'The renderer does not import the reference gateway.',
  },
  srcRenderer: {
    regex: '(?:^|/)src-renderer(?:$|/)',
    message: 'Only the renderer imports src-renderer: the main process and the gateway talk to it through the typed bridge in src-shared.',
  },
  outsideShared: {
    // src-shared is one flat folder: any parent path, or an absolute one, leaves it.
    regex: '^(?:\\.\\.(?:/|$)|/)',
    message: 'src-shared is the contract every side uses: it imports nothing else of this repository (packages such as zod are fine).',
  },
};

const SOURCES = ['src-main/sources/**', 'src-main/ibt/**', 'src-main/telemetry/**'];

/**
 * Where each ban holds. "The core" is everything in src-main that is not the Electron shell
 * (shell/), the desktop app's logic (desktop/) or a telemetry source; the sources are held to
 * the core's rules plus one of their own, and desktop/ to the electron ban.
 */
export const ZONES = [
  { name: 'shared', files: ['src-shared/**'], bans: ['outsideShared', 'electron'] },
  { name: 'renderer', files: ['src-renderer/**'], bans: ['srcMain', 'srcGateway', 'electron'] },
  { name: 'gateway', files: ['src-gateway/**'], bans: ['srcMain', 'srcRenderer', 'electron'] },
  { name: 'sources', files: SOURCES, bans: ['electron', 'desktopOrShell', 'relay', 'srcRenderer'] },
  { name: 'desktop', files: ['src-main/desktop/**'], bans: ['electron', 'shell', 'srcRenderer'] },
  { name: 'shell', files: ['src-main/shell/**'], bans: ['srcRenderer'] },
  { name: 'core', files: ['src-main/**'], ignores: ['src-main/shell/**', 'src-main/desktop/**', ...SOURCES], bans: ['electron', 'desktopOrShell', 'srcRenderer'] },
];

// no-restricted-imports sees import and export declarations (`import type` too) and
// `import x = require()`; an import() or a `typeof import()` type is an expression, checked
// by no-restricted-syntax with the same expressions.
const selectorRegex = (regex) => `/${regex.replace(/\//g, '\\/')}/`;

function zoneConfig(zone) {
  const bans = zone.bans.map((name) => BANS[name]);
  return {
    files: zone.files,
    ...(zone.ignores ? { ignores: zone.ignores } : {}),
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', { patterns: bans.map((b) => ({ regex: b.regex, message: b.message })) }],
      'no-restricted-syntax': [
        'error',
        ...bans.flatMap((b) => [
          { selector: `ImportExpression[source.value=${selectorRegex(b.regex)}]`, message: b.message },
          { selector: `TSImportType[source.value=${selectorRegex(b.regex)}]`, message: b.message },
        ]),
      ],
    },
  };
}

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'out/**', 'coverage/**', 'test-results/**', '.tmp/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node }, ecmaVersion: 2022, sourceType: 'module' },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
    },
  },
  {
    files: ['src-renderer/**'],
    // The dashboard runs in a browser or Electron's renderer. A stray Node global in its .ts/.tsx
    // is caught by tsconfig.renderer.json (DOM types, no Node types), not by no-undef.
    languageOptions: { globals: { ...globals.browser } },
  },
  ...ZONES.map(zoneConfig),
);
