import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ActionResult, ConnectionStatus, CutoverResult, DashboardState, LatencyHistory, RelayBridge, ReportExport, SaveReportResult } from '../src-shared/bridge';
import type { TargetView } from '../src-shared/debug-api';
import { HISTORY_KEEP_MS, createDashboardStore, selectKillSwitch, shareUnchanged, type DashboardBridge } from '../src-renderer/store';
import { snapshot, target, T0, URL_A, URL_B } from './helpers/dashboard-state';
import { waitFor } from './helpers/wait';

interface Deferred<T> {
  promise: Promise<T>;
  resolve(v: T): void;
}
function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

class FakeBridge implements RelayBridge {
  readOnly = false;
  onState: ((s: DashboardState) => void) | null = null;
  onStatus: ((s: ConnectionStatus) => void) | undefined;
  killCalls: boolean[] = [];
  killResult = deferred<ActionResult>();
  settingsResult: ActionResult = { ok: true };
  report: ReportExport | Extract<ActionResult, { ok: false }> = { ok: true, fileBase: 'r', json: '{}', html: '<html></html>' };
  history: LatencyHistory = { targets: {} };
  state: DashboardState | null = null;
  unsubscribed = false;

  getState = async (): Promise<DashboardState> => {
    if (!this.state) throw new Error('connect ECONNREFUSED 127.0.0.1:8765');
    return this.state;
  };
  getHistory = async (): Promise<LatencyHistory> => this.history;
  subscribe(onState: (s: DashboardState) => void, onStatus?: (s: ConnectionStatus) => void): () => void {
    this.onState = onState;
    this.onStatus = onStatus;
    return () => {
      this.unsubscribed = true;
    };
  }
  setKillSwitch = ({ on }: { on: boolean }): Promise<ActionResult> => {
    this.killCalls.push(on);
    return this.killResult.promise;
  };
  updateSettings = vi.fn(async (): Promise<ActionResult> => this.settingsResult);
  exportReport = async () => this.report;
  cutover = async (): Promise<CutoverResult> => ({ ok: false, status: 409, error: 'no cutover in these tests' });
}

function makeStore(bridge: DashboardBridge, clock = { now: T0 }) {
  return createDashboardStore(bridge, { minIngestIntervalMs: 0, now: () => clock.now });
}

afterEach(() => {
  vi.useRealTimers();
});

describe('dashboard store: snapshots', () => {
  it('ingests snapshots and never lets an older one replace a newer one', () => {
    const store = makeStore(new FakeBridge());
    store.getState().ingest(snapshot(T0 + 1000));
    store.getState().ingest(snapshot(T0 + 500, { killSwitch: true }));
    expect(store.getState().state?.at).toBe(T0 + 1000);
    expect(selectKillSwitch(store.getState())).toBe(false);
  });

  it('start() subscribes, loads the first state and the history, and stop() unsubscribes', async () => {
    const bridge = new FakeBridge();
    bridge.state = snapshot(T0);
    bridge.history = { targets: { [URL_A]: [{ t: T0 - 2000, p50: 1, p95: 2 }] } };
    const store = makeStore(bridge);
    const stop = store.getState().start();
    await waitFor('the first state loaded', () => store.getState().state?.at === T0);
    bridge.onStatus?.('open');
    bridge.onState?.(snapshot(T0 + 1000));
    expect(store.getState().status).toBe('open');
    expect(store.getState().history[URL_A]?.map((p) => p.t)).toEqual([T0 - 2000, T0, T0 + 1000]);
    stop();
    expect(bridge.unsubscribed).toBe(true);
  });

  it('a bridge that never reports a status is open once its first live snapshot arrives', () => {
    const bridge = new FakeBridge();
    const store = makeStore(bridge);
    store.getState().start();
    expect(store.getState().status).toBe('connecting');
    bridge.onState?.(snapshot(T0));
    expect(store.getState().status).toBe('open');
  });

  it('says why when the relay cannot be reached at first', async () => {
    const store = makeStore(new FakeBridge());
    store.getState().start();
    await waitFor('the load error', () => /ECONNREFUSED/.test(store.getState().loadError ?? ''));
    store.getState().ingest(snapshot(T0));
    expect(store.getState().loadError).toBeNull();
  });

  it('coalesces snapshots that come faster than the UI refresh interval', () => {
    vi.useFakeTimers();
    const clock = { now: T0 };
    const store = createDashboardStore(new FakeBridge(), { minIngestIntervalMs: 200, now: () => clock.now });
    const renders = vi.fn();
    store.subscribe(renders);
    store.getState().ingest(snapshot(T0));
    for (let i = 1; i <= 10; i++) {
      clock.now = T0 + i * 16; // 60 Hz
      store.getState().ingest(snapshot(T0 + i * 16));
    }
    expect(renders).toHaveBeenCalledTimes(1);
    clock.now = T0 + 200;
    vi.advanceTimersByTime(200);
    expect(renders).toHaveBeenCalledTimes(2);
    expect(store.getState().state?.at).toBe(T0 + 160); // the newest, the ones between skipped
  });
});

