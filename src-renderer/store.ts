// The dashboard's one store, fed by the relay's snapshots. Plain zustand (vanilla), so it
// runs and is tested in Node without a DOM; React reads it through useStore with selectors.
//
// Memory stays flat over a long session: the latency history keeps a fixed time window
// with a hard cap on points per target, history for targets that are gone empties and is
// deleted, and everything else is replaced wholesale by each snapshot.
import { createStore, type StoreApi } from 'zustand/vanilla';
import {
  failure,
  type ActionFailure,
  type ActionResult,
  type ChangeConfirmation,
  type ConnectionStatus,
  type CutoverResult,
  type DashboardState,
  type LatencyHistory,
  type LatencyPoint,
  type RelayBridge,
  type ReportExport,
  type SaveReportResult,
  type SettingsUpdate,
} from '../src-shared/bridge';
import type { CutoverRequest } from '../src-shared/cutover';

/** A bridge as the dashboard receives it; `readOnly` tells up front that actions will be refused. */
export type DashboardBridge = RelayBridge & { readonly readOnly?: boolean };

export type ActionName = 'kill-switch' | 'settings' | 'report' | 'cutover';

export interface ActionError {
  action: ActionName;
  status: number;
  message: string;
  problems: string[];
  at: number;
}

export type ReadOnlyReason = 'no-secret' | 'refused';

export interface DashboardData {
  state: DashboardState | null;
  status: ConnectionStatus;
  /** Why the first state could not be loaded, until a snapshot arrives. */
  loadError: string | null;
  /** p50/p95 per target (keyed by masked URL), oldest first, one point a second at most. */
  history: Readonly<Record<string, readonly LatencyPoint[]>>;
  /** The kill-switch value asked for and not yet confirmed by a snapshot. */
  pendingKillSwitch: boolean | null;
  /** What the relay confirmed for the last kill-switch change from this page (connections closed, how fast). */
  killConfirmation: ChangeConfirmation['killSwitch'] | null;
  pendingSettings: boolean;
  pendingReport: boolean;
  pendingCutover: boolean;
  lastError: ActionError | null;
  readOnly: ReadOnlyReason | null;
  /** The bridge saves files itself (the desktop app's save dialog) instead of the page downloading them. */
  savesFiles: boolean;
  // No parity verdict or clock of its own: the relay keeps both (state.parity.verdict and
  // state.parity.healthySinceMs), and the dashboard, the tray and the report only show them.
}

export interface DashboardActions {
  ingest(state: DashboardState): void;
  setStatus(status: ConnectionStatus): void;
  seedHistory(history: LatencyHistory): void;
  setKillSwitch(on: boolean): Promise<ActionResult>;
  updateSettings(update: SettingsUpdate): Promise<ActionResult>;
  /** Starts the guided cutover or presses one of its buttons; the relay's answer, refusals shown like any action. */
  cutover(request: CutoverRequest): Promise<CutoverResult>;
  exportReport(): Promise<ReportExport | null>;
  /** Desktop: the report through the system's save dialog; null when it failed (the error is shown). */
  saveReport(): Promise<Extract<SaveReportResult, { ok: true }> | null>;
  /** Records a problem found before anything was sent (validation), shown like a refused action. */
  reportLocalError(action: ActionName, message: string, problems?: string[]): void;
  dismissError(): void;
  /** Subscribes to the bridge and loads the first state and history; returns the stop function. */
  start(): () => void;
}

export type DashboardStoreState = DashboardData & DashboardActions;
export type DashboardStore = StoreApi<DashboardStoreState>;

export interface StoreOptions {
  /** How long latency history is kept; the chart shows the last 5 minutes of it. */
  historyKeepMs?: number;
  /** At most one history point per target per this interval. */
  historyStepMs?: number;
  /**
   * Snapshots closer together than this are coalesced, so the UI never renders per frame;
   * one that changes what must show at once (urgentChange) is applied at once.
   */
  minIngestIntervalMs?: number;
  /** An accepted kill-switch change no snapshot has confirmed stops showing as pending after this. */
  killSwitchConfirmTimeoutMs?: number;
  now?: () => number;
}

export const HISTORY_KEEP_MS = 10 * 60_000;
/**
 * The relay pushes a snapshot every 500 ms; counters are shown at most once a second. Every
 * render costs Chromium layout and paint as well as React's work, and the dashboard shares
 * the racer's CPU with the sim: halving the renders took the page under 3% of a core.
 */
