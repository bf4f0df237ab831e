// The parity report. First with constructed inputs (a fake relay view and fake gateway
// answers): the relay's account per stream, the gateway's own count beside it, each shared
// figure compared exactly, and every disagreement said at the top in plain words. Then
// against a real relay and real reference gateways: its numbers are the relay's and the
// gateways' own, a gateway that does not answer is reported as such, no secret appears
// anywhere, and the HTML page stands on its own.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../src-gateway/gateway';
import { HTTP_ROUTES, SECRET_HEADER, type ReportExport, type TimelineEntry } from '../src-shared/bridge';
import {
  DROP_REASONS,
  LOST_REASONS,
  type DropReason,
  type HealthResponse,
  type LostReason,
  type ParityResponse,
  type ParityStatus,
  type StreamCounts,
  type TargetView,
  type TargetsResponse,
} from '../src-shared/debug-api';
import type { GatewayParity, StreamParity } from '../src-shared/gateway-api';
import { GAP_REASONS, type GapReason } from '../src-shared/protocol';
import { REPORT_SCHEMA, type GatewayAnswer, type ParityReport, type StreamAccount } from '../src-shared/report';
import { renderReportHtml } from '../src-main/report/report-html';
import { DEFAULT_SETTINGS, type Settings } from '../src-shared/settings';
import { Relay } from '../src-main/runtime/relay';
import { buildReport, exportReport, fetchGatewayParity, parseGatewayParity, resumeOf, type ReportInputs, type ReportSource } from '../src-main/report/build-report';
import { SyntheticSource } from '../src-main/sources/synthetic';
import { CliRunner, request } from './helpers/cli';
import { FAST_TUNING } from './helpers/relay-harness';
import { sleep, waitFor } from './helpers/wait';

const sum = (r: Record<string, number>) => Object.values(r).reduce((x, y) => x + y, 0);

/** produced = delivered + in flight + queued + dropped + lost, every drop and loss with its reason. */
function expectAddsUp(s: StreamAccount): void {
  const r = s.relay;
  expect(r.delivered + r.inFlight + r.queued + r.dropped + r.lost, `relay account of ${s.stream}`).toBe(r.produced);
  expect(sum(r.droppedBy), `dropped by reason, ${s.stream}`).toBe(r.dropped);
  expect(sum(r.lostBy), `lost by reason, ${s.stream}`).toBe(r.lost);
}

// ---- constructed inputs ---------------------------------------------------------------------

const T0 = Date.parse('2026-12-02T10:00:00.000Z');
const URL_A = 'ws://127.0.0.1:7001/relay';
const URL_B = 'ws://127.0.0.1:7002/relay';
const URL_C = 'ws://127.0.0.1:7003/relay';

interface AccountSpec {
  delivered?: number;
  inFlight?: number;
  queued?: number;
  droppedBy?: Partial<Record<DropReason, number>>;
  lostBy?: Partial<Record<LostReason, number>>;
  notGiven?: number;
  acked?: number;
  resent?: number;
}

/** A stream's account that closes by construction, as the relay's must. */
function account(spec: AccountSpec = {}): StreamCounts {
  const droppedBy = Object.fromEntries(DROP_REASONS.map((r) => [r, spec.droppedBy?.[r] ?? 0])) as Record<DropReason, number>;
  const lostBy = Object.fromEntries(LOST_REASONS.map((r) => [r, spec.lostBy?.[r] ?? 0])) as Record<LostReason, number>;
  const delivered = spec.delivered ?? 0;
  const inFlight = spec.inFlight ?? 0;
  const queued = spec.queued ?? 0;
  const dropped = sum(droppedBy);
  const lost = sum(lostBy);
  return {
    produced: delivered + inFlight + queued + dropped + lost,
    delivered,
    inFlight,
    queued,
    dropped,
    lost,
    sent: delivered + inFlight + lost,
    failed: lost,
    acked: spec.acked ?? 0,
    resent: spec.resent ?? 0,
    droppedBy,
    lostBy,
    notGiven: spec.notGiven ?? 0,
  };
}

function view(url: string, streams: Record<string, StreamCounts>, over: Partial<TargetView> = {}): TargetView {
  const all = Object.values(streams);
  const add = (k: keyof StreamCounts) => all.reduce((n, s) => n + (s[k] as number), 0);
  const keys = ['produced', 'delivered', 'inFlight', 'queued', 'dropped', 'lost', 'sent', 'failed', 'acked', 'resent'] as const;
  return {
    url,
    name: null,
    enabled: true,
    state: 'connected',
    primary: false,
    counters: Object.fromEntries(keys.map((k) => [k, add(k)])) as unknown as TargetView['counters'],
    streams,
    droppedBy: Object.fromEntries(DROP_REASONS.map((r) => [r, all.reduce((n, s) => n + s.droppedBy[r], 0)])) as Record<DropReason, number>,
    lostBy: Object.fromEntries(LOST_REASONS.map((r) => [r, all.reduce((n, s) => n + s.lostBy[r], 0)])) as Record<LostReason, number>,
    queueSize: add('queued'),
    queueBytes: 0,
    lastSendOkMs: T0,
    lastConfirmMs: T0,
    oldestUnconfirmedMs: add('inFlight') > 0 ? 12 : null,
    lastAckLatencyMs: 3,
    lastError: null,
    ackLatency: { p50: 3, p95: 6, samples: 10 },
    acksMissing: 0,
    badMessages: 0,
    driftPct: 0,
    health: { status: 'healthy', reasons: [] },
    connects: 1,
    disconnects: 0,
    connectedSinceMs: T0 - 60_000,
    nextRetryMs: null,
    gateway: 'gw',
    authenticated: false,
    ...over,
  };
}

