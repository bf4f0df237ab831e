// The parity report against a real relay and real reference gateways: its numbers are the
// relay's and the gateways' own, every gap is attributed, a gateway that does not answer is
// reported as such, no secret appears anywhere, and the HTML page stands on its own.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type Gateway, type GatewayParity } from '../src-gateway/gateway';
import { HTTP_ROUTES, SECRET_HEADER, type ReportExport } from '../src-shared/bridge';
import type { ParityResponse, TargetsResponse } from '../src-shared/debug-api';
import type { ParityReport, StreamAttribution } from '../src-shared/report';
import { renderReportHtml } from '../src-shared/report-html';
import { Relay } from '../src-main/relay';
import { fetchGatewayParity } from '../src-main/report/build-report';
import { SyntheticSource } from '../src-main/sources/synthetic';
import { CliRunner, request } from './helpers/cli';
import { FAST_TUNING, sleep, waitFor } from './helpers/relay-harness';

const SESSION = 'sess-report-1';
const SECRETS = ['s3cretpass', 'querysecret99', 'gw-token-a-123456', 'alice'];

const cli = new CliRunner();
let dir: string;
let relay: Relay;
let a: Gateway;
let b: Gateway;
const closers: (() => Promise<void>)[] = [];

async function getReport(): Promise<{ exported: ReportExport; report: ParityReport }> {
  const res = await request(relay.debug.port, HTTP_ROUTES.report, { timeoutMs: 8000 });
  expect(res.status, res.text).toBe(200);
  const exported = res.json as ReportExport;
  expect(exported.ok).toBe(true);
  return { exported, report: JSON.parse(exported.json) as ParityReport };
}

const sum = (r: Record<string, number>) => Object.values(r).reduce((x, y) => x + y, 0);

/** produced = (delivered + in transit - beyond sent) + failed + dropped + queued, with every loss given a reason. */
function expectAddsUp(s: StreamAttribution): void {
  expect(s.relay.sent + s.relay.failed + s.relay.dropped + s.relay.queued, `relay accounting of ${s.stream}`).toBe(s.relay.produced);
  expect(sum(s.inRelay.droppedBy)).toBe(s.relay.dropped);
  expect(sum(s.inRelay.failedBy)).toBe(s.relay.failed);
  expect(s.inRelay.total).toBe(s.relay.dropped + s.relay.failed + s.relay.queued);
  if (s.gateway) {
    expect(typeof s.inTransit).toBe('number');
    expect(s.gateway.framesIn + (s.inTransit as number) - (s.beyondSent as number), `gateway side of ${s.stream}`).toBe(s.relay.sent);
  } else {
    expect(s.inTransit).toBe('unknown');
  }
}

function expectNoSecret(text: string, what: string): void {
  for (const secret of [...SECRETS, relay.dashboardSecret]) expect(text.includes(secret), `${what} contains ${secret}`).toBe(false);
}

beforeAll(async () => {
  a = await startGateway({ name: 'A', token: 'gw-token-a-123456' });
  b = await startGateway({ name: 'B' });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-report-'));
  fs.writeFileSync(
    path.join(dir, 'config.json'),
    JSON.stringify({
      debugPort: 0,
      mode: 'parallel',
      paritySampleRate: 0.2,
      backends: [
        { url: a.url.replace('ws://', 'ws://alice:s3cretpass@') + '?token=querysecret99', enabled: true, token: 'gw-token-a-123456' },
        { url: b.url, enabled: true },
      ],
    }),
  );
  relay = await Relay.start({
    configDir: dir,
    env: { RELAY_BUILD_TIME: '2026-11-01T10:00:00Z' },
    source: new SyntheticSource({ sessionId: SESSION, controlsHz: 120, baselineHz: 10 }),
    tuning: FAST_TUNING,
    reportGatewayTimeoutMs: 1000,
  });
  await waitFor('both gateways to count frames', () => (a.parity(SESSION)?.streams.controls?.framesIn ?? 0) > 20 && (b.parity(SESSION)?.streams.controls?.framesIn ?? 0) > 20, 5000);
  // One latency point a second: the chart needs at least one with a value.
  await waitFor('a latency point with a value', () => Object.values(relay.latencyHistory().targets).every((points) => points.some((p) => p.p95 !== null)), 4000);
  // B goes away mid-stream: its frames queue in the relay from now on.
  await b.close();
  await waitFor('the relay to see B gone', () => relay.manager.targetsView().targets[1]?.state !== 'connected', 3000);
  await sleep(300);
  await relay.source.stop();
  expect(await waitFor('A to have everything', () => relay.manager.targetsView().targets[0]?.queueSize === 0, 5000)).toBe(true);
  // Let the last acks and the gateway's counting settle, so both sides are read at rest.
  await sleep(150);
});

