// The desktop window's security decisions and the tray's model, as plain functions: who may
// call over IPC, where the page may go, what app:// serves (and with which CSP), which
// links open outside, and what the tray shows for each relay state.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_DESKTOP_PREFS, DESKTOP_CSP, isAllowedExternalUrl, parseDesktopPrefs } from '../src-shared/desktop';
import type { DashboardState } from '../src-shared/bridge';
import { answerAppRequest } from '../src-main/desktop/app-protocol';
import { isTrustedSender, mayGrantPermission, mayNavigate, windowOpenDecision } from '../src-main/desktop/window-policy';
import { buildTrayMenu, MENU_IDS, statusLine, trayIconState, trayToolTip, type RelayPhase } from '../src-main/desktop/tray-model';

let root: string;
let outside: string;

beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-app-protocol-'));
  fs.writeFileSync(path.join(root, 'index.html'), '<!doctype html><title>t</title>');
  fs.mkdirSync(path.join(root, 'assets'));
  fs.writeFileSync(path.join(root, 'assets', 'app.js'), 'console.log(1)');
  outside = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-outside-'));
  fs.writeFileSync(path.join(outside, 'secret.txt'), 'secret');
  fs.symlinkSync(path.join(outside, 'secret.txt'), path.join(root, 'assets', 'link.txt'));
});

afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true });
  fs.rmSync(outside, { recursive: true, force: true });
});

describe('app:// protocol', () => {
  it('serves the dashboard files with the strict CSP on HTML', () => {
    const index = answerAppRequest(root, 'app://dashboard/index.html', 'GET');
    expect(index.status).toBe(200);
    expect('file' in index && index.file).toBe(path.join(root, 'index.html'));
    expect(index.headers['content-security-policy']).toBe(DESKTOP_CSP);
    expect(index.headers['x-content-type-options']).toBe('nosniff');
    const slash = answerAppRequest(root, 'app://dashboard/', 'GET');
    expect('file' in slash && slash.file).toBe(path.join(root, 'index.html'));
    const js = answerAppRequest(root, 'app://dashboard/assets/app.js', 'GET');
    expect(js.headers['content-type']).toMatch(/javascript/);
    expect(js.headers['content-security-policy']).toBeUndefined();
  });

  it('refuses other hosts and schemes, other methods, traversal, symbolic links out and missing files', () => {
    expect(answerAppRequest(root, 'app://elsewhere/index.html', 'GET').status).toBe(403);
    expect(answerAppRequest(root, 'https://dashboard/index.html', 'GET').status).toBe(403);
    expect(answerAppRequest(root, 'app://dashboard/index.html', 'POST').status).toBe(405);
    for (const p of ['/../secret.txt', '/%2e%2e/%2e%2e/etc/passwd', '/..%2f..%2fetc%2fpasswd', '/assets/link.txt', '/nope.js', '/%00index.html', '/%E0%A4%A']) {
      const answer = answerAppRequest(root, `app://dashboard${p}`, 'GET');
      expect(answer.status, p).toBe(404);
      expect('body' in answer && answer.body).toMatch(/no such file/);
    }
    expect(answerAppRequest(root, 'not a url', 'GET').status).toBe(400);
  });

  it('the window CSP allows nothing remote: no inline code, no network, no frames', () => {
    expect(DESKTOP_CSP).toContain("default-src 'none'");
    expect(DESKTOP_CSP).toContain("script-src 'self'");
    expect(DESKTOP_CSP).toContain("connect-src 'none'");
    expect(DESKTOP_CSP).toContain("frame-ancestors 'none'");
    expect(DESKTOP_CSP).not.toMatch(/unsafe-(inline|eval)|https?:|\*/);
  });
});

