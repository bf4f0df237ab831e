// The dashboard over a long session: the relay at 60 Hz to two gateways, the page open in
// Chromium, its JS heap (after a forced GC) and DOM size compared between the start and the
// end of the window. Flat memory means a ratio near 1 and no growth in nodes.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { build } from 'vite';
import { startGateway } from '../src-gateway/gateway';
import { Relay } from '../src-main/relay';
import { CHROMIUM, launchChromium } from '../tests/helpers/browser';
import { round } from './util';

export interface DashboardResult {
  heapStartMb: number;
  heapEndMb: number;
  heapRatio: number;
  domNodesStart: number;
  domNodesEnd: number;
  snapshotsPerSec: number;
  windowS: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function measureDashboard(plan: { warmupMs: number; windowMs: number }): Promise<DashboardResult | null> {
  if (!fs.existsSync(CHROMIUM)) return null;
  await build({ configFile: new URL('../vite.config.ts', import.meta.url).pathname, logLevel: 'warn' });
  const gateways = [await startGateway({ name: 'A' }), await startGateway({ name: 'B' })];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-bench-dash-'));
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ backends: gateways.map((g) => ({ url: g.url, enabled: true })), mode: 'parallel', debugPort: 0 }));
  const relay = await Relay.start({ configDir: dir });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Performance.enable');
    let snapshots = 0;
    await page.exposeFunction('__benchSnapshot', () => snapshots++);
    // Counts the snapshots the page receives: a few a second, never one per frame. (A string:
    // this runs in the page, and the bench is type-checked without DOM types.)
    await page.addInitScript({
      content: `const O = window.EventSource; window.EventSource = class extends O { constructor(u, i) { super(u, i); this.addEventListener('state', () => window.__benchSnapshot()); } };`,
    });
    await page.goto(relay.dashboardUrl);
    const sample = async () => {
      await cdp.send('HeapProfiler.collectGarbage');
      const { metrics } = (await cdp.send('Performance.getMetrics')) as { metrics: { name: string; value: number }[] };
      const get = (n: string) => metrics.find((m) => m.name === n)?.value ?? 0;
      return { heap: get('JSHeapUsedSize'), nodes: get('Nodes') };
    };
    await sleep(plan.warmupMs);
    const start = await sample();
    const snapshotsAtStart = snapshots;
    await sleep(plan.windowMs);
    const end = await sample();
    return {
      heapStartMb: round(start.heap / 1024 / 1024, 2),
      heapEndMb: round(end.heap / 1024 / 1024, 2),
      heapRatio: round(end.heap / start.heap, 3),
      domNodesStart: start.nodes,
      domNodesEnd: end.nodes,
      snapshotsPerSec: round((snapshots - snapshotsAtStart) / (plan.windowMs / 1000), 2),
      windowS: plan.windowMs / 1000,
    };
  } finally {
    await browser.close();
    await relay.stop();
    for (const g of gateways) await g.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