export const MIN_INGEST_INTERVAL_MS = 1000;
export const HISTORY_STEP_MS = 1000;
export const CHART_WINDOW_MS = 5 * 60_000;

export const READ_ONLY_MESSAGE = 'Read-only: open the dashboard URL the relay printed (it carries the secret) to change anything';

/** The parts of a snapshot a racer must see change at once; counters and latency can wait for the next refresh. */
function urgentKey(s: DashboardState): string {
  const t = s.targets;
  const c = s.cutover;
  return [
    t.killSwitch,
    t.mode,
    t.primaryIndex,
    s.health.status,
    s.parity.verdict.status,
    t.targets.map((x) => `${x.url} ${x.state} ${x.enabled} ${x.health.status}`).join(','),
    t.removed.length,
    c ? `${c.id} ${c.phase} ${c.current}` : '',
  ].join('|');
}

export function urgentChange(prev: DashboardState | null, next: DashboardState): boolean {
  return prev === null || urgentKey(prev) !== urgentKey(next);
}

export function selectKillSwitch(s: DashboardData): boolean {
  return s.pendingKillSwitch ?? s.state?.targets.killSwitch ?? false;
}

export function createDashboardStore(bridge: DashboardBridge, options: StoreOptions = {}): DashboardStore {
  const keepMs = options.historyKeepMs ?? HISTORY_KEEP_MS;
  const stepMs = options.historyStepMs ?? HISTORY_STEP_MS;
  // Snapshots jitter around their 500 ms period; a 10% tolerance keeps points near 1 s apart.
  const minGap = stepMs * 0.9;
  const maxPoints = Math.ceil(keepMs / stepMs) + 60;
  const minIngestMs = options.minIngestIntervalMs ?? MIN_INGEST_INTERVAL_MS;
  const confirmTimeoutMs = options.killSwitchConfirmTimeoutMs ?? 5000;
  const now = options.now ?? (() => Date.now());

  let lastApplied = Number.NEGATIVE_INFINITY;
  let queued: DashboardState | null = null;
  let ingestTimer: ReturnType<typeof setTimeout> | undefined;
  let confirmTimer: ReturnType<typeof setTimeout> | undefined;

  return createStore<DashboardStoreState>()((set, get) => {
    const fail = (action: ActionName, result: ActionFailure): void => {
      set((s) => ({
        lastError: { action, status: result.status, message: result.error, problems: result.problems ?? [], at: now() },
        readOnly: result.status === 403 ? (s.readOnly ?? 'refused') : s.readOnly,
      }));
    };

    const succeed = (action: ActionName): void => {
      if (get().lastError?.action === action) set({ lastError: null });
    };

    /** An action shown as pending while it runs, its refusal shown like any other. */
    const tracked = async <R extends { ok: boolean }>(flag: 'pendingSettings' | 'pendingCutover', action: ActionName, call: () => Promise<R>): Promise<R | ActionFailure> => {
      set({ [flag]: true } as Pick<DashboardData, typeof flag>);
      const result = await settle(call);
      set({ [flag]: false } as Pick<DashboardData, typeof flag>);
      if (result.ok) succeed(action);
      else fail(action, result as ActionFailure);
      return result;
    };

    /** Export and save alike: one report at a time shown as pending, its failure shown like any refused action. */
    const reportAction = async <T extends { ok: true }>(call: () => Promise<T | ActionFailure>): Promise<T | null> => {
      set({ pendingReport: true });
      const result = await settle(call);
      set({ pendingReport: false });
      if (!result.ok) {
        fail('report', result);
        return null;
      }
      succeed('report');
      return result;
    };

    const apply = (snapshot: DashboardState): void => {
      const prev = get();
      // The first GET and the event stream race: never let an older snapshot replace a newer one.
      if (prev.state && snapshot.at < prev.state.at) return;
      lastApplied = now();
      const confirmed = prev.pendingKillSwitch !== null && snapshot.targets.killSwitch === prev.pendingKillSwitch;
      // Each snapshot is a fresh object tree; parts equal to the last one's keep its objects, so
      // a component whose slice did not change (settings, the timeline, a quiet cutover) is not
      // rendered again for it.
      const state = prev.state ? shareUnchanged(prev.state, snapshot) : snapshot;
      set({
        state,
        loadError: null,
        history: appendHistory(prev.history, state, keepMs, minGap, maxPoints),
        pendingKillSwitch: confirmed ? null : prev.pendingKillSwitch,
      });
    };

    return {
      state: null,
      status: 'connecting',
      loadError: null,
      history: {},
      pendingKillSwitch: null,
      killConfirmation: null,
      pendingSettings: false,
      pendingReport: false,
      pendingCutover: false,
      lastError: null,
      readOnly: bridge.readOnly ? 'no-secret' : null,
      savesFiles: typeof bridge.saveReport === 'function',

      ingest(state) {
        const wait = lastApplied + minIngestMs - now();
        const s = get();
        const awaited = s.pendingKillSwitch !== null || s.pendingSettings || s.pendingCutover;
        if ((wait <= 0 && ingestTimer === undefined) || awaited || urgentChange(s.state, state)) {
          clearTimeout(ingestTimer);
          ingestTimer = undefined;
          queued = null;
          apply(state);
          return;
        }
        queued = state;
        ingestTimer ??= setTimeout(() => {
          ingestTimer = undefined;
          const next = queued;
          queued = null;
          if (next) apply(next);
        }, Math.max(0, wait));
      },

      setStatus(status) {
        const prev = get().status;
        set({ status });
        if (status === 'open' && prev === 'reconnecting') {
          // The relay kept sampling while we were away: fill the gap from its history.
          bridge.getHistory().then(get().seedHistory, () => undefined);
        }
      },

      seedHistory(history) {
        set((s) => ({ history: mergeHistory(s.history, history, s.state?.at ?? null, keepMs, maxPoints) }));
      },

      async setKillSwitch(on) {
        clearTimeout(confirmTimer);
        set({ pendingKillSwitch: on });
        const result = await settle(() => bridge.setKillSwitch({ on }));
        if (get().pendingKillSwitch !== on) return result; // a later click owns the pending state
        if (!result.ok) {
          set({ pendingKillSwitch: null });
          fail('kill-switch', result);
          return result;
        }
        succeed('kill-switch');
        set({ killConfirmation: result.confirmation?.killSwitch ?? null });
        if (get().state?.targets.killSwitch === on) set({ pendingKillSwitch: null });
        else {
          confirmTimer = setTimeout(() => {
            if (get().pendingKillSwitch === on) set({ pendingKillSwitch: null });
          }, confirmTimeoutMs);
        }
        return result;
      },

      updateSettings: (update) => tracked('pendingSettings', 'settings', () => bridge.updateSettings(update)),

      cutover: (request) => tracked('pendingCutover', 'cutover', () => bridge.cutover(request)),

      exportReport: () => reportAction(() => bridge.exportReport()),

      saveReport() {
        const save = bridge.saveReport;
        if (!save) {
          fail('report', failure(400, 'this dashboard cannot save files itself; use Export parity report'));
          return Promise.resolve(null);
        }
        return reportAction(() => save.call(bridge));
      },

      reportLocalError(action, message, problems = []) {
        set({ lastError: { action, status: 400, message, problems, at: now() } });
      },

      dismissError() {
        set({ lastError: null });
      },

      start() {
        let stopped = false;
        const unsubscribe = bridge.subscribe(
          (state) => {
            if (stopped) return;
            // A snapshot through the live channel proves it open, for bridges that never report a status.
            if (get().status !== 'open') get().setStatus('open');
            get().ingest(state);
          },
          (status) => {
            if (!stopped) get().setStatus(status);
          },
        );
        bridge.getState().then(
          (state) => {
            if (!stopped) get().ingest(state);
          },
          (e: unknown) => {
            if (!stopped && !get().state) set({ loadError: errorText(e) });
          },
        );
        bridge.getHistory().then(
          (history) => {
            if (!stopped) get().seedHistory(history);
          },
          () => undefined, // the chart fills from snapshots instead
        );
        return () => {
          stopped = true;
          unsubscribe();
          clearTimeout(ingestTimer);
          clearTimeout(confirmTimer);
          ingestTimer = undefined;
          queued = null;
        };
      },
    };
  });
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;

/**
 * `next`, with every part deep-equal to the same part of `prev` replaced by prev's own: the
 * same value, and the same identity wherever nothing changed (all of `prev` when nothing
 * did). For plain data (JSON snapshots); anything else is taken from `next` unless identical.
 */
export function shareUnchanged<T>(prev: T, next: T): T {
  if (Object.is(prev, next)) return prev;
  if (Array.isArray(prev) && Array.isArray(next)) {
    let same = prev.length === next.length;
    const out: unknown[] = new Array<unknown>(next.length);
    for (let i = 0; i < next.length; i++) {
      const v = i < prev.length ? shareUnchanged(prev[i] as unknown, next[i] as unknown) : next[i];
      out[i] = v;
      if (!Object.is(v, prev[i])) same = false;
    }
    return (same ? prev : out) as T;
  }
  if (isPlainObject(prev) && isPlainObject(next)) {
    const keys = Object.keys(next);
    let same = keys.length === Object.keys(prev).length;
    const out: Record<string, unknown> = {};
    for (const k of keys) {
      const had = Object.hasOwn(prev, k);
      const v = had ? shareUnchanged(prev[k], next[k]) : next[k];
      out[k] = v;
      if (!had || !Object.is(v, prev[k])) same = false;
    }
    return (same ? prev : out) as T;
  }
  return next;
}

/** Appends one point per target (when the last is old enough) and trims to the window. */
export function appendHistory(
  history: Readonly<Record<string, readonly LatencyPoint[]>>,
  state: DashboardState,
  keepMs: number,
  minGapMs: number,
  maxPoints: number,
): Readonly<Record<string, readonly LatencyPoint[]>> {
  const cutoff = state.at - keepMs;
  const next: Record<string, readonly LatencyPoint[]> = {};
  let changed = false;
  const present = new Set<string>();
  for (const t of state.targets.targets) {
    present.add(t.url);
    const points = history[t.url] ?? [];
    const last = points[points.length - 1];
    if (last && state.at - last.t < minGapMs) {
      next[t.url] = points;
      continue;
    }
    next[t.url] = trim([...points, { t: state.at, p50: t.ackLatency.p50, p95: t.ackLatency.p95 }], cutoff, maxPoints);
    changed = true;
  }
  // A removed target's line fades out of the window, then its key goes, so keys stay bounded too.
  for (const [url, points] of Object.entries(history)) {
    if (present.has(url)) continue;
    const kept = trim(points, cutoff, maxPoints);
    if (kept.length > 0) next[url] = kept;
    if (kept !== points) changed = true;
  }
  return changed ? next : history;
}

export function mergeHistory(
  current: Readonly<Record<string, readonly LatencyPoint[]>>,
  seed: LatencyHistory,
  at: number | null,
  keepMs: number,
  maxPoints: number,
): Readonly<Record<string, readonly LatencyPoint[]>> {
  let newest = at ?? Number.NEGATIVE_INFINITY;
  for (const points of Object.values(seed.targets)) {
    const last = points[points.length - 1];
    if (last && last.t > newest) newest = last.t;
  }
  const cutoff = newest - keepMs;
  const next: Record<string, readonly LatencyPoint[]> = {};
  for (const [url, points] of Object.entries(current)) next[url] = points;
  for (const [url, points] of Object.entries(seed.targets)) {
    const sorted = [...points].sort((a, b) => a.t - b.t);
    const seededTo = sorted[sorted.length - 1]?.t ?? Number.NEGATIVE_INFINITY;
    // The relay's history is the authority up to its last point; ours continues after it.
    const ours = (current[url] ?? []).filter((p) => p.t > seededTo);
    next[url] = trim([...sorted, ...ours], cutoff, maxPoints);
  }
  for (const [url, points] of Object.entries(next)) {
    const kept = trim(points, cutoff, maxPoints);
    if (kept.length === 0) delete next[url];
    else next[url] = kept;
  }
  return next;
}

function trim(points: readonly LatencyPoint[], cutoff: number, maxPoints: number): readonly LatencyPoint[] {
  let start = 0;
  while (start < points.length && (points[start] as LatencyPoint).t < cutoff) start++;
  start = Math.max(start, points.length - maxPoints);
  return start === 0 ? points : points.slice(start);
}

async function settle<T extends { ok: boolean }>(call: () => Promise<T>): Promise<T | ActionFailure> {
  try {
    return await call();
  } catch (e) {
    return failure(503, `The relay did not answer: ${errorText(e)}`);
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
