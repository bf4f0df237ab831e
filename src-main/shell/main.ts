// The Electron main process: the thin edge. It claims the single-instance lock, locks the
// session down (app:// pages only, no navigation, no new windows, no permissions), builds
// the ports from Electron and hands over to DesktopApp, which holds every decision.
import path from 'node:path';
import { app, protocol, session, shell, type WebContents } from 'electron';
import ElectronStore from 'electron-store';
import { APP_SCHEME } from '../../src-shared/desktop';
import { answerAppRequest } from '../desktop/app-protocol';
import { claimSingleInstance, DesktopApp } from '../desktop/desktop-app';
import { parseLaunchArgs } from '../desktop/launch';
import { sdkSimProbeFor } from '../sources/iracing/sim-probe';
import { mayGrantPermission, mayNavigate, windowOpenDecision } from '../desktop/window-policy';
import { createLogger } from '../log/logger';
import { defaultConfigDir } from '../settings/settings-store';
import { parseSourceSpec } from '../sources/source-spec';
import { appPort, createTray, createUpdater, dialogPort, hotkeyPort, ipcPort, notificationPort, safeStorageVault, updatesConfigured, windowFactory } from './adapters';

const log = createLogger();
const launch = parseLaunchArgs(process.argv.slice(1));
// One folder for the settings file, the logs and Electron's own data, shared with the headless relay.
const configDir = path.resolve(launch.configDir ?? defaultConfigDir(process.env));
app.setPath('userData', configDir);

// Must precede 'ready': the dashboard's scheme behaves like https (a secure, standard origin),
// so Vite's module scripts (fetched in CORS mode, same origin) load from it. The CSP still
// refuses any fetch from the page.
protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, corsEnabled: true, stream: true } }]);

function lockDown(contents: WebContents): void {
  const refuseNavigation = (event: { preventDefault(): void }, url: string) => {
    if (mayNavigate(url)) return;
    event.preventDefault();
    log.warn(`navigation to ${url} refused: the window shows the app's own dashboard only`);
  };
  contents.on('will-navigate', refuseNavigation);
  contents.on('will-redirect', refuseNavigation);
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(({ url }) => {
    if (windowOpenDecision(url).openExternal) void shell.openExternal(url);
    else log.warn(`new window for ${url} refused`);
    return { action: 'deny' };
  });
}

async function main(): Promise<void> {
  // Windows shows a notification only for an app with an identity: the installer's appId.
  if (process.platform === 'win32') app.setAppUserModelId('com.relayagent.app');
  await app.whenReady();
  const appRoot = app.getAppPath();
  const dashboardRoot = path.join(appRoot, 'dist', 'renderer');
  session.defaultSession.setPermissionRequestHandler((_contents, permission, callback) => callback(mayGrantPermission(permission)));
  session.defaultSession.setPermissionCheckHandler((_contents, permission) => mayGrantPermission(permission));
  protocol.handle(APP_SCHEME, async (request) => {
    const answer = answerAppRequest(dashboardRoot, request.url, request.method);
    if (!('file' in answer)) return new Response(answer.body, { status: answer.status, headers: answer.headers });
    const { readFile } = await import('node:fs/promises');
    return new Response(request.method === 'HEAD' ? null : await readFile(answer.file), { status: 200, headers: answer.headers });
  });
  app.on('web-contents-created', (_event, contents) => lockDown(contents));

  const desktop = await DesktopApp.start(
    {
      app: appPort,
      createTray,
      createWindow: windowFactory(path.join(appRoot, 'dist', 'preload', 'preload.cjs')),
      ipc: ipcPort,
      dialog: dialogPort,
      notifications: notificationPort,
      hotkeys: hotkeyPort,
      updater: updatesConfigured() ? createUpdater() : null,
      vault: safeStorageVault,
      simProbe: sdkSimProbeFor(),
      storeBacking: (options) => new ElectronStore(options as ConstructorParameters<typeof ElectronStore>[0]),
    },
    {
      configDir,
      argv: process.argv.slice(1),
      dashboardRoot,
      reportDir: app.getPath('documents'),
      env: process.env,
      isPackaged: app.isPackaged,
      log,
      // Live telemetry where iRacing runs; elsewhere the synthetic source, which says what it is in the dashboard.
      sourceFor: (spec) => parseSourceSpec(spec ?? (process.platform === 'win32' ? 'iracing' : 'synthetic'), undefined, false),
    },
  );
  app.on('second-instance', (_event, argv) => desktop.secondInstance(argv));
  // The Playwright test drives the tray menu's handler through this; a packaged app never exposes it.
  if (!app.isPackaged && process.env.RELAY_AGENT_E2E === '1') (globalThis as { relayDesktop?: DesktopApp }).relayDesktop = desktop;
  // A tray app: closing the last window does not quit.
  app.on('window-all-closed', () => {});
  // Quit from the OS (logout, Cmd+Q): stop the relay cleanly first.
  app.on('before-quit', (event) => {
    if (desktop.isQuitting) return;
    event.preventDefault();
    void desktop.quit();
  });
}

if (claimSingleInstance(app)) {
  main().catch((e: unknown) => {
    log.error(`Relay Agent could not start: ${(e as Error).stack ?? String(e)}`);
    app.exit(1);
  });
}
