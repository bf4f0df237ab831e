// Backend tokens sealed by safe storage in the one settings file: real conf-backed files in a
// temp dir, a real AES vault standing in for Electron's safeStorage (tests/helpers/test-vault),
// real relays and a real WebSocket server on 127.0.0.1.
import fs from 'node:fs';
import type { IncomingMessage } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import Conf from 'conf';
import type ElectronStore from 'electron-store';
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { readDesktopPrefs, writeDesktopPrefs } from '../src-main/desktop/desktop-prefs';
import { createLogger } from '../src-main/log/logger';
import { Relay } from '../src-main/runtime/relay';
import { SEALED_TOKEN_KEY, SettingsStore, sealedTokenWarnings, type ConfOptions, type SettingsBacking } from '../src-main/settings/settings-store';
import { SyntheticSource } from '../src-main/sources/synthetic';
import { DEFAULT_DESKTOP_PREFS } from '../src-shared/desktop';
import { redactText } from '../src-shared/redact';
import { applySettingText, maskUrl, redactSettings, resolveSettings } from '../src-shared/settings';
import { CliRunner } from './helpers/cli';
import { waitFor } from './helpers/wait';
import { TestVault } from './helpers/test-vault';

const dirs: string[] = [];
const closers: (() => Promise<void> | void)[] = [];
const cli = new CliRunner();

afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
  await cli.cleanup();
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-settings-vault-'));
  dirs.push(dir);
  return dir;
}

const fileText = (dir: string) => fs.readFileSync(path.join(dir, 'config.json'), 'utf8');
const fileJson = (dir: string) => JSON.parse(fileText(dir)) as Record<string, unknown> & { backends: Record<string, unknown>[] };
const writeFile = (dir: string, value: unknown) => fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(value, null, 2));

const URL_A = 'ws://127.0.0.1:9001/relay';
// Credentials in the URL: every warning must show it masked.
const URL_B = 'wss://ops:hunter22@gateway-b.example.com/relay';
const TOKEN_A = 'tok-alpha-5f2c9e';
const TOKEN_B = 'tok-bravo-81d3aa';

function vaultStore(dir: string, vault: TestVault) {
  const warnings: string[] = [];
  const store = new SettingsStore(dir, { vault, warn: (m) => warnings.push(m) });
  return { store, warnings };
}