describe('window policy', () => {
  const windowId = 7;
  const good = { webContentsId: windowId, frameUrl: 'app://dashboard/index.html', isMainFrame: true };

  it('trusts only the dashboard main frame of the app window', () => {
    expect(isTrustedSender(good, windowId)).toBe(true);
    expect(isTrustedSender(good, null)).toBe(false);
    expect(isTrustedSender({ ...good, webContentsId: 8 }, windowId)).toBe(false);
    expect(isTrustedSender({ ...good, isMainFrame: false }, windowId)).toBe(false);
    for (const frameUrl of [null, 'https://dashboard/index.html', 'app://evil/index.html', 'file:///app/index.html', 'app://user:pw@dashboard/', 'about:blank', 'devtools://devtools/']) {
      expect(isTrustedSender({ ...good, frameUrl }, windowId), String(frameUrl)).toBe(false);
    }
  });

  it('navigation stays in the app; new windows never open; only allow-listed https links go to the browser; no permission is granted', () => {
    expect(mayNavigate('app://dashboard/index.html#secret')).toBe(true);
    for (const url of ['https://example.com/', 'file:///etc/passwd', 'http://127.0.0.1:8765/', 'javascript:alert(1)', 'app://other/']) expect(mayNavigate(url), url).toBe(false);
    expect(windowOpenDecision('https://github.com/relay-agent/relay-agent/issues').openExternal).toBe(true);
    expect(windowOpenDecision('https://www.iracing.com/').openExternal).toBe(true);
    for (const url of ['http://github.com/relay-agent/relay-agent', 'https://github.com/relay-agent/relay-agent-evil', 'https://github.com.evil.example/relay-agent/relay-agent', 'https://user@github.com/relay-agent/relay-agent', 'file:///C:/Windows/system32/calc.exe', 'smb://host/share', 'not a url']) {
      expect(isAllowedExternalUrl(url), url).toBe(false);
    }
    for (const permission of ['media', 'notifications', 'clipboard-read', 'geolocation', 'openExternal', 'fullscreen']) expect(mayGrantPermission(permission)).toBe(false);
  });
});

describe('desktop preferences', () => {
  it('takes defaults for what is missing and explains each bad field without failing', () => {
    expect(parseDesktopPrefs(undefined)).toEqual({ prefs: DEFAULT_DESKTOP_PREFS, problems: [] });
    const { prefs, problems } = parseDesktopPrefs({ startHidden: true, updates: 'sometimes', launchAtLogin: 'yes', colour: 'red' });
    expect(prefs).toEqual({ ...DEFAULT_DESKTOP_PREFS, startHidden: true });
    expect(problems).toHaveLength(3);
    expect(problems.join('\n')).toMatch(/desktop\.updates: "sometimes" is not valid/);
    expect(problems.join('\n')).toMatch(/desktop\.colour: not a desktop preference/);
    expect(parseDesktopPrefs([1]).problems[0]).toMatch(/expected an object/);
  });
});

function state(overrides: { killSwitch?: boolean; status?: 'healthy' | 'warning' | 'critical' | 'killed'; reasons?: string[] } = {}): DashboardState {
  return {
    at: 0,
    targets: { targets: [{ state: 'connected' }, { state: 'backoff' }], mode: 'parallel', primaryIndex: 0, killSwitch: overrides.killSwitch ?? false },
    parity: {},
    health: { status: overrides.status ?? 'healthy', reasons: overrides.reasons ?? [], source: { kind: 'synthetic', state: 'live' } },
    settings: { killSwitch: overrides.killSwitch ?? false, mode: 'parallel', backends: [], primaryIndex: 0, paritySampleRate: 0.01, envOverrides: [] },
    timeline: [],
  } as unknown as DashboardState;
}

