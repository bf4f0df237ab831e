// The desktop app's main-process wiring, without the Electron binary: the real relay, real
// gateways on 127.0.0.1, the real settings file (sealed tokens through a real AES vault),
// and recording stand-ins for Electron's tray, window, IPC, dialog and notifications.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { STATE_EVENT_CHANNEL, type DashboardState } from '../src-shared/bridge';
import { APP_INDEX_URL } from '../src-shared/desktop';
import { claimSingleInstance, DesktopApp, type DesktopOptions, type DesktopPorts } from '../src-main/desktop/desktop-app';
import { MENU_IDS } from '../src-main/desktop/tray-model';
import { Relay, type RelayOptions } from '../src-main/runtime/relay';
import { silentLogger } from '../src-main/log/logger';
import type { SourceSession, SourceSink, SourceState, TelemetrySource } from '../src-main/sources/source';
import { SyntheticSource } from '../src-main/sources/synthetic';
import { IRacingSource } from '../src-main/sources/iracing/iracing-source';
import { DEFAULT_BASELINE_VARS, DEFAULT_CONTROLS_VARS } from '../src-shared/settings';
import { startGateway, type Gateway } from '../src-gateway/gateway';
import { FakeApp, FakeDialog, FakeHotkeys, FakeIpc, FakeNotifications, FakeSimProbe, FakeTray, FakeUpdater, FakeWindow, Recorder } from './helpers/desktop-ports';
import { TestVault } from './helpers/test-vault';
import { sleep, waitFor } from './helpers/wait';
import { loadRecording, RecordedBackend } from './helpers/recorded-sim';

/** A source whose state the test sets: the gating rules depend on 'live' versus the rest. */
class SteeredSource implements TelemetrySource {
  readonly kind = 'steered';
  readonly streams = ['controls'] as const;
  state: SourceState = 'not-running';
  framesProduced = 0;
  readonly session: SourceSession = { sessionId: 'steered-1', meta: {}, tickStrides: { controls: 1 } };
  private sink?: SourceSink;
  start(sink: SourceSink): void {
    this.sink = sink;
    sink.session(this.session);
    this.set('waiting');
  }
  set(state: SourceState): void {
    this.state = state;
    this.sink?.state(state);
  }
  async stop(): Promise<void> {
    this.state = 'ended';
  }
}

interface Rig {
  dir: string;
  recorder: Recorder;
  app: FakeApp;
  tray: FakeTray;
  windows: FakeWindow[];
  ipc: FakeIpc;
  dialog: FakeDialog;
  notifications: FakeNotifications;
  simProbe: FakeSimProbe;
  vault: TestVault;
  desktop: DesktopApp;
  window: FakeWindow;
  hotkeys: FakeHotkeys;
}

let dirs: string[] = [];
let gateways: Gateway[] = [];
let apps: DesktopApp[] = [];

beforeEach(() => {
  dirs = [];
  gateways = [];
  apps = [];
});

afterEach(async () => {
  for (const a of apps) await a.quit();
  for (const g of gateways) await g.close();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-desktop-'));
  dirs.push(dir);
  return dir;
}

async function gateway(): Promise<Gateway> {
  const g = await startGateway({ name: `gw${gateways.length}`, port: 0 });
  gateways.push(g);
  return g;
}

function writeSettings(dir: string, value: Record<string, unknown>): void {
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(value, null, 2), { mode: 0o600 });
}

function readFile(dir: string): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
}

interface RigOptions {
  dir?: string;
  platform?: NodeJS.Platform;
  argv?: string[];
  source?: () => TelemetrySource;
  vault?: TestVault;
  startRelay?: DesktopOptions['startRelay'];
  notificationsSupported?: boolean;
  openedAtLogin?: boolean;
  updater?: FakeUpdater;
  hotkeys?: FakeHotkeys;
}