describe('a store with a vault', () => {
  it('never writes a plain token: the file holds tokenSealed, read() gives the token back', () => {
    const dir = tempDir();
    const vault = new TestVault();
    const { store, warnings } = vaultStore(dir, vault);
    store.write({ mode: 'parallel', backends: [{ url: URL_A, enabled: true, token: TOKEN_A }, { url: URL_B, enabled: false, token: TOKEN_B }, { url: 'ws://127.0.0.1:9003/relay', enabled: true }] });

    const text = fileText(dir);
    expect(text).not.toContain(TOKEN_A);
    expect(text).not.toContain(TOKEN_B);
    expect(text).not.toMatch(/"token"/);
    const onDisk = fileJson(dir);
    expect(onDisk.backends.map((b) => Object.keys(b))).toEqual([
      ['url', 'enabled', SEALED_TOKEN_KEY],
      ['url', 'enabled', SEALED_TOKEN_KEY],
      ['url', 'enabled'],
    ]);
    expect(vault.open(onDisk.backends[0]![SEALED_TOKEN_KEY] as string)).toBe(TOKEN_A);

    const expected = {
      mode: 'parallel',
      backends: [{ url: URL_A, enabled: true, token: TOKEN_A }, { url: URL_B, enabled: false, token: TOKEN_B }, { url: 'ws://127.0.0.1:9003/relay', enabled: true }],
    };
    expect(store.read()).toEqual(expected);
    // A second store on the same file and the same safe storage (the next run) opens them too.
    expect(vaultStore(dir, vault).store.read()).toEqual(expected);
    // What read() gives passes the one schema as the headless relay's file would.
    expect(resolveSettings(store.read(), {}).settings.backends.map((b) => b.token)).toEqual([TOKEN_A, TOKEN_B, undefined]);
    expect(warnings).toEqual([]);
  });

  it('does not re-encrypt a token that did not change, so the sealed text in the file stays the same', () => {
    const dir = tempDir();
    const vault = new TestVault();
    const { store } = vaultStore(dir, vault);
    store.write({ backends: [{ url: URL_A, enabled: true, token: TOKEN_A }] });
    const sealed = fileJson(dir).backends[0]![SEALED_TOKEN_KEY];
    const seals = vault.seals;
    for (const on of [true, false, true]) store.write({ ...store.read(), killSwitch: on });
    expect(vault.seals).toBe(seals);
    expect(fileJson(dir).backends[0]![SEALED_TOKEN_KEY]).toBe(sealed);
    // A fresh store opens the text once, then reuses it for the write.
    const next = vaultStore(dir, vault).store;
    next.write({ ...next.read(), killSwitch: false });
    expect(vault.seals).toBe(seals);
    expect(fileJson(dir).backends[0]![SEALED_TOKEN_KEY]).toBe(sealed);
    // A new token is sealed anew; a token removed leaves no sealed text behind.
    next.write({ backends: [{ url: URL_A, enabled: true, token: 'tok-new-000' }] });
    expect(fileJson(dir).backends[0]![SEALED_TOKEN_KEY]).not.toBe(sealed);
    expect(next.read()).toEqual({ backends: [{ url: URL_A, enabled: true, token: 'tok-new-000' }] });
    next.write({ backends: [{ url: URL_A, enabled: true }] });
    expect(fileJson(dir).backends).toEqual([{ url: URL_A, enabled: true }]);
  });

  it('moves a plain token found in the file into safe storage on the first read, and says so once', () => {
    const dir = tempDir();
    // Written by the headless relay (`relay set RELAY_BACKEND_TOKENS`) or by hand.
    new SettingsStore(dir).write({ mode: 'single', backends: [{ url: URL_B, enabled: true, token: TOKEN_B }, { url: URL_A, enabled: true }] });
    expect(fileText(dir)).toContain(TOKEN_B);

    const vault = new TestVault();
    const { store, warnings } = vaultStore(dir, vault);
    expect(store.read()).toEqual({ mode: 'single', backends: [{ url: URL_B, enabled: true, token: TOKEN_B }, { url: URL_A, enabled: true }] });
    expect(fileText(dir)).not.toContain(TOKEN_B);
    expect(vault.open(fileJson(dir).backends[0]![SEALED_TOKEN_KEY] as string)).toBe(TOKEN_B);
    expect(fileJson(dir).mode).toBe('single');
    expect(warnings).toEqual([`moved the token of ${maskUrl(URL_B)} out of plain text into the system's safe storage`]);
    expect(warnings[0]).not.toContain('hunter22');

    const seals = vault.seals;
    expect(store.read().backends).toEqual([{ url: URL_B, enabled: true, token: TOKEN_B }, { url: URL_A, enabled: true }]);
    expect(vault.seals).toBe(seals);
    expect(warnings).toHaveLength(1);
  });

  it('keeps tokens in memory only while safe storage is unavailable, and says why once', () => {
    const dir = tempDir();
    const vault = new TestVault();
    vault.unavailableReason = 'no keyring: the basic text backend is not safe storage';
    const { store, warnings } = vaultStore(dir, vault);
    store.write({ killSwitch: false, backends: [{ url: URL_A, enabled: true, token: TOKEN_A }] });

    expect(fileText(dir)).not.toContain(TOKEN_A);
    expect(fileJson(dir).backends).toEqual([{ url: URL_A, enabled: true }]);
    expect(store.read()).toEqual({ killSwitch: false, backends: [{ url: URL_A, enabled: true, token: TOKEN_A }] });
    // Other writes in this run keep the token in memory and still out of the file.
    store.write({ ...store.read(), killSwitch: true });
    expect(fileText(dir)).not.toContain(TOKEN_A);
    expect(store.read().backends).toEqual([{ url: URL_A, enabled: true, token: TOKEN_A }]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('no keyring: the basic text backend is not safe storage');
    expect(warnings[0]).toContain('tokens are kept for this run only');
    // The next run has no token: it was never written.
    expect(vaultStore(dir, vault).store.read()).toEqual({ killSwitch: true, backends: [{ url: URL_A, enabled: true }] });
  });

  it('leaves a plain token the file already holds where it is while safe storage is unavailable', () => {
    const dir = tempDir();
    writeFile(dir, { backends: [{ url: URL_A, enabled: true, token: TOKEN_A }] });
    const vault = new TestVault();
    vault.unavailableReason = 'locked keyring';
    const { store, warnings } = vaultStore(dir, vault);
    expect(store.read().backends).toEqual([{ url: URL_A, enabled: true, token: TOKEN_A }]);
    store.write({ ...store.read(), killSwitch: true });
    // Dropping it would lose it for good; sealing it needs the storage that is missing.
    expect(fileJson(dir).backends).toEqual([{ url: URL_A, enabled: true, token: TOKEN_A }]);
    expect(warnings.join('\n')).toContain('locked keyring');
    // Once safe storage is there, the next read moves it.
    vault.unavailableReason = null;
    expect(store.read().backends).toEqual([{ url: URL_A, enabled: true, token: TOKEN_A }]);
    expect(fileText(dir)).not.toContain(TOKEN_A);
  });

  it('a sealed text it cannot open: no token, one warning naming the masked URL, the text kept in the file', () => {
    const dir = tempDir();
    // Sealed on another machine (another key), and one damaged by hand.
    const elsewhere = new TestVault();
    const damaged = elsewhere.seal(TOKEN_A).replace(/^./, (c) => (c === 'A' ? 'B' : 'A'));
    writeFile(dir, {
      killSwitch: false,
      backends: [
        { url: URL_B, enabled: true, [SEALED_TOKEN_KEY]: elsewhere.seal(TOKEN_B) },
        { url: URL_A, enabled: true, [SEALED_TOKEN_KEY]: damaged },
      ],
    });
    const before = fileText(dir);

    const vault = new TestVault();
    const { store, warnings } = vaultStore(dir, vault);
    expect(store.read()).toEqual({ killSwitch: false, backends: [{ url: URL_B, enabled: true }, { url: URL_A, enabled: true }] });
    expect(fileText(dir)).toBe(before);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toContain(`backend ${maskUrl(URL_B)}`);
    expect(warnings[0]).not.toContain('hunter22');
    expect(warnings[1]).toContain(`backend ${URL_A}`);
    for (const w of warnings) expect(w).toContain('enter the token again in the dashboard');

    // Said once, however often the file is read.
    store.read();
    expect(warnings).toHaveLength(2);
    // A write of other settings does not destroy the sealed texts: read() never showed their tokens.
    store.write({ ...store.read(), killSwitch: true });
    const after = fileJson(dir);
    expect(after.killSwitch).toBe(true);
    expect(after.backends).toEqual((JSON.parse(before) as { backends: unknown[] }).backends);
    // Entering the token again replaces the text with one this machine can open.
    store.write({ ...store.read(), backends: [{ url: URL_B, enabled: true, token: TOKEN_B }, { url: URL_A, enabled: true }] });
    expect(vault.open(fileJson(dir).backends[0]![SEALED_TOKEN_KEY] as string)).toBe(TOKEN_B);
    expect(fileJson(dir).backends[1]![SEALED_TOKEN_KEY]).toBe(damaged);
  });
});

describe('the headless relay and a file with sealed tokens', () => {
  const sealedFile = () => {
    const dir = tempDir();
    const vault = new TestVault();
    vaultStore(dir, vault).store.write({ mode: 'single', backends: [{ url: URL_A, enabled: true, token: TOKEN_A }] });
    const sealed = fileJson(dir).backends[0]![SEALED_TOKEN_KEY] as string;
    return { dir, vault, sealed };
  };

  it('keeps tokenSealed through read/write round trips of the store', () => {
    const { dir, vault, sealed } = sealedFile();
    const headless = new SettingsStore(dir);
    expect(headless.read().backends).toEqual([{ url: URL_A, enabled: true, [SEALED_TOKEN_KEY]: sealed }]);
    headless.write({ ...headless.read(), killSwitch: true });
    expect(fileJson(dir).backends).toEqual([{ url: URL_A, enabled: true, [SEALED_TOKEN_KEY]: sealed }]);
    // `relay set RELAY_BACKENDS` rebuilds the list from resolved settings, which know nothing of tokenSealed.
    headless.write(applySettingText(headless.read(), 'RELAY_BACKENDS', `${URL_A},ws://127.0.0.1:9009/relay`));
    expect(fileJson(dir).backends).toEqual([
      { url: URL_A, enabled: true, [SEALED_TOKEN_KEY]: sealed },
      { url: 'ws://127.0.0.1:9009/relay', enabled: true },
    ]);
    // The desktop app still opens it afterwards.
    expect(vaultStore(dir, vault).store.read().backends).toEqual([
      { url: URL_A, enabled: true, token: TOKEN_A },
      { url: 'ws://127.0.0.1:9009/relay', enabled: true },
    ]);
    // A plain token set by the headless relay supersedes the sealed one (the desktop app seals it at its next read).
    headless.write(applySettingText(headless.read(), 'RELAY_BACKEND_TOKENS', 'tok-headless,'));
    expect(fileJson(dir).backends[0]).toEqual({ url: URL_A, enabled: true, token: 'tok-headless' });
  });

  it('keeps tokenSealed through the real CLI: relay kill and relay set', async () => {
    const { dir, sealed } = sealedFile();
    // No relay runs for this folder: each change is saved for the next start (exit 3). Disabling the
    // only backend sends nowhere, so it takes --force (which the file then records).
    for (const args of [['kill', 'on'], ['set', 'RELAY_BACKEND_MODE', 'parallel'], ['set', 'RELAY_BACKENDS', URL_A], ['set', 'RELAY_TARGETS_ENABLED', '0', '--force'], ['kill', 'off']]) {
      const r = await cli.run([...args, '--config-dir', dir]);
      expect(r.code, r.stderr).toBe(3);
      expect(r.stdout + r.stderr).not.toContain(sealed);
    }
    expect(fileJson(dir)).toEqual({ mode: 'parallel', killSwitch: false, allowNoDelivery: true, backends: [{ url: URL_A, enabled: false, [SEALED_TOKEN_KEY]: sealed }] });
    const config = await cli.run(['config', '--config-dir', dir]);
    expect(config.code, config.stderr).toBe(0);
    expect(config.stdout).not.toContain(sealed);
  });

  it('sealedTokenWarnings names each backend left without a token, unless the environment gives one', () => {
    const file = { backends: [{ url: URL_B, enabled: true, [SEALED_TOKEN_KEY]: 'c2VhbGVk' }, { url: URL_A, enabled: true }] };
    const lines = sealedTokenWarnings(file, resolveSettings(file, {}).settings);
    expect(lines).toEqual([
      `backend ${maskUrl(URL_B)} has a token sealed by the desktop app's safe storage, which the headless relay cannot open: set RELAY_BACKEND_TOKENS for this run`,
    ]);
    expect(lines[0]).not.toContain('hunter22');
    expect(sealedTokenWarnings(file, resolveSettings(file, { RELAY_BACKEND_TOKENS: 'tok-env,' }).settings)).toEqual([]);
    // The environment's list replaces the file's: a backend no longer in force needs no warning.
    expect(sealedTokenWarnings(file, resolveSettings(file, { RELAY_BACKENDS: URL_A }).settings)).toEqual([]);
  });

  it('keeps the sealed text out of the settings shown, logs and free text', () => {
    const file = { backends: [{ url: URL_A, enabled: true, [SEALED_TOKEN_KEY]: 'c2VhbGVkLXRleHQtZm9yLXRlc3Q=' }] };
    const { settings } = resolveSettings(file, {});
    expect(JSON.stringify(redactSettings(settings))).not.toContain('c2VhbGVk');
    // Should a raw file ever reach a log line or a report, the redactor still masks the field.
    expect(redactText(`file: ${JSON.stringify(file)}`)).not.toContain('c2VhbGVk');
  });
});

describe('the backing factory', () => {
  it('receives the conf options of the settings file, and its store is the one used', () => {
    const dir = tempDir();
    const calls: ConfOptions[] = [];
    let reads = 0;
    let writes = 0;
    const backing: SettingsBacking = (options) => {
      calls.push(options);
      const conf = new Conf<Record<string, unknown>>(options);
      return {
        get store() {
          reads++;
          return conf.store;
        },
        set store(value) {
          writes++;
          conf.store = value;
        },
      };
    };
    const store = new SettingsStore(dir, { backing });
    expect(calls).toEqual([
      {
        cwd: dir,
        configName: 'config',
        projectName: 'relay-agent',
        clearInvalidConfig: false,
        accessPropertiesByDotNotation: false,
        watch: false,
        deserialize: expect.any(Function),
        configFileMode: 0o600,
      },
    ]);
    // electron-store takes the file's name from its own `name` option, default 'config': the same file.
    expect(calls[0]!.configName).toBe('config');
    expect(() => calls[0]!.deserialize('[1]')).toThrow(/expected a JSON object/);

    store.write({ mode: 'parallel' });
    expect(writes).toBe(1);
    expect(store.read()).toEqual({ mode: 'parallel' });
    expect(reads).toBeGreaterThan(0);
    expect(fileJson(dir)).toEqual({ mode: 'parallel' });
  });

  it('fits electron-store: the desktop shell passes (o) => new ElectronStore(o)', () => {
    // Types only: electron-store imports Electron at runtime, which a test cannot load.
    expectTypeOf<ConfOptions>().toExtend<NonNullable<ConstructorParameters<typeof ElectronStore>[0]>>();
    expectTypeOf<ElectronStore>().toExtend<ReturnType<SettingsBacking>>();
  });
});

async function wsServer() {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const upgrades: IncomingMessage[] = [];
  server.on('connection', (_socket, req) => upgrades.push(req));
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        for (const c of server.clients) c.terminate();
        server.close(() => resolve());
      }),
  );
  const { port } = server.address() as { port: number };
  return { url: `ws://127.0.0.1:${port}/relay`, upgrades };
}

