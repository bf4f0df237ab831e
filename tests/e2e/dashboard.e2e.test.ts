// The dashboard in Debian's Chromium, against a real relay and two real reference gateways
// on 127.0.0.1. Each test saves a screenshot under test-results/.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../../src-gateway/gateway';
import type { ParityResponse } from '../../src-shared/debug-api';
import type { ParityReport } from '../../src-shared/report';
import { Relay } from '../../src-main/runtime/relay';
import { launchChromium } from '../helpers/browser';
import { waitFor } from '../helpers/wait';

const ARTIFACTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'test-results', 'e2e');

let browser: Browser;
let a: Gateway;
let b: Gateway;
let relay: Relay;
let dir: string;
let page: Page;

beforeAll(async () => {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

beforeEach(async (ctx) => {
  a = await startGateway({ name: 'A' });
  b = await startGateway({ name: 'B' });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-e2e-'));
  fs.writeFileSync(
    path.join(dir, 'config.json'),
    JSON.stringify({ backends: [{ url: a.url, enabled: true }, { url: b.url, enabled: true }], mode: 'parallel', debugPort: 0, paritySampleRate: 0.2 }),
  );
  relay = await Relay.start({ configDir: dir });
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1400, height: 1000 } });
  page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(e.message));
  (ctx as unknown as { problems: string[] }).problems = problems;
});

afterEach(async (ctx) => {
  // A CSP violation or an uncaught error shows up here in any test, not only the first.
  const problems = (ctx as unknown as { problems?: string[] }).problems ?? [];
  const unexpected = problems.filter((p) => !/status of 403/.test(p));
  const name = ctx.task.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 80);
  await page?.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true }).catch(() => undefined);
  await page?.context().close();
  await relay?.stop();
  await a?.close();
  await b?.close();
  fs.rmSync(dir, { recursive: true, force: true });
  // Checked after the clean-up, so a failure here never leaves a relay or a gateway running.
  expect(unexpected, 'console errors in the page').toEqual([]);
});

/** Frames the gateway confirmed, as the target's card shows them. */
const deliveredOf = async (row: number): Promise<number> => Number((await page.getByTestId('target-row').nth(row).getByTestId('target-delivered').innerText()).replace(/[^0-9]/g, ''));