async function startRig(options: RigOptions = {}): Promise<Rig> {
  const dir = options.dir ?? tempDir();
  const recorder = new Recorder();
  const app = new FakeApp(options.platform ?? 'linux');
  app.openedAtLogin = options.openedAtLogin ?? false;
  const windows: FakeWindow[] = [];
  const trays: FakeTray[] = [];
  const ipc = new FakeIpc();
  const dialog = new FakeDialog();
  const notifications = new FakeNotifications(options.notificationsSupported ?? true);
  const simProbe = new FakeSimProbe();
  const hotkeys = options.hotkeys ?? new FakeHotkeys();
  const vault = options.vault ?? new TestVault();
  const ports: DesktopPorts = {
    app,
    createTray: () => {
      const t = new FakeTray(recorder);
      trays.push(t);
      return t;
    },
    createWindow: (o) => {
      const w = new FakeWindow(o, recorder);
      windows.push(w);
      return w;
    },
    ipc,
    dialog,
    notifications,
    updater: options.updater ?? null,
    vault,
    simProbe,
    hotkeys,
  };
  const desktop = await DesktopApp.start(ports, {
    configDir: dir,
    argv: options.argv ?? [],
    dashboardRoot: path.join(dir, 'no-dashboard'),
    reportDir: dir,
    env: { RELAY_DEBUG_PORT: '0' },
    isPackaged: options.updater !== undefined,
    log: silentLogger,
    updateTiming: { firstCheckDelayMs: 300, checkIntervalMs: 60_000 },
    sourceFor: () => () => (options.source ? options.source() : new SyntheticSource({ controlsHz: 20, baselineHz: 2 })),
    snapshotIntervalMs: 50,
    simPollMs: 20,
    startRelay:
      options.startRelay ??
      ((o: RelayOptions) => {
        recorder.add('relay starting');
        return Relay.start({ ...o, logFile: false });
      }),
  });
  apps.push(desktop);
  const tray = trays[0];
  const window = windows[0];
  if (!tray || !window) throw new Error('the app made no tray or no window');
  return { dir, recorder, app, tray, windows, ipc, dialog, notifications, simProbe, vault, desktop, window, hotkeys };
}

function connectedTo(g: Gateway): number {
  return g.connections();
}

describe('desktop app: the kill switch hotkey', () => {
  const HOTKEY = 'CommandOrControl+Alt+K';

  it('is off until chosen; chosen in the tray, it toggles the kill switch while the sim has focus, confirmed by the tray and a sounding notice, never taking the focus', async () => {
    const g = await gateway();
    const dir = tempDir();
    writeSettings(dir, { backends: [{ url: g.url, enabled: true }], mode: 'parallel' });
    const rig = await startRig({ dir, argv: ['--hidden'] });
    expect(rig.tray.submenu(MENU_IDS.hotkey)?.label).toBe('Kill switch hotkey: off');
    expect(rig.tray.item(`${MENU_IDS.hotkey}:off`)?.checked).toBe(true);
    expect(rig.hotkeys.handlers.size).toBe(0);
    await waitFor('the gateway connected', () => connectedTo(g) === 1);

    rig.tray.click(`${MENU_IDS.hotkey}:${HOTKEY}`);
    expect([...rig.hotkeys.handlers.keys()]).toEqual([HOTKEY]);
    expect((readFile(dir).desktop as Record<string, unknown>).killSwitchHotkey).toBe(HOTKEY);
    expect(rig.tray.submenu(MENU_IDS.hotkey)?.label).toBe('Kill switch hotkey: Ctrl+Alt+K');
    expect(rig.tray.item(`${MENU_IDS.hotkey}:${HOTKEY}`)?.checked).toBe(true);

    // The sim has focus, a session is live (notices would wait for its end): the hotkey still answers at once.
    await waitFor('the source live', () => rig.desktop.currentRelay?.source.state === 'live');
    const focusedBefore = rig.window.focused;
    rig.hotkeys.press(HOTKEY);
    expect(readFile(dir).killSwitch).toBe(true);
    expect(rig.tray.icon).toBe('killed');
    expect(rig.tray.item(MENU_IDS.killSwitch)?.checked).toBe(true);
    expect(rig.notifications.shown.at(-1)).toEqual({ title: 'Kill switch ON', body: 'Every backend is cut off: no telemetry leaves this machine.', sound: true });
    await waitFor('every backend cut off', () => connectedTo(g) === 0);
    expect(rig.window.visible).toBe(false);
    expect(rig.window.focused).toBe(focusedBefore);

    rig.hotkeys.press(HOTKEY);
    expect(readFile(dir).killSwitch).toBe(false);
    expect(rig.notifications.shown.at(-1)).toMatchObject({ title: 'Kill switch off', sound: true });
    await waitFor('the gateway reconnected', () => connectedTo(g) === 1);
    expect(rig.window.focused).toBe(focusedBefore);

    await rig.desktop.quit();
    expect(rig.hotkeys.handlers.size).toBe(0);
  });

  it('says so in the tray when another program holds the accelerator, and registers a saved choice at start', async () => {
    const dir = tempDir();
    writeSettings(dir, { desktop: { killSwitchHotkey: 'CommandOrControl+Shift+F12' } });
    const hotkeys = new FakeHotkeys();
    hotkeys.taken.add('Alt+Shift+End');
    const rig = await startRig({ dir, hotkeys });
    expect([...hotkeys.handlers.keys()]).toEqual(['CommandOrControl+Shift+F12']);
    rig.tray.click(`${MENU_IDS.hotkey}:Alt+Shift+End`);
    expect(rig.tray.submenu(MENU_IDS.hotkey)?.label).toBe('Kill switch hotkey: Alt+Shift+End (taken by another program: not active)');
    expect(hotkeys.handlers.size).toBe(0);
    rig.tray.click(`${MENU_IDS.hotkey}:off`);
    expect((readFile(dir).desktop as Record<string, unknown>).killSwitchHotkey).toBeNull();
    expect(rig.tray.submenu(MENU_IDS.hotkey)?.label).toBe('Kill switch hotkey: off');
  });
});