describe('dashboard store: how often the page renders', () => {
  it('shows counters at most once a second by default, but a kill switch, a target state or a verdict change at once', () => {
    vi.useFakeTimers();
    const clock = { now: T0 };
    const store = createDashboardStore(new FakeBridge(), { now: () => clock.now });
    const renders = vi.fn();
    store.subscribe(renders);
    store.getState().ingest(snapshot(T0));
    expect(renders).toHaveBeenCalledTimes(1);
    // The relay's 500 ms snapshots with nothing but counters moving: one render a second.
    clock.now = T0 + 500;
    store.getState().ingest(snapshot(T0 + 500));
    expect(renders).toHaveBeenCalledTimes(1);
    clock.now = T0 + 1000;
    vi.advanceTimersByTime(1000);
    expect(renders).toHaveBeenCalledTimes(2);
    expect(store.getState().state?.at).toBe(T0 + 500);
    // A verdict change shows at once, and so do a target going down and the kill switch.
    clock.now = T0 + 1100;
    store.getState().ingest(snapshot(T0 + 1100, { drift: 6 }));
    expect(renders).toHaveBeenCalledTimes(3);
    expect(store.getState().state?.parity.verdict.status).toBe('critical');
    clock.now = T0 + 1200;
    store.getState().ingest(snapshot(T0 + 1200, { drift: 6, states: ['connected', 'backoff'] }));
    expect(renders).toHaveBeenCalledTimes(4);
    expect(store.getState().state?.targets.targets[1]?.state).toBe('backoff');
    clock.now = T0 + 1300;
    store.getState().ingest(snapshot(T0 + 1300, { killSwitch: true }));
    expect(renders).toHaveBeenCalledTimes(5);
    expect(selectKillSwitch(store.getState())).toBe(true);
  });

  it('keeps the objects of every part a snapshot did not change, so the panels showing them are not rendered again', () => {
    const store = makeStore(new FakeBridge());
    const first = snapshot(T0);
    store.getState().ingest(first);
    const a = store.getState().state as DashboardState;
    // The next snapshot: the same settings and timeline in new objects, one target's counters moved.
    const next = snapshot(T0 + 1000);
    (next.targets.targets[1] as TargetView).counters.delivered = 150;
    store.getState().ingest(next);
    const b = store.getState().state as DashboardState;
    expect(b).toEqual(next);
    expect(b).not.toBe(a);
    expect(b.settings).toBe(a.settings);
    expect(b.timeline).toBe(a.timeline);
    expect(b.health.reasons).toBe(a.health.reasons);
    expect(b.targets.targets[0]).toBe(a.targets.targets[0]);
    expect(b.targets.targets[1]).not.toBe(a.targets.targets[1]);
    expect(b.targets.targets[1]?.health).toBe(a.targets.targets[1]?.health);
    // A settings change reaches the panels as a new object; an element added or removed, a new list.
    const changed = snapshot(T0 + 2000);
    changed.settings.mode = 'single';
    changed.timeline = [{ ts: T0 + 1500, kind: 'connected', url: URL_A, detail: 'up' }];
    store.getState().ingest(changed);
    const c = store.getState().state as DashboardState;
    expect(c).toEqual(changed);
    expect(c.settings).not.toBe(b.settings);
    expect(c.settings.backends).toBe(b.settings.backends);
    expect(c.timeline).not.toBe(b.timeline);
  });

  it('shares by value, never by shape alone: keys and elements added or gone make a new object', () => {
    const inner = { c: 2 };
    const prev = { a: 1, b: inner, list: [inner, 3], n: Number.NaN, z: null as { c: number } | null };
    expect(shareUnchanged(prev, { a: 1, b: { c: 2 }, list: [{ c: 2 }, 3], n: Number.NaN, z: null })).toBe(prev);
    const fewer = shareUnchanged<Record<string, unknown>>(prev, { a: 1, b: { c: 2 } });
    expect(fewer).toEqual({ a: 1, b: { c: 2 } });
    expect(fewer.b).toBe(inner);
    const longer = shareUnchanged(prev, { ...prev, list: [{ c: 2 }, 3, 4] });
    expect(longer.list).toEqual([{ c: 2 }, 3, 4]);
    expect(longer.list[0]).toBe(inner);
    expect(shareUnchanged(prev, { ...prev, z: { c: 2 } }).z).toEqual({ c: 2 });
    expect(shareUnchanged(prev, { ...prev, list: [3, inner] }).list).toEqual([3, inner]);
    expect(shareUnchanged<unknown>(prev, [prev])).toEqual([prev]);
  });

  it('applies every snapshot while an action waits for its confirmation', async () => {
    vi.useFakeTimers();
    const clock = { now: T0 };
    const bridge = new FakeBridge();
    const store = createDashboardStore(bridge, { now: () => clock.now });
    store.getState().ingest(snapshot(T0));
    const pending = store.getState().setKillSwitch(true);
    clock.now = T0 + 300;
    // Not yet killed in this snapshot, but the click waits for it: shown at once all the same.
    store.getState().ingest(snapshot(T0 + 300));
    expect(store.getState().state?.at).toBe(T0 + 300);
    bridge.killResult.resolve({ ok: true });
    await pending;
  });
});