describe('tray model', () => {
  const running = (o: Parameters<typeof state>[0] = {}): RelayPhase => ({ kind: 'running', state: state(o) });

  it('the icon shows the kill switch first, then the worst health', () => {
    expect(trayIconState(running(), false)).toBe('normal');
    expect(trayIconState(running({ status: 'warning' }), false)).toBe('warning');
    expect(trayIconState(running({ status: 'critical' }), false)).toBe('critical');
    expect(trayIconState(running({ status: 'critical', killSwitch: true }), false)).toBe('killed');
    expect(trayIconState({ kind: 'failed', error: 'x' }, false)).toBe('critical');
    expect(trayIconState({ kind: 'failed', error: 'x' }, true)).toBe('killed');
    expect(trayIconState({ kind: 'waiting-for-sim' }, false)).toBe('normal');
  });

  it('the status line says what the relay does', () => {
    expect(statusLine(running())).toBe('parallel, 1 of 2 connected, synthetic live, healthy');
    expect(statusLine(running({ status: 'warning', reasons: ['drift 1.2% above 1%'] }))).toMatch(/warning: drift/);
    expect(statusLine(running({ killSwitch: true }))).toMatch(/KILL SWITCH ON/);
    expect(statusLine({ kind: 'failed', error: `bad settings\n${'x'.repeat(300)}` })).toBe('Relay not running: bad settings');
    // Single mode names its primary as people know it; settings that send nowhere say so, Critical.
    const single = state();
    single.settings = { ...single.settings, mode: 'single', primaryIndex: 1, backends: [{ url: 'ws://a/relay', enabled: true, hasToken: false, name: null }, { url: 'ws://b/relay', enabled: true, hasToken: false, name: 'Gateway B' }] };
    expect(statusLine({ kind: 'running', state: single })).toMatch(/^single to Gateway B, /);
    const nowhere = running({ status: 'critical', reasons: ['telemetry is going nowhere: every backend is disabled (2 configured). Enable at least one'] });
    expect(trayIconState(nowhere, false)).toBe('critical');
    expect(statusLine(nowhere)).toMatch(/critical: telemetry is going nowhere: every backend is disabled/);
    const long = trayToolTip(running({ status: 'warning', reasons: ['x'.repeat(400)] }));
    expect(long.length).toBe(127);
    expect(long.endsWith('…')).toBe(true);
    expect(trayToolTip({ kind: 'starting' })).toBe('Relay Agent: Relay starting…');
  });

  it('the menu: open, kill switch checkbox, export, launch options per platform, updates, quit', () => {
    const menu = buildTrayMenu({ phase: running({ killSwitch: true }), killSwitch: true, prefs: DEFAULT_DESKTOP_PREFS, platform: 'win32', updateReady: null, updatesSupported: true, updatesDeferred: false });
    const ids = menu.map((i) => (i.type === 'separator' ? '-' : i.id));
    expect(ids).toEqual([MENU_IDS.status, '-', MENU_IDS.open, MENU_IDS.killSwitch, MENU_IDS.exportReport, '-', MENU_IDS.launchAtLogin, MENU_IDS.launchWithIRacing, MENU_IDS.startHidden, MENU_IDS.autoUpdates, MENU_IDS.deferUpdates, '-', MENU_IDS.quit]);
    expect(menu.find((i) => i.type === 'checkbox' && i.id === MENU_IDS.killSwitch)).toMatchObject({ checked: true });
    const linux = buildTrayMenu({ phase: { kind: 'starting' }, killSwitch: false, prefs: DEFAULT_DESKTOP_PREFS, platform: 'linux', updateReady: null, updatesSupported: false, updatesDeferred: false });
    const linuxIds = linux.map((i) => (i.type === 'separator' ? '-' : i.id));
    expect(linuxIds).not.toContain(MENU_IDS.launchAtLogin);
    expect(linuxIds).not.toContain(MENU_IDS.autoUpdates);
    expect(linux.find((i) => i.type !== 'separator' && i.id === MENU_IDS.exportReport)).toMatchObject({ enabled: false });
    const ready = buildTrayMenu({ phase: running(), killSwitch: false, prefs: DEFAULT_DESKTOP_PREFS, platform: 'darwin', updateReady: { version: '1.2.3', installable: false }, updatesSupported: true, updatesDeferred: false });
    expect(ready.find((i) => i.type !== 'separator' && i.id === MENU_IDS.restartToUpdate)).toMatchObject({ enabled: false, label: expect.stringContaining('after the session') });
  });
});
