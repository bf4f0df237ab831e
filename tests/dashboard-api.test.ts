// The dashboard's HTTP API on the relay's debug port, against a real relay and real
// reference gateways on 127.0.0.1: live snapshots, actions guarded by the per-run secret,
// settings written to the file and applied at once, and the built dashboard served safely.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../src-gateway/gateway';
import { HTTP_ROUTES, PANEL_SETTING_KEYS, SECRET_HEADER, type ActionResult, type DashboardState, type LatencyHistory } from '../src-shared/bridge';
import type { HealthResponse, TargetsResponse } from '../src-shared/debug-api';
import type { Settings } from '../src-shared/settings';
import { CONTENT_SECURITY_POLICY, MAX_SSE_CLIENTS } from '../src-main/http/dashboard-api';
import { DASHBOARD_SECRET_FILE } from '../src-main/runtime/runtime-lock';
import { Relay } from '../src-main/runtime/relay';
import { SyntheticSource } from '../src-main/sources/synthetic';
import { request, type HttpResult } from './helpers/cli';
import { FAST_TUNING } from './helpers/relay-harness';
import { waitFor } from './helpers/wait';

const dirs: string[] = [];
const relays: Relay[] = [];
const gateways: Gateway[] = [];

function tempDir(prefix = 'relay-dash-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

async function startRelay(settings: Partial<Settings> & Record<string, unknown>, options: { env?: Record<string, string>; dashboardRoot?: string } = {}): Promise<Relay> {
  const dir = tempDir();
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ debugPort: 0, ...settings }));
  const relay = await Relay.start({
    configDir: dir,
    env: options.env ?? {},
    source: new SyntheticSource({ sessionId: `sess-dash-${relays.length}` }),
    tuning: FAST_TUNING,
    ...(options.dashboardRoot ? { dashboardRoot: options.dashboardRoot } : {}),
  });
  relays.push(relay);
  return relay;
}

afterAll(async () => {
  for (const r of relays.splice(0)) await r.stop();
  for (const g of gateways.splice(0)) await g.close();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

const configText = (relay: Relay) => fs.readFileSync(relay.store.path, 'utf8');
const configJson = (relay: Relay) => JSON.parse(configText(relay)) as Record<string, unknown>;

function post(relay: Relay, route: string, body: unknown, headers: Record<string, string> = {}, raw?: string | Buffer): Promise<HttpResult> {
  return request(relay.debug.port, route, {
    method: 'POST',
    headers: { 'content-type': 'application/json', [SECRET_HEADER]: relay.dashboardSecret, ...headers },
    body: raw ?? JSON.stringify(body),
  });
}

async function getJson<T>(relay: Relay, route: string): Promise<T> {
  const res = await request(relay.debug.port, route);
  expect(res.status, `${route}: ${res.text}`).toBe(200);
  return res.json as T;
}

/** Opens the event stream and counts `event: state` messages for a while. */
function countEvents(port: number, forMs: number): Promise<{ count: number; states: DashboardState[]; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: HTTP_ROUTES.events, agent: false, headers: { host: `127.0.0.1:${port}` } }, (res) => {
      let buffer = '';
      const states: DashboardState[] = [];
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const message = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (!message.startsWith('event: state\n')) continue;
          states.push(JSON.parse(message.slice(message.indexOf('data: ') + 6)) as DashboardState);
        }
      });
      setTimeout(() => {
        req.destroy();
        resolve({ count: states.length, states, headers: res.headers });
      }, forMs);
    });
    req.on('error', (e) => {
      if ((e as NodeJS.ErrnoException).code !== 'ECONNRESET') reject(e);
    });
  });
}

