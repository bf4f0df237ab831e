// The dashboard's cost in Chromium: the relay CLI at 60 Hz to two reference gateways, its
// dashboard open in one headless Chromium and about:blank in another, both measured over the
// same window (every process of each browser, from /proc). The dashboard's own cost is the
// difference, in percent of one core. Also its memory over the window: JS heap after a
// forced GC and DOM nodes, start against end (flat means no leak).
import fs from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { build } from 'vite';
import { CHROMIUM, launchChromium } from '../tests/helpers/browser';
import type { CliCommand } from './build';
import type { BenchChild } from './child';
import { PROJECT_DIR } from './paths';
import { CpuMeter, childrenOf, processTree } from './procfs';
import { RelayProcess } from './relay-process';
import { log, round, sleep } from './util';

export interface DashboardResult {
  windowS: number;
  /** Share of one core, all of each browser's processes. */
  dashboardCores: number;
  blankCores: number;
  /** (dashboard - about:blank) in percent of one core. */
  cpuVsBlank: number;
  heapStartMb: number;
  heapEndMb: number;
  heapRatio: number;
  domNodesStart: number;
  domNodesEnd: number;
  snapshotsPerSec: number;
  /** The page's own accounting over the window (Chromium's Performance metrics): script, layout and style time. */
  pageScriptMs: number;
  pageLayoutMs: number;
  pageStyleMs: number;
}

/** Launches Chromium and returns it with the pid of its browser process (a new child of this one). */
async function launchWithPid(): Promise<{ browser: Browser; pid: number }> {
  const before = new Set(childrenOf(process.pid));
  const browser = await launchChromium();
  const pid = childrenOf(process.pid).find((p) => !before.has(p));
  if (pid === undefined) {
    await browser.close();
    throw new Error('cannot find the Chromium process just launched');
  }
  return { browser, pid };
}

/**
 * `profile`: a file to write the page's CPU profile of the window to (the dashboard is then
 * built without minifying, so the profile names functions; `npm run bench -- --profile`).
 */
export async function measureDashboard(cli: CliCommand, child: BenchChild, urls: readonly string[], plan: { warmupMs: number; windowMs: number; profile?: string }): Promise<DashboardResult | null> {
  if (!fs.existsSync(CHROMIUM)) return null;
  await build({ configFile: path.join(PROJECT_DIR, 'vite.config.ts'), logLevel: 'warn', ...(plan.profile ? { build: { minify: false } } : {}) });
  const relay = await RelayProcess.start(cli, { backends: urls });
  let dash: { browser: Browser; pid: number } | null = null;
  let blank: { browser: Browser; pid: number } | null = null;
  try {
    await relay.waitConnected();
    const secret = fs.readFileSync(path.join(relay.dir, 'dashboard-secret'), 'utf8').trim();
    dash = await launchWithPid();
    blank = await launchWithPid();
    const page = await dash.browser.newPage();
    const blankPage = await blank.browser.newPage();
    await blankPage.goto('about:blank');
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Performance.enable');
    // Counts the snapshots the page receives, in the page: read twice, at the window's ends. (Not
    // a Playwright binding per snapshot: each call would be a DevTools round trip through the
    // renderer and the browser process, charged to the dashboard. A string: this runs in the
    // page, and the bench is type-checked without DOM types.)
    await page.addInitScript({
      content: `window.__benchSnapshots = 0; const O = window.EventSource; window.EventSource = class extends O { constructor(u, i) { super(u, i); this.addEventListener('state', () => { window.__benchSnapshots++; }); } };`,
    });
    const snapshotsSeen = async (): Promise<number> => Number(await page.evaluate('window.__benchSnapshots'));
    await page.goto(`http://127.0.0.1:${relay.port}/#secret=${secret}`);
    await page.getByTestId('latency-chart').first().waitFor({ timeout: 15_000 });
    const metrics = async () => {
      const { metrics: m } = (await cdp.send('Performance.getMetrics')) as { metrics: { name: string; value: number }[] };
      const get = (n: string) => m.find((x) => x.name === n)?.value ?? 0;
      return { heap: get('JSHeapUsedSize'), nodes: get('Nodes'), script: get('ScriptDuration'), layout: get('LayoutDuration'), style: get('RecalcStyleDuration') };
    };
    const sample = async () => {
      await cdp.send('HeapProfiler.collectGarbage');
      return metrics();
    };
    await sleep(plan.warmupMs);
    const start = await sample();
    const snapshotsAtStart = await snapshotsSeen();
    const dashPid = dash.pid;
    const blankPid = blank.pid;
    const dashMeter = new CpuMeter(() => processTree(dashPid));
    const blankMeter = new CpuMeter(() => processTree(blankPid));
    if (plan.profile) {
      await cdp.send('Profiler.enable');
      await cdp.send('Profiler.start');
    }
    dashMeter.begin();
    blankMeter.begin();
    // Read now and then: a process that ends inside the window keeps what it had used.
    for (let t = 0; t < plan.windowMs; t += 5_000) {
      await sleep(Math.min(5_000, plan.windowMs - t));
      dashMeter.sample();
      blankMeter.sample();
    }
    const d = dashMeter.sample();
    const b = blankMeter.sample();
    if (plan.profile) {
      const { profile } = (await cdp.send('Profiler.stop')) as { profile: unknown };
      fs.writeFileSync(plan.profile, JSON.stringify(profile));
    }
    const perf = await metrics();
    const snapshotsAtEnd = await snapshotsSeen();
    const end = await sample();
    const dashboardCores = d.cpuMs / d.wallMs;
    const blankCores = b.cpuMs / b.wallMs;
    log(`    dashboard ${(dashboardCores * 100).toFixed(2)}% of a core, about:blank ${(blankCores * 100).toFixed(2)}%, over ${Math.round(d.wallMs / 1000)} s`);
    const parts = (m: CpuMeter) => m.byProcess().filter((p) => p.cpuMs >= 1).map((p) => `${p.what} ${Math.round(p.cpuMs)} ms`).join(', ');
    log(`      dashboard's processes: ${parts(dashMeter)}`);
    log(`      about:blank's processes: ${parts(blankMeter)}`);
    return {
      windowS: round(d.wallMs / 1000, 1),
      dashboardCores: round(dashboardCores, 5),
      blankCores: round(blankCores, 5),
      cpuVsBlank: round((dashboardCores - blankCores) * 100, 3),
      heapStartMb: round(start.heap / 1024 / 1024, 2),
      heapEndMb: round(end.heap / 1024 / 1024, 2),
      heapRatio: round(end.heap / start.heap, 3),
      domNodesStart: start.nodes,
      domNodesEnd: end.nodes,
      snapshotsPerSec: round((snapshotsAtEnd - snapshotsAtStart) / (d.wallMs / 1000), 2),
      pageScriptMs: Math.round((perf.script - start.script) * 1000),
      pageLayoutMs: Math.round((perf.layout - start.layout) * 1000),
      pageStyleMs: Math.round((perf.style - start.style) * 1000),
    };
  } finally {
    await dash?.browser.close();
    await blank?.browser.close();
    await relay.stop();
    // The profiling build is not left behind for the relay to serve.
    if (plan.profile) await build({ configFile: path.join(PROJECT_DIR, 'vite.config.ts'), logLevel: 'warn' });
  }
}
