// The settings file on disk: real files in a temp dir, written and read through conf.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import Conf from 'conf';
import { writeDesktopPrefs } from '../src-main/desktop/desktop-prefs';
import { SEALED_TOKEN_KEY, SETTINGS_FILE_NAME, SettingsFileError, SettingsStore } from '../src-main/settings/settings-store';
import { resolveSettings } from '../src-shared/settings';
import { TestVault } from './helpers/test-vault';

const dirs: string[] = [];
const stops: (() => void)[] = [];

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-settings-store-'));
  dirs.push(dir);
  return dir;
}

afterEach(() => {
  for (const stop of stops.splice(0)) stop();
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

const SAMPLE = {
  backends: [
    { url: 'ws://127.0.0.1:9001/relay', enabled: true, token: 'tok-a' },
    { url: 'wss://gateway-b.example.com/relay', enabled: false },
  ],
  mode: 'parallel',
  primaryIndex: 1,
  killSwitch: false,
  paritySampleRate: 0.25,
  debugPort: 9876,
};

function expectFileError(fn: () => unknown, file: string): SettingsFileError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(SettingsFileError);
    const err = e as SettingsFileError;
    expect(err.name).toBe('SettingsFileError');
    expect(err.file).toBe(file);
    expect(err.message).toContain(file);
    return err;
  }
  throw new Error('expected a SettingsFileError');
}

describe('SettingsStore', () => {
  it('reads an empty object when there is no file yet, and creates the config directory', () => {
    const dir = path.join(tempDir(), 'nested', 'config');
    const store = new SettingsStore(dir);
    expect(store.read()).toEqual({});
    expect(fs.statSync(dir).isDirectory()).toBe(true);
    expect(store.dir).toBe(dir);
    expect(store.path).toBe(path.join(dir, 'config.json'));
  });

  it('round-trips what it writes, also through a second instance on the same directory', () => {
    const dir = tempDir();
    const store = new SettingsStore(dir);
    store.write(SAMPLE);
    expect(store.read()).toEqual(SAMPLE);
    expect(new SettingsStore(dir).read()).toEqual(SAMPLE);
    // A later write replaces the whole object.
    store.write({ mode: 'single' });
    expect(new SettingsStore(dir).read()).toEqual({ mode: 'single' });
    // What it reads passes the one schema unchanged.
    store.write(SAMPLE);
    expect(resolveSettings(store.read(), {}).settings).toMatchObject(SAMPLE);
  });

  it('keeps the settings in config.json in the directory, as plain JSON (the format electron-store reads)', () => {
    const dir = tempDir();
    const store = new SettingsStore(dir);
    store.write(SAMPLE);
    expect(SETTINGS_FILE_NAME).toBe('config.json');
    expect(fs.readdirSync(dir).filter((f) => !f.startsWith('.'))).toEqual(['config.json']);
    const text = fs.readFileSync(path.join(dir, 'config.json'), 'utf8');
    // Plain JSON: no encryption, no wrapper, no conf internals; the very object written.
    expect(JSON.parse(text)).toEqual(SAMPLE);
  });

  it('reads a file that another program (electron-store, a text editor) wrote as plain JSON', () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ mode: 'parallel', windowBounds: { width: 800 } }, null, 2));
    expect(new SettingsStore(dir).read()).toEqual({ mode: 'parallel', windowBounds: { width: 800 } });
  });

  it('names the file when it is not valid JSON, and does not clear it', () => {
    const dir = tempDir();
    const file = path.join(dir, 'config.json');
    fs.writeFileSync(file, '{"mode": "parallel",');
    const err = expectFileError(() => new SettingsStore(dir).read(), file);
    expect(err.message).toContain('not valid JSON');
    // The operator's broken file is left for them to fix, not silently replaced.
    expect(fs.readFileSync(file, 'utf8')).toBe('{"mode": "parallel",');
  });

  it('reports a file that turns invalid after the store was opened', () => {
    const dir = tempDir();
    const file = path.join(dir, 'config.json');
    const store = new SettingsStore(dir);
    store.write({ mode: 'single' });
    fs.writeFileSync(file, 'not json at all');
    expectFileError(() => store.read(), file);
  });

  it.each([
    ['an array', '[1, 2]'],
    ['a string', '"parallel"'],
    ['null', 'null'],
    ['a number', '42'],
  ])('names the file when its top level is %s instead of an object', (_name, text) => {
    const dir = tempDir();
    const file = path.join(dir, 'config.json');
    fs.writeFileSync(file, text);
    const err = expectFileError(() => new SettingsStore(dir).read(), file);
    expect(err.message).toContain('expected a JSON object');
  });

  it('calls watch() back soon after another SettingsStore instance changes the file', async () => {
    const dir = tempDir();
    const relaySide = new SettingsStore(dir);
    relaySide.write({ mode: 'single' });
    const cliSide = new SettingsStore(dir);

    const delays: number[] = [];
    for (let round = 0; round < 3; round++) {
      let changedAt = 0;
      const changed = new Promise<void>((resolve) => {
        const stop = relaySide.watch(() => {
          changedAt = performance.now();
          resolve();
        });
        stops.push(stop);
      });
      // Let the watcher settle so it sees this write, not an earlier one.
      await new Promise((r) => setTimeout(r, 30));
      const writtenAt = performance.now();
      cliSide.write({ mode: round % 2 === 0 ? 'parallel' : 'single', round });
      const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 2000).unref());
      expect(await Promise.race([changed, timeout])).not.toBe('timeout');
      delays.push(changedAt - writtenAt);
      stops.pop()?.();
      expect(relaySide.read()).toEqual({ mode: round % 2 === 0 ? 'parallel' : 'single', round });
    }
    console.log(`settings-store watch(): change seen ${delays.map((d) => d.toFixed(1)).join(', ')} ms after the write (claim: 200 ms)`);
    // The claim is 200 ms; the bound is generous so a loaded shared machine does not make this flaky.
    for (const d of delays) expect(d).toBeLessThan(1000);
  });

  it('falls back to polling the file where the folder cannot be watched', async () => {
    // A file system without change notifications (some network shares) cannot be had here:
    // fs.watch is made to throw as it does there.
    const dir = tempDir();
    const store = new SettingsStore(dir);
    store.write({ mode: 'single' });
    const spy = vi.spyOn(fs, 'watch').mockImplementation(() => {
      throw Object.assign(new Error('watch not supported'), { code: 'ENOSYS' });
    });
    try {
      let changedAt = 0;
      const changed = new Promise<void>((resolve) => {
        stops.push(
          store.watch(() => {
            changedAt = performance.now();
            resolve();
          }, 20),
        );
      });
      await new Promise((r) => setTimeout(r, 30));
      const writtenAt = performance.now();
      new SettingsStore(dir).write({ mode: 'parallel' });
      const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 2000).unref());
      expect(await Promise.race([changed, timeout])).not.toBe('timeout');
      expect(changedAt - writtenAt).toBeLessThan(1000);
    } finally {
      spy.mockRestore();
    }
  });

  it('stops calling back after the stop function runs', async () => {
    const dir = tempDir();
    const store = new SettingsStore(dir);
    let calls = 0;
    const stop = store.watch(() => calls++, 20);
    stop();
    new SettingsStore(dir).write({ mode: 'parallel' });
    await new Promise((r) => setTimeout(r, 150));
    expect(calls).toBe(0);
  });
});

