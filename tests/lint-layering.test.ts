// The layering of DESIGN.md is enforced by lint (eslint.config.js). Each rule is proven
// here with the repository's own config: a probe that breaks it, linted as a file inside the
// folder under test, is refused with that rule's message, and a probe that respects it lints
// clean. The probes never exist on disk: ESLint lints the text under the given path.
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ESLint } from 'eslint';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

type BanName = 'electron' | 'desktopOrShell' | 'shell' | 'relay' | 'srcMain' | 'srcGateway' | 'srcRenderer' | 'outsideShared';
let bans: Record<BanName, { regex: string; message: string }>;
let eslint: ESLint;

beforeAll(async () => {
  bans = ((await import(pathToFileURL(path.join(ROOT, 'eslint.config.js')).href)) as { BANS: typeof bans }).BANS;
  eslint = new ESLint({ cwd: ROOT });
});

const LAYERING_RULES = new Set(['@typescript-eslint/no-restricted-imports', 'no-restricted-syntax']);

/** Every way a module is named in TypeScript source: value and type imports, re-exports, import() and typeof import(). */
const FORMS: Record<string, (spec: string) => string> = {
  import: (s) => `import { part } from '${s}';\nexport const kept = part;\n`,
  'import type': (s) => `import type { Part } from '${s}';\nexport type Kept = Part;\n`,
  'export from': (s) => `export { part } from '${s}';\n`,
  'export *': (s) => `export * from '${s}';\n`,
  'import()': (s) => `export const load = () => import('${s}');\n`,
  'typeof import()': (s) => `export type Loaded = typeof import('${s}');\n`,
};

async function lint(file: string, code: string): Promise<ESLint.LintResult['messages']> {
  const [result] = await eslint.lintText(code, { filePath: path.join(ROOT, file) });
  return result?.messages ?? [];
}

/** The specifier a file in `file` writes for the repository path `target` (no extension). */
function from(file: string, target: string): string {
  const rel = path.posix.relative(path.posix.dirname(file), target);
  return rel.startsWith('.') ? rel : `./${rel}`;
}

async function expectRefused(file: string, spec: string, ban: BanName, form = 'import'): Promise<void> {
  const messages = await lint(file, FORMS[form]!(spec));
  const layering = messages.filter((m) => m.ruleId !== null && LAYERING_RULES.has(m.ruleId));
  expect(
    layering.some((m) => m.message.includes(bans[ban].message)),
    `${form} '${spec}' in ${file} must be refused by the ${ban} ban; lint said ${JSON.stringify(messages.map((m) => m.message))}`,
  ).toBe(true);
}

async function expectClean(file: string, spec: string, form = 'import'): Promise<void> {
  const messages = await lint(file, FORMS[form]!(spec));
  expect(messages, `${form} '${spec}' in ${file} respects the layering`).toEqual([]);
}

/** The core: src-main apart from shell/ and desktop/; the sources (sources/, ibt/, telemetry/) are held to its rules too. */
const CORE_FILES = [
  'src-main/relay/probe.ts',
  'src-main/runtime/probe.ts',
  'src-main/http/probe.ts',
  'src-main/settings/probe.ts',
  'src-main/log/probe.ts',
  'src-main/report/probe.ts',
  'src-main/cutover/probe.ts',
  'src-main/cli/probe.ts',
  'src-main/probe.ts',
  'src-main/sources/probe.ts',
  'src-main/sources/iracing/probe.ts',
  'src-main/ibt/probe.ts',
  'src-main/telemetry/probe.ts',
];
const SOURCE_FILES = ['src-main/sources/probe.ts', 'src-main/sources/iracing/probe.ts', 'src-main/ibt/probe.ts', 'src-main/telemetry/probe.ts'];
const ELECTRON_PACKAGES = ['electron', 'electron/main', 'electron/renderer', 'electron-store', 'electron-updater', '@electron/remote'];

describe('lint: electron only in src-main/shell/', () => {
  const banned = [...CORE_FILES, 'src-main/desktop/probe.ts', 'src-shared/probe.ts', 'src-gateway/probe.ts', 'src-renderer/probe.tsx'];
  it.each(banned.flatMap((file) => ELECTRON_PACKAGES.map((spec) => [file, spec])))('refuses %s importing %s', async (file, spec) => {
    await expectRefused(file, spec, 'electron');
  });

  it.each(Object.keys(FORMS))('refuses electron in the core by %s', async (form) => {
    await expectRefused('src-main/relay/probe.ts', 'electron-updater', 'electron', form);
  });

  it('lets the shell import electron and its packages', async () => {
    for (const spec of ELECTRON_PACKAGES) await expectClean('src-main/shell/probe.ts', spec);
    await expectClean('src-main/shell/probe.ts', 'electron', 'import()');
  });

  it('names packages, not files that merely start with the word', async () => {
    await expectClean('src-main/probe.ts', './electron-version');
    await expectClean('src-main/relay/probe.ts', 'electronics');
  });
});

describe('lint: the core never imports desktop/ or shell/', () => {
  const targets = ['src-main/desktop/ports', 'src-main/desktop/update-gate', 'src-main/shell/adapters'];
  it.each(CORE_FILES.flatMap((file) => targets.map((target) => [file, target])))('refuses %s importing %s', async (file, target) => {
    await expectRefused(file, from(file, target), 'desktopOrShell');
  });

  it.each(Object.keys(FORMS))('refuses desktop/ in the core by %s', async (form) => {
    await expectRefused('src-main/settings/probe.ts', '../desktop/ports', 'desktopOrShell', form);
  });

  it('lets the core use the shared desktop contract, and the shell and desktop/ build on the core', async () => {
    await expectClean('src-main/probe.ts', '../src-shared/desktop');
    await expectClean('src-main/relay/probe.ts', '../../src-shared/desktop');
    await expectClean('src-main/shell/probe.ts', '../desktop/desktop-app');
    await expectClean('src-main/desktop/probe.ts', '../runtime/relay');
    await expectClean('src-main/desktop/probe.ts', '../settings/settings-store');
    await expectClean('src-main/desktop/probe.ts', './ports');
  });
});