describe('desktop app: kill switch', () => {
  it('restores a saved kill switch before any backend connects, and the tray checkbox toggles it both ways', async () => {
    const g = await gateway();
    const dir = tempDir();
    writeSettings(dir, { backends: [{ url: g.url, enabled: true }], mode: 'parallel', killSwitch: true });
    const rig = await startRig({ dir });
    // The tray showed the kill switch before the relay (and so any socket) existed.
    expect(rig.recorder.index('tray icon killed')).toBeGreaterThanOrEqual(0);
    expect(rig.recorder.index('tray icon killed')).toBeLessThan(rig.recorder.index('relay starting'));
    expect(rig.tray.item(MENU_IDS.killSwitch)?.checked).toBe(true);
    await sleep(300);
    expect(connectedTo(g)).toBe(0);
    expect(rig.desktop.currentRelay?.manager.targetsView().targets[0]?.state).toBe('killed');

    rig.tray.click(MENU_IDS.killSwitch);
    expect(readFile(dir).killSwitch).toBe(false);
    await waitFor('the gateway to see the relay', () => connectedTo(g) > 0);
    await waitFor('the tray to show normal', () => rig.tray.icon === 'normal' || rig.tray.icon === 'warning');
    expect(rig.tray.item(MENU_IDS.killSwitch)?.checked).toBe(false);

    rig.tray.click(MENU_IDS.killSwitch);
    expect(readFile(dir).killSwitch).toBe(true);
    expect(rig.tray.icon).toBe('killed');
    await waitFor('every backend cut off', () => connectedTo(g) === 0);
  });

  it('toggles the kill switch from the window over IPC, and refuses every sender but the dashboard window', async () => {
    const g = await gateway();
    const dir = tempDir();
    writeSettings(dir, { backends: [{ url: g.url, enabled: true }], mode: 'parallel' });
    const rig = await startRig({ dir });
    await waitFor('connected', () => connectedTo(g) > 0);

    const outsiders = [
      rig.window.sender({ webContentsId: rig.window.webContentsId + 1000 }),
      rig.window.sender({ isMainFrame: false }),
      rig.window.sender({ frameUrl: 'https://evil.example/index.html' }),
      rig.window.sender({ frameUrl: 'file:///etc/passwd' }),
      rig.window.sender({ frameUrl: null }),
    ];
    for (const sender of outsiders) {
      await expect(rig.ipc.invoke('relay:set-kill-switch', sender, { on: true })).rejects.toThrow(/only the dashboard window/);
      await expect(rig.ipc.invoke('relay:get-state', sender)).rejects.toThrow(/only the dashboard window/);
    }
    expect(readFile(dir).killSwitch).toBeUndefined();
    expect(connectedTo(g)).toBeGreaterThan(0);

    // The shared schemas check every argument: nothing changes on a bad one.
    for (const bad of [undefined, { on: 'yes' }, { on: true, extra: 1 }, 'on', null]) {
      const r = (await rig.ipc.invoke('relay:set-kill-switch', rig.window.sender(), bad)) as { ok: boolean; status?: number; problems?: string[] };
      expect(r.ok).toBe(false);
      expect(r.status).toBe(400);
      expect(r.problems?.length).toBeGreaterThan(0);
    }
    const badSettings = (await rig.ipc.invoke('relay:update-settings', rig.window.sender(), { mode: 'sideways' })) as { ok: boolean; problems?: string[] };
    expect(badSettings.ok).toBe(false);
    expect(badSettings.problems?.join('\n')).toMatch(/mode/);
    await expect(rig.ipc.invoke('relay:get-state', rig.window.sender(), { sneaky: true })).rejects.toThrow(/takes no argument/);

    expect(await rig.ipc.invoke('relay:set-kill-switch', rig.window.sender(), { on: true })).toEqual({ ok: true });
    expect(readFile(dir).killSwitch).toBe(true);
    await waitFor('cut off', () => connectedTo(g) === 0);
    expect(rig.tray.item(MENU_IDS.killSwitch)?.checked).toBe(true);
    expect(rig.tray.icon).toBe('killed');
    const state = (await rig.ipc.invoke('relay:get-state', rig.window.sender())) as DashboardState;
    expect(state.settings.killSwitch).toBe(true);
    expect(await rig.ipc.invoke('relay:set-kill-switch', rig.window.sender(), { on: false })).toEqual({ ok: true });
    await waitFor('reconnected', () => connectedTo(g) > 0);
  });

  it('writes refused IPC calls to the relay log, which the support report includes', async () => {
    const rig = await startRig({ startRelay: (o) => Relay.start(o) });
    await expect(rig.ipc.invoke('relay:set-kill-switch', rig.window.sender({ frameUrl: 'https://evil.example/' }), { on: true })).rejects.toThrow();
    const logFile = path.join(rig.dir, 'logs', 'relay.log');
    await waitFor('the refusal in the log', () => fs.existsSync(logFile) && fs.readFileSync(logFile, 'utf8').includes('IPC relay:set-kill-switch refused'));
    expect(fs.readFileSync(logFile, 'utf8')).toContain('https://evil.example/');
  });

  it('registers a handler for every channel of the typed bridge, and removes them at quit', async () => {
    const rig = await startRig();
    expect([...rig.ipc.handlers.keys()].sort()).toEqual(['relay:cutover', 'relay:export-report', 'relay:get-history', 'relay:get-state', 'relay:save-report', 'relay:set-kill-switch', 'relay:update-settings']);
    await rig.desktop.quit();
    expect(rig.ipc.handlers.size).toBe(0);
  });
});

