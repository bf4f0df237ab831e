// Dashboard snapshots for the store's unit tests, and the rules every snapshot the relay
// sends keeps (read off BackendManager and DashboardActions.getState). The contract test
// (renderer-store-contract.test.ts) checks the rules against a real relay and against these
// made-up snapshots, so the store is never tested on a state the relay cannot send.
import { PANEL_SETTING_KEYS, type DashboardState, type PanelSettings } from '../../src-shared/bridge';
import { DROP_REASONS, KILL_SWITCH_MESSAGE, LOST_REASONS, type ParityStatus, type StreamCounts, type TargetState, type TargetView } from '../../src-shared/debug-api';
import { classifyHealth, worst, type HealthVerdict } from '../../src-shared/metrics';
import { DEFAULT_SETTINGS } from '../../src-shared/settings';

export const T0 = 1_767_000_000_000;
export const URL_A = 'ws://127.0.0.1:9001/relay';
export const URL_B = 'ws://127.0.0.1:9002/relay';

const panelDefaults = (): PanelSettings => Object.fromEntries(PANEL_SETTING_KEYS.map((k) => [k, DEFAULT_SETTINGS[k]])) as unknown as PanelSettings;

/** Targets that are not meant to send: their health is not judged (healthy, no reasons). */
const INACTIVE: ReadonlySet<TargetState> = new Set(['killed', 'disabled', 'standby', 'removed']);
const COUNTER_KEYS = ['produced', 'delivered', 'inFlight', 'queued', 'dropped', 'lost', 'sent', 'failed', 'acked', 'resent'] as const;

/**
 * A target as /debug/targets shows it. `over` sets what a test cares about; the figures the
 * relay derives (one stream holding all the counts, the queue size) follow from the counters.
 */
export function target(url: string, over: Partial<TargetView> = {}): TargetView {
  const base: TargetView = {
    url,
    name: null,
    enabled: true,
    state: 'connected',
    primary: false,
    counters: { produced: 100, delivered: 98, inFlight: 2, queued: 0, dropped: 0, lost: 0, sent: 100, failed: 0, acked: 5, resent: 0 },
    streams: {},
    droppedBy: { queueFull: 0, killSwitch: 0, standby: 0, disabled: 0, deactivated: 0, removed: 0 },
    lostBy: { connectionLost: 0, unconfirmedAtStop: 0 },
    queueSize: 0,
    queueBytes: 0,
    lastSendOkMs: T0,
    lastConfirmMs: T0,
    oldestUnconfirmedMs: 20,
    lastAckLatencyMs: 4,
    lastError: null,
    ackLatency: { p50: 3, p95: 8, samples: 10 },
    acksMissing: 0,
    badMessages: 0,
    driftPct: 0,
    health: { status: 'healthy', reasons: [] },
    connects: 1,
    disconnects: 0,
    connectedSinceMs: T0,
    nextRetryMs: null,
    gateway: null,
    authenticated: false,
    ...over,
  };
  const c = base.counters;
  const controls: StreamCounts = { ...c, droppedBy: { ...base.droppedBy }, lostBy: { ...base.lostBy }, notGiven: 0 };
  return {
    ...base,
    streams: over.streams ?? (c.produced > 0 ? { controls } : {}),
    queueSize: over.queueSize ?? c.queued + c.inFlight,
    queueBytes: over.queueBytes ?? (c.queued + c.inFlight) * 200,
  };
}

export interface SnapshotOptions {
  killSwitch?: boolean;
  drift?: number;
  states?: TargetState[];
  urls?: string[];
  p95?: number;
  healthySinceMs?: number;
  /** False: connected, but no gateway confirmed a delivery within the relay's window. */
  confirming?: boolean;
  removed?: TargetView[];
}

