// The dashboard's controls in Debian's Chromium against a real relay and real reference
// gateways on 127.0.0.1: the Cutover panel through every step, the refusal of settings that
// send nowhere (and what the page shows when they are forced), and every window width from
// 360 px without sideways scrolling, for the dashboard and the parity report. Screenshots go
// to test-results/e2e.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../../src-gateway/gateway';
import { Relay } from '../../src-main/runtime/relay';
import { launchChromium } from '../helpers/browser';
import { FAST_TUNING } from '../helpers/relay-harness';
import { waitFor } from '../helpers/wait';

const ARTIFACTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'test-results', 'e2e');

let browser: Browser;
const gateways: Gateway[] = [];
const relays: Relay[] = [];
const dirs: string[] = [];
const pages: Page[] = [];
let problems: string[] = [];

beforeAll(async () => {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});
afterEach(async (ctx) => {
  const name = ctx.task.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60);
  for (const [i, p] of pages.entries()) await p.screenshot({ path: path.join(ARTIFACTS, `controls-${name}-${i}.png`), fullPage: true }).catch(() => undefined);
  for (const p of pages.splice(0)) await p.context().close();
  for (const r of relays.splice(0)) await r.stop({ endTimeoutMs: 1000 });
  await Promise.all(gateways.splice(0).map((g) => g.close()));
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  const seen = problems;
  problems = [];
  expect(seen, 'console errors in the page').toEqual([]);
});

async function gateway(name: string): Promise<Gateway> {
  const g = await startGateway({ name });
  gateways.push(g);
  return g;
}

async function relayWith(file: Record<string, unknown>): Promise<Relay> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-e2e-controls-'));
  dirs.push(dir);
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ debugPort: 0, paritySampleRate: 0.2, ...file }));
  const relay = await Relay.start({ configDir: dir, logFile: false, tuning: FAST_TUNING, cutover: { stepTimeoutMs: 8000, tickMs: 50 } });
  relays.push(relay);
  return relay;
}

async function open(url: string, width = 1400, height = 1000): Promise<Page> {
  const context = await browser.newContext({ viewport: { width, height } });
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(e.message));
  pages.push(page);
  await page.goto(url);
  return page;
}

const fileOf = (relay: Relay) => JSON.parse(fs.readFileSync(relay.store.path, 'utf8')) as Record<string, unknown>;
// Evaluated in the page (a string: this file is type-checked without the DOM's types).
const sideways = (page: Page) => page.evaluate<{ scroll: number; inner: number }>('({ scroll: document.documentElement.scrollWidth, inner: window.innerWidth })');