describe('desktop app: window lifecycle', () => {
  it('closing the window keeps the app in the tray, with a one-time notice that waits until the session is not live', async () => {
    const source = new SteeredSource();
    const rig = await startRig({ source: () => source });
    expect(rig.window.visible).toBe(true);
    source.set('live');
    await waitFor('the app to see the live session', () => rig.desktop.relayPhase.kind === 'running' && rig.desktop.relayPhase.state.health.source?.state === 'live');

    expect(rig.window.userClose()).toBe(false);
    expect(rig.window.visible).toBe(false);
    expect(rig.window.destroyed).toBe(false);
    expect(rig.desktop.currentRelay).not.toBeNull();
    // Live: the notice is held, not shown.
    expect(rig.notifications.shown).toEqual([]);
    expect(rig.desktop.notices.held().map((n) => n.key)).toEqual(['close-to-tray']);
    expect(readFile(rig.dir).desktop).toMatchObject({ closeToTrayNoticeShown: true });

    source.set('paused');
    await waitFor('the notice once the session pauses', () => rig.notifications.shown.length === 1);
    expect(rig.notifications.shown[0]?.body).toMatch(/tray/);

    // Opened and closed again: no second notice.
    rig.tray.click(MENU_IDS.open);
    expect(rig.window.visible).toBe(true);
    rig.window.userClose();
    await sleep(120);
    expect(rig.notifications.shown).toHaveLength(1);
  });

  it('pushes snapshots to the window only while it shows, and opening the dashboard restores, shows and focuses it', async () => {
    const rig = await startRig();
    await waitFor('a snapshot pushed', () => rig.window.sent.length > 0);
    expect(rig.window.sent[0]?.channel).toBe(STATE_EVENT_CHANNEL);
    rig.window.userClose();
    const before = rig.window.sent.length;
    await sleep(200);
    expect(rig.window.sent.length).toBe(before);
    rig.window.minimized = true;
    rig.tray.clickIcon();
    expect(rig.window.visible).toBe(true);
    expect(rig.window.minimized).toBe(false);
    expect(rig.window.focused).toBeGreaterThan(0);
    expect(rig.window.sent.length).toBe(before + 1);
  });

  it('starts hidden in the tray (window created unshown) from the preference or --hidden, and a second launch shows the first', async () => {
    const dir = tempDir();
    writeSettings(dir, { desktop: { startHidden: true } });
    const rig = await startRig({ dir });
    expect(rig.window.options.show).toBe(false);
    expect(rig.recorder.index('window created hidden')).toBeGreaterThanOrEqual(0);
    expect(rig.app.dock).toEqual([false]);
    rig.desktop.secondInstance(['relay-agent']);
    expect(rig.window.visible).toBe(true);
    expect(rig.windows).toHaveLength(1);

    const flagged = await startRig({ argv: ['--hidden'] });
    expect(flagged.window.options.show).toBe(false);
    // macOS passes no arguments to login items: launched at login is hidden all the same.
    const mac = await startRig({ platform: 'darwin', openedAtLogin: true });
    expect(mac.window.options.show).toBe(false);

    // A window that was really destroyed is created anew when the dashboard is opened.
    flagged.window.destroy();
    flagged.tray.click(MENU_IDS.open);
    expect(flagged.windows).toHaveLength(2);
    expect(flagged.windows[1]?.visible).toBe(true);
  });

  it('a second instance does not start: the lock is refused and it quits at once', () => {
    const first = new FakeApp();
    expect(claimSingleInstance(first)).toBe(true);
    expect(first.quits).toBe(0);
    const second = new FakeApp();
    second.locked = false;
    expect(claimSingleInstance(second)).toBe(false);
    expect(second.quits).toBe(1);
  });

  it('quit stops the relay and its sockets, removes the tray and quits the app', async () => {
    const g = await gateway();
    const dir = tempDir();
    writeSettings(dir, { backends: [{ url: g.url, enabled: true }], mode: 'parallel' });
    const rig = await startRig({ dir });
    await waitFor('connected', () => connectedTo(g) > 0);
    rig.tray.click(MENU_IDS.quit);
    await waitFor('the app to quit', () => rig.app.quits === 1);
    expect(rig.tray.destroyed).toBe(true);
    expect(rig.window.destroyed).toBe(true);
    expect(rig.desktop.currentRelay).toBeNull();
    await waitFor('the socket closed', () => connectedTo(g) === 0);
    // Closing while quitting is not prevented.
    expect(rig.desktop.isQuitting).toBe(true);
  });
});

