// Electron behind the desktop app's ports (src-main/desktop/ports.ts). Each adapter only
// translates: every decision is made in src-main/desktop/, where it is tested.
import fs from 'node:fs';
import path from 'node:path';
import {
  app,
  BrowserWindow,
  dialog,
  globalShortcut,
  ipcMain,
  Menu,
  nativeImage,
  Notification,
  safeStorage,
  Tray,
  type MenuItemConstructorOptions,
  type NativeImage,
} from 'electron';
import electronUpdater from 'electron-updater';
import { APP_INDEX_URL, type TrayIconState } from '../../src-shared/desktop';
import { APP_ICON_FILES, trayIconFiles } from '../desktop/icons';
import type { AppPort, DialogPort, HotkeyPort, IpcPort, MenuItemModel, NotificationPort, TokenVault, TrayPort, UpdaterPort, WindowFactory, WindowPort } from '../desktop/ports';

/** The icons ship inside the app archive; Electron reads files from an asar transparently. */
export function assetPath(name: string): string {
  return path.join(app.getAppPath(), 'assets', name);
}

function trayImage(state: TrayIconState): NativeImage {
  const image = nativeImage.createFromPath(assetPath(trayIconFiles(process.platform, state)));
  if (process.platform === 'darwin') image.setTemplateImage(true);
  return image;
}

function toMenuItem(item: MenuItemModel, onClick: (id: string) => void): MenuItemConstructorOptions {
  if (item.type === 'separator') return { type: 'separator' };
  if (item.type === 'submenu') return { id: item.id, label: item.label, submenu: item.items.map((i) => toMenuItem(i, onClick)) };
  return {
    type: item.type,
    id: item.id,
    label: item.label,
    ...(item.checked !== undefined ? { checked: item.checked } : {}),
    ...(item.enabled !== undefined ? { enabled: item.enabled } : {}),
    ...(item.toolTip ? { toolTip: item.toolTip } : {}),
    click: () => onClick(item.id),
  };
}

export function createTray(): TrayPort {
  const tray = new Tray(trayImage('normal'));
  return {
    setIcon: (state) => tray.setImage(trayImage(state)),
    setToolTip: (text) => tray.setToolTip(text),
    setMenu: (items, onClick) => tray.setContextMenu(Menu.buildFromTemplate(items.map((i) => toMenuItem(i, onClick)))),
    onActivate(handler) {
      tray.on('click', handler);
      tray.on('double-click', handler);
    },
    destroy: () => tray.destroy(),
  };
}

export function windowFactory(preloadPath: string): WindowFactory {
  return ({ show }) => {
    const win = new BrowserWindow({
      show,
      width: 1280,
      height: 860,
      minWidth: 720,
      minHeight: 480,
      title: 'Relay Agent',
      backgroundColor: '#0f1115',
      autoHideMenuBar: true,
      ...(process.platform === 'linux' ? { icon: assetPath(APP_ICON_FILES.png) } : {}),
      webPreferences: {
        preload: preloadPath,
        contextIsolation: true,
        sandbox: true,
        nodeIntegration: false,
        nodeIntegrationInWorker: false,
        nodeIntegrationInSubFrames: false,
        webSecurity: true,
        allowRunningInsecureContent: false,
        experimentalFeatures: false,
        webviewTag: false,
        navigateOnDragDrop: false,
        spellcheck: false,
        safeDialogs: true,
        // Middle-click would open a new window: refused anyway, and not even attempted.
        disableBlinkFeatures: 'Auxclick',
        devTools: !app.isPackaged,
      },
    });
    void win.loadURL(APP_INDEX_URL);
    const port: WindowPort = {
      webContentsId: win.webContents.id,
      show: () => win.show(),
      hide: () => win.hide(),
      focus: () => win.focus(),
      restore: () => win.restore(),
      isVisible: () => !win.isDestroyed() && win.isVisible(),
      isMinimized: () => !win.isDestroyed() && win.isMinimized(),
      isDestroyed: () => win.isDestroyed(),
      send(channel, payload) {
        if (!win.isDestroyed() && !win.webContents.isDestroyed()) win.webContents.send(channel, payload);
      },
      onClose: (handler) => win.on('close', (event) => handler(event)),
      onClosed: (handler) => win.on('closed', handler),
      destroy: () => {
        if (!win.isDestroyed()) win.destroy();
      },
    };
    return port;
  };
}

