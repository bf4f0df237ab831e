// The desktop app's behaviour, with Electron behind the ports: the relay's lifecycle, the
// tray, the one window, close-to-tray, the typed IPC bridge, report export, launch at login
// or with iRacing, notices and updates that wait for the session to end. src-main/shell/
// only builds the ports and calls DesktopApp.start.
import fs from 'node:fs';
import path from 'node:path';
import { STATE_EVENT_CHANNEL, SNAPSHOT_INTERVAL_MS, failure, type ActionFailure, type ActionResult, type SaveReportResult } from '../../src-shared/bridge';
import type { DesktopPrefs } from '../../src-shared/desktop';
import { safeFileBase } from '../../src-shared/report';
import type { Env } from '../../src-shared/settings';
import { Relay, type RelayOptions } from '../runtime/relay';
import type { SourceFactory } from '../sources/source';
import { SettingsStore, type SettingsStoreOptions } from '../settings/settings-store';
import type { Logger } from '../log/logger';
import { teeLogger } from '../log/log-file';
import { SOURCE_STATES, type SourceState } from '../sources/source';
import { readDesktopPrefs, writeDesktopPrefs } from './desktop-prefs';
import { registerBridgeHandlers, type BridgeBackend } from './ipc-handlers';
import { loginItemPlan, parseLaunchArgs, shouldStartHidden, type LaunchArgs } from './launch';
import { NoticeQueue } from './notice-queue';
import { KillSwitchHotkey } from './kill-hotkey';
import type { AppPort, CloseEvent, HotkeyPort, DialogPort, IpcPort, NotificationPort, SimProbe, TokenVault, TrayPort, UpdaterPort, WindowFactory, WindowPort } from './ports';
import { SimWatcher } from './sim-watcher';
import { buildTrayMenu, DEFER_UPDATES_HOURS, HOTKEY_ITEM_PREFIX, MENU_IDS, statusLine, trayIconState, trayToolTip, type RelayPhase } from './tray-model';
import { systemClock } from '../runtime/clock';
import { UpdateGate, type UpdateGateOptions } from './update-gate';
import { isTrustedSender } from './window-policy';

export interface DesktopPorts {
  app: AppPort;
  createTray(): TrayPort;
  createWindow: WindowFactory;
  ipc: IpcPort;
  dialog: DialogPort;
  notifications: NotificationPort;
  /** null where updates cannot work (a development build, no publish feed). */
  updater: UpdaterPort | null;
  vault: TokenVault;
  /** Tells whether iRacing runs (Windows: its SDK's memory map): null where "start with iRacing" cannot apply. */
  simProbe: SimProbe | null;
  /** How the settings file is opened: electron-store in the shell, plain conf in tests. */
  storeBacking?: SettingsStoreOptions['backing'];
  /** Global shortcuts (the kill switch's hotkey); absent where they cannot exist. */
  hotkeys?: HotkeyPort;
}

export interface DesktopOptions {
  configDir: string;
  /** The process arguments after the executable (Electron's own switches are ignored). */
  argv: string[];
  /** The built dashboard (the relay's debug server also serves it to a browser). */
  dashboardRoot: string;
  /** Where the save dialog opens (the user's documents folder). */
  reportDir: string;
  env: Env;
  isPackaged: boolean;
  log: Logger;
  /** The telemetry source when no --source is given: iracing on Windows, synthetic elsewhere. */
  sourceFor(spec: string | undefined): SourceFactory;
  snapshotIntervalMs?: number;
  simPollMs?: number;
  updateTiming?: UpdateGateOptions;
  /** Starts the relay; a test may wrap Relay.start to observe the order of things. */
  startRelay?: (options: RelayOptions) => Promise<Relay>;
}

const SIM_STOP_DRAIN_MS = 2000;

export class DesktopApp {
  private phase: RelayPhase = { kind: 'starting' };
  private relay: Relay | null = null;
  private window: WindowPort | null = null;
  private tray: TrayPort | null = null;
  private quitting = false;
  private lastMenuKey = '';
  private lastIcon = '';
  private lastSourceState: SourceState = 'not-running';
  private ticker: NodeJS.Timeout | undefined;
  private simWatcher: SimWatcher | null = null;
  private stopRetryWatch: () => void = () => {};
  private relayTransition: Promise<void> = Promise.resolve();
  private unregisterIpc: () => void = () => {};
  private prefs: DesktopPrefs;
  private readonly log: Logger;
  readonly notices: NoticeQueue;
  /** The kill switch's global hotkey; null where the shell offers no global shortcuts. */
  readonly hotkey: KillSwitchHotkey | null;
  readonly updates: UpdateGate | null;