describe('the dashboard API of a running relay', () => {
  let relay: Relay;
  let a: Gateway;
  let b: Gateway;
  let staticRoot: string;

  beforeAll(async () => {
    a = await startGateway({ name: 'A', token: 'gw-token-a-123456' });
    b = await startGateway({ name: 'B' });
    gateways.push(a, b);
    staticRoot = tempDir('relay-static-');
    fs.mkdirSync(path.join(staticRoot, 'assets'));
    fs.writeFileSync(path.join(staticRoot, 'index.html'), '<!doctype html><title>dash</title><script type="module" src="/assets/app.js"></script>');
    fs.writeFileSync(path.join(staticRoot, 'assets', 'app.js'), 'console.log("dashboard")');
    fs.writeFileSync(path.join(staticRoot, 'assets', 'app.css'), 'body{}');
    if (process.platform !== 'win32') fs.symlinkSync(path.resolve('package.json'), path.join(staticRoot, 'assets', 'link.json'));
    relay = await startRelay(
      {
        backends: [
          { url: a.url.replace('ws://', 'ws://alice:s3cretpass@') + '?token=querysecret99', enabled: true, token: 'gw-token-a-123456' },
          { url: b.url, enabled: true },
        ],
        mode: 'parallel',
      },
      { dashboardRoot: staticRoot },
    );
    await waitFor('both gateways to be connected', () => a.connections() === 1 && b.connections() === 1);
  });

  it('GET /api/state has every field of DashboardState, URLs masked and no token', async () => {
    const res = await request(relay.debug.port, HTTP_ROUTES.getState);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toContain('application/json');
    const state = res.json as DashboardState;
    expect(Object.keys(state).sort()).toEqual(['at', 'cutover', 'health', 'parity', 'settings', 'targets', 'timeline']);
    expect(state.at).toBeGreaterThan(Date.now() - 5000);
    expect(state.targets.targets).toHaveLength(2);
    expect(state.targets.mode).toBe('parallel');
    expect(state.parity).toMatchObject({ totalSent: expect.any(Number), perTarget: expect.any(Array), sessionId: 'sess-dash-0', verdict: { status: expect.any(String) } });
    expect(state.health).toMatchObject({ status: expect.any(String), killSwitch: false, mode: 'parallel', version: expect.any(String) });
    expect(state.settings).toEqual({
      backends: [
        { url: expect.stringContaining('ws://***:***@127.0.0.1:'), enabled: true, hasToken: true, name: null },
        { url: b.url, enabled: true, hasToken: false, name: null },
      ],
      mode: 'parallel',
      primaryIndex: 0,
      killSwitch: false,
      paritySampleRate: 0.05,
      // Every other setting the settings panel edits, as in force.
      values: Object.fromEntries(PANEL_SETTING_KEYS.map((k) => [k, relay.settings[k]])),
      allowNoDelivery: false,
      envOverrides: [],
    });
    expect(state.settings.values).toMatchObject({ queueMaxFrames: 2000, sharePersonalData: false, targetTimeoutMs: 1500 });
    expect(state.settings.backends[0]?.url).toContain('token=***');
    expect(state.timeline.length).toBeGreaterThan(0);
    expect(state.timeline.length).toBeLessThanOrEqual(50);
    expect(state.timeline[0]).toMatchObject({ ts: expect.any(Number), kind: expect.any(String), detail: expect.any(String) });
    for (const secret of ['s3cretpass', 'querysecret99', 'gw-token-a-123456', 'alice', relay.dashboardSecret]) expect(res.text).not.toContain(secret);
    expect(Object.keys(res.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
  });

  it('GET /api/events pushes a snapshot at once and then a few times a second, never per frame', async () => {
    const { count, states, headers } = await countEvents(relay.debug.port, 1500);
    expect(headers['content-type']).toContain('text/event-stream');
    expect(count).toBeGreaterThanOrEqual(2);
    expect(count).toBeLessThanOrEqual(6);
    // Live counters: the later snapshot has more frames sent than the first.
    expect(states.at(-1)?.parity.totalSent).toBeGreaterThan(states[0]?.parity.totalSent ?? Infinity);
    await waitFor('the stream to be cleaned up', () => relay.liveDashboards() === 0, 2000);
  });

  it('GET /api/history gives one latency point a second per target, keyed by the masked URL', async () => {
    let history: LatencyHistory = { targets: {} };
    await waitFor('a latency point for each target', async () => {
      history = await getJson<LatencyHistory>(relay, HTTP_ROUTES.getHistory);
      return Object.keys(history.targets).length === 2 && Object.values(history.targets).every((points) => points.length > 0);
    }, 3000, 100);
    const keys = Object.keys(history.targets);
    expect(keys[0]).toContain('***');
    const point = history.targets[b.url]?.[0];
    expect(point).toMatchObject({ t: expect.any(Number) });
    expect(point && 'p50' in point && 'p95' in point).toBe(true);
  });

  it('refuses an action without the secret or with a wrong one (403): the file and the kill switch stay as they were', async () => {
    const before = configText(relay);
    for (const headers of [{ [SECRET_HEADER]: '' }, { [SECRET_HEADER]: 'not-the-secret' }, { [SECRET_HEADER]: relay.dashboardSecret.slice(0, -1) }]) {
      for (const [route, body] of [
        [HTTP_ROUTES.setKillSwitch, { on: true }],
        [HTTP_ROUTES.updateSettings, { mode: 'single' }],
      ] as const) {
        const res = await post(relay, route, body, headers);
        expect(res.status, `${route} ${JSON.stringify(headers)}`).toBe(403);
        expect(res.json).toMatchObject({ ok: false, status: 403, error: expect.stringContaining('secret') });
      }
    }
    // No header at all.
    const bare = await request(relay.debug.port, HTTP_ROUTES.setKillSwitch, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"on":true}' });
    expect(bare.status).toBe(403);
    expect(configText(relay)).toBe(before);
    expect(relay.settings.killSwitch).toBe(false);
    expect(a.connections() + b.connections()).toBe(2);
  });

  it('checks content type (415), size (413), JSON (400) and the schema (400, naming the field)', async () => {
    const before = configText(relay);
    const wrongType = await post(relay, HTTP_ROUTES.setKillSwitch, { on: true }, { 'content-type': 'text/plain' });
    expect(wrongType.status).toBe(415);
    expect(wrongType.json).toMatchObject({ ok: false, status: 415 });
    const big = await post(relay, HTTP_ROUTES.updateSettings, null, {}, JSON.stringify({ mode: 'single', pad: 'x'.repeat(70 * 1024) }));
    expect(big.status).toBe(413);
    const notJson = await post(relay, HTTP_ROUTES.setKillSwitch, null, {}, '{"on": tru');
    expect(notJson.status).toBe(400);
    expect(notJson.json).toMatchObject({ ok: false, status: 400, error: expect.stringContaining('not valid JSON') });
    const badField = await post(relay, HTTP_ROUTES.setKillSwitch, { on: 'yes' });
    expect(badField.status).toBe(400);
    expect((badField.json as { problems: string[] }).problems.join('\n')).toMatch(/^on: /m);
    const unknownField = await post(relay, HTTP_ROUTES.updateSettings, { mode: 'single', tokenSealed: 'x' });
    expect(unknownField.status).toBe(400);
    expect((unknownField.json as { problems: string[] }).problems.join('\n')).toContain('tokenSealed');
    const badMode = await post(relay, HTTP_ROUTES.updateSettings, { mode: 'sideways' });
    expect((badMode.json as { problems: string[] }).problems.join('\n')).toMatch(/^mode: /m);
    expect(configText(relay)).toBe(before);
  });

  it('answers 405 to the wrong method and keeps /debug/* GET only', async () => {
    const get = await request(relay.debug.port, HTTP_ROUTES.setKillSwitch);
    expect(get.status).toBe(405);
    expect(get.headers.allow).toBe('POST');
    const postState = await request(relay.debug.port, HTTP_ROUTES.getState, { method: 'POST', body: '{}' });
    expect(postState.status).toBe(405);
    expect(postState.headers.allow).toBe('GET');
    const debug = await request(relay.debug.port, '/debug/health', { method: 'POST' });
    expect(debug.status).toBe(405);
    expect((await request(relay.debug.port, '/api/nope')).status).toBe(404);
  });

  it('refuses a Host header other than its own on every dashboard route (403)', async () => {
    for (const route of ['/', '/index.html', '/assets/app.js', HTTP_ROUTES.getState, HTTP_ROUTES.getHistory, HTTP_ROUTES.events, HTTP_ROUTES.exportReport]) {
      const res = await request(relay.debug.port, route, { host: 'evil.example' });
      expect(res.status, route).toBe(403);
      expect(res.text).not.toContain('"targets"');
    }
    for (const route of [HTTP_ROUTES.setKillSwitch, HTTP_ROUTES.updateSettings]) {
      const res = await request(relay.debug.port, route, {
        method: 'POST',
        host: `evil.example:${relay.debug.port}`,
        headers: { 'content-type': 'application/json', [SECRET_HEADER]: relay.dashboardSecret },
        body: '{"on":true}',
      });
      expect(res.status, route).toBe(403);
    }
    expect(relay.settings.killSwitch).toBe(false);
  });

  it('refuses an action from another origin even with the secret (403)', async () => {
    const res = await post(relay, HTTP_ROUTES.setKillSwitch, { on: true }, { origin: 'http://evil.example' });
    expect(res.status).toBe(403);
    expect(relay.settings.killSwitch).toBe(false);
  });

  it('kill switch on from the dashboard: saved, both gateways cut off at once, /debug/health says Kill Switch Active; off reconnects', async () => {
    const on = await post(relay, HTTP_ROUTES.setKillSwitch, { on: true }, { origin: `http://127.0.0.1:${relay.debug.port}` });
    expect(on.status, on.text).toBe(200);
    // Applied and confirmed before the answer: the relay says which connections it closed, and holds no socket any more.
    expect(on.json).toMatchObject({ ok: true, confirmation: { changed: ['RELAY_KILL_SWITCH'], killSwitch: { on: true, stillOpen: 0 }, configDir: relay.store.dir } });
    const closed = (on.json as { confirmation: { killSwitch: { closed: number; withinMs: number } } }).confirmation.killSwitch;
    console.log(`dashboard-api: kill switch closed ${closed.closed} backend connection(s) within ${closed.withinMs} ms (spec: 100 ms)`);
    expect(relay.manager.liveSockets()).toBe(0);
    expect(configJson(relay).killSwitch).toBe(true);
    await waitFor('both gateways to see the connections close', () => a.connections() === 0 && b.connections() === 0, 2000);
    const health = await getJson<HealthResponse>(relay, '/debug/health');
    expect(health.status).toBe('killed');
    expect(health.message).toContain('Kill Switch Active');
    const state = await getJson<DashboardState>(relay, HTTP_ROUTES.getState);
    expect(state.settings.killSwitch).toBe(true);
    expect(state.timeline.some((e) => e.kind === 'kill-switch-on')).toBe(true);

    const off = await post(relay, HTTP_ROUTES.setKillSwitch, { on: false });
    expect(off.status, off.text).toBe(200);
    expect(configJson(relay).killSwitch).toBe(false);
    await waitFor('both gateways to be reconnected', () => a.connections() === 1 && b.connections() === 1, 5000);
    expect((await getJson<HealthResponse>(relay, '/debug/health')).killSwitch).toBe(false);
  });

  it('a settings change switches the mode live and is in the settings file; masked URLs keep their real URL and token', async () => {
    const state = await getJson<DashboardState>(relay, HTTP_ROUTES.getState);
    const res = await post(relay, HTTP_ROUTES.updateSettings, {
      mode: 'single',
      primaryIndex: 1,
      // What the form sends back: the masked URL as shown, token left alone, B with its token untouched.
      backends: state.settings.backends.map((bk) => ({ url: bk.url, enabled: bk.enabled })),
      paritySampleRate: 0.1,
    });
    expect(res.status, res.text).toBe(200);
    expect((await getJson<TargetsResponse>(relay, '/debug/targets')).mode).toBe('single');
    const file = configJson(relay);
    expect(file).toMatchObject({ mode: 'single', primaryIndex: 1, paritySampleRate: 0.1 });
    expect(file.backends).toEqual([
      { url: relay.settings.backends[0]?.url, enabled: true, token: 'gw-token-a-123456' },
      { url: b.url, enabled: true },
    ]);
    expect(relay.settings.backends[0]?.url).toContain('alice:s3cretpass@');
    // In single mode with B primary, A is on standby: its socket closes.
    await waitFor('A to go to standby', () => a.connections() === 0, 3000);
    expect(b.connections()).toBe(1);

    // Token edits: clear A's token, then set a new one.
    const cleared = await post(relay, HTTP_ROUTES.updateSettings, { backends: [{ url: state.settings.backends[0]?.url, enabled: true, token: { clear: true } }, { url: b.url, enabled: true }] });
    expect(cleared.status, cleared.text).toBe(200);
    expect((configJson(relay).backends as { token?: string }[])[0]?.token).toBeUndefined();
    const set = await post(relay, HTTP_ROUTES.updateSettings, { backends: [{ url: state.settings.backends[0]?.url, enabled: true, token: { set: 'gw-token-a-123456' } }, { url: b.url, enabled: true, token: { keep: true } }] });
    expect(set.status, set.text).toBe(200);
    expect((configJson(relay).backends as { token?: string }[])[0]?.token).toBe('gw-token-a-123456');

    const back = await post(relay, HTTP_ROUTES.updateSettings, { mode: 'parallel', primaryIndex: 0 });
    expect(back.status, back.text).toBe(200);
    await waitFor('A to be reconnected', () => a.connections() === 1, 5000);
  });

  it('an invalid backend is refused (400) with a problem naming it, and nothing is saved', async () => {
    const before = configText(relay);
    const res = await post(relay, HTTP_ROUTES.updateSettings, {
      mode: 'single',
      backends: [
        { url: b.url, enabled: true },
        { url: 'http://user:hunter22@gateway.example/relay', enabled: true },
      ],
    });
    expect(res.status).toBe(400);
    const result = res.json as Extract<ActionResult, { ok: false }>;
    expect(result).toMatchObject({ ok: false, status: 400 });
    expect(result.problems?.join('\n')).toMatch(/backend #1: .*http:\/\/\*\*\*:\*\*\*@gateway\.example\/relay.* is not a ws:\/\/ or wss:\/\/ URL/);
    expect(res.text).not.toContain('hunter22');
    expect(configText(relay)).toBe(before);
    expect(relay.settings.mode).toBe('parallel');

    // A masked URL that matches no backend is not saved with *** as credentials.
    const masked = await post(relay, HTTP_ROUTES.updateSettings, { backends: [{ url: 'ws://***:***@127.0.0.1:1/relay', enabled: true }] });
    expect(masked.status).toBe(400);
    expect((masked.json as { problems: string[] }).problems[0]).toContain('backend #0');
    // Single mode with a disabled primary would send to no one.
    const disabledPrimary = await post(relay, HTTP_ROUTES.updateSettings, { mode: 'single', primaryIndex: 1, backends: [{ url: b.url, enabled: true }, { url: `${b.url}2`, enabled: false }] });
    expect(disabledPrimary.status).toBe(400);
    expect((disabledPrimary.json as { problems: string[] }).problems.join('\n')).toMatch(/single mode sends to the primary only, and the primary, backend #1 .* is disabled/);
    expect(configText(relay)).toBe(before);
  });

  it('keeps the secret in a file only the user can read, and puts it in the dashboard URL fragment', () => {
    const file = path.join(relay.store.dir, DASHBOARD_SECRET_FILE);
    expect(fs.readFileSync(file, 'utf8').trim()).toBe(relay.dashboardSecret);
    if (process.platform !== 'win32') expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(relay.dashboardSecret).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(relay.dashboardUrl).toBe(`http://127.0.0.1:${relay.debug.port}/#secret=${relay.dashboardSecret}`);
  });

  it('serves the built dashboard with a strict CSP, and nothing outside it', async () => {
    for (const route of ['/', '/index.html']) {
      const res = await request(relay.debug.port, route);
      expect(res.status, route).toBe(200);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.text).toContain('<title>dash</title>');
      expect(res.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['referrer-policy']).toBe('no-referrer');
    }
    const js = await request(relay.debug.port, '/assets/app.js');
    expect(js.status).toBe(200);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.text).toBe('console.log("dashboard")');
    expect((await request(relay.debug.port, '/assets/app.css')).headers['content-type']).toBe('text/css; charset=utf-8');
    for (const route of ['/../package.json', '/%2e%2e/package.json', '/..%2fpackage.json', '/assets/..%2f..%2fpackage.json', '/%2e%2e%2f%2e%2e%2fpackage.json', '/missing.js', '/assets', '/assets/link.json']) {
      const res = await request(relay.debug.port, route);
      expect(res.status, route).toBe(404);
      expect(res.text, route).not.toContain('"devDependencies"');
    }
    const postRoot = await request(relay.debug.port, '/', { method: 'POST' });
    expect(postRoot.status).toBe(405);
  });

  it('serves at most a bounded number of live streams at once (503 beyond)', async () => {
    const open: http.ClientRequest[] = [];
    try {
      for (let i = 0; i < MAX_SSE_CLIENTS; i++) {
        await new Promise<void>((resolve, reject) => {
          const req = http.get({ host: '127.0.0.1', port: relay.debug.port, path: HTTP_ROUTES.events, agent: false }, (res) => {
            expect(res.statusCode).toBe(200);
            res.once('data', () => resolve());
          });
          req.on('error', (e) => ((e as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(e)));
          open.push(req);
        });
      }
      const extra = await request(relay.debug.port, HTTP_ROUTES.events);
      expect(extra.status).toBe(503);
    } finally {
      for (const r of open) r.destroy();
    }
    await waitFor('the streams to be cleaned up', () => relay.liveDashboards() === 0, 2000);
  });
});

describe('a relay whose environment overrides settings', () => {
  it('answers 409 naming the variable, and saves nothing', async () => {
    const g = await startGateway({ name: 'E' });
    gateways.push(g);
    const relay = await startRelay({ backends: [{ url: g.url, enabled: true }], mode: 'parallel' }, { env: { RELAY_BACKEND_MODE: 'single', RELAY_KILL_SWITCH: '1' } });
    const before = configText(relay);
    const state = await getJson<DashboardState>(relay, HTTP_ROUTES.getState);
    expect(state.settings.envOverrides).toEqual(expect.arrayContaining(['RELAY_BACKEND_MODE', 'RELAY_KILL_SWITCH']));
    const mode = await post(relay, HTTP_ROUTES.updateSettings, { mode: 'parallel' });
    expect(mode.status).toBe(409);
    expect(mode.json).toMatchObject({ ok: false, status: 409, error: expect.stringContaining('RELAY_BACKEND_MODE') });
    const off = await post(relay, HTTP_ROUTES.setKillSwitch, { on: false });
    expect(off.status).toBe(409);
    expect(off.json).toMatchObject({ ok: false, status: 409, error: expect.stringContaining('RELAY_KILL_SWITCH') });
    expect(configText(relay)).toBe(before);
    expect(relay.settings.killSwitch).toBe(true);
    // The form sends the pinned field unchanged along with a real change: that is allowed.
    const same = await post(relay, HTTP_ROUTES.updateSettings, { mode: 'single', paritySampleRate: 0.2 });
    expect(same.status, same.text).toBe(200);
    expect(configJson(relay)).toMatchObject({ mode: 'parallel', paritySampleRate: 0.2 });
  });
});

describe('a relay without a built dashboard', () => {
  it('answers / with a page saying how to build it, and removes its secret file on stop', async () => {
    const relay = await startRelay({}, { dashboardRoot: tempDir('relay-empty-') });
    const res = await request(relay.debug.port, '/');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    expect(res.text).toContain('npm run build:renderer');
    const secretFile = path.join(relay.store.dir, DASHBOARD_SECRET_FILE);
    expect(fs.existsSync(secretFile)).toBe(true);
    await relay.stop();
    expect(fs.existsSync(secretFile)).toBe(false);
  });

  // Windows has no such modes to narrow (fs.chmod only sets read-only there).
  it.skipIf(process.platform === 'win32')(`narrows a secret file left wider by an earlier run${process.platform === 'win32' ? ' (skipped: Windows has no POSIX file modes)' : ''}`, async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ debugPort: 0 }));
    fs.writeFileSync(path.join(dir, DASHBOARD_SECRET_FILE), 'stale', { mode: 0o644 });
    const relay = await Relay.start({ configDir: dir, source: new SyntheticSource() });
    relays.push(relay);
    expect(fs.statSync(path.join(dir, DASHBOARD_SECRET_FILE)).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(path.join(dir, DASHBOARD_SECRET_FILE), 'utf8').trim()).toBe(relay.dashboardSecret);
  });
});