describe('desktop app: report, settings and tokens', () => {
  it('exports the parity report through the save dialog: the .html chosen and the .json beside it; a cancel writes nothing', async () => {
    const rig = await startRig();
    const target = path.join(rig.dir, 'reports', 'my report');
    fs.mkdirSync(path.dirname(target));
    rig.dialog.answer = target;
    const result = (await rig.ipc.invoke('relay:save-report', rig.window.sender())) as { ok: boolean; files: string[] };
    expect(result).toEqual({ ok: true, files: [`${target}.html`, `${target}.json`] });
    expect(rig.dialog.asked[0]?.defaultPath).toMatch(/relay-parity-report.*\.html$/);
    expect(fs.readFileSync(`${target}.html`, 'utf8')).toMatch(/<html/i);
    const json = JSON.parse(fs.readFileSync(`${target}.json`, 'utf8')) as Record<string, unknown>;
    expect(json).toHaveProperty('targets');

    rig.dialog.answer = null;
    expect(await rig.ipc.invoke('relay:save-report', rig.window.sender())).toEqual({ ok: true, cancelled: true });

    // From the tray: the same dialog, and a notice (the synthetic source is live: held).
    rig.dialog.answer = path.join(rig.dir, 'from-tray.html');
    rig.tray.click(MENU_IDS.exportReport);
    await waitFor('the tray export', () => fs.existsSync(path.join(rig.dir, 'from-tray.json')));
    await waitFor('a held notice', () => rig.desktop.notices.held().some((n) => n.key === 'report'));
  });

  it('a token entered in the window is sealed in the settings file, never plain, and still reaches the gateway', async () => {
    const g = await startGateway({ name: 'secured', port: 0, token: 's3cret-token' });
    gateways.push(g);
    const rig = await startRig();
    const result = await rig.ipc.invoke('relay:update-settings', rig.window.sender(), {
      mode: 'parallel',
      backends: [{ url: g.url, enabled: true, token: { set: 's3cret-token' } }],
    });
    expect(result).toMatchObject({ ok: true, confirmation: { changed: expect.arrayContaining(['RELAY_BACKENDS']) } });
    const text = fs.readFileSync(path.join(rig.dir, 'config.json'), 'utf8');
    expect(text).not.toContain('s3cret-token');
    expect(text).toContain('tokenSealed');
    await waitFor('authenticated connection', () => rig.desktop.currentRelay?.manager.targetsView().targets[0]?.authenticated === true);
    const state = (await rig.ipc.invoke('relay:get-state', rig.window.sender())) as DashboardState;
    expect(JSON.stringify(state)).not.toContain('s3cret-token');
    expect(state.settings.backends[0]?.hasToken).toBe(true);
  });

  it('tray preferences are saved in the settings file and set the login item (Windows: with iRacing adds its flag)', async () => {
    const rig = await startRig({ platform: 'win32' });
    rig.tray.click(MENU_IDS.launchAtLogin);
    expect(rig.app.loginItems.at(-1)).toEqual({ openAtLogin: true, args: ['--hidden'] });
    rig.tray.click(MENU_IDS.launchWithIRacing);
    expect(rig.app.loginItems.at(-1)?.args).toEqual(['--hidden', '--with-iracing']);
    rig.tray.click(MENU_IDS.startHidden);
    expect(readFile(rig.dir).desktop).toMatchObject({ launchAtLogin: true, launchWithIRacing: true, startHidden: true });
    expect(rig.tray.item(MENU_IDS.startHidden)?.checked).toBe(true);

    const linux = await startRig({ platform: 'linux' });
    expect(linux.tray.item(MENU_IDS.launchAtLogin)).toBeUndefined();
    expect(linux.tray.item(MENU_IDS.launchWithIRacing)).toBeUndefined();
    const mac = await startRig({ platform: 'darwin' });
    expect(mac.tray.item(MENU_IDS.launchAtLogin)).toBeDefined();
    expect(mac.tray.item(MENU_IDS.launchWithIRacing)).toBeUndefined();
  });
});