  private constructor(
    private readonly ports: DesktopPorts,
    private readonly options: DesktopOptions,
    readonly store: SettingsStore,
    readonly launch: LaunchArgs,
  ) {
    // The app's own lines go to the relay's log file too (while a relay runs), so a support
    // report's log tail shows refused IPC calls, notices and update decisions.
    this.log = teeLogger(options.log, (level, message) => this.relay?.logFile?.write(level, message));
    const { prefs, problems } = readDesktopPrefs(store);
    for (const p of problems) this.log.warn(`desktop preferences: ${p}`);
    this.prefs = prefs;
    this.hotkey = ports.hotkeys ? new KillSwitchHotkey(ports.hotkeys, () => this.hotkeyPressed(), (m) => this.log.info(m)) : null;
    this.notices = new NoticeQueue(ports.notifications, () => this.sourceState() !== 'live', (m) => this.log.info(m));
    this.updates =
      ports.updater && options.isPackaged
        ? new UpdateGate({
            updater: ports.updater,
            prefs: () => this.prefs,
            sourceState: () => this.sourceState(),
            clock: systemClock,
            isPackaged: options.isPackaged,
            notifier: this.notices,
            savePrefs: (patch) => this.savePrefs(patch),
            log: (m) => this.log.info(`updates: ${m}`),
            onChange: () => this.refreshTray(),
          }, options.updateTiming)
        : null;
  }

  /**
   * Everything in the order that keeps the kill switch safe: the settings file is read and
   * the tray shows a saved kill switch before the relay (and so any backend) starts; the
   * relay itself applies the kill switch before it opens a single socket.
   */
  static async start(ports: DesktopPorts, options: DesktopOptions): Promise<DesktopApp> {
    const launch = parseLaunchArgs(options.argv);
    for (const p of launch.problems) options.log.warn(`launch arguments: ${p}`);
    const store = new SettingsStore(launch.configDir ?? options.configDir, {
      ...(ports.storeBacking ? { backing: ports.storeBacking } : {}),
      vault: ports.vault,
      warn: (m) => options.log.warn(m),
    });
    const app = new DesktopApp(ports, options, store, launch);
    app.tray = ports.createTray();
    app.tray.onActivate(() => app.openDashboard());
    app.hotkey?.apply(app.prefs.killSwitchHotkey);
    app.refreshTray();
    app.unregisterIpc = registerBridgeHandlers(ports.ipc, app.bridgeBackend(), {
      isTrusted: (sender) => isTrustedSender(sender, app.currentWindow?.webContentsId ?? null),
      log: (m) => app.log.warn(m),
    });
    app.applyLoginItem();
    const hidden = shouldStartHidden(launch, app.prefs) || ports.app.wasOpenedAtLogin?.() === true;
    app.createWindow(!hidden);
    ports.app.setDockVisible?.(!hidden);
    if (launch.withIRacing && app.prefs.launchWithIRacing && ports.simProbe && ports.app.platform === 'win32') {
      app.waitForSim(ports.simProbe);
    } else {
      await app.startRelay();
    }
    app.updates?.start();
    app.ticker = setInterval(() => app.tick(), options.snapshotIntervalMs ?? SNAPSHOT_INTERVAL_MS);
    app.ticker.unref();
    return app;
  }

  get relayPhase(): RelayPhase {
    return this.phase;
  }

  get currentRelay(): Relay | null {
    return this.relay;
  }

  get currentWindow(): WindowPort | null {
    return this.window && !this.window.isDestroyed() ? this.window : null;
  }

  get isQuitting(): boolean {
    return this.quitting;
  }

  // ---- the relay ------------------------------------------------------------------------

  private startRelay(): Promise<void> {
    this.relayTransition = this.relayTransition.then(async () => {
      if (this.relay || this.quitting) return;
      this.stopRetryWatch();
      this.setPhase({ kind: 'starting' });
      const start = this.options.startRelay ?? ((o: RelayOptions) => Relay.start(o));
      try {
        this.relay = await start({
          configDir: this.store.dir,
          store: this.store,
          env: this.options.env,
          source: this.options.sourceFor(this.launch.source),
          log: this.options.log,
          dashboardRoot: this.options.dashboardRoot,
        });
        this.setPhase({ kind: 'running', state: this.relay.actions.getState() });
      } catch (e) {
        const error = (e as Error).message;
        this.log.error(`the relay could not start: ${error}`);
        this.setPhase({ kind: 'failed', error });
        this.notices.notify({ key: 'relay-failed', title: 'Relay Agent is not relaying', body: `${error.split('\n')[0]} (it retries when the settings file changes)` });
        // A fix to the settings file (from the CLI, an editor) is the usual cure: try again then.
        this.stopRetryWatch = this.store.watch(() => void this.startRelay());
      }
    });
    return this.relayTransition;
  }