describe('the Cutover panel', () => {
  it('runs the cutover from A to B through every step against two real gateways, with pause and resume during the hold', async () => {
    const [a, b] = [await gateway('A'), await gateway('B')];
    const relay = await relayWith({ backends: [{ url: a.url, enabled: true, name: 'Gateway A' }], mode: 'single' });
    const page = await open(relay.dashboardUrl);
    const panel = page.getByTestId('cutover-panel');
    await expect.poll(() => panel.getAttribute('data-phase'), { timeout: 10_000 }).toBe('none');
    await waitFor('A confirming', () => relay.manager.parityView(null).perTarget[0]?.confirming === true, 5000);

    await panel.getByTestId('cutover-to').fill(b.url);
    await panel.getByTestId('cutover-name').fill('Gateway B');
    await panel.getByTestId('cutover-window').fill('3s');
    await panel.getByTestId('cutover-remove').check();
    await panel.getByTestId('cutover-start').click();

    // The hold shows its progress on the relay's clock, both backends' figures beside it.
    await expect.poll(() => panel.getByTestId('cutover-hold').count(), { timeout: 15_000 }).toBe(1);
    await expect.poll(() => panel.getByTestId('cutover-target').count(), { timeout: 5000 }).toBe(2);
    expect(await panel.getByTestId('cutover-figures').innerText()).toMatch(/Gateway A[\s\S]*Gateway B/);
    await panel.getByTestId('cutover-pause').click();
    await expect.poll(() => panel.getByTestId('cutover-phase').getAttribute('data-phase'), { timeout: 5000 }).toBe('paused');
    await page.screenshot({ path: path.join(ARTIFACTS, 'cutover-paused.png'), fullPage: true });
    await panel.getByTestId('cutover-resume').click();

    await expect.poll(() => panel.getByTestId('cutover-phase').getAttribute('data-phase'), { timeout: 20_000 }).toBe('completed');
    const steps = await panel.getByTestId('cutover-step').evaluateAll((els) => els.map((e) => [e.getAttribute('data-step'), e.getAttribute('data-status')]));
    expect(steps).toEqual([
      ['add', 'done'],
      ['parallel', 'done'],
      ['hold', 'done'],
      ['primary', 'done'],
      ['single', 'done'],
      ['disable', 'done'],
      ['remove', 'done'],
    ]);
    // The panel only drove it: the relay's settings and targets say where telemetry goes now.
    expect(fileOf(relay)).toMatchObject({ mode: 'single', primaryIndex: 0, backends: [{ url: b.url, enabled: true, name: 'Gateway B' }] });
    expect(relay.manager.targetsView().targets.map((t) => [t.url, t.state])).toEqual([[b.url, 'connected']]);
    await waitFor('A closed', () => a.connections() === 0, 5000);
    expect(b.parity(relay.builder.sessionId)).toMatchObject({ missing: 0, duplicates: 0 });
    await expect.poll(() => page.getByTestId('target-name').first().innerText(), { timeout: 5000 }).toBe('Gateway B');
    // A new cutover can be started from the same panel.
    expect(await panel.getByTestId('cutover-start').count()).toBe(1);
  });
});