describe('desktop app: start with iRacing, and a relay that cannot start', () => {
  it('launched with iRacing, it waits for the sim before relaying, and stops when the sim closes', async () => {
    const g = await gateway();
    const dir = tempDir();
    writeSettings(dir, { backends: [{ url: g.url, enabled: true }], mode: 'parallel', desktop: { launchWithIRacing: true } });
    const rig = await startRig({ dir, platform: 'win32', argv: ['--hidden', '--with-iracing'] });
    expect(rig.window.options.show).toBe(false);
    expect(rig.desktop.relayPhase.kind).toBe('waiting-for-sim');
    expect(rig.tray.toolTip).toMatch(/Waiting for iRacing/);
    await expect(rig.ipc.invoke('relay:get-state', rig.window.sender())).rejects.toThrow(/Waiting for iRacing/);
    await sleep(150);
    expect(connectedTo(g)).toBe(0);

    rig.simProbe.running = true;
    await waitFor('the relay to start with the sim', () => connectedTo(g) > 0);
    expect(rig.desktop.relayPhase.kind).toBe('running');

    rig.simProbe.running = false;
    await waitFor('the relay to stop with the sim', () => rig.desktop.relayPhase.kind === 'waiting-for-sim');
    await waitFor('sockets closed', () => connectedTo(g) === 0);
  });

  it('while relaying, it asks the live reader whether the sim is still there, never the probe beside it', async () => {
    const g = await gateway();
    const dir = tempDir();
    writeSettings(dir, { backends: [{ url: g.url, enabled: true }], mode: 'parallel', desktop: { launchWithIRacing: true } });
    const backend = new RecordedBackend(await loadRecording());
    backend.simStarts();
    const source = () =>
      new IRacingSource({ controlsVars: [...DEFAULT_CONTROLS_VARS], baselineVars: [...DEFAULT_BASELINE_VARS], baselineHz: 4, sharePersonalData: false, sourceStaleMs: 2000, backend, reconnectMs: 50, pollMs: 5 });
    const rig = await startRig({ dir, platform: 'win32', argv: ['--hidden', '--with-iracing'], source });
    rig.simProbe.running = true;
    await waitFor('the relay to start with the sim', () => connectedTo(g) > 0);
    const probed = rig.simProbe.calls;
    // The probe would say "gone" now, but the reader is attached and says the map is there.
    rig.simProbe.running = false;
    await sleep(200);
    expect(rig.desktop.relayPhase.kind).toBe('running');
    expect(rig.simProbe.calls).toBe(probed);

    backend.simStops();
    await waitFor('the relay to stop when the reader finds the map gone', () => rig.desktop.relayPhase.kind === 'waiting-for-sim');
    await waitFor('sockets closed', () => connectedTo(g) === 0);
  });

  it('a settings file the relay refuses: tray critical with the reason, IPC explains, and a fixed file starts the relay', async () => {
    const dir = tempDir();
    writeSettings(dir, { mode: 'sideways' });
    const rig = await startRig({ dir });
    expect(rig.desktop.relayPhase.kind).toBe('failed');
    expect(rig.tray.icon).toBe('critical');
    expect(rig.tray.toolTip).toMatch(/not running/);
    await expect(rig.ipc.invoke('relay:get-state', rig.window.sender())).rejects.toThrow(/Relay not running/);
    const r = (await rig.ipc.invoke('relay:set-kill-switch', rig.window.sender(), { on: true })) as { ok: boolean };
    // The kill switch is saved even while the relay is down: the next start obeys it.
    expect(r.ok).toBe(true);
    expect(readFile(dir).killSwitch).toBe(true);
    expect(rig.tray.icon).toBe('killed');

    writeSettings(dir, { mode: 'parallel', killSwitch: true });
    await waitFor('the relay to start after the fix', () => rig.desktop.relayPhase.kind === 'running', 5000);
    expect(rig.tray.icon).toBe('killed');
    const state = (await rig.ipc.invoke('relay:get-state', rig.window.sender())) as DashboardState;
    expect(state.settings.killSwitch).toBe(true);
  });

  it('notices are logged, not thrown, where the platform has no notifications', async () => {
    const source = new SteeredSource();
    const rig = await startRig({ source: () => source, notificationsSupported: false });
    rig.window.userClose();
    await sleep(100);
    expect(rig.notifications.shown).toEqual([]);
    expect(rig.desktop.notices.held()).toEqual([]);
  });
});