afterAll(async () => {
  await cli.cleanup();
  await relay?.stop();
  await a?.close();
  for (const c of closers) await c();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('the parity report', () => {
  it('holds the numbers of /debug/parity, /debug/targets and each gateway parity endpoint, side by side', async () => {
    const { report } = await getReport();
    const parity = (await request(relay.debug.port, '/debug/parity')).json as ParityResponse;
    const targets = (await request(relay.debug.port, '/debug/targets')).json as TargetsResponse;
    const gatewayA = (await fetch(`${a.httpUrl}/api/dev/diagnostics/parity?sessionId=${SESSION}`).then((r) => r.json())) as GatewayParity;

    expect(report.parity).toEqual(parity);
    expect(report.sessionId).toBe(SESSION);
    expect(report.targets.map((t) => t.counters)).toEqual(targets.targets.map((t) => t.counters));
    expect(report.targets.map((t) => t.url)).toEqual(targets.targets.map((t) => t.url));
    expect(report.targets.map((t) => t.driftPct)).toEqual(targets.targets.map((t) => t.driftPct));
    expect(report.targets.map((t) => t.health)).toEqual(targets.targets.map((t) => t.health));

    const [ta, tb] = report.targets;
    if (!ta || !tb) throw new Error('two targets expected');
    expect(ta.gateway.ok).toBe(true);
    if (!ta.gateway.ok) return;
    expect(ta.gateway.parity.streams).toEqual(gatewayA.streams);
    for (const s of ta.streams) {
      expect(s.gateway?.framesIn).toBe(gatewayA.streams[s.stream]?.framesIn);
      expect(s.relay).toEqual({ ...targets.targets[0]?.streams[s.stream], acked: expect.any(Number) });
      expect(s.inTransit).toBe(Math.max(0, s.relay.sent - (gatewayA.streams[s.stream]?.framesIn ?? 0)));
      expectAddsUp(s);
    }
    expect(ta.streams.map((s) => s.stream)).toEqual(['baseline', 'controls']);
    expect(ta.streams.reduce((n, s) => n + s.relay.acked, 0)).toBe(ta.counters.acked);
    expect(ta.counters.acked).toBeGreaterThan(0);
    // Everything sent to A arrived: nothing in transit, nothing lost in the relay.
    expect(ta.streams.every((s) => s.inTransit === 0 && s.inRelay.total === 0)).toBe(true);
    expect(ta.latencyHistory.length).toBeGreaterThan(0);
  });

  it('reports a gateway that does not answer as such, attributes its queued frames to the relay, and is still written', async () => {
    const { report } = await getReport();
    const tb = report.targets[1];
    if (!tb) throw new Error('target B expected');
    expect(tb.gateway).toMatchObject({ ok: false, url: `${b.httpUrl}/api/dev/diagnostics/parity?sessionId=${SESSION}`, error: expect.stringContaining('connection refused') });
    expect(tb.counters.queued).toBeGreaterThan(0);
    const controls = tb.streams.find((s) => s.stream === 'controls');
    expect(controls?.inTransit).toBe('unknown');
    expect(controls?.inRelay.queued).toBeGreaterThan(0);
    for (const s of tb.streams) expectAddsUp(s);
    expect(report.notes.join('\n')).toContain('did not answer');

    // The kill switch then drops what B held: the same frames, now attributed to it.
    const on = await request(relay.debug.port, HTTP_ROUTES.killSwitch, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [SECRET_HEADER]: relay.dashboardSecret },
      body: '{"on":true}',
    });
    expect(on.status).toBe(200);
    const after = (await getReport()).report;
    const tb2 = after.targets[1];
    expect(tb2?.counters.queued).toBe(0);
    expect(sum(tb2?.droppedBy ?? {})).toBeGreaterThanOrEqual(tb.counters.queued);
    expect(tb2?.droppedBy.killSwitch).toBeGreaterThanOrEqual(tb.counters.queued);
    for (const s of tb2?.streams ?? []) expectAddsUp(s);
    const kinds = after.timeline.map((e) => e.kind);
    expect(kinds).toEqual(expect.arrayContaining(['added', 'connected', 'disconnected', 'kill-switch-on']));
    for (const e of after.timeline) expect(new Date(e.at).toISOString()).toBe(e.at);
    const off = await request(relay.debug.port, HTTP_ROUTES.killSwitch, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [SECRET_HEADER]: relay.dashboardSecret },
      body: '{"on":false}',
    });
    expect(off.status).toBe(200);
  });

  it('attributes gaps at the source per stream, as the relay and the gateway saw them', async () => {
    const { report } = await getReport();
    for (const t of report.targets) {
      for (const s of t.streams) {
        expect(s.atSource.seenByRelay).toBe(relay.builder.sourceGaps()[s.stream] ?? 0);
        if (t.gateway.ok) expect(s.atSource.seenByGateway).toBe(t.gateway.parity.streams[s.stream]?.sourceGaps);
        else expect(s.atSource.seenByGateway).toBeNull();
      }
    }
  });

  it('opens with the environment header, and holds the settings redacted, the timeline and the log tail', async () => {
    const { exported, report } = await getReport();
    expect(Object.keys(report)[0]).toBe('schema');
    expect(report.environment).toMatchObject({
      app: { name: 'relay-agent', version: expect.any(String), buildTime: '2026-11-01T10:00:00Z' },
      os: { name: expect.any(String), release: os.release(), arch: os.arch(), platform: process.platform },
      elevated: expect.stringMatching(/^(yes|no|unknown)$/),
      node: process.version,
      source: { kind: 'synthetic', state: 'ended' },
    });
    expect(report.settings.backends[0]).toEqual({ url: expect.stringContaining('ws://***:***@127.0.0.1:'), enabled: true, token: '(redacted)' });
    expect(report.logTail.length).toBeGreaterThan(0);
    expect(report.logTail.length).toBeLessThanOrEqual(200);
    expect(report.logTail.some((l) => l.includes('connected'))).toBe(true);
    expect(exported.fileBase).toMatch(/^relay-parity-report-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ$/);
    expect(exported.html.indexOf('Environment')).toBeLessThan(exported.html.indexOf('Targets'));
  });

  it('holds no token, secret or credential anywhere, in the JSON or the HTML', async () => {
    const { exported } = await getReport();
    expectNoSecret(exported.json, 'the JSON');
    expectNoSecret(exported.html, 'the HTML');
    // And the log file it draws its tail from.
    expectNoSecret(fs.readFileSync(path.join(dir, 'logs', 'relay.log'), 'utf8'), 'the log file');
  });

  it('is a self-contained HTML page: no script, no external resource, SVG charts', async () => {
    const { exported } = await getReport();
    const html = exported.html;
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<link/i);
    expect(html).not.toMatch(/\b(src|href|xlink:href|action)\s*=\s*["']?\s*(https?:)?\/\//i);
    expect(html).not.toMatch(/url\(/i);
    expect(html).not.toMatch(/@import/i);
    expect((html.match(/<svg/g) ?? []).length).toBeGreaterThanOrEqual(4);
    expect(html).toContain('<style>');
    expect(html).toContain('connection refused');
  });

  it('escapes everything that came from outside', async () => {
    const { report } = await getReport();
    const evil = '<script>alert(1)</script><img src=x onerror=alert(2)>';
    const html = renderReportHtml({
      ...report,
      logTail: [evil],
      timeline: [{ ts: 0, at: '1970-01-01T00:00:00.000Z', url: evil, kind: 'error', detail: evil }],
      targets: report.targets.map((t) => ({ ...t, lastError: evil, url: evil, streams: t.streams.map((s) => ({ ...s, stream: evil })) })),
    });
    expect(html).not.toContain('<script>');
    expect(html).not.toContain('<img');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  });

  it('relay report --out writes the JSON and the HTML beside it, and fails clearly with no relay', async () => {
    const outDir = cli.tempDir();
    const r = await cli.run(['report', '--config-dir', dir, '--out', path.join(outDir, 'support')]);
    expect(r.code, r.stderr).toBe(0);
    const jsonFile = path.join(outDir, 'support.json');
    const htmlFile = path.join(outDir, 'support.html');
    expect(r.stdout).toContain(jsonFile);
    expect(r.stdout).toContain(htmlFile);
    const report = JSON.parse(fs.readFileSync(jsonFile, 'utf8')) as ParityReport;
    expect(report.sessionId).toBe(SESSION);
    expect(report.targets).toHaveLength(2);
    const html = fs.readFileSync(htmlFile, 'utf8');
    expect(html).toContain('<svg');
    expectNoSecret(fs.readFileSync(jsonFile, 'utf8') + html, 'the saved files');

    const named = await cli.run(['report', '--config-dir', dir, '--out', path.join(outDir, 'named.json')]);
    expect(named.code, named.stderr).toBe(0);
    expect(fs.existsSync(path.join(outDir, 'named.json')) && fs.existsSync(path.join(outDir, 'named.html'))).toBe(true);

    const empty = cli.tempDir();
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer();
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const none = await cli.run(['report', '--config-dir', empty, '--out', path.join(outDir, 'none')], { RELAY_DEBUG_PORT: String(port) });
    expect(none.code).toBe(1);
    expect(none.stderr).toContain(`no relay answers with a report on http://127.0.0.1:${port}`);
    expect(fs.existsSync(path.join(outDir, 'none.json'))).toBe(false);
  });
});