describe('the dashboard', () => {
  it('shows both targets with live confirmed deliveries and a latency chart with points, without console errors', async (ctx) => {
    await page.goto(relay.dashboardUrl);
    await expect.poll(() => page.getByTestId('target-row').count(), { timeout: 10_000 }).toBe(2);
    await expect.poll(() => deliveredOf(0), { timeout: 10_000 }).toBeGreaterThan(0);
    const first = await deliveredOf(0);
    await expect.poll(() => deliveredOf(0), { timeout: 10_000 }).toBeGreaterThan(first);
    await expect.poll(() => deliveredOf(1), { timeout: 10_000 }).toBeGreaterThan(first);
    const card = page.getByTestId('target-row').nth(0);
    expect(await card.getByTestId('target-state').innerText()).toMatch(/connected/i);
    expect(await card.innerText()).toMatch(/delivered\s*\(confirmed by the gateway\)/i);
    for (const id of ['target-in-flight', 'target-dropped', 'target-lost', 'target-sent', 'target-acked']) expect(await card.getByTestId(id).count(), id).toBe(1);
    // The chart draws a line once acks have come back for a couple of seconds.
    await expect
      .poll(async () => page.getByTestId('latency-chart').locator('path.latency-line').evaluateAll((ps) => ps.filter((p) => (p.getAttribute('d') ?? '').length > 10).length), { timeout: 15_000 })
      .toBeGreaterThan(0);
    // The relay's verdict, shown as it is: healthy once both gateways confirm, and its 2-minute clock running.
    const panel = page.getByTestId('parity-panel');
    await expect.poll(() => panel.getAttribute('data-verdict'), { timeout: 10_000 }).toBe('healthy');
    await expect.poll(() => page.getByTestId('parity-healthy-for').getAttribute('data-state'), { timeout: 5000 }).toBe('counting');
    expect(await page.getByTestId('parity-healthy-for').getAttribute('data-passed')).toBe('false');
    expect(await panel.innerText()).toMatch(/delivered\s*\(confirmed by the gateway\)/i);
    expect((ctx as unknown as { problems: string[] }).problems).toEqual([]);
  });

  it('cuts both gateways off with one click on the kill switch, shows the banner, and brings them back', async () => {
    await page.goto(relay.dashboardUrl);
    await waitFor('both gateways connected', () => a.connections() === 1 && b.connections() === 1, 10_000);
    const kill = page.getByTestId('kill-switch');
    await expect.poll(() => kill.getAttribute('aria-pressed')).toBe('false');
    await kill.click();
    await waitFor('both gateways to lose the relay', () => a.connections() === 0 && b.connections() === 0, 5000);
    await expect.poll(() => page.getByTestId('kill-banner').textContent(), { timeout: 5000 }).toContain('Kill Switch Active');
    // What the relay confirmed for this click, not what the page assumes.
    await expect.poll(() => page.getByTestId('kill-confirmed').textContent(), { timeout: 5000 }).toMatch(/^Confirmed by the relay: 2 backend connections closed within [\d.]+ ms\.$/);
    expect(await kill.getAttribute('aria-pressed')).toBe('true');
    expect(relay.settings.killSwitch).toBe(true);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')).killSwitch).toBe(true);
    await page.screenshot({ path: path.join(ARTIFACTS, 'kill-switch-on.png'), fullPage: true });
    // Keyboard: the switch is a real button, reachable and pressable without a mouse.
    await kill.focus();
    await page.keyboard.press('Enter');
    await waitFor('both gateways to get the relay back', () => a.connections() === 1 && b.connections() === 1, 10_000);
    await expect.poll(() => page.getByTestId('kill-banner').count(), { timeout: 5000 }).toBe(0);
    expect(relay.settings.killSwitch).toBe(false);
  });

  it('changes the mode from its select, which keeps the choice until the relay confirms it, then follows the relay again', async () => {
    await page.goto(relay.dashboardUrl);
    const select = page.getByTestId('mode-select');
    await expect.poll(() => select.inputValue(), { timeout: 10_000 }).toBe('parallel');
    await select.selectOption('single');
    await waitFor('the relay to apply single mode', () => relay.settings.mode === 'single', 5000);
    // Snapshots keep the settings object while nothing in it changes: the select must not hold on to the change regardless.
    await new Promise((r) => setTimeout(r, 2500));
    expect(await select.inputValue()).toBe('single');
    // Changed elsewhere (a hand edit of the settings file): the page shows the relay's value, not what it last asked for.
    const config = path.join(dir, 'config.json');
    fs.writeFileSync(config, JSON.stringify({ ...JSON.parse(fs.readFileSync(config, 'utf8')), mode: 'parallel' }));
    await waitFor('the relay to apply the edit', () => relay.settings.mode === 'parallel', 5000);
    await expect.poll(() => select.inputValue(), { timeout: 5000 }).toBe('parallel');
  });

  it('refuses an invalid backend with its explanation, before anything is saved', async () => {
    await page.goto(relay.dashboardUrl);
    const before = fs.readFileSync(path.join(dir, 'config.json'), 'utf8');
    const editor = page.getByTestId('backends-editor');
    await expect.poll(() => editor.getByTestId('backend-url-input').count(), { timeout: 10_000 }).toBe(2);
    await editor.getByTestId('backend-url-input').nth(1).fill('http://gateway.example/relay');
    await expect.poll(() => editor.getByTestId('backend-error').first().innerText(), { timeout: 5000 }).toMatch(/not a ws:\/\/ or wss:\/\/ URL/);
    expect(await page.getByTestId('save-backends').isDisabled()).toBe(true);
    expect(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')).toBe(before);
  });

  it('refuses an action without the secret (read-only view)', async () => {
    await page.goto(`http://127.0.0.1:${relay.debug.port}/`);
    await expect.poll(() => page.getByTestId('readonly-banner').count(), { timeout: 10_000 }).toBe(1);
    await expect.poll(() => page.getByTestId('target-row').count(), { timeout: 10_000 }).toBe(2);
    await page.getByTestId('kill-switch').click();
    await expect.poll(() => page.getByTestId('action-error').innerText(), { timeout: 5000 }).toMatch(/secret|403|read-only/i);
    expect(relay.settings.killSwitch).toBe(false);
    expect(a.connections() + b.connections()).toBe(2);
  });

  it('downloads the parity report, whose numbers match /debug/parity and the gateways', async () => {
    await page.goto(relay.dashboardUrl);
    await waitFor('frames at both gateways', () => (a.parity(relay.builder.sessionId)?.streams.controls?.framesIn ?? 0) > 60 && (b.parity(relay.builder.sessionId)?.streams.controls?.framesIn ?? 0) > 60, 10_000);
    // Freeze the counters so the report and the endpoints can be compared exactly.
    relay.manager.apply({ ...relay.settings, killSwitch: true });
    await relay.source.stop();
    const downloads: { name: string; text: string }[] = [];
    page.on('download', async (d) => {
      const file = path.join(ARTIFACTS, d.suggestedFilename());
      await d.saveAs(file);
      downloads.push({ name: d.suggestedFilename(), text: fs.readFileSync(file, 'utf8') });
    });
    await page.getByTestId('export-report').click();
    await waitFor('two downloads', () => downloads.length === 2, 10_000);
    const json = downloads.find((d) => d.name.endsWith('.json'))!;
    const html = downloads.find((d) => d.name.endsWith('.html'))!;
    const report = JSON.parse(json.text) as ParityReport;
    const parity = (await (await fetch(`http://127.0.0.1:${relay.debug.port}/debug/parity`)).json()) as ParityResponse;
    expect(report.schema).toBe('relay-parity-report/2');
    expect(report.parity.totalSent).toBe(parity.totalSent);
    expect(report.parity.totalAcked).toBe(parity.totalAcked);
    expect(report.parity.totalDelivered).toBe(parity.totalDelivered);
    expect(report.parity.perTarget.map((t) => t.delivered)).toEqual(parity.perTarget.map((t) => t.delivered));
    for (const [i, g] of [a, b].entries()) {
      const gw = g.parity(relay.builder.sessionId)!;
      const controls = report.targets[i]!.streams.find((s) => s.stream === 'controls')!;
      expect(controls.gateway?.framesIn).toBe(gw.streams.controls!.framesIn);
      // The gateway holds what the relay counts delivered, plus at most what it still had in flight.
      expect(gw.streams.controls!.framesIn).toBeGreaterThanOrEqual(controls.relay.delivered);
      expect(gw.streams.controls!.framesIn).toBeLessThanOrEqual(controls.relay.delivered + controls.relay.inFlight);
      expect(controls.checks.find((c) => c.figure === 'framesIn')?.result).toBe('agrees');
    }
    expect(report.verdict.status).not.toBe('disagreement');
    expect(html.text.indexOf('id="verdict"')).toBeLessThan(html.text.indexOf('<h2>Environment</h2>'));
    expect(html.text).toContain('<svg');
    expect(html.text).not.toMatch(/<script[^>]+src=|<link[^>]+href="https?:/);
  });
});
