// The narrow interfaces between the desktop app's logic and Electron. src-main/shell/
// implements them with Electron's tray, windows, IPC, dialogs and safeStorage; the tests
// implement them with plain objects, so every decision here runs without the binary.
import type { TrayIconState } from '../../src-shared/desktop';

export type MenuItemModel =
  | { type: 'separator' }
  | { type: 'submenu'; id: string; label: string; items: MenuItemModel[] }
  | {
      type: 'normal' | 'checkbox';
      /** Stable id the click comes back with. */
      id: string;
      label: string;
      checked?: boolean;
      enabled?: boolean;
      /** Shown but greyed: e.g. a status line. */
      toolTip?: string;
    };

export interface TrayPort {
  setIcon(state: TrayIconState): void;
  setToolTip(text: string): void;
  /** Replaces the context menu; a click calls onClick with the item's id. */
  setMenu(items: MenuItemModel[], onClick: (id: string) => void): void;
  /** A left click (Windows, Linux) or double click: open the dashboard. */
  onActivate(handler: () => void): void;
  destroy(): void;
}

export interface CloseEvent {
  preventDefault(): void;
}

export interface WindowPort {
  /** The webContents id IPC senders are checked against. */
  readonly webContentsId: number;
  show(): void;
  hide(): void;
  focus(): void;
  restore(): void;
  isVisible(): boolean;
  isMinimized(): boolean;
  isDestroyed(): boolean;
  /** Pushes an event to the renderer (ignored once the window is gone). */
  send(channel: string, payload: unknown): void;
  onClose(handler: (event: CloseEvent) => void): void;
  onClosed(handler: () => void): void;
  destroy(): void;
}

export interface WindowOptions {
  /** False: created unshown, so a launch into the tray never flashes a window. */
  show: boolean;
}

export type WindowFactory = (options: WindowOptions) => WindowPort;

/** Who sent an IPC message: checked on every handler before anything runs. */
export interface IpcSender {
  webContentsId: number;
  /** The URL of the frame that sent it; null when the frame is gone. */
  frameUrl: string | null;
  isMainFrame: boolean;
}

export type IpcHandler = (sender: IpcSender, arg: unknown) => unknown;

export interface IpcPort {
  handle(channel: string, handler: IpcHandler): void;
  removeHandler(channel: string): void;
}

export interface SaveDialogOptions {
  title: string;
  defaultPath: string;
  filters: { name: string; extensions: string[] }[];
}

export interface DialogPort {
  /** The chosen path, or null when cancelled. */
  showSaveDialog(options: SaveDialogOptions): Promise<string | null>;
}

export interface NotificationPort {
  isSupported(): boolean;
  /** A notice never takes the focus; with `sound`, the system plays its notification sound (silent otherwise). */
  show(title: string, body: string, onClick?: () => void, options?: { sound?: boolean }): void;
}

/** Global shortcuts (Electron's globalShortcut): they fire while another program, the sim, has focus. */
export interface HotkeyPort {
  /** False when the system or another program holds the accelerator already. */
  register(accelerator: string, handler: () => void): boolean;
  unregister(accelerator: string): void;
}

export interface LoginItemState {
  openAtLogin: boolean;
}

export interface AppPort {
  readonly platform: NodeJS.Platform;
  /** Login items exist on Windows and macOS only (Linux desktops use autostart files). */
  setLoginItem(openAtLogin: boolean, args: string[]): void;
  getLoginItem(args: string[]): LoginItemState;
  quit(): void;
  /** macOS ignores login-item arguments: this says the app was launched as a login item (so it starts hidden). */
  wasOpenedAtLogin?(): boolean;
  /** macOS: hide the Dock icon while no window shows, so the app is a tray app. */
  setDockVisible?(visible: boolean): void;
}

// The vault is the settings store's port (it seals the tokens it writes); the shell's
// safeStorage adapter implements it beside the other ports.
export type { TokenVault } from '../settings/settings-store';

/**
 * Tells whether iRacing runs, by what its SDK offers (its memory map): used to wait for the
 * sim. A rejection means "cannot tell", never "not running".
 */
export interface SimProbe {
  isRunning(): Promise<boolean>;
}

export type UpdaterEvent =
  | { kind: 'available'; version: string }
  | { kind: 'not-available' }
  | { kind: 'downloaded'; version: string }
  | { kind: 'error'; message: string };

/** electron-updater behind the calls the update gate makes; nothing downloads or installs by itself. */
export interface UpdaterPort {
  check(): Promise<void>;
  download(): Promise<void>;
  /** Quits and installs the downloaded update. */
  quitAndInstall(): void;
  onEvent(handler: (event: UpdaterEvent) => void): void;
}
