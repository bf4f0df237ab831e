// The real desktop app under Playwright's Electron driver: the built main process, preload
// and dashboard, a real gateway on 127.0.0.1 and the real settings file. It needs the
// Electron binary, whose download is blocked on the build machines: there the whole suite
// is skipped with the reason in its title, and it runs wherever `npm ci` could fetch it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { _electron as electron, type ElectronApplication, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../../src-gateway/gateway';
import { MENU_IDS } from '../../src-main/desktop/tray-model';
import { PROJECT_DIR } from '../helpers/cli';
import { waitFor } from '../helpers/wait';
import { electronBinary, MISSING_BINARY_HELP } from '../../scripts/electron-binary';

const binaryPath = electronBinary();
const skipReason = binaryPath ? '' : `SKIPPED: ${MISSING_BINARY_HELP}`;

if (skipReason) console.warn(skipReason);

describe.skipIf(!binaryPath)(`desktop app in Electron${skipReason ? ` (${skipReason})` : ''}`, () => {
  let app: ElectronApplication;
  let page: Page;
  let gateway: Gateway;
  let dir: string;

  const settingsFile = () => JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;

  beforeAll(async () => {
    const { buildDesktop } = await import('../../scripts/build-desktop');
    await buildDesktop();
    gateway = await startGateway({ name: 'e2e', port: 0 });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-electron-'));
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ backends: [{ url: gateway.url, enabled: true }], mode: 'parallel' }), { mode: 0o600 });
    app = await electron.launch({
      executablePath: binaryPath as string,
      // Root in a container has no user namespaces for Chromium's sandbox; the renderer's own sandbox setting is unchanged.
      args: [...(process.getuid?.() === 0 ? ['--no-sandbox'] : []), PROJECT_DIR, '--config-dir', dir, '--source', 'synthetic'],
      env: { ...process.env, RELAY_DEBUG_PORT: '0', RELAY_AGENT_E2E: '1' } as Record<string, string>,
      timeout: 60_000,
    });
    page = await app.firstWindow();
    await page.getByTestId('kill-switch').waitFor({ timeout: 30_000 });
  }, 180_000);

  afterAll(async () => {
    await app?.close();
    await gateway?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('loads the dashboard from app:// with the preload bridge and no Node in the page', async () => {
    expect(page.url()).toBe('app://dashboard/index.html');
    expect(await page.evaluate(() => typeof (globalThis as unknown as { relayBridge?: unknown }).relayBridge)).toBe('object');
    expect(await page.evaluate(() => typeof (globalThis as unknown as { require?: unknown }).require)).toBe('undefined');
    expect(await page.evaluate(() => typeof (globalThis as unknown as { process?: unknown }).process)).toBe('undefined');
    await waitFor('the gateway to see the relay', () => gateway.connections() > 0, 20_000);
  });

  it('toggles the kill switch from the window, and from the tray menu handler', async () => {
    await page.getByTestId('kill-switch').click();
    await waitFor('the kill switch saved', () => settingsFile().killSwitch === true, 10_000);
    await waitFor('every backend cut off', () => gateway.connections() === 0, 10_000);
    await page.getByTestId('kill-banner').waitFor({ timeout: 10_000 });

    await app.evaluate(async (_electron, id) => {
      const desktop = (globalThis as unknown as { relayDesktop: { menuClick(id: string): Promise<void> } }).relayDesktop;
      await desktop.menuClick(id);
    }, MENU_IDS.killSwitch);
    await waitFor('the kill switch off from the tray', () => settingsFile().killSwitch === false, 10_000);
    await waitFor('reconnected', () => gateway.connections() > 0, 20_000);
  });

  it('exports the parity report through the save dialog', async () => {
    const target = path.join(dir, 'report.html');
    await app.evaluate(({ dialog }, file) => {
      dialog.showSaveDialog = (async () => ({ canceled: false, filePath: file })) as typeof dialog.showSaveDialog;
    }, target);
    await page.getByTestId('export-report').click();
    await waitFor('the report files', () => fs.existsSync(target) && fs.existsSync(path.join(dir, 'report.json')), 20_000);
    expect(fs.readFileSync(target, 'utf8')).toMatch(/<html/i);
    await page.getByTestId('export-done').waitFor({ timeout: 10_000 });
  });
});