interface GatewaySpec {
  framesIn?: number;
  missing?: number;
  gapped?: Partial<Record<GapReason, number>>;
  endedAt?: number | null;
  upTo?: number;
  duplicates?: number;
  resent?: number;
  resentDuplicates?: number;
}

function held(spec: GatewaySpec = {}): StreamParity {
  const framesIn = spec.framesIn ?? 0;
  return {
    framesIn,
    acked: 0,
    lastFrameTs: T0,
    firstSeq: framesIn > 0 ? 1 : null,
    lastSeq: framesIn > 0 ? framesIn : null,
    upTo: spec.upTo ?? framesIn,
    missing: spec.missing ?? 0,
    gapped: Object.fromEntries(GAP_REASONS.map((r) => [r, spec.gapped?.[r] ?? 0])) as Record<GapReason, number>,
    sourceGaps: 0,
    restartSkipped: 0,
    duplicates: spec.duplicates ?? 0,
    resent: spec.resent ?? 0,
    resentDuplicates: spec.resentDuplicates ?? 0,
    outOfOrder: 0,
    endedAt: spec.endedAt ?? null,
  };
}

function answered(url: string, streams: Record<string, StreamParity>): GatewayAnswer {
  const p: GatewayParity = { sessionId: 'sess-x', streams, duplicates: 0, outOfOrder: 0, missing: sum(Object.fromEntries(Object.entries(streams).map(([k, v]) => [k, v.missing]))), resent: 0, resentDuplicates: 0, lastError: null };
  return { ok: true, url: `http://${new URL(url).host}/api/dev/diagnostics/parity?sessionId=sess-x`, parity: p, fetchedInMs: 3 };
}

const source = (v: TargetView, over: Partial<ReportSource> = {}): ReportSource => ({ view: v, url: v.url, token: undefined, removed: false, ...over });

function parityOf(sources: readonly ReportSource[], status: ParityStatus = 'healthy', healthySinceMs: number | null = status === 'healthy' ? T0 - 5 * 60_000 : null): ParityResponse {
  const current = sources.filter((s) => !s.removed).map((s) => s.view);
  const total = (k: 'sent' | 'acked' | 'failed' | 'dropped' | 'delivered' | 'inFlight' | 'lost') => current.reduce((n, v) => n + v.counters[k], 0);
  return {
    totalSent: total('sent'),
    totalAcked: total('acked'),
    totalFailed: total('failed'),
    totalDropped: total('dropped'),
    totalDelivered: total('delivered'),
    totalInFlight: total('inFlight'),
    totalLost: total('lost'),
    ackLatency: { p50: 3, p95: 6, samples: 20 },
    perTarget: current.map((v) => ({ url: v.url, ...v.counters, driftPct: 0, confirming: status !== 'no-data' })),
    sessionId: 'sess-x',
    driftPct: 0,
    verdict: { status, reasons: status === 'healthy' ? [] : [`parity is ${status}`] },
    healthySinceMs,
  };
}

/** A relay as the report reads it: each reportSources() call gives the next read (the last one repeats). */
function fakeManager(reads: ReportSource[][], parity?: ParityResponse, settings?: Settings): ReportInputs['manager'] & { reads: number } {
  const first = reads[0] ?? [];
  const timeline: TimelineEntry[] = [{ ts: T0, url: null, kind: 'kill-switch-off', detail: '' }];
  return {
    reads: 0,
    settings: settings ?? { ...DEFAULT_SETTINGS, backends: first.filter((s) => !s.removed).map((s) => ({ url: s.url, enabled: true, ...(s.token ? { token: s.token } : {}) })) },
    reportSources() {
      const read = reads[Math.min(this.reads, reads.length - 1)] ?? [];
      this.reads++;
      return read;
    },
    parityView: () => parity ?? parityOf(first),
    latencyHistory: () => ({ targets: Object.fromEntries(first.map((s) => [s.view.url, [{ t: T0, p50: 3, p95: 6 }]])) }),
    timeline: () => timeline,
  };
}

const HEALTH: HealthResponse = {
  status: 'healthy',
  killSwitch: false,
  mode: 'parallel',
  version: '0.0.0-test',
  sessionId: 'sess-x',
  message: null,
  reasons: [],
  targets: [],
  source: null,
  uptimeMs: 60_000,
};

