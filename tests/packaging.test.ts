// The packaged app as electron-builder makes it from electron-builder.yml: a Linux `dir`
// build of the real bundles, with a stand-in for the Electron distribution (its binary
// cannot be downloaded here). Checked: what goes into app.asar and what must never
// (sources, tests, source maps, devDependencies), that the native reader and the Windows
// tray icons are unpacked, that the fuses are flipped in the binary, and what is left of
// package.json.
//
// Offline by construction: electronDist points at the stand-in, so nothing is downloaded;
// app-builder comes from the app-builder-bin package; npmRebuild is off in the yml.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { extractFile, listPackage } from '@electron/asar';
import { FuseV1Options, getCurrentFuseWire } from '@electron/fuses';
import { Arch, build, Platform, type Configuration } from 'electron-builder';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildDesktop } from '../scripts/build-desktop';
import { PROJECT_DIR } from './helpers/cli';

const readJson = <T>(file: string): T => JSON.parse(fs.readFileSync(file, 'utf8')) as T;
const projectPkg = readJson<{ name: string; version: string; dependencies: Record<string, string>; devDependencies: Record<string, string> }>(path.join(PROJECT_DIR, 'package.json'));
const electronVersion = readJson<{ version: string }>(path.join(PROJECT_DIR, 'node_modules/electron/package.json')).version;

// The fuse wire as Electron lays it out in its binary: the sentinel, the schema version
// (a byte, 1), the number of fuses (a byte), then one ASCII '0'/'1' per fuse. The states
// are Electron's defaults (build/fuses/fuses.json5). Recent Electron lines add a ninth,
// WasmTrapHandlers (on by default), that @electron/fuses 1.8 has no name for; the stand-in
// carries it either way, so the test also shows that electron-builder leaves a fuse it does
// not know alone instead of failing, and that a longer wire in a future Electron is no surprise.
const FUSE_SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX';
const ELECTRON_DEFAULT_FUSES = '101100011';
const WASM_TRAP_HANDLERS = 8;
// getCurrentFuseWire reports each fuse as its raw byte.
const ON = '1'.charCodeAt(0);
const OFF = '0'.charCodeAt(0);

/** An unpacked Electron distribution for Linux, as electron-builder copies and renames it. */
function makeElectronStandIn(dir: string): void {
  fs.mkdirSync(path.join(dir, 'resources'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'locales'), { recursive: true });
  const wire = Buffer.concat([Buffer.from(FUSE_SENTINEL, 'latin1'), Buffer.from([1, ELECTRON_DEFAULT_FUSES.length]), Buffer.from(ELECTRON_DEFAULT_FUSES, 'latin1')]);
  const binary = Buffer.concat([Buffer.from('#!/bin/sh\necho "stand-in for the Electron binary" >&2\nexit 1\n'), Buffer.alloc(64), wire, Buffer.alloc(64)]);
  fs.writeFileSync(path.join(dir, 'electron'), binary, { mode: 0o755 });
  fs.writeFileSync(path.join(dir, 'version'), electronVersion);
  fs.writeFileSync(path.join(dir, 'LICENSE'), 'stand-in\n');
  fs.writeFileSync(path.join(dir, 'LICENSES.chromium.html'), '<!doctype html><title>stand-in</title>\n');
  fs.writeFileSync(path.join(dir, 'locales', 'en-US.pak'), '');
  // No default_app.asar: electron-builder deletes it from a downloaded Electron, and it hashes
  // every .asar under resources/ for the integrity check, so a stand-in one would have to be real.
}

let tmp = '';
let appOutDir = '';
let asarPath = '';
let entries: string[] = [];
const timings: Record<string, number> = {};

beforeAll(async () => {
  let t = performance.now();
  await buildDesktop();
  timings.bundle = performance.now() - t;

  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-agent-packaging-'));
  const electronDist = path.join(tmp, 'electron-dist');
  makeElectronStandIn(electronDist);
  const output = path.join(tmp, 'out');

  // electron-builder would read the yml itself too and deep-merge `config` over it; loading it
  // here keeps the overrides explicit.
  const config = parse(fs.readFileSync(path.join(PROJECT_DIR, 'electron-builder.yml'), 'utf8')) as Configuration;
  t = performance.now();
  await build({
    projectDir: PROJECT_DIR,
    targets: Platform.LINUX.createTarget('dir', Arch.x64),
    publish: 'never',
    config: {
      ...config,
      electronVersion,
      electronDist,
      directories: { ...config.directories, output },
    },
  });
  timings.electronBuilder = performance.now() - t;

  appOutDir = path.join(output, 'linux-unpacked');
  asarPath = path.join(appOutDir, 'resources', 'app.asar');
  entries = listPackage(asarPath, { isPack: false }).map((e) => e.replaceAll('\\', '/').replace(/^\//, ''));
}, 120_000);

afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  if (Object.keys(timings).length > 0) {
    console.log(`packaging: ${Object.entries(timings).map(([k, ms]) => `${k} ${(ms / 1000).toFixed(1)} s`).join(', ')}`);
  }
});