describe('dashboard store: latency history', () => {
  it('appends at most one point a second per target', () => {
    const store = makeStore(new FakeBridge());
    for (let i = 0; i <= 8; i++) store.getState().ingest(snapshot(T0 + i * 500));
    expect(store.getState().history[URL_A]?.map((p) => p.t - T0)).toEqual([0, 1000, 2000, 3000, 4000]);
    expect(store.getState().history[URL_B]).toHaveLength(5);
  });

  it('keeps the last 10 minutes only, so memory stays flat over a long session', () => {
    const store = makeStore(new FakeBridge());
    // Two hours of snapshots every 500 ms.
    const end = 2 * 3600_000;
    let before = store.getState().history;
    for (let ms = 0; ms <= end; ms += 500) {
      store.getState().ingest(snapshot(T0 + ms, { p95: ms % 7 }));
      const h = store.getState().history;
      // Unchanged history keeps its identity: the charts do not re-render on those snapshots.
      if (ms % 1000 !== 0) expect(h).toBe(before);
      before = h;
    }
    const points = store.getState().history[URL_A] ?? [];
    expect(points.length).toBeLessThanOrEqual(HISTORY_KEEP_MS / 1000 + 1);
    expect(points.length).toBeGreaterThanOrEqual(5 * 60); // at least the 5 minutes the chart shows
    expect((points[0]?.t ?? 0) >= T0 + end - HISTORY_KEEP_MS).toBe(true);
    expect(points[points.length - 1]?.t).toBe(T0 + end);
  });

  it('drops the history of a removed target once its points leave the window', () => {
    const store = makeStore(new FakeBridge());
    store.getState().ingest(snapshot(T0));
    store.getState().ingest(snapshot(T0 + 1000, { urls: [URL_A] }));
    expect(Object.keys(store.getState().history).sort()).toEqual([URL_A, URL_B]);
    store.getState().ingest(snapshot(T0 + HISTORY_KEEP_MS + 2000, { urls: [URL_A] }));
    expect(Object.keys(store.getState().history)).toEqual([URL_A]);
  });

  it('seeds from the relay history, trimmed to the window, and keeps newer points of its own', () => {
    const store = makeStore(new FakeBridge());
    store.getState().ingest(snapshot(T0));
    store.getState().ingest(snapshot(T0 + 1000));
    const old = Array.from({ length: 30 * 60 }, (_, i) => ({ t: T0 - 30 * 60_000 + i * 1000, p50: 1, p95: 2 }));
    store.getState().seedHistory({ targets: { [URL_A]: old } });
    const points = store.getState().history[URL_A] ?? [];
    expect(points[0]?.t).toBeGreaterThanOrEqual(T0 + 1000 - HISTORY_KEEP_MS);
    expect(points.slice(-2).map((p) => p.t)).toEqual([T0, T0 + 1000]);
    expect(points.every((p, i) => i === 0 || p.t > (points[i - 1]?.t ?? 0))).toBe(true);
  });

  it('refills history from the relay after a reconnect', async () => {
    const bridge = new FakeBridge();
    const store = makeStore(bridge);
    store.getState().setStatus('open');
    store.getState().setStatus('reconnecting');
    bridge.history = { targets: { [URL_A]: [{ t: T0, p50: 1, p95: 2 }] } };
    store.getState().setStatus('open');
    await waitFor('the history refilled', () => store.getState().history[URL_A]?.length === 1);
  });
});