describe('desktop app: updates wait for the session to end', () => {
  it('checks, downloads, announces and installs only while the source is not live; the user can turn updates off or defer them', async () => {
    const source = new SteeredSource();
    const updater = new FakeUpdater('by-the-test');
    const rig = await startRig({ source: () => source, updater });
    source.set('live');
    await waitFor('the app to see the live session', () => rig.desktop.relayPhase.kind === 'running' && rig.desktop.relayPhase.state.health.source?.state === 'live');
    await sleep(400);
    expect(updater.checks).toBe(0);

    source.set('paused');
    await waitFor('a check once the session pauses', () => updater.checks === 1);
    source.set('live');
    await waitFor('live again', () => rig.desktop.relayPhase.kind === 'running' && rig.desktop.relayPhase.state.health.source?.state === 'live');
    updater.emit({ kind: 'available', version: '9.9.9' });
    await sleep(100);
    expect(updater.downloads).toBe(0);
    source.set('waiting');
    await waitFor('the download after the session', () => updater.downloads === 1);
    updater.emit({ kind: 'downloaded', version: '9.9.9' });
    await waitFor('the update item in the tray', () => rig.tray.item(MENU_IDS.restartToUpdate)?.enabled === true);
    await waitFor('the update notice', () => rig.notifications.shown.some((n) => /9\.9\.9/.test(n.title + n.body)));

    // A session starts: the restart item greys out and a click cannot install.
    source.set('live');
    await waitFor('the restart item disabled', () => rig.tray.item(MENU_IDS.restartToUpdate)?.enabled === false);
    await rig.desktop.menuClick(MENU_IDS.restartToUpdate);
    expect(updater.installs).toBe(0);

    // "Not now" and "off" come from the tray and are saved in the settings file.
    source.set('paused');
    await waitFor('the restart item enabled', () => rig.tray.item(MENU_IDS.restartToUpdate)?.enabled === true);
    rig.tray.click(MENU_IDS.deferUpdates);
    expect((readFile(rig.dir).desktop as { updatesDeferredUntil: number | null }).updatesDeferredUntil).toBeGreaterThan(Date.now());
    expect(rig.tray.item(MENU_IDS.deferUpdates)?.checked).toBe(true);
    rig.tray.click(MENU_IDS.deferUpdates);
    expect((readFile(rig.dir).desktop as { updatesDeferredUntil: number | null }).updatesDeferredUntil).toBeNull();
    rig.tray.click(MENU_IDS.autoUpdates);
    expect(readFile(rig.dir).desktop).toMatchObject({ updates: 'off' });
    expect(rig.tray.item(MENU_IDS.restartToUpdate)).toBeUndefined();

    // Quitting with updates off installs nothing; turned on again, a quit between sessions installs.
    rig.tray.click(MENU_IDS.autoUpdates);
    await rig.desktop.quit();
    expect(updater.installs).toBe(1);
    expect(rig.app.quits).toBe(0);
  });

  it('a quit during a live session never installs', async () => {
    const source = new SteeredSource();
    const updater = new FakeUpdater('by-the-test');
    const rig = await startRig({ source: () => source, updater });
    source.set('paused');
    await waitFor('a check', () => updater.checks === 1);
    updater.emit({ kind: 'available', version: '2.0.0' });
    await waitFor('a download', () => updater.downloads === 1);
    updater.emit({ kind: 'downloaded', version: '2.0.0' });
    source.set('live');
    await waitFor('live', () => rig.desktop.relayPhase.kind === 'running' && rig.desktop.relayPhase.state.health.source?.state === 'live');
    await rig.desktop.quit();
    expect(updater.installs).toBe(0);
    expect(rig.app.quits).toBe(1);
  });
});

it('the window is told the app URL the sender check trusts', () => {
  expect(APP_INDEX_URL).toBe('app://dashboard/index.html');
});