/** A whole snapshot as the relay pushes it: verdicts and health derived from the targets the way the relay derives them. */
export function snapshot(at: number, opts: SnapshotOptions = {}): DashboardState {
  const killSwitch = opts.killSwitch ?? false;
  const urls = opts.urls ?? [URL_A, URL_B];
  const drift = opts.drift ?? 0;
  const targets = urls.map((u, i): TargetView => {
    const state: TargetState = killSwitch ? 'killed' : (opts.states?.[i] ?? 'connected');
    const t = target(u, { state, primary: i === 0, driftPct: drift, ackLatency: { p50: 3, p95: opts.p95 ?? 8, samples: 10 } });
    return { ...t, health: INACTIVE.has(state) ? { status: 'healthy', reasons: [] } : judged(t) };
  });
  const perTarget = targets.map((t) => ({
    url: t.url,
    ...Object.fromEntries(COUNTER_KEYS.map((k) => [k, t.counters[k]])),
    driftPct: drift,
    confirming: t.state === 'connected' && (opts.confirming ?? true),
  })) as DashboardState['parity']['perTarget'];
  const active = targets.map((t, i) => i).filter((i) => !INACTIVE.has(targets[i]!.state));
  let verdict: { status: ParityStatus; reasons: string[] };
  if (killSwitch) verdict = { status: 'no-data', reasons: [`${KILL_SWITCH_MESSAGE}: nothing is sent, so nothing can be compared`] };
  else if (!active.some((i) => perTarget[i]!.confirming)) verdict = { status: 'no-data', reasons: ['no gateway confirmed a delivery in the last 5 s'] };
  else {
    const byDrift = classifyHealth({ driftPct: drift });
    const silent = active.filter((i) => !perTarget[i]!.confirming);
    verdict = silent.length > 0 ? { status: 'critical', reasons: silent.map((i) => `${urls[i]}: no delivery confirmed in the last 5 s`) } : byDrift;
  }
  const total = (key: (typeof COUNTER_KEYS)[number]) => targets.reduce((a, t) => a + t.counters[key], 0);
  return {
    at,
    targets: { targets, removed: opts.removed ?? [], mode: 'parallel', primaryIndex: 0, killSwitch },
    parity: {
      totalSent: total('sent'),
      totalAcked: total('acked'),
      totalFailed: total('failed'),
      totalDropped: total('dropped'),
      totalDelivered: total('delivered'),
      totalInFlight: total('inFlight'),
      totalLost: total('lost'),
      ackLatency: { p50: 3, p95: opts.p95 ?? 8, samples: targets.reduce((a, t) => a + t.ackLatency.samples, 0) },
      perTarget,
      sessionId: 'sess_1',
      driftPct: drift,
      verdict,
      healthySinceMs: verdict.status === 'healthy' ? (opts.healthySinceMs ?? null) : null,
    },
    health: {
      status: killSwitch ? 'killed' : worst(...active.map((i) => targets[i]!.health.status)),
      killSwitch,
      mode: 'parallel',
      version: '0.1.0',
      sessionId: 'sess_1',
      message: killSwitch ? `${KILL_SWITCH_MESSAGE}: no telemetry leaves this machine.` : null,
      reasons: active.flatMap((i) => targets[i]!.health.reasons.map((r) => `${urls[i]}: ${r}`)),
      targets: targets.map((t) => ({ url: t.url, state: t.state, status: t.health.status })),
      source: { kind: 'synthetic', state: 'live', connected: true, framesProduced: 100, sessionId: 'sess_1' },
      uptimeMs: 1000,
    },
    settings: {
      backends: urls.map((u) => ({ url: u, enabled: true, hasToken: false, name: null })),
      mode: 'parallel',
      primaryIndex: 0,
      killSwitch,
      paritySampleRate: 0.05,
      values: panelDefaults(),
      allowNoDelivery: false,
      envOverrides: [],
    },
    timeline: [],
    cutover: null,
  };
}

/** An active target's health from its own figures, as the relay judges it (a drop rate aside: the view does not carry it). */
function judged(t: TargetView): HealthVerdict {
  const verdict = classifyHealth({ driftPct: t.driftPct, ackP95Ms: t.ackLatency.p95, queueSize: t.queueSize });
  if (t.state === 'connected') return verdict;
  return { status: worst(verdict.status, 'warning'), reasons: [...verdict.reasons, `not connected (${t.state})`] };
}

const sum = (values: number[]): number => values.reduce((a, b) => a + b, 0);
const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/**
 * What in a snapshot breaks the rules every snapshot of the relay keeps; empty when none.
 * Each rule is one the relay's code holds by how it builds the views: the accounting of
 * every target, the figures derived from it, the verdicts and the settings all agreeing.
 */