describe('dashboard store: kill switch', () => {
  it('shows the asked-for state at once, and clears pending when a snapshot confirms it', async () => {
    const bridge = new FakeBridge();
    const store = makeStore(bridge);
    store.getState().ingest(snapshot(T0));
    const done = store.getState().setKillSwitch(true);
    expect(bridge.killCalls).toEqual([true]);
    expect(selectKillSwitch(store.getState())).toBe(true);
    expect(store.getState().pendingKillSwitch).toBe(true);
    // A snapshot taken before the relay acted still says off: the switch must not flicker back.
    store.getState().ingest(snapshot(T0 + 500));
    expect(selectKillSwitch(store.getState())).toBe(true);
    bridge.killResult.resolve({ ok: true });
    await done;
    expect(store.getState().pendingKillSwitch).toBe(true);
    store.getState().ingest(snapshot(T0 + 1000, { killSwitch: true }));
    expect(store.getState().pendingKillSwitch).toBeNull();
    expect(selectKillSwitch(store.getState())).toBe(true);
  });

  it('reverts and records the error when the relay refuses', async () => {
    const bridge = new FakeBridge();
    const store = makeStore(bridge);
    store.getState().ingest(snapshot(T0));
    const done = store.getState().setKillSwitch(true);
    bridge.killResult.resolve({ ok: false, status: 403, error: 'missing or wrong x-relay-secret' });
    const result = await done;
    expect(result.ok).toBe(false);
    expect(store.getState().pendingKillSwitch).toBeNull();
    expect(selectKillSwitch(store.getState())).toBe(false);
    expect(store.getState().lastError).toMatchObject({ action: 'kill-switch', status: 403, message: 'missing or wrong x-relay-secret' });
    expect(store.getState().readOnly).toBe('refused');
  });

  it('a rejected call (relay gone) is an error, not an exception', async () => {
    const bridge = new FakeBridge();
    bridge.setKillSwitch = () => Promise.reject(new Error('Failed to fetch'));
    const store = makeStore(bridge);
    const result = await store.getState().setKillSwitch(true);
    expect(result).toMatchObject({ ok: false, status: 503 });
    expect(store.getState().lastError?.message).toMatch(/did not answer: Failed to fetch/);
    expect(store.getState().pendingKillSwitch).toBeNull();
  });

  it('stops showing pending if no snapshot confirms within the timeout', async () => {
    vi.useFakeTimers();
    const bridge = new FakeBridge();
    const store = createDashboardStore(bridge, { minIngestIntervalMs: 0, killSwitchConfirmTimeoutMs: 3000 });
    store.getState().ingest(snapshot(T0));
    const done = store.getState().setKillSwitch(true);
    bridge.killResult.resolve({ ok: true });
    await done;
    expect(store.getState().pendingKillSwitch).toBe(true);
    vi.advanceTimersByTime(3000);
    expect(store.getState().pendingKillSwitch).toBeNull();
  });

  it('a second click owns the pending state', async () => {
    const bridge = new FakeBridge();
    const store = makeStore(bridge);
    store.getState().ingest(snapshot(T0));
    const first = store.getState().setKillSwitch(true);
    const firstResult = bridge.killResult;
    bridge.killResult = deferred();
    const second = store.getState().setKillSwitch(false);
    firstResult.resolve({ ok: true });
    await first;
    expect(store.getState().pendingKillSwitch).toBe(false);
    bridge.killResult.resolve({ ok: true });
    await second;
    expect(store.getState().pendingKillSwitch).toBeNull(); // the last snapshot already says off
  });
});