async function startRelay(options: Parameters<typeof Relay.start>[0]): Promise<Relay> {
  const relay = await Relay.start({ source: new SyntheticSource(), logFile: false, ...options });
  closers.push(async () => {
    await relay.stop();
  });
  return relay;
}

describe('Relay.start with a store', () => {
  it('uses the store it is given, not a new one on the directory: its kill switch keeps every backend off', async () => {
    const server = await wsServer();
    const dir = tempDir();
    // On disk the kill switch is off; the given store says it is on.
    writeFile(dir, { debugPort: 0, killSwitch: false, backends: [{ url: server.url, enabled: true }] });
    const killed: SettingsBacking = (options) => {
      const conf = new Conf<Record<string, unknown>>(options);
      return {
        get store() {
          return { ...conf.store, killSwitch: true };
        },
        set store(value) {
          conf.store = value;
        },
      };
    };
    const store = new SettingsStore(dir, { backing: killed });
    const relay = await startRelay({ store });
    expect(relay.store).toBe(store);
    expect(relay.settings.killSwitch).toBe(true);
    await new Promise((r) => setTimeout(r, 300));
    expect(server.upgrades).toHaveLength(0);
    await relay.stop();

    // The control: started on the directory, the same file connects.
    await startRelay({ configDir: dir });
    await waitFor('the headless relay to connect', () => server.upgrades.length > 0);
  });

  it('refuses a store in another directory than the config dir it is given', async () => {
    const store = new SettingsStore(tempDir());
    await expect(Relay.start({ store, configDir: tempDir(), logFile: false })).rejects.toThrow(/not in the config dir/);
  });

  it('sends the opened token on the upgrade; the headless relay warns that it cannot open it', async () => {
    const server = await wsServer();
    const dir = tempDir();
    const vault = new TestVault();
    const { store } = vaultStore(dir, vault);
    // This server only records upgrades (it never welcomes): the end of each run need not wait for it.
    store.write({ debugPort: 0, endTimeoutMs: 200, backends: [{ url: server.url, enabled: true, token: TOKEN_A }] });
    const sealed = fileJson(dir).backends[0]![SEALED_TOKEN_KEY] as string;

    const desktopLog: string[] = [];
    const desktop = await startRelay({ store, log: createLogger((l) => desktopLog.push(l)) });
    await waitFor('the desktop relay to connect', () => server.upgrades.length === 1);
    expect(server.upgrades[0]!.headers.authorization).toBe(`Bearer ${TOKEN_A}`);
    expect(desktopLog.join('\n')).not.toContain('sealed');
    await desktop.stop();

    const headlessLog: string[] = [];
    const headless = await startRelay({ configDir: dir, log: createLogger((l) => headlessLog.push(l)) });
    await waitFor('the headless relay to connect', () => server.upgrades.length === 2);
    expect(server.upgrades[1]!.headers.authorization).toBeUndefined();
    const warnings = headlessLog.filter((l) => l.includes('has a token sealed'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`backend ${server.url} has a token sealed by the desktop app's safe storage, which the headless relay cannot open: set RELAY_BACKEND_TOKENS for this run`);
    // Neither the logs nor the report carry the sealed text.
    expect([...desktopLog, ...headlessLog].join('\n')).not.toContain(sealed);
    const report = await headless.actions.exportReport();
    expect(JSON.stringify(report)).not.toContain(sealed);
  });
});

describe('desktop preferences in the settings file', () => {
  it('reads the defaults from a file without them, and names invalid ones', () => {
    const dir = tempDir();
    const store = new SettingsStore(dir);
    expect(readDesktopPrefs(store)).toEqual({ prefs: DEFAULT_DESKTOP_PREFS, problems: [] });
    writeFile(dir, { desktop: { startHidden: 'yes', launchAtLogin: true } });
    const { prefs, problems } = readDesktopPrefs(store);
    expect(prefs).toEqual({ ...DEFAULT_DESKTOP_PREFS, launchAtLogin: true });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('desktop.startHidden');
  });

  it('changes only the desktop key: everything else in the file stays the same JSON, sealed tokens included', () => {
    const dir = tempDir();
    const vault = new TestVault();
    const { store } = vaultStore(dir, vault);
    store.write({
      mode: 'parallel',
      killSwitch: true,
      backends: [{ url: URL_A, enabled: true, token: TOKEN_A }, { url: URL_B, enabled: false }],
      windowBounds: { width: 800, height: 600 },
      desktop: { startHidden: true, futureFlag: 1 },
    });
    const before = fileJson(dir);

    const fresh = vaultStore(dir, vault).store;
    const result = writeDesktopPrefs(fresh, { launchAtLogin: true, updates: 'off' });
    const after = fileJson(dir);
    const { desktop: desktopBefore, ...restBefore } = before;
    const { desktop: desktopAfter, ...restAfter } = after;
    expect(restAfter).toEqual(restBefore);
    expect(JSON.stringify(restAfter)).toBe(JSON.stringify(restBefore));
    // A key the patch does not name stays, even one this version does not know.
    expect(desktopAfter).toEqual({ ...(desktopBefore as object), launchAtLogin: true, updates: 'off' });
    expect(result.prefs).toEqual({ ...DEFAULT_DESKTOP_PREFS, startHidden: true, launchAtLogin: true, updates: 'off' });
    expect(readDesktopPrefs(fresh).prefs).toEqual(result.prefs);
    expect(fileText(dir)).not.toContain(TOKEN_A);

    // A patch that changes nothing writes nothing.
    const text = fileText(dir);
    const stat = fs.statSync(path.join(dir, 'config.json'));
    writeDesktopPrefs(fresh, { launchAtLogin: true });
    expect(fileText(dir)).toBe(text);
    expect(fs.statSync(path.join(dir, 'config.json')).ino).toBe(stat.ino);
    // An invalid patch throws before anything is written.
    expect(() => writeDesktopPrefs(fresh, { updates: 'sometimes' as 'off' })).toThrow(/desktop preferences not saved/);
    expect(fileText(dir)).toBe(text);
  });

  it('works on a headless store too, keeping a sealed token it cannot open', () => {
    const dir = tempDir();
    writeFile(dir, { backends: [{ url: URL_A, enabled: true, [SEALED_TOKEN_KEY]: 'c2VhbGVk' }], desktop: 'broken' });
    const store = new SettingsStore(dir);
    writeDesktopPrefs(store, { closeToTrayNoticeShown: true });
    expect(fileJson(dir)).toEqual({ backends: [{ url: URL_A, enabled: true, [SEALED_TOKEN_KEY]: 'c2VhbGVk' }], desktop: { closeToTrayNoticeShown: true } });
  });
});