describe('lint: desktop/ never imports the shell', () => {
  it.each(Object.keys(FORMS))('refuses desktop/ importing shell/ by %s', async (form) => {
    await expectRefused('src-main/desktop/probe.ts', '../shell/adapters', 'shell', form);
  });
});

describe('lint: the sources never import the relay', () => {
  const targets = [
    'src-main/relay',
    'src-main/relay/backend-manager',
    'src-main/relay/frame-builder',
    'src-main/relay/target',
    'src-main/runtime',
    'src-main/runtime/relay',
    'src-main/runtime/dashboard-actions',
    'src-main/runtime/runtime-lock',
  ];
  it.each(SOURCE_FILES.flatMap((file) => targets.map((target) => [file, target])))('refuses %s importing %s', async (file, target) => {
    await expectRefused(file, from(file, target), 'relay');
  });

  it.each(Object.keys(FORMS))('refuses the relay in a source by %s', async (form) => {
    await expectRefused('src-main/sources/probe.ts', '../relay', 'relay', form);
  });

  it.each(Object.keys(FORMS))('refuses the composition root in a source by %s', async (form) => {
    await expectRefused('src-main/sources/probe.ts', '../runtime/relay', 'relay', form);
  });

  it('lets the sources use each other, the shared contracts and the core modules they need', async () => {
    await expectClean('src-main/sources/probe.ts', './source');
    await expectClean('src-main/sources/probe.ts', '../telemetry/frame-mapper');
    await expectClean('src-main/sources/iracing/probe.ts', '../../ibt/ibt-file');
    await expectClean('src-main/telemetry/probe.ts', '../log/logger');
    await expectClean('src-main/sources/probe.ts', '../log/log-file');
    await expectClean('src-main/sources/probe.ts', './runtime-stats');
    await expectClean('src-main/sources/probe.ts', './relay-stats');
    await expectClean('src-main/sources/probe.ts', '../../src-shared/settings');
  });

  it('lets the rest of the core import the relay', async () => {
    await expectClean('src-main/probe.ts', './relay/backend-manager');
    await expectClean('src-main/runtime/probe.ts', '../relay/backend-manager');
    await expectClean('src-main/cli/probe.ts', '../runtime/relay');
    await expectClean('src-main/http/probe.ts', '../runtime/runtime-lock');
    await expectClean('src-main/report/probe.ts', '../runtime/clock');
  });
});

describe('lint: src-gateway never imports src-main', () => {
  it.each(['src-main/log/logger', 'src-main/runtime/relay', 'src-main/relay/target', 'src-main/sources/source'])('refuses the gateway importing %s', async (target) => {
    await expectRefused('src-gateway/probe.ts', from('src-gateway/probe.ts', target), 'srcMain');
  });

  it.each(Object.keys(FORMS))('refuses src-main in the gateway by %s', async (form) => {
    await expectRefused('src-gateway/probe.ts', '../src-main/log/logger', 'srcMain', form);
  });

  it('lets the gateway use the shared contracts and its own modules', async () => {
    await expectClean('src-gateway/probe.ts', '../src-shared/protocol');
    await expectClean('src-gateway/probe.ts', './receipts');
  });
});

describe('lint: src-shared imports nothing else of the repository', () => {
  it.each(['../src-main/log/logger', '../src-gateway/gateway', '../src-renderer/store', '../tests/helpers/wait', '../package.json', '..', '/etc/hosts'])('refuses src-shared importing %s', async (spec) => {
    await expectRefused('src-shared/probe.ts', spec, 'outsideShared');
  });

  it.each(Object.keys(FORMS))('refuses a path out of src-shared by %s', async (form) => {
    await expectRefused('src-shared/probe.ts', '../src-main/runtime/relay', 'outsideShared', form);
  });

  it('lets src-shared import its own modules and packages', async () => {
    await expectClean('src-shared/probe.ts', './protocol');
    await expectClean('src-shared/probe.ts', 'zod');
    await expectClean('src-shared/probe.ts', 'node:crypto');
  });
});

describe('lint: the renderer talks to the main process only through src-shared', () => {
  it.each([
    ['../src-main/runtime/relay', 'srcMain'],
    ['../src-main/relay/backend-manager', 'srcMain'],
    ['../src-gateway/gateway', 'srcGateway'],
  ] as const)('refuses the renderer importing %s', async (spec, ban) => {
    await expectRefused('src-renderer/probe.ts', spec, ban);
  });

  it('lets the renderer use the bridge contract', async () => {
    await expectClean('src-renderer/probe.ts', '../src-shared/bridge');
    await expectClean('src-renderer/components/probe.tsx', '../../src-shared/debug-api');
  });
});

describe('lint: the main process and the gateway never import the renderer', () => {
  it.each(['src-main/probe.ts', 'src-main/relay/probe.ts', 'src-main/sources/probe.ts', 'src-main/desktop/probe.ts', 'src-main/shell/probe.ts', 'src-gateway/probe.ts'])(
    'refuses %s importing src-renderer',
    async (file) => {
      await expectRefused(file, from(file, 'src-renderer/store'), 'srcRenderer');
    },
  );
});