describe('settings that send nowhere', () => {
  it('are refused with the reason until the person applies them anyway; then Critical everywhere, and never "Telemetry is being sent"', async () => {
    const [a, b] = [await gateway('A'), await gateway('B')];
    const relay = await relayWith({ backends: [{ url: a.url, enabled: true }, { url: b.url, enabled: true }], mode: 'single', primaryIndex: 0 });
    const page = await open(relay.dashboardUrl);
    await waitFor('A connected', () => a.connections() === 1, 5000);
    const kill = page.getByTestId('kill-switch');
    await expect.poll(() => kill.getAttribute('data-delivering'), { timeout: 10_000 }).toBe('true');
    expect(await kill.innerText()).toContain('Telemetry is being sent');
    const before = fs.readFileSync(relay.store.path, 'utf8');

    // Disabling the primary in single mode: the page stops, says why, and changes nothing.
    await page.getByTestId('target-row').nth(0).getByTestId('target-enabled').click({ force: true });
    const confirm = page.getByTestId('nowhere-confirm');
    await expect.poll(() => confirm.count(), { timeout: 5000 }).toBe(1);
    expect(await confirm.innerText()).toMatch(/Telemetry would go nowhere: single mode sends to the primary only, and the primary, backend #0 .* is disabled/);
    expect(fs.readFileSync(relay.store.path, 'utf8')).toBe(before);
    expect(a.connections()).toBe(1);
    await confirm.getByTestId('nowhere-cancel').click();
    expect(await page.getByTestId('nowhere-confirm').count()).toBe(0);

    // The relay refuses it too, even when the page is bypassed (no force).
    const direct = relay.actions.updateSettings({ backends: [{ url: a.url, enabled: false }, { url: b.url, enabled: true }] });
    expect(direct).toMatchObject({ ok: false, status: 400 });

    // Applied anyway: the relay sends to no one and every view says so.
    await page.getByTestId('target-row').nth(0).getByTestId('target-enabled').click({ force: true });
    await page.getByTestId('nowhere-confirm').getByTestId('nowhere-apply').click();
    await expect.poll(() => page.getByTestId('nowhere-banner').count(), { timeout: 5000 }).toBe(1);
    expect(await page.getByTestId('nowhere-banner').innerText()).toMatch(/TELEMETRY IS GOING NOWHERE|Telemetry is going nowhere/i);
    await expect.poll(() => page.getByTestId('health-status').getAttribute('data-status'), { timeout: 5000 }).toBe('critical');
    expect(await page.getByTestId('health-reasons').getAttribute('open')).not.toBeNull();
    await expect.poll(() => kill.getAttribute('data-delivering'), { timeout: 8000 }).toBe('false');
    expect(await kill.innerText()).toContain('Telemetry is NOT being delivered');
    expect(relay.actions.healthView()).toMatchObject({ status: 'critical' });
    expect(fileOf(relay)).toMatchObject({ allowNoDelivery: true, backends: [{ url: a.url, enabled: false }, { url: b.url, enabled: true }] });
  });
});

describe('every window width', () => {
  it('shows the dashboard and the parity report from 360 px to wide without sideways scrolling, every parity column on screen, and a legend that tells the lines apart', async () => {
    const [a, b] = [await gateway('A'), await gateway('B')];
    const relay = await relayWith({
      backends: [
        { url: `${a.url}?session=a-rather-long-query-string-for-a-narrow-screen`, enabled: true, name: 'Gateway A (the long-named one)' },
        { url: b.url, enabled: true, name: 'Gateway B' },
      ],
      mode: 'parallel',
    });
    await waitFor('both confirming', () => relay.manager.parityView(null).perTarget.every((t) => t.confirming), 8000);
    const report = await relay.actions.exportReport();
    if (!report.ok) throw new Error(report.error);
    // One page of each, resized: a narrow window first (a page loaded narrow), then wider ones.
    const page = await open(relay.dashboardUrl, 360, 900);
    await expect.poll(() => page.getByTestId('target-row').count(), { timeout: 10_000 }).toBe(2);
    await expect.poll(() => page.getByTestId('settings-panel').count(), { timeout: 5000 }).toBe(1);
    const reportPage = await open('about:blank', 360, 900);
    await reportPage.setContent(report.html);
    for (const width of [360, 420, 800, 1400]) {
      await page.setViewportSize({ width, height: 900 });
      // The charts follow a resize a frame or two later (ResizeObserver): the layout settles, then must fit.
      await expect.poll(async () => { const { scroll, inner } = await sideways(page); return scroll - inner; }, { timeout: 3000, message: `dashboard at ${width} px wider than the window` }).toBeLessThanOrEqual(0);
      // The Drift column and the backend URL fields stay on screen.
      const drift = await page.getByTestId('parity-drift').first().boundingBox();
      expect(drift && drift.x + drift.width <= width, `Drift on screen at ${width} px`).toBe(true);
      const field = await page.getByTestId('backend-url-input').first().boundingBox();
      expect(field && field.x >= 0 && field.x + field.width <= width && field.width > 120, `URL field visible at ${width} px`).toBe(true);
      await page.screenshot({ path: path.join(ARTIFACTS, `dashboard-${width}px.png`), fullPage: true });

      await reportPage.setViewportSize({ width, height: 900 });
      const r = await sideways(reportPage);
      expect(r.scroll, `report at ${width} px: scrollWidth ${r.scroll} > innerWidth ${r.inner}`).toBeLessThanOrEqual(r.inner);
      await reportPage.screenshot({ path: path.join(ARTIFACTS, `report-${width}px.png`), fullPage: true });
    }
    // The legend carries each line's colour and dash, and no two look alike.
    const legend = await page.getByTestId('latency-legend').locator('[data-line]').evaluateAll((els) => els.map((e) => [e.getAttribute('data-line'), e.getAttribute('data-color'), e.getAttribute('data-dash')]));
    expect(legend.map((l) => l[0])).toEqual(['p50', 'p95', 'warn', 'crit']);
    const looks = legend.map((l) => `${l[1]}|${l[2]}`);
    expect(new Set(looks).size).toBe(4);
    const [p95, warn] = [legend[1], legend[2]];
    expect(p95?.[1]).not.toBe(warn?.[1]);
    expect(p95?.[2]).not.toBe(warn?.[2]);
    // One numbering: the primary select and the cards count from #0, as RELAY_PRIMARY_INDEX does.
    expect(await page.getByTestId('primary-select').locator('option').first().innerText()).toMatch(/^#0 Gateway A \(the long-named one\)/);
    expect(await page.getByTestId('target-number').first().innerText()).toBe('#0');
  });
});