  private stopRelay(drainMs: number): Promise<void> {
    this.relayTransition = this.relayTransition.then(async () => {
      const relay = this.relay;
      if (!relay) return;
      this.relay = null;
      await relay.stop({ endTimeoutMs: drainMs });
    });
    return this.relayTransition;
  }

  private waitForSim(probe: SimProbe): void {
    this.setPhase({ kind: 'waiting-for-sim' });
    this.simWatcher = new SimWatcher({
      probe: { isRunning: () => this.simPresent(probe) },
      intervalMs: this.options.simPollMs ?? 3000,
      log: (m) => this.log.warn(m),
      onChange: (running) => {
        if (running) {
          this.log.info('iRacing started: starting the relay');
          void this.startRelay();
        } else if (this.relay) {
          this.log.info('iRacing closed: delivering what is queued, then stopping the relay until the sim runs again');
          void this.stopRelay(SIM_STOP_DRAIN_MS).then(() => {
            if (!this.quitting) this.setPhase({ kind: 'waiting-for-sim' });
          });
        }
      },
    });
    this.simWatcher.start();
  }

  /**
   * A running relay's live reader owns the SDK's attachment and knows whether the sim's map is
   * still there (probing beside it would disturb it); without one, the probe asks the SDK.
   */
  private async simPresent(probe: SimProbe): Promise<boolean> {
    const seen = this.relay?.source.stats?.().simPresent;
    return typeof seen === 'boolean' ? seen : probe.isRunning();
  }

  private sourceState(): SourceState {
    const state = this.phase.kind === 'running' ? this.phase.state.health.source?.state : undefined;
    return SOURCE_STATES.find((s) => s === state) ?? 'not-running';
  }

  private tick(): void {
    if (!this.relay) return;
    const state = this.relay.actions.getState();
    this.setPhase({ kind: 'running', state });
    const window = this.currentWindow;
    if (window?.isVisible()) window.send(STATE_EVENT_CHANNEL, state);
  }

  private setPhase(phase: RelayPhase): void {
    this.phase = phase;
    const source = this.sourceState();
    if (source !== this.lastSourceState) {
      this.lastSourceState = source;
      this.notices.sourceStateChanged(source);
      this.updates?.sourceStateChanged(source);
    }
    this.refreshTray();
  }

  // ---- the tray -------------------------------------------------------------------------

  private savedKillSwitch(): boolean {
    if (this.phase.kind === 'running') return this.phase.state.settings.killSwitch;
    try {
      return this.store.read().killSwitch === true;
    } catch {
      return false;
    }
  }

  refreshTray(): void {
    const tray = this.tray;
    if (!tray) return;
    const killSwitch = this.savedKillSwitch();
    const icon = trayIconState(this.phase, killSwitch);
    if (icon !== this.lastIcon) {
      this.lastIcon = icon;
      tray.setIcon(icon);
    }
    const menu = buildTrayMenu({
      phase: this.phase,
      killSwitch,
      prefs: this.prefs,
      platform: this.ports.app.platform,
      updatesSupported: this.updates !== null,
      updatesDeferred: this.updates?.status().phase === 'deferred',
      updateReady: this.updates?.readyUpdate() ?? null,
      ...(this.hotkey ? { hotkey: this.hotkey.state() } : {}),
    });
    const key = JSON.stringify(menu);
    if (key !== this.lastMenuKey) {
      this.lastMenuKey = key;
      tray.setToolTip(trayToolTip(this.phase));
      tray.setMenu(menu, (id) => void this.menuClick(id));
    }
  }