export const ipcPort: IpcPort = {
  handle(channel, handler) {
    ipcMain.handle(channel, (event, arg: unknown) =>
      handler(
        {
          webContentsId: event.sender.id,
          frameUrl: event.senderFrame?.url ?? null,
          // A frame without a parent is the page itself, not an iframe inside it.
          isMainFrame: event.senderFrame !== null && event.senderFrame.parent === null,
        },
        arg,
      ),
    );
  },
  removeHandler: (channel) => ipcMain.removeHandler(channel),
};

export const dialogPort: DialogPort = {
  async showSaveDialog(options) {
    const parent = BrowserWindow.getFocusedWindow();
    const result = parent ? await dialog.showSaveDialog(parent, options) : await dialog.showSaveDialog(options);
    return result.canceled || !result.filePath ? null : result.filePath;
  },
};

export const notificationPort: NotificationPort = {
  isSupported: () => Notification.isSupported(),
  show(title, body, onClick, options) {
    const n = new Notification({ title, body, silent: options?.sound !== true });
    if (onClick) n.on('click', onClick);
    n.show();
  },
};

export const hotkeyPort: HotkeyPort = {
  register: (accelerator, handler) => {
    try {
      return globalShortcut.register(accelerator, handler);
    } catch {
      // Electron throws on an accelerator it cannot parse: the same answer as one that is taken.
      return false;
    }
  },
  unregister: (accelerator) => globalShortcut.unregister(accelerator),
};

export const appPort: AppPort = {
  platform: process.platform,
  setLoginItem: (openAtLogin, args) => app.setLoginItemSettings({ openAtLogin, args }),
  getLoginItem: (args) => ({ openAtLogin: app.getLoginItemSettings({ args }).openAtLogin }),
  quit: () => app.quit(),
  wasOpenedAtLogin: () => process.platform === 'darwin' && app.getLoginItemSettings().wasOpenedAtLogin === true,
  setDockVisible(visible) {
    if (process.platform !== 'darwin' || !app.dock) return;
    if (visible) void app.dock.show();
    else app.dock.hide();
  },
};

/** safeStorage: the OS keychain (DPAPI on Windows, Keychain on macOS, libsecret/kwallet on Linux). */
export const safeStorageVault: TokenVault = {
  available() {
    if (!safeStorage.isEncryptionAvailable()) return { ok: false, reason: 'this system offers no encryption for stored secrets' };
    if (process.platform === 'linux' && safeStorage.getSelectedStorageBackend() === 'basic_text') {
      return { ok: false, reason: 'no keyring (GNOME libsecret or KWallet) is running, and Electron would fall back to a fixed, well-known key' };
    }
    return { ok: true };
  },
  seal: (plain) => safeStorage.encryptString(plain).toString('base64'),
  open: (sealed) => safeStorage.decryptString(Buffer.from(sealed, 'base64')),
};

/** electron-updater with every automatic step off: the update gate decides when to check, download and install. */
export function createUpdater(): UpdaterPort {
  const { autoUpdater } = electronUpdater;
  autoUpdater.autoDownload = false;
  autoUpdater.autoInstallOnAppQuit = false;
  autoUpdater.allowPrerelease = false;
  autoUpdater.logger = null;
  return {
    check: async () => {
      await autoUpdater.checkForUpdates();
    },
    download: async () => {
      await autoUpdater.downloadUpdate();
    },
    quitAndInstall: () => autoUpdater.quitAndInstall(true, true),
    onEvent(handler) {
      autoUpdater.on('update-available', (info) => handler({ kind: 'available', version: info.version }));
      autoUpdater.on('update-not-available', () => handler({ kind: 'not-available' }));
      autoUpdater.on('update-downloaded', (info) => handler({ kind: 'downloaded', version: info.version }));
      autoUpdater.on('error', (e) => handler({ kind: 'error', message: e.message }));
    },
  };
}

/** Packaged builds read the update feed electron-builder wrote; a development run has none. */
export function updatesConfigured(): boolean {
  return app.isPackaged && fs.existsSync(path.join(process.resourcesPath, 'app-update.yml'));
}