export function snapshotProblems(s: DashboardState): string[] {
  const problems: string[] = [];
  const rule = (holds: boolean, what: string) => {
    if (!holds) problems.push(what);
  };
  const { targets, removed, killSwitch, mode, primaryIndex } = s.targets;
  const each: [TargetView, string, number][] = [...targets.map((t, i): [TargetView, string, number] => [t, `target ${i} (${t.url})`, i]), ...removed.map((t): [TargetView, string, number] => [t, `removed ${t.url}`, -1])];
  for (const [t, name, i] of each) {
    const c = t.counters;
    rule(c.produced === c.delivered + c.inFlight + c.queued + c.dropped + c.lost, `${name}: produced is not delivered + inFlight + queued + dropped + lost`);
    rule(c.sent === c.delivered + c.inFlight + c.lost, `${name}: sent is not delivered + inFlight + lost`);
    rule(c.failed === c.lost, `${name}: failed is not lost`);
    rule(t.queueSize === c.queued + c.inFlight, `${name}: queueSize ${t.queueSize} is not queued + inFlight (${c.queued + c.inFlight})`);
    const streams = Object.values(t.streams);
    for (const key of COUNTER_KEYS) rule(sum(streams.map((x) => x[key])) === c[key], `${name}: ${key} is not the sum over its streams`);
    for (const r of DROP_REASONS) rule(sum(streams.map((x) => x.droppedBy[r])) === t.droppedBy[r], `${name}: droppedBy.${r} is not the sum over its streams`);
    for (const r of LOST_REASONS) rule(sum(streams.map((x) => x.lostBy[r])) === t.lostBy[r], `${name}: lostBy.${r} is not the sum over its streams`);
    rule(sum(Object.values(t.droppedBy)) === c.dropped, `${name}: dropped is not the sum of droppedBy`);
    rule(sum(Object.values(t.lostBy)) === c.lost, `${name}: lost is not the sum of lostBy`);
    if (i < 0 || INACTIVE.has(t.state)) rule(t.health.status === 'healthy' && t.health.reasons.length === 0, `${name}: a target not meant to send (${t.state}) is judged`);
    else rule(worst(t.health.status, judged(t).status) === t.health.status, `${name}: health ${t.health.status} is better than its own figures (and state ${t.state}) allow`);
    if (i >= 0) {
      rule(t.primary === (i === primaryIndex), `${name}: primary is not index ${primaryIndex}`);
      rule((t.state === 'killed') === killSwitch, `${name}: state ${t.state} with the kill switch ${killSwitch ? 'on' : 'off'}`);
    } else {
      // A removed target still delivering what it was given shows its connection's state until it is done.
      rule(!t.primary && ['removed', 'connecting', 'connected', 'backoff'].includes(t.state), `${name}: a removed target in state ${t.state}${t.primary ? ', primary' : ''}`);
    }
  }

  const h = s.health;
  rule(h.killSwitch === killSwitch && s.settings.killSwitch === killSwitch, 'health, targets and settings disagree on the kill switch');
  rule((h.status === 'killed') === killSwitch, `health status ${h.status} with the kill switch ${killSwitch ? 'on' : 'off'}`);
  rule((h.message !== null) === killSwitch, 'the health message is there exactly while the kill switch is on');
  rule(h.mode === mode && s.settings.mode === mode, 'health, targets and settings disagree on the mode');
  rule(
    same(
      h.targets,
      targets.map((t) => ({ url: t.url, state: t.state, status: t.health.status })),
    ),
    'health.targets is not the targets with their state and health',
  );
  const active = targets.filter((t) => !INACTIVE.has(t.state));
  if (!killSwitch && active.length > 0) rule(h.status === worst(...active.map((t) => t.health.status)), `health status ${h.status} is not the worst of the active targets`);
  rule(h.source !== null, 'the relay always reports its source');
  rule(h.sessionId === s.parity.sessionId, 'health and parity name different sessions');

  const p = s.parity;
  rule(same(p.perTarget.map((x) => x.url), targets.map((t) => t.url)), 'parity.perTarget is not the current targets in order');
  p.perTarget.forEach((x, i) => {
    const t = targets[i];
    if (!t) return;
    for (const key of COUNTER_KEYS) rule(x[key as keyof typeof x] === t.counters[key], `parity of ${x.url}: ${key} differs from the target's`);
    if (x.confirming) rule(t.state === 'connected', `parity of ${x.url}: confirming while ${t.state}`);
  });
  const total = (key: (typeof COUNTER_KEYS)[number]) => sum(p.perTarget.map((x) => x[key as keyof typeof x] as number));
  for (const [field, key] of [
    ['totalSent', 'sent'],
    ['totalAcked', 'acked'],
    ['totalFailed', 'failed'],
    ['totalDropped', 'dropped'],
    ['totalDelivered', 'delivered'],
    ['totalInFlight', 'inFlight'],
    ['totalLost', 'lost'],
  ] as const) {
    rule(p[field] === total(key), `parity.${field} is not the sum over the targets`);
  }
  const activeRows = p.perTarget.filter((_, i) => targets[i] && !INACTIVE.has(targets[i].state));
  if (killSwitch || !activeRows.some((x) => x.confirming)) rule(p.verdict.status === 'no-data', `verdict ${p.verdict.status} while nothing is confirmed (kill switch, or no active gateway confirming)`);
  else if (activeRows.some((x) => !x.confirming)) rule(p.verdict.status === 'critical', `verdict ${p.verdict.status} while an active target confirms nothing`);
  if (p.healthySinceMs !== null) rule(p.verdict.status === 'healthy', 'a parity clock runs while the verdict is not healthy');

  rule(same(s.settings.backends.map((b) => b.url), targets.map((t) => t.url)), 'settings.backends are not the targets in order');
  s.settings.backends.forEach((b, i) => {
    const t = targets[i];
    if (t) rule(b.enabled === t.enabled && b.name === t.name, `settings of ${b.url}: enabled or name differ from the target's`);
  });
  rule(s.settings.primaryIndex === primaryIndex, 'settings and targets disagree on the primary');
  return problems;
}
