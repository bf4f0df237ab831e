// electron-builder.yml as settings: what the packaged app must be (hardening fuses, one
// archive with the native reader unpacked, no rebuild), how each platform installs it, and
// where electron-updater looks for releases. tests/packaging.test.ts checks the result of a
// real (Linux dir) build with it.
import fs from 'node:fs';
import path from 'node:path';
import type { Configuration } from 'electron-builder';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { PROJECT_DIR } from './helpers/cli';

const config = parse(fs.readFileSync(path.join(PROJECT_DIR, 'electron-builder.yml'), 'utf8')) as Configuration;

type TargetEntry = string | { target: string; arch?: string | string[] };
const targetsOf = (platform: { target?: unknown } | null | undefined): TargetEntry[] => {
  const target = platform?.target as TargetEntry | TargetEntry[] | undefined;
  return target === undefined ? [] : Array.isArray(target) ? target : [target];
};
const targetName = (t: TargetEntry) => (typeof t === 'string' ? t : t.target);

describe('electron-builder.yml', () => {
  it('names the app and keeps the installers under dist/', () => {
    expect(config.appId).toBe('com.relayagent.app');
    expect(config.productName).toBe('Relay Agent');
    expect(config.directories?.output).toBe('dist/installers');
    expect(config.directories?.buildResources).toBe('assets');
  });

  it('packs only the bundles, the dashboard, the runtime icons and package.json, without source maps', () => {
    const files = config.files as string[];
    expect(files).toEqual(
      expect.arrayContaining(['dist/main/**', 'dist/preload/**', 'dist/renderer/**', 'assets/icon.png', 'assets/tray-*', 'package.json', '!**/*.map']),
    );
    // Nothing from the whole of dist/ (installers, test output) nor any source folder.
    expect(files).not.toContain('dist/**');
    expect(files.filter((f) => /^!?(src-|tests|bench|scripts)/.test(f))).toEqual([]);
    // The shell loads the icons from app.getAppPath()/assets, so they must not move elsewhere.
    expect(config.extraResources ?? []).toEqual([]);
  });

  it('packs one asar with the native iRacing reader and the Windows tray icons unpacked, and never rebuilds', () => {
    expect(config.asar).toBe(true);
    expect(config.asarUnpack).toEqual(expect.arrayContaining(['**/node_modules/irsdk-node/**', '**/*.node', 'assets/tray-*.ico']));
    expect(config.npmRebuild).toBe(false);
  });

  it('flips every fuse to the hardened setting', () => {
    expect(config.electronFuses).toEqual({
      runAsNode: false,
      enableCookieEncryption: true,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true,
      loadBrowserProcessSpecificV8Snapshot: false,
      grantFileProtocolExtraPrivileges: false,
    });
  });

  it('builds an NSIS installer for x64 Windows, per user, with a choice of folder', () => {
    const targets = targetsOf(config.win);
    expect(targets.map(targetName)).toEqual(['nsis']);
    const nsis = targets[0];
    expect(typeof nsis === 'object' ? nsis.arch : undefined).toEqual(['x64']);
    expect(config.win?.icon).toBe('assets/icon.ico');
    expect(config.nsis).toMatchObject({ oneClick: false, perMachine: false, allowToChangeInstallationDirectory: true });
  });

  it('builds an AppImage for Linux and a hardened-runtime dmg for macOS', () => {
    expect(targetsOf(config.linux).map(targetName)).toEqual(['AppImage']);
    expect(config.linux?.icon).toBe('assets/icon.png');
    expect(config.linux?.category).toBe('Game');
    expect(targetsOf(config.mac).map(targetName)).toEqual(['dmg']);
    expect(config.mac?.icon).toBe('assets/icon.png');
    expect(config.mac?.category).toBe('public.app-category.games');
    expect(config.mac?.hardenedRuntime).toBe(true);
  });

  it('points at icons that exist', () => {
    for (const icon of [config.win?.icon, config.linux?.icon, config.mac?.icon, 'assets/icon.png']) {
      expect(typeof icon).toBe('string');
      expect(fs.existsSync(path.join(PROJECT_DIR, icon as string)), `${icon} exists`).toBe(true);
    }
    const trayIcons = fs.readdirSync(path.join(PROJECT_DIR, 'assets')).filter((f) => f.startsWith('tray-'));
    expect(trayIcons.filter((f) => f.endsWith('.png') && !f.includes('Template')), 'tray PNGs (Linux)').not.toEqual([]);
    expect(trayIcons.filter((f) => f.endsWith('.ico')), 'tray ICOs (Windows)').not.toEqual([]);
    expect(trayIcons.filter((f) => /Template(@2x)?\.png$/.test(f)), 'tray template PNGs (macOS)').not.toEqual([]);
  });

  it('publishes to the GitHub releases electron-updater reads', () => {
    expect(config.publish).toEqual({ provider: 'github', owner: 'relay-agent', repo: 'relay-agent' });
  });
});