function inputs(manager: ReportInputs['manager'], answers: Record<string, GatewayAnswer | ((url: string) => GatewayAnswer)>, over: Partial<ReportInputs> = {}): ReportInputs {
  return {
    manager,
    sessionId: 'sess-x',
    sourceGaps: {},
    health: HEALTH,
    envOverrides: [],
    logTail: async () => ['a log line'],
    secrets: [],
    relayUptimeMs: 60_000,
    env: {},
    clock: { now: () => T0 },
    askGateway: async (url) => {
      const a = answers[url];
      if (a === undefined) return { ok: false, url: `http://${new URL(url).host}/api/dev/diagnostics/parity?sessionId=sess-x`, error: 'connection refused: nothing listens on that host and port (the gateway is down?)' };
      return typeof a === 'function' ? a(url) : a;
    },
    ...over,
  };
}

const checkOf = (report: ParityReport, target: number, stream: string, figure: string) =>
  report.targets[target]?.streams.find((s) => s.stream === stream)?.checks.find((c) => c.figure === figure);

describe('the report compares each gateway\'s own count with the relay\'s account (constructed inputs)', () => {
  it('at rest and in agreement: every figure agrees, and the verdict is the relay\'s healthy, with its clock', async () => {
    const a = view(URL_A, {
      controls: account({ delivered: 1000, droppedBy: { queueFull: 4 }, lostBy: { connectionLost: 2 }, acked: 50 }),
      baseline: account({ delivered: 100 }),
    });
    const b = view(URL_B, { controls: account({ delivered: 1006 }), baseline: account({ delivered: 100 }) });
    const sources = [source(a), source(b)];
    const manager = fakeManager([sources]);
    const report = await buildReport(
      inputs(manager, {
        [URL_A]: answered(URL_A, { controls: held({ framesIn: 1000, missing: 2, gapped: { queueFull: 4 } }), baseline: held({ framesIn: 100 }) }),
        [URL_B]: answered(URL_B, { controls: held({ framesIn: 1006 }), baseline: held({ framesIn: 100 }) }),
      }),
    );
    expect(report.schema).toBe(REPORT_SCHEMA);
    expect(REPORT_SCHEMA).toBe('relay-parity-report/2');
    expect(manager.reads).toBe(2); // read before asking the gateways, and after their answers
    expect(report.parity).toEqual(manager.parityView(null)); // shown, never recomputed
    expect(report.verdict.status).toBe('healthy');
    expect(report.verdict.sentences[0]).toMatch(/^Every gateway's own count agrees .* healthy without a break since 2026-12-02T09:55:00.000Z \(5 min before this report\)\.$/);
    for (const t of report.targets) {
      expect(t.proof).toEqual({ status: 'agrees', sentences: [] });
      expect(t.streams.map((s) => s.stream)).toEqual(['baseline', 'controls']);
      for (const s of t.streams) {
        expectAddsUp(s);
        expect(s.checks.map((c) => c.figure)).toEqual(['framesIn', 'missing', ...GAP_REASONS.map((r) => `gapped.${r}`)]);
        expect(s.checks.every((c) => c.result === 'agrees' && c.detail === null)).toBe(true);
      }
    }
    expect(checkOf(report, 0, 'controls', 'missing')).toMatchObject({ gateway: 2, expected: { min: 2, max: 2 } });
    expect(checkOf(report, 0, 'controls', 'gapped.queueFull')).toMatchObject({ gateway: 4, expected: { min: 4, max: 4 }, relayTerms: 'dropped for queue full 4' });
  });

  it('says a disagreement at the top, in plain words: which target, which stream, which figure, both values', async () => {
    const a = view(URL_A, { controls: account({ delivered: 1000, inFlight: 5, lostBy: { connectionLost: 3 } }) });
    const b = view(URL_B, { controls: account({ delivered: 990, droppedBy: { queueFull: 10 } }) });
    const report = await buildReport(
      inputs(fakeManager([[source(a), source(b)]]), {
        // A holds more than the relay delivered or has in flight; B was told of fewer gaps than the relay dropped.
        [URL_A]: answered(URL_A, { controls: held({ framesIn: 1012, missing: 3 }) }),
        [URL_B]: answered(URL_B, { controls: held({ framesIn: 990, gapped: { queueFull: 7 }, missing: 3 }) }),
      }),
    );
    expect(report.verdict.status).toBe('disagreement');
    const [first, second, third] = report.verdict.sentences;
    expect(first).toContain(`Disagreement on ${URL_A}, stream "controls", frames in: the gateway says 1012, the relay's counts say between 1000 and 1005 (delivered 1000 + in flight 5)`);
    expect(second).toContain(`Disagreement on ${URL_B}, stream "controls", missing: the gateway says 3, the relay's counts say 0`);
    expect(third).toContain(`Disagreement on ${URL_B}, stream "controls", gapped for queue full: the gateway says 7, the relay's counts say 10 (dropped for queue full 10)`);
    expect(report.targets.map((t) => t.proof.status)).toEqual(['disagrees', 'disagrees']);
    expect(checkOf(report, 0, 'controls', 'missing')?.result).toBe('agrees');
    expect(checkOf(report, 1, 'controls', 'framesIn')?.result).toBe('agrees');

    // The page opens with the same sentences, before anything else.
    const html = renderReportHtml(report);
    const at = html.indexOf('Disagreement on');
    expect(at).toBeGreaterThan(0);
    expect(at).toBeLessThan(html.indexOf('<h2>Environment</h2>'));
    expect(html).toContain('gateway says 1012');
  });

  it('framesIn may hold what is in flight, never less than what was confirmed', async () => {
    const a = view(URL_A, { controls: account({ delivered: 500, inFlight: 20 }) });
    const cases: [number, string][] = [
      [499, 'disagrees'],
      [500, 'agrees'],
      [512, 'agrees'],
      [520, 'agrees'],
      [521, 'disagrees'],
    ];
    for (const [framesIn, result] of cases) {
      const report = await buildReport(inputs(fakeManager([[source(a)]]), { [URL_A]: answered(URL_A, { controls: held({ framesIn }) }) }));
      expect(checkOf(report, 0, 'controls', 'framesIn')?.result, `framesIn ${framesIn}`).toBe(result);
      expect(report.verdict.status, `framesIn ${framesIn}`).toBe(result === 'agrees' ? 'healthy' : 'disagreement');
    }
  });

  it('missing is what the relay lost on a broken connection, plus what was unconfirmed at stop once the gateway saw the end', async () => {
    const a = view(URL_A, { controls: account({ delivered: 100, lostBy: { connectionLost: 2, unconfirmedAtStop: 3 } }) });
    const ask = (spec: GatewaySpec) => buildReport(inputs(fakeManager([[source(a)]]), { [URL_A]: answered(URL_A, { controls: held({ framesIn: 100, ...spec }) }) }));
    expect(checkOf(await ask({ missing: 2 }), 0, 'controls', 'missing')).toMatchObject({ result: 'agrees', expected: { min: 2, max: 2 } });
    expect(checkOf(await ask({ missing: 5, endedAt: 105 }), 0, 'controls', 'missing')).toMatchObject({ result: 'agrees', expected: { min: 5, max: 5 } });
    expect(checkOf(await ask({ missing: 2, endedAt: 105 }), 0, 'controls', 'missing')).toMatchObject({ result: 'disagrees' });
    expect(checkOf(await ask({ missing: 9 }), 0, 'controls', 'missing')).toMatchObject({ result: 'disagrees' });
    // Frames lost before any later frame or an end: the gateway cannot count them yet. Unproven, not a disagreement.
    const early = await ask({ missing: 0 });
    expect(checkOf(early, 0, 'controls', 'missing')).toMatchObject({ result: 'unproven', detail: expect.stringContaining('only once a later frame or the end') });
    expect(early.verdict.status).toBe('unproven');
  });

  it('each gapped reason equals the relay\'s drops for it, and beforeAdded its notGiven', async () => {
    const a = view(URL_A, {
      controls: account({ delivered: 100, notGiven: 40, droppedBy: { killSwitch: 5, standby: 6, disabled: 7, deactivated: 8, removed: 9, queueFull: 10 } }),
    });
    const exact = { killSwitch: 5, standby: 6, disabled: 7, deactivated: 8, removed: 9, queueFull: 10, beforeAdded: 40 };
    const ok = await buildReport(inputs(fakeManager([[source(a)]]), { [URL_A]: answered(URL_A, { controls: held({ framesIn: 100, gapped: exact }) }) }));
    expect(ok.verdict.status).toBe('healthy');
    expect(checkOf(ok, 0, 'controls', 'gapped.beforeAdded')).toMatchObject({ gateway: 40, relayTerms: 'not given 40', result: 'agrees' });
    for (const reason of GAP_REASONS) {
      const off = await buildReport(inputs(fakeManager([[source(a)]]), { [URL_A]: answered(URL_A, { controls: held({ framesIn: 100, gapped: { ...exact, [reason]: exact[reason] + 1 } }) }) }));
      expect(checkOf(off, 0, 'controls', `gapped.${reason}`)?.result, reason).toBe('disagrees');
      expect(off.verdict.sentences[0], reason).toContain(`the gateway says ${exact[reason] + 1}, the relay's counts say ${exact[reason]}`);
    }
  });

  it('a gateway that does not answer is said so: not a disagreement, and never healthy (unproven)', async () => {
    const a = view(URL_A, { controls: account({ delivered: 100 }) });
    const b = view(URL_B, { controls: account({ delivered: 100 }) });
    const report = await buildReport(inputs(fakeManager([[source(a), source(b)]]), { [URL_A]: answered(URL_A, { controls: held({ framesIn: 100 }) }) }));
    expect(report.verdict.status).toBe('unproven');
    expect(report.verdict.sentences.join('\n')).toContain(`${URL_B}: its gateway did not answer (connection refused`);
    expect(report.verdict.sentences.join('\n')).not.toMatch(/Disagreement/);
    expect(report.targets[1]?.gateway.ok).toBe(false);
    expect(report.targets[1]?.proof.status).toBe('unproven');
    expect(report.targets[1]?.streams[0]).toMatchObject({ gateway: null, checks: [] });
    expect(renderReportHtml(report)).toContain('The gateway did not answer');
    // Even a relay whose own verdict is healthy: the report claims no more than was checked.
    expect(report.parity.verdict.status).toBe('healthy');
  });

  it('the relay\'s own no-data, warning and critical are shown as they are, never turned healthy', async () => {
    const a = view(URL_A, { controls: account({ delivered: 100 }) });
    const answers = { [URL_A]: answered(URL_A, { controls: held({ framesIn: 100 }) }) };
    for (const status of ['no-data', 'warning', 'critical'] as const) {
      const report = await buildReport(inputs(fakeManager([[source(a)]], parityOf([source(a)], status)), answers));
      expect(report.verdict.status).toBe(status);
      expect(report.verdict.sentences.join(' ')).toContain(status === 'no-data' ? 'no-data: no confirmed deliveries yet' : `parity verdict is ${status}: parity is ${status}`);
      expect(report.parity.verdict.status).toBe(status);
    }
  });

  it('compares within what moved while the gateway was asked, and leaves untold gaps unproven rather than wrong', async () => {
    // The relay kept sending: the second read (after the answers) has more delivered and more drops.
    const before = view(URL_A, { controls: account({ delivered: 1000, inFlight: 4, droppedBy: { queueFull: 2 } }) });
    const after = view(URL_A, { controls: account({ delivered: 1010, inFlight: 3, droppedBy: { queueFull: 5 } }) });
    const manager = fakeManager([[source(before)], [source(after)]]);
    const report = await buildReport(inputs(manager, { [URL_A]: answered(URL_A, { controls: held({ framesIn: 1011, gapped: { queueFull: 1 } }) }) }));
    expect(checkOf(report, 0, 'controls', 'framesIn')).toMatchObject({ result: 'agrees', expected: { min: 1000, max: 1013 } });
    expect(checkOf(report, 0, 'controls', 'gapped.queueFull')).toMatchObject({
      result: 'unproven',
      expected: { min: 2, max: 5 },
      detail: expect.stringContaining('the relay was still sending to it while its gateway was asked'),
    });
    expect(report.verdict.status).toBe('unproven');
    // The relay's side shown is its first read: the one every other figure of the report describes.
    expect(report.targets[0]?.counters.delivered).toBe(1000);

    // A target that is not connected cannot have told its gateway of its latest drops yet.
    const downView = view(URL_A, { controls: account({ delivered: 1000, queued: 30, droppedBy: { queueFull: 8 } }) }, { state: 'backoff' });
    const r2 = await buildReport(inputs(fakeManager([[source(downView)]]), { [URL_A]: answered(URL_A, { controls: held({ framesIn: 1000, gapped: { queueFull: 2 } }) }) }));
    expect(checkOf(r2, 0, 'controls', 'gapped.queueFull')).toMatchObject({ result: 'unproven', detail: expect.stringContaining('not connected (reconnecting)') });
    // Told of more than was dropped is wrong whatever moved.
    const r3 = await buildReport(inputs(fakeManager([[source(downView)]]), { [URL_A]: answered(URL_A, { controls: held({ framesIn: 1000, gapped: { queueFull: 9 } }) }) }));
    expect(checkOf(r3, 0, 'controls', 'gapped.queueFull')?.result).toBe('disagrees');
  });

  it('keeps a backend removed during the run, asks its gateway with its own URL and token, and leaks neither', async () => {
    const a = view(URL_A, { controls: account({ delivered: 300 }) });
    const gone = view('ws://***:***@127.0.0.1:7003/relay', { controls: account({ delivered: 200, droppedBy: { removed: 10 }, lostBy: { unconfirmedAtStop: 1 } }) }, { state: 'removed', enabled: false });
    const rawGone = 'ws://carol:pa55word@127.0.0.1:7003/relay?key=qs-secret-77';
    const asked: [string, string | undefined][] = [];
    const manager = fakeManager([[source(a), source(gone, { url: rawGone, token: 'removed-token-123', removed: true })]]);
    const exported = await exportReport(
      inputs(
        manager,
        {},
        {
          askGateway: async (url, _sessionId, _timeoutMs, token) => {
            asked.push([url, token]);
            // The removed backend ended its session: what it never confirmed counts as missing there too.
            return url === rawGone
              ? answered(URL_C, { controls: held({ framesIn: 200, missing: 1, endedAt: 211, gapped: { removed: 10 } }) })
              : answered(URL_A, { controls: held({ framesIn: 300 }) });
          },
        },
      ),
    );
    expect(exported.ok).toBe(true);
    const report = JSON.parse(exported.json) as ParityReport;
    expect(asked).toEqual([
      [URL_A, undefined],
      [rawGone, 'removed-token-123'],
    ]);
    expect(report.targets.map((t) => [t.url, t.removed])).toEqual([
      [URL_A, false],
      ['ws://***:***@127.0.0.1:7003/relay', true],
    ]);
    expect(report.targets[1]).toMatchObject({ state: 'removed', proof: { status: 'agrees' }, lostBy: { unconfirmedAtStop: 1, connectionLost: 0 } });
    expect(report.verdict.status).toBe('healthy');
    for (const secret of ['pa55word', 'qs-secret-77', 'removed-token-123', 'carol']) {
      expect(exported.json.includes(secret), `JSON holds ${secret}`).toBe(false);
      expect(exported.html.includes(secret), `HTML holds ${secret}`).toBe(false);
    }
    expect(exported.html).toContain('<h2>Removed during this run</h2>');
  });

  it('a target not meant to send, to which nothing was written, has nothing to prove: it does not make the report unproven', async () => {
    const a = view(URL_A, { controls: account({ delivered: 300 }) });
    const standby = view(URL_B, { controls: account({ droppedBy: { standby: 300 } }) }, { state: 'standby' });
    const report = await buildReport(inputs(fakeManager([[source(a), source(standby)]]), { [URL_A]: answered(URL_A, { controls: held({ framesIn: 300 }) }) }));
    expect(report.targets[1]?.proof.status).toBe('nothing-to-prove');
    expect(report.targets[1]?.proof.sentences[0]).toContain('the relay wrote nothing to it in this run');
    expect(report.verdict.status).toBe('healthy');
    // Its gateway holding frames the relay never wrote is a disagreement all the same.
    const r2 = await buildReport(
      inputs(fakeManager([[source(a), source(standby)]]), {
        [URL_A]: answered(URL_A, { controls: held({ framesIn: 300 }) }),
        [URL_B]: answered(URL_B, { controls: held({ framesIn: 12 }) }),
      }),
    );
    expect(r2.verdict.status).toBe('disagreement');
  });

  it('does not compare what the two sides cannot count alike: several sessions, a resumed session, one gateway behind two targets', async () => {
    const a = view(URL_A, { controls: account({ delivered: 300 }) });
    const answers = { [URL_A]: answered(URL_A, { controls: held({ framesIn: 120 }) }) };
    const several = await buildReport(inputs(fakeManager([[source(a)]]), answers, { sessions: ['s1', 'sess-x'] }));
    expect(several.verdict.status).toBe('unproven');
    expect(several.verdict.sentences.join(' ')).toContain("the relay's counts cover the 2 sessions of this run (s1, sess-x)");
    expect(checkOf(several, 0, 'controls', 'framesIn')?.result).toBe('unproven');

    const resumed = await buildReport(inputs(fakeManager([[source(a)]]), answers, { resumedFrom: { controls: 181 } }));
    expect(resumed.verdict.status).toBe('unproven');
    expect(resumed.verdict.sentences.join(' ')).toContain('continued session sess-x where an earlier run stopped (controls from seq 181)');

    const twin = view('ws://127.0.0.1:7001/other', { controls: account({ delivered: 300 }) });
    const shared = await buildReport(inputs(fakeManager([[source(a), source(twin)]]), { ...answers, 'ws://127.0.0.1:7001/other': answers[URL_A] as GatewayAnswer }));
    expect(shared.verdict.status).toBe('unproven');
    expect(shared.targets[0]?.proof.sentences.join(' ')).toContain('its gateway also counts what the relay sent to ws://127.0.0.1:7001/other');
  });

  it('reads the resume marks of the hello the gateway was sent', () => {
    expect(resumeOf(JSON.stringify({ type: 'hello', resume: { controls: 181, baseline: 7 } }))).toEqual({ controls: 181, baseline: 7 });
    expect(resumeOf(JSON.stringify({ type: 'hello' }))).toEqual({});
    expect(resumeOf('not json')).toEqual({});
  });
});

describe('reading a gateway\'s parity answer', () => {
  const stream = { framesIn: 5, acked: 1, lastFrameTs: 1, firstSeq: 1, lastSeq: 5, upTo: 5, missing: 0, gapped: { queueFull: 1 }, endedAt: null };

  it('takes the contract\'s fields and nothing else, with absent reasons as zero', () => {
    const parsed = parseGatewayParity(JSON.stringify({ sessionId: 's', streams: { controls: { ...stream, evil: '<script>' } }, lastError: null, extra: 1 }));
    if (typeof parsed === 'string') throw new Error(parsed);
    expect(parsed.streams.controls).toEqual({ ...held({ framesIn: 5, gapped: { queueFull: 1 } }), acked: 1, lastFrameTs: 1 });
    expect(Object.keys(parsed)).toEqual(['sessionId', 'streams', 'duplicates', 'outOfOrder', 'missing', 'resent', 'resentDuplicates', 'lastError']);
  });

  it('refuses an answer without the compared figures, saying which (an older gateway)', () => {
    const { gapped: _gapped, ...old } = stream;
    expect(parseGatewayParity(JSON.stringify({ streams: { controls: old } }))).toBe('stream "controls" has no gapped counts (a gateway older than protocol 2?)');
    const { upTo: _upTo, ...noUpTo } = stream;
    expect(parseGatewayParity(JSON.stringify({ streams: { controls: noUpTo } }))).toBe('stream "controls" has no upTo count (a gateway older than protocol 2?)');
    expect(parseGatewayParity(JSON.stringify({ streams: { controls: { ...stream, missing: -1 } } }))).toContain('no missing count');
    expect(parseGatewayParity(JSON.stringify({ streams: { controls: { ...stream, endedAt: undefined } } }))).toContain('no endedAt');
    expect(parseGatewayParity('[]')).toBe('no "streams" object');
  });
});

// ---- a real relay and real reference gateways -----------------------------------------------

const SESSION = 'sess-report-1';
const SECRETS = ['s3cretpass', 'querysecret99', 'gw-token-a-123456', 'alice'];

const cli = new CliRunner();
let dir: string;
let relay: Relay;
let a: Gateway;
let b: Gateway;
const closers: (() => Promise<void>)[] = [];

async function getReport(): Promise<{ exported: ReportExport; report: ParityReport }> {
  const res = await request(relay.debug.port, HTTP_ROUTES.exportReport, { timeoutMs: 8000 });
  expect(res.status, res.text).toBe(200);
  const exported = res.json as ReportExport;
  expect(exported.ok).toBe(true);
  return { exported, report: JSON.parse(exported.json) as ParityReport };
}

function expectNoSecret(text: string, what: string): void {
  for (const secret of [...SECRETS, relay.dashboardSecret]) expect(text.includes(secret), `${what} contains ${secret}`).toBe(false);
}

describe('the parity report of a real relay, asking real reference gateways', () => {
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
    await waitFor('a latency point with a value', () => Object.values(relay.actions.getHistory().targets).every((points) => points.some((p) => p.p95 !== null)), 4000);
    // B goes away mid-stream: its frames queue in the relay from now on.
    await b.close();
    await waitFor('the relay to see B gone', () => relay.manager.targetsView().targets[1]?.state !== 'connected', 3000);
    await sleep(300);
    await relay.source.stop();
    // Everything given to A confirmed: nothing queued, nothing in flight.
    const settled = () => {
      const c = relay.manager.targetsView().targets[0]?.counters;
      return c !== undefined && c.queued === 0 && c.inFlight === 0;
    };
    expect(await waitFor('A to confirm everything', settled, 5000)).toBe(true);
    // Let the last acks and the gateway's counting settle, so both sides are read at rest.
    await sleep(150);
  });

  afterAll(async () => {
    await cli.cleanup();
    await relay?.stop();
    await a?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('holds the numbers of /debug/parity, /debug/targets and each gateway parity endpoint, side by side', async () => {
    const { report } = await getReport();
    const parity = (await request(relay.debug.port, '/debug/parity')).json as ParityResponse;
    const targets = (await request(relay.debug.port, '/debug/targets')).json as TargetsResponse;
    const gatewayA = (await fetch(`${a.httpUrl}/api/dev/diagnostics/parity?sessionId=${SESSION}`).then((r) => r.json())) as GatewayParity;

    expect(report.schema).toBe('relay-parity-report/2');
    // The relay's verdict and parity clock are shown as /debug/parity gives them, never recomputed.
    expect(report.parity).toEqual(parity);
    expect(report.sessionId).toBe(SESSION);
    const current = report.targets.filter((t) => !t.removed);
    expect(current.map((t) => t.counters)).toEqual(targets.targets.map((t) => t.counters));
    expect(current.map((t) => t.url)).toEqual(targets.targets.map((t) => t.url));
    expect(current.map((t) => t.driftPct)).toEqual(targets.targets.map((t) => t.driftPct));
    expect(current.map((t) => t.health)).toEqual(targets.targets.map((t) => t.health));
    expect(current.map((t) => t.lostBy)).toEqual(targets.targets.map((t) => t.lostBy));
    expect(report.targets.filter((t) => t.removed)).toHaveLength(targets.removed.length);

    const [ta, tb] = report.targets;
    if (!ta || !tb) throw new Error('two targets expected');
    expect(ta.gateway.ok).toBe(true);
    if (!ta.gateway.ok) return;
    expect(ta.streams.map((s) => s.stream)).toEqual(['baseline', 'controls']);
    for (const s of ta.streams) {
      const g = gatewayA.streams[s.stream];
      expect(s.gateway).toMatchObject({ framesIn: g?.framesIn, missing: g?.missing, gapped: g?.gapped, upTo: g?.upTo, endedAt: g?.endedAt });
      expect(s.relay).toEqual(targets.targets[0]?.streams[s.stream]);
      expectAddsUp(s);
      // At rest, all confirmed: the gateway holds exactly what the relay counts delivered, and every figure agrees.
      expect(s.relay.inFlight).toBe(0);
      expect(s.gateway?.framesIn).toBe(s.relay.delivered);
      expect(s.checks.filter((c) => c.result !== 'agrees')).toEqual([]);
    }
    expect(ta.proof).toEqual({ status: 'agrees', sentences: [] });
    expect(ta.streams.reduce((n, s) => n + s.relay.acked, 0)).toBe(ta.counters.acked);
    expect(ta.counters.acked).toBeGreaterThan(0);
    expect(ta.counters.lost).toBe(0);
    expect(ta.latencyHistory.length).toBeGreaterThan(0);
  });

  it('reports a gateway that does not answer as such, attributes its queued frames to the relay, and is still written', async () => {
    const { report } = await getReport();
    const tb = report.targets[1];
    if (!tb) throw new Error('target B expected');
    expect(tb.gateway).toMatchObject({ ok: false, url: `${b.httpUrl}/api/dev/diagnostics/parity?sessionId=${SESSION}`, error: expect.stringContaining('connection refused') });
    expect(tb.counters.queued).toBeGreaterThan(0);
    expect(tb.proof.status).toBe('unproven');
    const controls = tb.streams.find((s) => s.stream === 'controls');
    expect(controls).toMatchObject({ gateway: null, checks: [] });
    expect(controls?.relay.queued).toBeGreaterThan(0);
    for (const s of tb.streams) expectAddsUp(s);
    // Said at the top, not as a disagreement, and the report is not healthy.
    expect(report.verdict.status).not.toBe('healthy');
    expect(report.verdict.status).not.toBe('disagreement');
    expect(report.verdict.sentences.join('\n')).toContain(`${tb.url}: its gateway did not answer (connection refused`);

    // The kill switch then drops what B held: the same frames, now attributed to it.
    const on = await request(relay.debug.port, HTTP_ROUTES.setKillSwitch, {
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
    // A, killed too, had nothing left to drop: its account still agrees with its gateway.
    expect(after.targets[0]?.streams.flatMap((s) => s.checks).filter((c) => c.result === 'disagrees')).toEqual([]);
    const kinds = after.timeline.map((e) => e.kind);
    expect(kinds).toEqual(expect.arrayContaining(['added', 'connected', 'disconnected', 'kill-switch-on']));
    for (const e of after.timeline) expect(new Date(e.at).toISOString()).toBe(e.at);
    const off = await request(relay.debug.port, HTTP_ROUTES.setKillSwitch, {
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
    expect(html.indexOf('id="verdict"')).toBeLessThan(html.indexOf('<h2>Environment</h2>'));
    expect(html).not.toMatch(/\sstyle=/i);
  });

  it('escapes everything that came from outside', async () => {
    const { report } = await getReport();
    const evil = '<script>alert(1)</script><img src=x onerror=alert(2)>';
    const html = renderReportHtml({
      ...report,
      logTail: [evil],
      timeline: [{ ts: 0, at: '1970-01-01T00:00:00.000Z', url: evil, kind: 'error', detail: evil }],
      verdict: { status: 'disagreement', sentences: [evil] },
      targets: report.targets.map((t) => ({
        ...t,
        lastError: evil,
        url: evil,
        proof: { status: t.proof.status, sentences: [evil] },
        streams: t.streams.map((s) => ({ ...s, stream: evil, checks: s.checks.map((c) => ({ ...c, relayTerms: evil, detail: evil, result: 'disagrees' as const })) })),
      })),
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
    // A relay is looked for by its config folder (its runtime file), never by a port that may be another's.
    const none = await cli.run(['report', '--config-dir', empty, '--out', path.join(outDir, 'none')], { RELAY_DEBUG_PORT: String(port) });
    expect(none.code).toBe(3);
    expect(none.stderr).toContain(`no relay runs for the config folder ${empty}, so there is no report to save`);
    expect(fs.existsSync(path.join(outDir, 'none.json'))).toBe(false);
  });

  it('keeps a backend removed during the run in the report, with its gateway asked and its secrets kept out', async () => {
    // A leaves the configuration: its token and URL credentials are now only in the relay's memory of it.
    const removedUrl = relay.manager.targetsView().targets[0]?.url;
    const r = relay.actions.updateSettings({ backends: [{ url: b.url, enabled: true }] });
    expect(r).toMatchObject({ ok: true, confirmation: { changed: ['RELAY_BACKENDS'], configDir: relay.store.dir, pid: process.pid } });
    await waitFor('A to be listed as removed', () => relay.manager.targetsView().removed.length === 1, 5000);
    await sleep(300);
    const { exported, report } = await getReport();
    const gone = report.targets.find((t) => t.removed);
    expect(gone).toMatchObject({ url: removedUrl, removed: true, state: 'removed', gateway: { ok: true } });
    expect(report.targets.map((t) => t.removed)).toEqual([false, true]);
    const targets = (await request(relay.debug.port, '/debug/targets')).json as TargetsResponse;
    expect(gone?.counters).toEqual(targets.removed[0]?.counters);
    for (const s of gone?.streams ?? []) expectAddsUp(s);
    expect(gone?.streams.flatMap((s) => s.checks).filter((c) => c.result === 'disagrees')).toEqual([]);
    expect(exported.html).toContain('<h2>Removed during this run</h2>');
    expectNoSecret(exported.json, 'the JSON');
    expectNoSecret(exported.html, 'the HTML');
  });

  it('explains an unknown session (404) from a real gateway', async () => {
    const answer = await fetchGatewayParity(a.url, 'no-such-session');
    expect(answer.ok).toBe(false);
    if (!answer.ok) expect(answer.error).toContain('HTTP 404: unknown session');
  });
});

describe('asking a gateway for its parity', () => {
  afterAll(async () => {
    for (const c of closers.splice(0)) await c();
  });

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

  it('sends the backend token, as the WebSocket upgrade does, and never the URL credentials', async () => {
    const seen: (string | undefined)[] = [];
    const server = http.createServer((req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ sessionId: 's', streams: {}, duplicates: 0, outOfOrder: 0, missing: 0, resent: 0, resentDuplicates: 0, lastError: null }));
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