describe('the packaged app (linux dir, stand-in Electron)', () => {
  it('puts the bundles, the dashboard, package.json and the production dependencies in app.asar', () => {
    expect(fs.existsSync(asarPath)).toBe(true);
    for (const entry of [
      'dist/main/main.js',
      'dist/main/worker.js',
      'dist/preload/preload.cjs',
      'dist/renderer/index.html',
      'package.json',
      'node_modules/ws',
      'node_modules/zod',
      'node_modules/electron-store',
      'node_modules/yaml',
    ]) {
      expect(entries, entry).toContain(entry);
    }
  });

  it('leaves out sources, tests, scripts, source maps and devDependencies', () => {
    const forbiddenTop = ['tests/', 'src-main/', 'src-renderer/', 'src-shared/', 'src-gateway/', 'bench/', 'scripts/'];
    expect(entries.filter((e) => forbiddenTop.some((dir) => e.startsWith(dir) || `${e}/` === dir))).toEqual([]);
    expect(entries.filter((e) => /\.(ts|mts|cts|tsx)$/.test(e))).toEqual([]);
    expect(entries.filter((e) => e.endsWith('.map'))).toEqual([]);

    // Every package directory, nested ones too.
    const shipped = new Set(entries.flatMap((e) => /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)$/.exec(e)?.[1] ?? []));
    const devOnly = Object.keys(projectPkg.devDependencies).filter((dep) => !(dep in projectPkg.dependencies));
    expect(devOnly.filter((dep) => shipped.has(dep))).toEqual([]);
    for (const dep of ['vitest', 'react', 'electron', 'typescript', 'electron-builder', 'esbuild', 'vite']) expect(shipped.has(dep), dep).toBe(false);
  });

  // irsdk-node is a dependency, but an install may lack it (its native part failed to install): then there is nothing to unpack.
  const irsdkInstalled = fs.existsSync(path.join(PROJECT_DIR, 'node_modules/irsdk-node'));
  it.skipIf(!irsdkInstalled)(`unpacks the native iRacing reader next to the archive${irsdkInstalled ? '' : ' (skipped: node_modules/irsdk-node is not installed)'}`, () => {
    const unpacked = path.join(appOutDir, 'resources', 'app.asar.unpacked', 'node_modules');
    expect(fs.existsSync(path.join(unpacked, 'irsdk-node', 'package.json'))).toBe(true);
    const nativeDir = path.join(PROJECT_DIR, 'node_modules/@irsdk-node/native/prebuilds');
    if (fs.existsSync(nativeDir)) {
      for (const prebuild of fs.readdirSync(nativeDir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.node'))) {
        expect(fs.existsSync(path.join(unpacked, '@irsdk-node/native/prebuilds', prebuild)), prebuild).toBe(true);
      }
    }
  });

  it('packs the icons the shell loads at runtime, with the Windows tray icons unpacked', () => {
    const icons = fs.readdirSync(path.join(PROJECT_DIR, 'assets')).filter((f) => f.startsWith('tray-') || f === 'icon.png');
    for (const icon of icons) expect(entries, icon).toContain(`assets/${icon}`);
    for (const ico of icons.filter((f) => f.endsWith('.ico'))) {
      expect(fs.existsSync(path.join(appOutDir, 'resources', 'app.asar.unpacked', 'assets', ico)), `${ico} unpacked`).toBe(true);
    }
  });

  it('flips the fuses in the packaged binary and leaves the rest at their defaults', async () => {
    const executable = path.join(appOutDir, 'relay-agent');
    expect(fs.existsSync(executable)).toBe(true);
    const wire = (await getCurrentFuseWire(executable)) as unknown as Record<number, number> & { version: string };
    expect(wire.version).toBe('1');
    expect(wire[FuseV1Options.RunAsNode]).toBe(OFF);
    expect(wire[FuseV1Options.EnableNodeOptionsEnvironmentVariable]).toBe(OFF);
    expect(wire[FuseV1Options.EnableNodeCliInspectArguments]).toBe(OFF);
    expect(wire[FuseV1Options.OnlyLoadAppFromAsar]).toBe(ON);
    expect(wire[FuseV1Options.EnableEmbeddedAsarIntegrityValidation]).toBe(ON);
    expect(wire[FuseV1Options.EnableCookieEncryption]).toBe(ON);
    expect(wire[FuseV1Options.LoadBrowserProcessSpecificV8Snapshot]).toBe(OFF);
    expect(wire[FuseV1Options.GrantFileProtocolExtraPrivileges]).toBe(OFF);
    expect(wire[WASM_TRAP_HANDLERS]).toBe(ON);
  });

  it('keeps in package.json what the app needs at runtime, and neither scripts nor devDependencies', () => {
    const pkg = JSON.parse(extractFile(asarPath, 'package.json').toString('utf8')) as Record<string, unknown>;
    expect(pkg.main).toBe('dist/main/main.js');
    // main.js is ESM: without "type": "module" Electron would load it as CommonJS.
    expect(pkg.type).toBe('module');
    // version.ts finds its package.json by this name.
    expect(pkg.name).toBe('relay-agent');
    expect(pkg.version).toBe(projectPkg.version);
    expect(pkg.dependencies).toEqual(projectPkg.dependencies);
    for (const dropped of ['devDependencies', 'scripts', 'build', 'config']) expect(pkg, dropped).not.toHaveProperty(dropped);
  });

  it('tells electron-updater where the releases are', () => {
    const updateConfig = parse(fs.readFileSync(path.join(appOutDir, 'resources', 'app-update.yml'), 'utf8')) as Record<string, unknown>;
    expect(updateConfig).toMatchObject({ provider: 'github', owner: 'relay-agent', repo: 'relay-agent' });
  });
});