  /** What a click on a tray menu item does (the shell passes the item's id). */
  async menuClick(id: string): Promise<void> {
    if (id.startsWith(HOTKEY_ITEM_PREFIX) && this.hotkey) {
      const choice = id.slice(HOTKEY_ITEM_PREFIX.length);
      const accelerator = choice === 'off' ? null : choice;
      this.savePrefs({ killSwitchHotkey: accelerator });
      const state = this.hotkey.apply(accelerator);
      if (accelerator !== null && !state.registered) this.notices.notify({ key: 'hotkey', title: 'Kill switch hotkey not active', body: `${accelerator} is held by the system or another program: choose another in the tray menu.` });
      this.refreshTray();
      return;
    }
    switch (id) {
      case MENU_IDS.open:
        this.openDashboard();
        return;
      case MENU_IDS.killSwitch: {
        const result = this.setKillSwitch(!this.savedKillSwitch(), 'tray');
        if (!result.ok) this.notices.notify({ key: 'kill-switch', title: 'Kill switch', body: result.error });
        return;
      }
      case MENU_IDS.exportReport: {
        const result = await this.saveReport();
        if (!result.ok) this.notices.notify({ key: 'report', title: 'Parity report not saved', body: result.error });
        else if ('files' in result) this.notices.notify({ key: 'report', title: 'Parity report saved', body: result.files.join('\n') });
        return;
      }
      case MENU_IDS.launchAtLogin:
        this.savePrefs({ launchAtLogin: !this.prefs.launchAtLogin });
        this.applyLoginItem();
        return;
      case MENU_IDS.launchWithIRacing:
        this.savePrefs({ launchWithIRacing: !this.prefs.launchWithIRacing });
        this.applyLoginItem();
        return;
      case MENU_IDS.startHidden:
        this.savePrefs({ startHidden: !this.prefs.startHidden });
        return;
      case MENU_IDS.autoUpdates:
        this.savePrefs({ updates: this.prefs.updates === 'auto' ? 'off' : 'auto', updatesDeferredUntil: null });
        this.updates?.prefsChanged();
        return;
      case MENU_IDS.deferUpdates:
        if (this.updates?.status().phase === 'deferred') this.updates.cancelDeferral();
        else this.updates?.defer(DEFER_UPDATES_HOURS * 3600_000);
        this.refreshTray();
        return;
      case MENU_IDS.restartToUpdate:
        if (this.updates && !this.updates.restartToUpdate()) {
          this.notices.notify({ key: 'update', title: 'Update', body: this.updates.lastRefusal() ?? 'the update cannot be installed now' });
        }
        return;
      case MENU_IDS.quit:
        await this.quit();
        return;
      default:
        this.log.warn(`tray: unknown menu item ${JSON.stringify(id)}`);
    }
  }

  private savePrefs(patch: Partial<DesktopPrefs>): void {
    this.prefs = { ...this.prefs, ...patch };
    try {
      writeDesktopPrefs(this.store, patch);
    } catch (e) {
      this.log.error(`desktop preferences not saved: ${(e as Error).message}`);
    }
    this.refreshTray();
  }

  private applyLoginItem(): void {
    const plan = loginItemPlan(this.ports.app.platform, this.prefs);
    if (!plan.supported) return;
    try {
      this.ports.app.setLoginItem(plan.openAtLogin, plan.args);
    } catch (e) {
      this.log.warn(`start at login could not be set: ${(e as Error).message}`);
    }
  }

  // ---- the window -----------------------------------------------------------------------

  private createWindow(show: boolean): WindowPort {
    const window = this.ports.createWindow({ show });
    window.onClose((event) => this.windowClosing(event));
    window.onClosed(() => {
      if (this.window === window) this.window = null;
    });
    this.window = window;
    return window;
  }

  /** Opens the dashboard: creates the window if it was closed, restores and focuses it. */
  openDashboard(): void {
    let window = this.currentWindow;
    if (!window) window = this.createWindow(true);
    if (window.isMinimized()) window.restore();
    window.show();
    window.focus();
    this.ports.app.setDockVisible?.(true);
    if (this.relay) window.send(STATE_EVENT_CHANNEL, this.relay.actions.getState());
  }

  /** A second launch of the app (the single-instance lock sent it here): show the first one. */
  secondInstance(_argv: string[]): void {
    this.openDashboard();
  }

  private windowClosing(event: CloseEvent): void {
    if (this.quitting) return;
    // Closing the window is not quitting: the relay keeps relaying from the tray.
    event.preventDefault();
    this.window?.hide();
    this.ports.app.setDockVisible?.(false);
    if (!this.prefs.closeToTrayNoticeShown) {
      this.savePrefs({ closeToTrayNoticeShown: true });
      this.notices.notify({
        key: 'close-to-tray',
        title: 'Relay Agent is still running',
        body: 'It keeps relaying from the tray. Open the dashboard or quit from the tray icon’s menu.',
      });
    }
  }

  // ---- actions --------------------------------------------------------------------------