describe('dashboard store: actions and errors', () => {
  it('records settings problems, and a later success clears them', async () => {
    const bridge = new FakeBridge();
    const store = makeStore(bridge);
    bridge.settingsResult = { ok: false, status: 400, error: 'invalid settings', problems: ['backend 1: "http://x" is not a ws:// or wss:// URL'] };
    const bad = await store.getState().updateSettings({ mode: 'single' });
    expect(bad.ok).toBe(false);
    expect(store.getState().pendingSettings).toBe(false);
    expect(store.getState().lastError).toMatchObject({ action: 'settings', status: 400, problems: ['backend 1: "http://x" is not a ws:// or wss:// URL'] });
    expect(store.getState().readOnly).toBeNull();
    bridge.settingsResult = { ok: true };
    await store.getState().updateSettings({ mode: 'single' });
    expect(store.getState().lastError).toBeNull();
  });

  it('keeps what the relay confirmed for a kill switch click, and records a refused cutover like any refused action', async () => {
    const bridge = new FakeBridge();
    const store = makeStore(bridge);
    store.getState().ingest(snapshot(T0));
    const done = store.getState().setKillSwitch(true);
    const confirmation = { pid: 1, configDir: '/c', summary: 'KILL SWITCH ON', changed: ['RELAY_KILL_SWITCH'], notes: [], warnings: [], killSwitch: { on: true, closed: 2, stillOpen: 0, withinMs: 4.2 } };
    bridge.killResult.resolve({ ok: true, confirmation });
    await done;
    expect(store.getState().killConfirmation).toEqual({ on: true, closed: 2, stillOpen: 0, withinMs: 4.2 });

    expect(store.getState().pendingCutover).toBe(false);
    const refused = await store.getState().cutover({ action: 'start', to: 'ws://b/relay', windowMs: 120_000, removeOld: false });
    expect(refused.ok).toBe(false);
    expect(store.getState().pendingCutover).toBe(false);
    expect(store.getState().lastError).toMatchObject({ action: 'cutover', status: 409, message: 'no cutover in these tests' });
  });

  it('starts read-only when the bridge has no secret', () => {
    const bridge = new FakeBridge();
    bridge.readOnly = true;
    expect(makeStore(bridge).getState().readOnly).toBe('no-secret');
  });

  it('exports a report, or records why not', async () => {
    const bridge = new FakeBridge();
    const store = makeStore(bridge);
    expect(await store.getState().exportReport()).toMatchObject({ ok: true, fileBase: 'r' });
    bridge.report = { ok: false, status: 500, error: 'disk full' };
    expect(await store.getState().exportReport()).toBeNull();
    expect(store.getState().lastError).toMatchObject({ action: 'report', status: 500 });
    store.getState().dismissError();
    expect(store.getState().lastError).toBeNull();
  });

  it('saves through the bridge where it saves files itself (the desktop app), including a cancelled dialog', async () => {
    const plain = makeStore(new FakeBridge());
    expect(plain.getState().savesFiles).toBe(false);
    expect(await plain.getState().saveReport()).toBeNull();
    expect(plain.getState().lastError).toMatchObject({ action: 'report', status: 400 });

    const results: SaveReportResult[] = [{ ok: true, files: ['/docs/r.html', '/docs/r.json'] }, { ok: true, cancelled: true }, { ok: false, status: 500, error: 'disk full' }];
    const bridge = Object.assign(new FakeBridge(), { saveReport: vi.fn(async () => results.shift() as SaveReportResult) });
    const store = makeStore(bridge);
    expect(store.getState().savesFiles).toBe(true);
    expect(await store.getState().saveReport()).toEqual({ ok: true, files: ['/docs/r.html', '/docs/r.json'] });
    expect(await store.getState().saveReport()).toEqual({ ok: true, cancelled: true });
    expect(store.getState().lastError).toBeNull();
    expect(await store.getState().saveReport()).toBeNull();
    expect(store.getState().lastError).toMatchObject({ action: 'report', status: 500, message: expect.stringContaining('disk full') });
    expect(store.getState().pendingReport).toBe(false);
  });
});