describe('the settings file holds tokens', () => {
  it('is readable by its owner only', () => {
    if (process.platform === 'win32') return; // POSIX modes only; Windows keeps the file in the user's own profile
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-store-mode-'));
    try {
      new SettingsStore(dir).write({ backends: [{ url: 'ws://127.0.0.1:1/relay', enabled: true, token: 'tok' }] });
      expect(fs.statSync(path.join(dir, 'config.json')).mode & 0o777).toBe(0o600);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the keys others keep in the settings file are known, not unknown', () => {
  const rawFile = (dir: string): Record<string, unknown> => JSON.parse(fs.readFileSync(path.join(dir, SETTINGS_FILE_NAME), 'utf8')) as Record<string, unknown>;

  it('a file the desktop app wrote (sealed tokens, desktop preferences) gives no unknown-key warning, read either way', () => {
    const dir = tempDir();
    const desktop = new SettingsStore(dir, { vault: new TestVault() });
    desktop.write({ ...SAMPLE });
    writeDesktopPrefs(desktop, { startHidden: true, updates: 'off' });
    const raw = rawFile(dir);
    expect((raw.backends as Record<string, unknown>[])[0]?.[SEALED_TOKEN_KEY]).toEqual(expect.any(String));
    expect(raw.desktop).toMatchObject({ startHidden: true, updates: 'off' });
    // The headless relay sees the sealed token as it is; the desktop app sees it opened.
    expect(resolveSettings(new SettingsStore(dir).read(), {}).warnings).toEqual([]);
    expect(resolveSettings(desktop.read(), {}).warnings).toEqual([]);
  });

  it("conf's own bookkeeping (__internal__, written when a store migrates) is known too, and a write keeps it", () => {
    const dir = tempDir();
    const migrating = new SettingsStore(dir, { backing: (o) => new Conf<Record<string, unknown>>({ ...o, projectVersion: '1.0.0', migrations: { '1.0.0': () => {} } }) });
    migrating.write({ mode: 'parallel' });
    expect(rawFile(dir).__internal__).toBeDefined();
    const { settings, warnings } = resolveSettings(new SettingsStore(dir).read(), {});
    expect(settings.mode).toBe('parallel');
    expect(warnings).toEqual([]);
  });

  it('a key nobody keeps is named, with the nearest known one', () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, SETTINGS_FILE_NAME), JSON.stringify({ desktopp: {}, mode: 'single' }));
    expect(resolveSettings(new SettingsStore(dir).read(), {}).warnings).toEqual([expect.stringContaining("unknown setting 'desktopp'; did you mean 'desktop'?")]);
  });
});