describe('asking a gateway for its parity', () => {
  it('says in words when a gateway accepts the connection but never answers', async () => {
    const sockets: net.Socket[] = [];
    const server = net.createServer((s) => sockets.push(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    closers.push(() => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    });
    const port = (server.address() as net.AddressInfo).port;
    const started = performance.now();
    const answer = await fetchGatewayParity(`wss://bob:pw12345@127.0.0.1:${port}/relay`, 'sess x', 200);
    expect(performance.now() - started).toBeLessThan(1500);
    expect(answer).toEqual({ ok: false, url: `https://127.0.0.1:${port}/api/dev/diagnostics/parity?sessionId=sess%20x`, error: 'no answer within 200 ms' });
  });

  it('explains an unknown session (404) from a real gateway', async () => {
    const answer = await fetchGatewayParity(a.url, 'no-such-session');
    expect(answer.ok).toBe(false);
    if (!answer.ok) expect(answer.error).toContain('HTTP 404: unknown session');
  });
});

describe('asking a gateway for its parity', () => {
  it('sends the backend token, as the WebSocket upgrade does, and never the URL credentials', async () => {
    const seen: (string | undefined)[] = [];
    const server = http.createServer((req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ sessionId: 's', streams: {}, duplicates: 0, outOfOrder: 0, lastError: null }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as AddressInfo).port;
      const answer = await fetchGatewayParity(`ws://user:pw@127.0.0.1:${port}/relay`, 's', 2000, 'tok-123');
      expect(answer.ok).toBe(true);
      expect(seen).toEqual(['Bearer tok-123']);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
