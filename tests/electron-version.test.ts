// The Electron the app is built for, and installs that keep working: the bundles target the
// runtime inside the installed Electron, npm 12's install-script policy (package.json's
// allowScripts) has decided on every dependency that has an install script, and looking for the
// Electron binary never starts a download.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { ELECTRON_RUNTIME } from '../scripts/build-desktop';
import { electronBinary } from '../scripts/electron-binary';
import { PROJECT_DIR } from './helpers/cli';

const readJson = <T>(file: string): T => JSON.parse(fs.readFileSync(file, 'utf8')) as T;
const pkg = readJson<{ allowScripts?: Record<string, boolean>; devDependencies: Record<string, string>; scripts: Record<string, string> }>(path.join(PROJECT_DIR, 'package.json'));

/** Every installed package (name, folder), nested ones included. */
function installedPackages(dir = path.join(PROJECT_DIR, 'node_modules')): { name: string; dir: string }[] {
  const out: { name: string; dir: string }[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    const full = path.join(dir, entry.name);
    if (entry.name.startsWith('@')) {
      out.push(...installedPackages(full).map((p) => ({ ...p, name: `${entry.name}/${p.name}` })));
      continue;
    }
    if (fs.existsSync(path.join(full, 'package.json'))) out.push({ name: entry.name, dir: full });
    if (fs.existsSync(path.join(full, 'node_modules'))) out.push(...installedPackages(path.join(full, 'node_modules')));
  }
  return out;
}

describe('Electron', () => {
  it('the installed Electron is the one the bundles target (its major, its Chromium and Node)', () => {
    const installed = readJson<{ version: string }>(path.join(PROJECT_DIR, 'node_modules', 'electron', 'package.json')).version;
    expect(pkg.devDependencies.electron).toBe(installed);
    expect(Number(installed.split('.')[0]), 'bump ELECTRON_RUNTIME in scripts/build-desktop.ts with Electron').toBe(ELECTRON_RUNTIME.major);
  });

  it('finding the binary never starts a download (Electron 45 downloads on require when it is missing)', () => {
    const writes = [vi.spyOn(process.stdout, 'write'), vi.spyOn(process.stderr, 'write'), vi.spyOn(console, 'log')];
    try {
      const started = performance.now();
      const binary = electronBinary();
      expect(performance.now() - started).toBeLessThan(1000);
      if (binary !== undefined) expect(fs.existsSync(binary)).toBe(true);
      for (const w of writes) expect(w).not.toHaveBeenCalled();
    } finally {
      for (const w of writes) w.mockRestore();
    }
  });
});

describe('install scripts (npm 12 runs only those allowScripts allows)', () => {
  it('allowScripts decides on every installed dependency that has an install script, and names nothing else', () => {
    const withScripts = new Set<string>();
    for (const p of installedPackages()) {
      const scripts = readJson<{ scripts?: Record<string, string> }>(path.join(p.dir, 'package.json')).scripts ?? {};
      // npm runs node-gyp rebuild for a binding.gyp without an install script of its own.
      if (scripts.preinstall || scripts.install || scripts.postinstall || fs.existsSync(path.join(p.dir, 'binding.gyp'))) withScripts.add(p.name);
    }
    const decided = new Set(Object.keys(pkg.allowScripts ?? {}));
    expect([...withScripts].filter((n) => !decided.has(n)).sort(), 'run npm install-scripts ls, then approve or deny').toEqual([]);
    expect([...decided].filter((n) => !withScripts.has(n)).sort()).toEqual([]);
    // The build tool's own binary check runs; the native iRacing module must never be rebuilt
    // from source on install (it ships prebuilds for Electron and Node alike).
    expect(pkg.allowScripts).toMatchObject({ esbuild: true, '@irsdk-node/native': false });
  });

  it("the project's own postinstall fetches Electron (its package no longer does), and does nothing with ELECTRON_SKIP_BINARY_DOWNLOAD=1", () => {
    expect(pkg.scripts.postinstall).toBe('node scripts/install-electron.mjs');
    const r = spawnSync(process.execPath, [path.join(PROJECT_DIR, 'scripts', 'install-electron.mjs')], {
      env: { ...process.env, ELECTRON_SKIP_BINARY_DOWNLOAD: '1' },
      encoding: 'utf8',
      timeout: 10_000,
    });
    expect({ status: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({ status: 0, stdout: '', stderr: '' });
  });
});
