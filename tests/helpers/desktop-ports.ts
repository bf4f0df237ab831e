// Recording stand-ins for the Electron side of the desktop app's ports. The Electron binary
// cannot run here; everything behind these ports is a thin translation (src-main/shell/),
// while every decision (what the tray shows, who may call over IPC, when a notice or an
// update may appear) runs for real in src-main/desktop/.
import type { TrayIconState } from '../../src-shared/desktop';
import type {
  AppPort,
  CloseEvent,
  DialogPort,
  HotkeyPort,
  IpcHandler,
  IpcPort,
  IpcSender,
  MenuItemModel,
  NotificationPort,
  SimProbe,
  SaveDialogOptions,
  TrayPort,
  UpdaterEvent,
  UpdaterPort,
  WindowOptions,
  WindowPort,
} from '../../src-main/desktop/ports';
import { APP_INDEX_URL } from '../../src-shared/desktop';

/** One timeline of everything the app did to its ports, to check the order of things. */
export type PortEvent = { at: number; what: string };

export class Recorder {
  readonly events: PortEvent[] = [];
  private seq = 0;
  add(what: string): void {
    this.events.push({ at: this.seq++, what });
  }
  index(what: string | RegExp): number {
    return this.events.findIndex((e) => (typeof what === 'string' ? e.what === what : what.test(e.what)));
  }
}

export class FakeTray implements TrayPort {
  icons: TrayIconState[] = [];
  toolTip = '';
  menu: MenuItemModel[] = [];
  destroyed = false;
  private onClick: (id: string) => void = () => {};
  private activate: () => void = () => {};
  constructor(private readonly recorder: Recorder) {}
  setIcon(state: TrayIconState): void {
    this.icons.push(state);
    this.recorder.add(`tray icon ${state}`);
  }
  setToolTip(text: string): void {
    this.toolTip = text;
  }
  setMenu(items: MenuItemModel[], onClick: (id: string) => void): void {
    this.menu = items;
    this.onClick = onClick;
  }
  onActivate(handler: () => void): void {
    this.activate = handler;
  }
  destroy(): void {
    this.destroyed = true;
  }
  get icon(): TrayIconState | undefined {
    return this.icons.at(-1);
  }
  /** A clickable item, inside a submenu too. */
  item(id: string): Extract<MenuItemModel, { type: 'normal' | 'checkbox' }> | undefined {
    const find = (items: MenuItemModel[]): Extract<MenuItemModel, { type: 'normal' | 'checkbox' }> | undefined => {
      for (const i of items) {
        if (i.type === 'submenu') {
          const inner = find(i.items);
          if (inner) return inner;
        } else if (i.type !== 'separator' && i.id === id) return i;
      }
      return undefined;
    };
    return find(this.menu);
  }

  submenu(id: string): Extract<MenuItemModel, { type: 'submenu' }> | undefined {
    return this.menu.find((i): i is Extract<MenuItemModel, { type: 'submenu' }> => i.type === 'submenu' && i.id === id);
  }
  /** Clicks a menu item the way Electron's Menu would (the handler runs; a promise it starts is returned). */
  click(id: string): void {
    const item = this.item(id);
    if (!item) throw new Error(`no tray menu item ${id}; the menu has ${this.menu.map((i) => (i.type === 'separator' ? '-' : i.id)).join(', ')}`);
    if (item.enabled === false) throw new Error(`tray menu item ${id} is disabled`);
    this.onClick(id);
  }
  clickIcon(): void {
    this.activate();
  }
}

let nextWebContentsId = 100;

export class FakeWindow implements WindowPort {
  readonly webContentsId = nextWebContentsId++;
  visible: boolean;
  minimized = false;
  destroyed = false;
  focused = 0;
  sent: { channel: string; payload: unknown }[] = [];
  private closeHandlers: ((e: CloseEvent) => void)[] = [];
  private closedHandlers: (() => void)[] = [];
  constructor(
    readonly options: WindowOptions,
    private readonly recorder: Recorder,
  ) {
    this.visible = options.show;
    recorder.add(`window created ${options.show ? 'shown' : 'hidden'}`);
  }
  show(): void {
    this.visible = true;
  }
  hide(): void {
    this.visible = false;
  }
  focus(): void {
    this.focused++;
  }
  restore(): void {
    this.minimized = false;
  }
  isVisible(): boolean {
    return this.visible && !this.destroyed;
  }
  isMinimized(): boolean {
    return this.minimized;
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
  send(channel: string, payload: unknown): void {
    if (!this.destroyed) this.sent.push({ channel, payload });
  }
  onClose(handler: (e: CloseEvent) => void): void {
    this.closeHandlers.push(handler);
  }
  onClosed(handler: () => void): void {
    this.closedHandlers.push(handler);
  }
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const h of this.closedHandlers) h();
  }
  /** The user clicks the window's close button: the app may prevent it. Returns true when the window really closed. */
  userClose(): boolean {
    let prevented = false;
    for (const h of this.closeHandlers) h({ preventDefault: () => (prevented = true) });
    if (!prevented) this.destroy();
    return !prevented;
  }
  /** The dashboard's main frame in this window, as Electron would describe it to an IPC handler. */
  sender(overrides: Partial<IpcSender> = {}): IpcSender {
    return { webContentsId: this.webContentsId, frameUrl: APP_INDEX_URL, isMainFrame: true, ...overrides };
  }
}