  /** The kill switch from the tray or the window: saved, and in force before this returns. */
  setKillSwitch(on: boolean, from: 'tray' | 'window' | 'hotkey'): ActionResult {
    let result: ActionResult;
    if (this.relay) {
      result = this.relay.actions.applyKillSwitch({ on });
      if (result.ok) this.log.warn(`kill switch ${on ? 'ON' : 'off'} (from the ${from})`);
      this.setPhase({ kind: 'running', state: this.relay.actions.getState() });
    } else {
      // No relay running (waiting for the sim, or failed to start): the saved switch is what the next start obeys.
      try {
        this.store.write({ ...this.store.read(), killSwitch: on });
        result = { ok: true };
      } catch (e) {
        result = failure(500, `the kill switch could not be saved: ${(e as Error).message}`);
      }
      this.refreshTray();
    }
    return result;
  }

  /**
   * The hotkey, pressed while the sim has focus: the kill switch toggles, and the tray icon and
   * a notice with a sound confirm it. The notice goes out at once, in a session too (the notice
   * queue waits for the end of a session; this cannot), and nothing takes the focus from the sim.
   */
  private hotkeyPressed(): void {
    const on = !this.savedKillSwitch();
    const result = this.setKillSwitch(on, 'hotkey');
    if (!this.ports.notifications.isSupported()) return;
    if (!result.ok) this.ports.notifications.show('Kill switch NOT changed', result.error, undefined, { sound: true });
    else if (on) this.ports.notifications.show('Kill switch ON', 'Every backend is cut off: no telemetry leaves this machine.', undefined, { sound: true });
    else this.ports.notifications.show('Kill switch off', 'The backends reconnect by themselves.', undefined, { sound: true });
  }

  private notRunning(): ActionFailure {
    return failure(503, statusLine(this.phase));
  }

  /** The report through the system's save dialog: the .html chosen, the .json beside it. */
  async saveReport(): Promise<SaveReportResult> {
    if (!this.relay) return this.notRunning();
    const report = await this.relay.actions.exportReport();
    if (!report.ok) return report;
    const base = safeFileBase(report.fileBase);
    const chosen = await this.ports.dialog.showSaveDialog({
      title: 'Save the parity report',
      defaultPath: path.join(this.options.reportDir, `${base}.html`),
      filters: [{ name: 'Parity report (HTML, with the JSON beside it)', extensions: ['html'] }],
    });
    if (chosen === null) return { ok: true, cancelled: true };
    const htmlFile = /\.html?$/i.test(chosen) ? chosen : `${chosen}.html`;
    const jsonFile = htmlFile.replace(/\.html?$/i, '.json');
    try {
      fs.writeFileSync(htmlFile, report.html);
      fs.writeFileSync(jsonFile, report.json);
    } catch (e) {
      return failure(500, `the report could not be written to ${path.dirname(htmlFile)}: ${(e as Error).message}`);
    }
    this.log.info(`parity report saved: ${htmlFile} and ${path.basename(jsonFile)}`);
    return { ok: true, files: [htmlFile, jsonFile] };
  }

  private bridgeBackend(): BridgeBackend {
    const relay = (): Relay => {
      if (!this.relay) throw new Error(statusLine(this.phase));
      return this.relay;
    };
    return {
      getState: () => relay().actions.getState(),
      getHistory: () => relay().actions.getHistory(),
      setKillSwitch: ({ on }) => this.setKillSwitch(on, 'window'),
      updateSettings: (update) => (this.relay ? this.relay.actions.updateSettings(update) : this.notRunning()),
      exportReport: () => (this.relay ? this.relay.actions.exportReport() : Promise.resolve(this.notRunning())),
      saveReport: () => this.saveReport(),
      cutover: (request) => (this.relay ? this.relay.actions.cutover(request) : this.notRunning()),
    };
  }

  /** Stops everything: the relay delivers what it can, the tray and window go, the app quits (installing a ready update). */
  async quit(): Promise<void> {
    if (this.quitting) return;
    this.quitting = true;
    clearInterval(this.ticker);
    this.hotkey?.dispose();
    this.simWatcher?.stop();
    this.stopRetryWatch();
    this.updates?.dispose();
    this.unregisterIpc();
    await this.relayTransition;
    const relay = this.relay;
    this.relay = null;
    if (relay) {
      await relay.stop({ endTimeoutMs: SIM_STOP_DRAIN_MS });
    }
    this.tray?.destroy();
    this.tray = null;
    this.window?.destroy();
    this.window = null;
    if (this.updates?.installOnQuitAllowed()) this.ports.updater?.quitAndInstall();
    else this.ports.app.quit();
  }
}

/**
 * The single-instance rule, before anything else starts: a second launch hands its
 * arguments to the first (which shows its window) and quits.
 */
export function claimSingleInstance(app: { requestSingleInstanceLock(): boolean; quit(): void }): boolean {
  if (app.requestSingleInstanceLock()) return true;
  app.quit();
  return false;
}