describe('dashboard store: parity is the relay\'s', () => {
  it('keeps no parity clock or verdict of its own: the snapshot carries the relay\'s, unchanged', () => {
    const store = makeStore(new FakeBridge());
    store.getState().setStatus('open');
    store.getState().ingest(snapshot(T0 + 90_000, { healthySinceMs: T0 }));
    expect(store.getState().state?.parity.healthySinceMs).toBe(T0);
    expect(store.getState().state?.parity.verdict.status).toBe('healthy');
    expect(Object.keys(store.getState())).not.toContain('parityHealthySince');
    // A lost stream does not restart the relay's clock: it kept counting while we were away.
    store.getState().setStatus('reconnecting');
    store.getState().setStatus('open');
    store.getState().ingest(snapshot(T0 + 200_000, { healthySinceMs: T0 }));
    expect(store.getState().state?.parity.healthySinceMs).toBe(T0);
  });

  it('passes no-data through as it came: never turned into healthy, never given a clock', () => {
    const store = makeStore(new FakeBridge());
    store.getState().ingest(snapshot(T0, { confirming: false }));
    expect(store.getState().state?.parity.verdict.status).toBe('no-data');
    expect(store.getState().state?.parity.healthySinceMs).toBeNull();
  });

  it('keeps the backends removed during the run, with their lost frames by reason', () => {
    const gone = target('ws://127.0.0.1:9003/relay', {
      state: 'removed',
      counters: { produced: 50, delivered: 45, inFlight: 0, queued: 0, dropped: 3, lost: 2, sent: 47, failed: 2, acked: 1, resent: 0 },
      droppedBy: { queueFull: 0, killSwitch: 0, standby: 0, disabled: 0, deactivated: 0, removed: 3 },
      lostBy: { connectionLost: 0, unconfirmedAtStop: 2 },
    });
    const store = makeStore(new FakeBridge());
    store.getState().ingest(snapshot(T0, { removed: [gone] }));
    expect(store.getState().state?.targets.removed).toEqual([gone]);
    expect(store.getState().state?.targets.removed[0]?.lostBy.unconfirmedAtStop).toBe(2);
    // A removed target is not a current one: its latency line is not extended.
    expect(Object.keys(store.getState().history)).toEqual([URL_A, URL_B]);
  });
});