export class FakeIpc implements IpcPort {
  readonly handlers = new Map<string, IpcHandler>();
  handle(channel: string, handler: IpcHandler): void {
    if (this.handlers.has(channel)) throw new Error(`second handler for ${channel}`);
    this.handlers.set(channel, handler);
  }
  removeHandler(channel: string): void {
    this.handlers.delete(channel);
  }
  /** What ipcRenderer.invoke would resolve to (or reject with). */
  async invoke(channel: string, sender: IpcSender, arg?: unknown): Promise<unknown> {
    const handler = this.handlers.get(channel);
    if (!handler) throw new Error(`No handler registered for '${channel}'`);
    return handler(sender, arg);
  }
}

export class FakeDialog implements DialogPort {
  asked: SaveDialogOptions[] = [];
  constructor(public answer: string | null = null) {}
  async showSaveDialog(options: SaveDialogOptions): Promise<string | null> {
    this.asked.push(options);
    return this.answer;
  }
}

/** The system's notifications: every notice shown is kept with its click handler and whether it sounded. */
export class FakeNotifications implements NotificationPort {
  shown: { title: string; body: string; onClick?: () => void; sound?: boolean }[] = [];
  constructor(public supported = true) {}
  isSupported(): boolean {
    return this.supported;
  }
  show(title: string, body: string, onClick?: () => void, options?: { sound?: boolean }): void {
    this.shown.push({ title, body, ...(onClick ? { onClick } : {}), ...(options?.sound ? { sound: true } : {}) });
  }
}

/** Global shortcuts as the system would hold them: one owner per accelerator; `taken` ones belong to other programs. */
export class FakeHotkeys implements HotkeyPort {
  readonly handlers = new Map<string, () => void>();
  readonly taken = new Set<string>();
  register(accelerator: string, handler: () => void): boolean {
    if (this.taken.has(accelerator) || this.handlers.has(accelerator)) return false;
    this.handlers.set(accelerator, handler);
    return true;
  }
  unregister(accelerator: string): void {
    this.handlers.delete(accelerator);
  }
  /** The person presses the keys, wherever the focus is. */
  press(accelerator: string): void {
    const handler = this.handlers.get(accelerator);
    if (!handler) throw new Error(`no handler registered for ${accelerator}; registered: ${[...this.handlers.keys()].join(', ') || 'none'}`);
    handler();
  }
}

export class FakeApp implements AppPort {
  loginItems: { openAtLogin: boolean; args: string[] }[] = [];
  quits = 0;
  dock: boolean[] = [];
  locked = true;
  openedAtLogin = false;
  constructor(readonly platform: NodeJS.Platform = 'linux') {}
  setLoginItem(openAtLogin: boolean, args: string[]): void {
    this.loginItems.push({ openAtLogin, args });
  }
  getLoginItem(): { openAtLogin: boolean } {
    return { openAtLogin: this.loginItems.at(-1)?.openAtLogin ?? false };
  }
  quit(): void {
    this.quits++;
  }
  wasOpenedAtLogin(): boolean {
    return this.openedAtLogin;
  }
  setDockVisible(visible: boolean): void {
    this.dock.push(visible);
  }
  requestSingleInstanceLock(): boolean {
    return this.locked;
  }
}

/**
 * The sim's SDK probe: the next of `answers` if any (a value, an error to reject with, or a
 * promise the test settles later), else `running`.
 */
export class FakeSimProbe implements SimProbe {
  running = false;
  calls = 0;
  answers: (boolean | Error | Promise<boolean>)[] = [];
  isRunning(): Promise<boolean> {
    this.calls++;
    const next = this.answers.length > 0 ? this.answers.shift() : this.running;
    if (next instanceof Error) return Promise.reject(next);
    return Promise.resolve(next as boolean | Promise<boolean>);
  }
}

/**
 * electron-updater as the update gate sees it. By default it answers as electron-updater
 * does: a check emits 'available' with `nextVersion` ('not-available' when that is null) and a
 * download emits 'downloaded'. With `answers: 'by-the-test'` a call only counts, and the test
 * emits the answer itself when it chooses, as a slow update server would. checkImpl and
 * downloadImpl replace one call's behaviour.
 */
export class FakeUpdater implements UpdaterPort {
  checks = 0;
  downloads = 0;
  installs = 0;
  nextVersion: string | null = '1.2.0';
  /** The version the last 'available' named: what a download fetches. */
  found: string | null = null;
  checkImpl: () => Promise<void>;
  downloadImpl: () => Promise<void>;
  private handler: ((event: UpdaterEvent) => void) | null = null;

  constructor(answers: 'at-once' | 'by-the-test' = 'at-once') {
    const silent = async () => undefined;
    this.checkImpl =
      answers === 'at-once' ? async () => this.emit(this.nextVersion === null ? { kind: 'not-available' } : { kind: 'available', version: this.nextVersion }) : silent;
    this.downloadImpl = answers === 'at-once' ? async () => this.emit({ kind: 'downloaded', version: this.found ?? '?' }) : silent;
  }

  check(): Promise<void> {
    this.checks += 1;
    return this.checkImpl();
  }
  download(): Promise<void> {
    this.downloads += 1;
    return this.downloadImpl();
  }
  quitAndInstall(): void {
    this.installs += 1;
  }
  onEvent(handler: (event: UpdaterEvent) => void): void {
    this.handler = handler;
  }
  emit(event: UpdaterEvent): void {
    if (event.kind === 'available') this.found = event.version;
    this.handler?.(event);
  }
}
