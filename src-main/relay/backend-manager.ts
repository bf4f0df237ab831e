// The fan-out: one Target per backend, settings applied live, and the views the debug
// server, the dashboard and the report read. It only enqueues; it never waits on a socket.
import { deliveryProblem, type Settings } from '../../src-shared/settings';
import type { HealthResponse, ParityResponse, ParityVerdict, StreamCounts, TargetView, TargetsResponse } from '../../src-shared/debug-api';
import { KILL_SWITCH_MESSAGE, NO_DELIVERY_MESSAGE } from '../../src-shared/debug-api';
import { classifyHealth, latencySummary, computeDrift, round, worst, type HealthStatus, type HealthVerdict } from '../../src-shared/metrics';
import type { LatencyHistory, LatencyPoint } from '../../src-shared/bridge';
import { DEFAULT_TUNING, Target, type Activity, type FinishResult, type SessionHello, type TargetEvent, type TargetTuning } from './target';
import type { OutgoingFrame } from './queue';
import { countersOf } from './stream-account';
import type { ReportManager, ReportSource } from '../report/build-report';
import { joinClock } from './shared-clock';

export interface TimelineEvent {
  ts: number;
  /** The target's masked URL, or null for relay-wide events (kill switch, settings). */
  url: string | null;
  kind: string;
  detail: string;
}

export interface ManagerOptions {
  /** Overrides of the timing constants (tests shorten them). */
  tuning?: Partial<typeof DEFAULT_TUNING>;
  onEvent?: (event: TimelineEvent) => void;
  timelineLimit?: number;
  latencyHistoryPoints?: number;
  /** Overrides RELAY_END_TIMEOUT_MS: how long the end of a run or a removal waits for confirmations. */
  endTimeoutMs?: number;
}

const DROP_WINDOW_MS = 60_000;
/** The parity view's latency: at most this many of the targets' most recent ack samples together. */
const PARITY_LATENCY_SAMPLES = 4096;
/** The sampler's period: one point a second for the latency history, and the loss window's steps. */
const SAMPLE_PERIOD_MS = 1_000;
/** The parity verdict needs every active target to have confirmed a delivery this recently. */
export const CONFIRM_WINDOW_MS = 5_000;
/** A frame written this long ago and still unconfirmed makes its target warning, then critical. */
const UNCONFIRMED_WARNING_MS = 2_000;
const UNCONFIRMED_CRITICAL_MS = 10_000;
export const DEFAULT_END_TIMEOUT_MS = 5_000;
/** One point a second for 30 minutes: the dashboard's chart and the report's both read it. */
export const LATENCY_HISTORY_POINTS = 30 * 60;

/** A fixed ring, so a relay running for days holds the same memory as one running for an hour. */
class LatencyRing {
  private readonly ring: LatencyPoint[] = [];
  private next = 0;

  constructor(private readonly capacity: number) {}

  add(point: LatencyPoint): void {
    if (this.ring.length < this.capacity) this.ring.push(point);
    else this.ring[this.next] = point;
    this.next = (this.next + 1) % this.capacity;
  }

  points(): LatencyPoint[] {
    return this.ring.length < this.capacity ? [...this.ring] : [...this.ring.slice(this.next), ...this.ring.slice(0, this.next)];
  }
}

interface LossSample {
  at: number;
  produced: number;
  lost: number;
}

interface RemovedTarget {
  target: Target;
  url: string;
  token: string | undefined;
  name: string | undefined;
  /** The view once its delivery ended; until then it is read live. */
  final: TargetView | null;
}

/** What a target holds, counted from its queue and its written-but-unconfirmed frames themselves, not from its account. */
export interface TargetHoldings {
  url: string;
  queued: number;
  inFlight: number;
}

/** Drops the relay chose (not the network, not a full queue): they do not count against a target. */
const DELIBERATE = ['killSwitch', 'standby', 'disabled', 'deactivated', 'removed'] as const;

export class BackendManager implements ReportManager {
  private targets: Target[] = [];
  private readonly removedTargets: RemovedTarget[] = [];
  private current: Settings;
  private readonly history = new Map<Target, LossSample[]>();
  private readonly latency = new Map<Target, LatencyRing>();
  private readonly events: TimelineEvent[] = [];
  /** Leaves the once-a-second clock the sampler runs on (shared with the targets' heartbeats). */
  private readonly stopSampler: () => void;
  private closed = false;
  /** Since when drift between two or more sending targets has stayed healthy without a break. */
  private parityHealthySince: number | null = null;
  private flushQueued = false;
  private readonly flushTargets = (): void => {
    this.flushQueued = false;
    for (const t of this.targets) t.flush();
  };

  constructor(
    settings: Settings,
    private readonly session: () => SessionHello,
    private readonly options: ManagerOptions = {},
  ) {
    this.current = settings;
    this.stopSampler = joinClock(SAMPLE_PERIOD_MS, () => this.sample());
    this.apply(settings);
  }

  get settings(): Settings {
    return this.current;
  }

  /** How long the end of a run (or a removal) waits for the gateways' final receipts. */
  get endTimeoutMs(): number {
    return this.options.endTimeoutMs ?? this.current.endTimeoutMs ?? DEFAULT_END_TIMEOUT_MS;
  }

  /** Live reconfiguration: targets are matched by URL, so those that stay keep their queues. */
  apply(next: Settings): void {
    if (this.closed) return;
    const previous = this.current;
    this.current = next;
    const byUrl = new Map(this.targets.map((t) => [t.url, t]));
    const kept = new Set<Target>();
    const tuning = this.tuningFor(next);
    this.targets = next.backends.map((backend) => {
      let target = byUrl.get(backend.url);
      if (target && !kept.has(target)) {
        target.retune(tuning);
        target.setToken(backend.token);
      } else {
        target = new Target(backend.url, backend.token, tuning, this.session, (e) => this.onTargetEvent(e));
        this.history.set(target, []);
        this.latency.set(target, new LatencyRing(this.options.latencyHistoryPoints ?? LATENCY_HISTORY_POINTS));
        this.record({ ts: Date.now(), url: target.displayUrl, kind: 'added', detail: 'backend added' });
      }
      kept.add(target);
      return target;
    });
    for (const old of byUrl.values()) {
      if (kept.has(old)) continue;
      const was = previous.backends.find((b) => b.url === old.url);
      this.retire(old, was?.token, was?.name);
    }
    if (previous.killSwitch !== next.killSwitch) {
      this.record({ ts: Date.now(), url: null, kind: next.killSwitch ? 'kill-switch-on' : 'kill-switch-off', detail: next.killSwitch ? KILL_SWITCH_MESSAGE : 'backends re-enabled' });
    }
    if (previous.mode !== next.mode || previous.primaryIndex !== next.primaryIndex) {
      this.record({ ts: Date.now(), url: null, kind: 'mode', detail: `${next.mode} mode, primary ${next.primaryIndex}` });
    }
    // Kill first, so turning the switch on never lets a frame slip out through a target
    // that another part of the same change would have activated.
    this.targets.forEach((t, i) => {
      const activity = this.activityOf(i, next);
      if (activity !== 'active') t.setActivity(activity);
    });
    this.targets.forEach((t, i) => {
      if (this.activityOf(i, next) === 'active') t.setActivity('active');
    });
  }

  activityOf(index: number, s: Settings = this.current): Activity {
    if (s.killSwitch) return 'killed';
    if (!s.backends[index]?.enabled) return 'disabled';
    if (s.mode === 'single' && index !== s.primaryIndex) return 'standby';
    return 'active';
  }

  /** Every target is given every frame; one that may not send counts it dropped with the reason, and tells its gateway later. */
  publish(frame: OutgoingFrame): void {
    if (this.closed) return;
    for (const t of this.targets) t.enqueue(frame);
    // Written once per turn of the event loop, for every target in one microtask: frames
    // published together go out as one batch per target, still before any I/O is polled.
    if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(this.flushTargets);
    }
  }

  /**
   * The end of the run: each target writes what is queued, announces its gaps and `end`,
   * and waits for its gateway's final receipt, all within `timeoutMs`.
   */
  async finishAll(timeoutMs: number): Promise<FinishResult[]> {
    const results = await Promise.all(this.targets.map((t) => t.finish(timeoutMs)));
    // Removed targets still finishing get the same deadline.
    await Promise.all(this.removedTargets.filter((r) => r.final === null).map((r) => r.target.finish(0, { removed: true })));
    return results;
  }

  timeline(): TimelineEvent[] {
    return [...this.events];
  }

  /**
   * Frames waiting in the fullest queue of a connected target: what a replay at full speed
   * paces itself on. A target that is down does not hold the others back; its queue
   * overflows and counts its drops, as it would with live telemetry.
   */
  backlog(): number {
    let most = 0;
    for (const t of this.targets) if (t.state === 'connected') most = Math.max(most, t.queued);
    return most;
  }

  /** Open or opening backend sockets: zero once the kill switch has bitten. */
  liveSockets(): number {
    return this.targets.filter((t) => t.hasSocket).length;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stopSampler();
    // The targets stay listed: their final account is still read (the CLI's last words, the report).
    for (const t of this.targets) t.dispose();
    for (const r of this.removedTargets) if (r.final === null) r.target.dispose();
  }

  // ---- views ------------------------------------------------------------------------------

  targetsView(): TargetsResponse {
    const drift = this.drift();
    return {
      targets: this.targets.map((t, i) => this.viewOf(t, i, drift[i] ?? 0)),
      removed: this.removedViews(),
      mode: this.current.mode,
      primaryIndex: this.current.primaryIndex,
      killSwitch: this.current.killSwitch,
    };
  }

  /** Every target with what the report needs to ask its gateway: current ones in view order, then removed ones. */
  reportSources(): ReportSource[] {
    const view = this.targetsView();
    return [
      ...view.targets.map((v, i) => ({ view: v, url: this.current.backends[i]?.url ?? (this.targets[i] as Target).url, token: this.current.backends[i]?.token, removed: false })),
      ...view.removed.map((v, i) => ({ view: v, url: (this.removedTargets[i] as RemovedTarget).url, token: (this.removedTargets[i] as RemovedTarget).token, removed: true })),
    ];
  }

  /**
   * Every target's holdings, in targetsView order (current targets, then removed ones): a
   * reading of the account's queued and inFlight that does not come from the account.
   */
  holdingsView(): TargetHoldings[] {
    const of = (t: Target): TargetHoldings => ({ url: t.displayUrl, queued: t.queued, inFlight: t.inFlight });
    return [...this.targets.map(of), ...this.removedTargets.map((r) => of(r.target))];
  }

  parityView(sessionId: string | null): ParityResponse {
    const drift = this.drift();
    const now = Date.now();
    const active = this.activeIndexes();
    const perTarget = this.targets.map((t, i) => {
      return {
        url: t.displayUrl,
        ...countersOf(t.totals()),
        driftPct: round(drift[i] ?? 0, 3) ?? 0,
        confirming: confirming(t, now),
      };
    });
    // Every target's window together, the most recent 4096 as the window of that size kept them.
    const latencies = this.targets.flatMap((t) => t.latencySamples()).slice(-PARITY_LATENCY_SAMPLES);
    const maxDrift = Math.max(0, ...active.map((i) => drift[i] ?? 0));
    const verdict = this.parityVerdict(active, perTarget, maxDrift);
    this.noteParity(verdict.status === 'healthy' && active.length >= 2, now);
    return {
      totalSent: sumOf(perTarget, (t) => t.sent),
      totalAcked: sumOf(perTarget, (t) => t.acked),
      totalFailed: sumOf(perTarget, (t) => t.failed),
      totalDropped: sumOf(perTarget, (t) => t.dropped),
      totalDelivered: sumOf(perTarget, (t) => t.delivered),
      totalInFlight: sumOf(perTarget, (t) => t.inFlight),
      totalLost: sumOf(perTarget, (t) => t.lost),
      ackLatency: latencySummary(latencies),
      perTarget,
      sessionId,
      driftPct: round(maxDrift, 3) ?? 0,
      verdict,
      healthySinceMs: this.parityHealthySince,
    };
  }

  /**
   * Kept here, not in a page, so "parity healthy for 2 minutes" survives a dashboard reload;
   * it runs only while two or more targets are compared.
   */
  private noteParity(healthyAndCompared: boolean, now: number): void {
    this.parityHealthySince = healthyAndCompared ? (this.parityHealthySince ?? now) : null;
  }

  /**
   * What parityVerdict() would say is healthy with two or more targets compared, without
   * building the view: the sampler asks it every second for healthySinceMs.
   */
  private parityHealthyAndCompared(now: number): boolean {
    if (this.current.killSwitch) return false;
    const active = this.activeIndexes();
    if (active.length < 2) return false;
    for (const i of active) if (!confirming(this.targets[i] as Target, now)) return false;
    const drift = this.drift();
    return classifyHealth({ driftPct: Math.max(0, ...active.map((i) => drift[i] ?? 0)) }).status === 'healthy';
  }

  /**
   * Healthy only when every active target is connected and its gateway confirmed a delivery
   * within the window, and drift is within bounds. Nothing confirmed anywhere: no data.
   */
  private parityVerdict(active: number[], perTarget: ParityResponse['perTarget'], maxDrift: number): ParityVerdict {
    if (this.current.killSwitch) return { status: 'no-data', reasons: [`${KILL_SWITCH_MESSAGE}: nothing is sent, so nothing can be compared`] };
    if (active.length === 0) return { status: 'no-data', reasons: ['no backend is active: nothing is sent'] };
    const rows = active.map((i) => perTarget[i] as ParityResponse['perTarget'][number]);
    if (!rows.some((r) => r.confirming)) {
      return { status: 'no-data', reasons: [`no gateway confirmed a delivery in the last ${CONFIRM_WINDOW_MS / 1000} s`] };
    }
    const drift = classifyHealth({ driftPct: maxDrift });
    let status: HealthStatus = drift.status;
    const reasons = [...drift.reasons];
    active.forEach((i) => {
      const row = perTarget[i];
      if (!row || row.confirming) return;
      status = 'critical';
      const t = this.targets[i] as Target;
      reasons.push(`${row.url}: no delivery confirmed in the last ${CONFIRM_WINDOW_MS / 1000} s (${t.state}${t.lastError ? `: ${t.lastError}` : ''})`);
    });
    return { status, reasons };
  }

  /**
   * Ack latency per target, one point a second: the same p50/p95 as /debug/targets at that
   * moment, so the chart and the health verdict never disagree.
   */
  latencyHistory(): LatencyHistory {
    const targets: Record<string, LatencyPoint[]> = {};
    for (const t of this.targets) targets[t.displayUrl] = this.latency.get(t)?.points() ?? [];
    return { targets };
  }

  health(extra: { version: string; sessionId: string | null; source: HealthResponse['source']; uptimeMs: number }): HealthResponse {
    const view = this.targetsView();
    const reasons: string[] = [];
    let status: HealthStatus = 'healthy';
    const active = view.targets.filter((_, i) => this.activityOf(i) === 'active');
    for (const t of active) {
      status = worst(status, t.health.status);
      for (const r of t.health.reasons) reasons.push(`${t.url}: ${r}`);
    }
    if (!this.current.killSwitch) {
      if (this.targets.length === 0) {
        status = worst(status, 'warning');
        reasons.push('no backends configured: telemetry is not sent anywhere');
      } else if (active.length === 0) {
        // Settings that send to no one look like a calm relay: they are the worst state short of the kill switch.
        const problem = deliveryProblem(this.current);
        status = 'critical';
        reasons.push(`${NO_DELIVERY_MESSAGE}: ${problem ? `${problem.text}. ${problem.remedy}` : 'no backend is active'}`);
      }
    }
    return {
      status: this.current.killSwitch ? 'killed' : status,
      killSwitch: this.current.killSwitch,
      mode: this.current.mode,
      version: extra.version,
      sessionId: extra.sessionId,
      message: this.current.killSwitch ? `${KILL_SWITCH_MESSAGE}: no telemetry leaves this machine. Set RELAY_KILL_SWITCH=0 (or run: relay kill off) to re-enable backends.` : null,
      reasons,
      targets: view.targets.map((t) => ({ url: t.url, state: t.state, status: t.health.status })),
      source: extra.source,
      uptimeMs: extra.uptimeMs,
    };
  }

  // ---- internals ----------------------------------------------------------------------------

  private viewOf(t: Target, index: number, driftPct: number): TargetView {
    const latency = t.ackLatency();
    const streams = t.streams();
    const c = t.totals();
    const oldestUnconfirmedMs = t.oldestUnconfirmedMs();
    const queueSize = c.queued + c.inFlight;
    const active = index >= 0 && this.activityOf(index) === 'active';
    const health: HealthVerdict = active ? this.targetHealth(t, { dropRatePct: this.dropRatePct(t), ackP95Ms: latency.p95, driftPct, queueSize }, oldestUnconfirmedMs) : { status: 'healthy', reasons: [] };
    return {
      url: t.displayUrl,
      name: (index >= 0 ? this.current.backends[index]?.name : this.removedTargets.find((r) => r.target === t)?.name) ?? null,
      enabled: index >= 0 && (this.current.backends[index]?.enabled ?? false),
      state: t.state,
      primary: index >= 0 && index === this.current.primaryIndex,
      counters: countersOf(c),
      streams,
      droppedBy: c.droppedBy,
      lostBy: c.lostBy,
      queueSize,
      queueBytes: t.queueBytes,
      lastSendOkMs: t.lastSendOkMs,
      lastConfirmMs: t.lastConfirmMs,
      oldestUnconfirmedMs,
      lastAckLatencyMs: t.lastAckLatencyMs,
      lastError: t.lastError,
      ackLatency: latency,
      acksMissing: t.acksMissing,
      badMessages: t.badMessages,
      driftPct: round(driftPct, 3) ?? 0,
      health,
      connects: t.connects,
      disconnects: t.disconnects,
      connectedSinceMs: t.connectedSinceMs,
      nextRetryMs: t.nextRetryAtMs === null ? null : Math.max(0, t.nextRetryAtMs - Date.now()),
      gateway: t.gatewayName,
      authenticated: t.hasToken,
    };
  }

  /** The spec's table, and what it cannot see: a target that is not connected, or whose gateway stopped confirming. */
  private targetHealth(t: Target, inputs: Parameters<typeof classifyHealth>[0], oldestUnconfirmedMs: number | null): HealthVerdict {
    const verdict = classifyHealth(inputs);
    let status = verdict.status;
    const reasons = [...verdict.reasons];
    if (t.state !== 'connected') {
      status = worst(status, 'warning');
      reasons.push(`not connected (${t.state})${t.lastError ? `: ${t.lastError}` : ''}`);
    }
    if (oldestUnconfirmedMs !== null && oldestUnconfirmedMs >= UNCONFIRMED_WARNING_MS) {
      const level: HealthStatus = oldestUnconfirmedMs >= UNCONFIRMED_CRITICAL_MS ? 'critical' : 'warning';
      status = worst(status, level);
      reasons.push(`${t.inFlight} frame(s) written but not confirmed by the gateway, the oldest for ${Math.round(oldestUnconfirmedMs / 100) / 10} s (${level})`);
    }
    return { status, reasons };
  }

  private removedViews(): TargetView[] {
    return this.removedTargets.map((r) => r.final ?? this.viewOf(r.target, -1, 0));
  }

  /** A removed backend finishes its delivery (bounded), then keeps its final view for the report. */
  private retire(target: Target, token: string | undefined, name: string | undefined): void {
    this.history.delete(target);
    this.latency.delete(target);
    const entry: RemovedTarget = { target, url: target.url, token, name, final: null };
    this.removedTargets.push(entry);
    this.record({ ts: Date.now(), url: target.displayUrl, kind: 'removed', detail: 'backend removed: delivering what it was given, then closing' });
    void target.finish(this.endTimeoutMs, { removed: true }).then((result) => {
      entry.final = this.viewOf(target, -1, 0);
      this.record({ ts: Date.now(), url: target.displayUrl, kind: 'removed', detail: describeFinish(result) });
    });
  }

  private activeIndexes(): number[] {
    return this.targets.map((_, i) => i).filter((i) => this.activityOf(i) === 'active');
  }

  /** Drift among the active targets only, on confirmed deliveries: a standby target is not expected to keep up. */
  private drift(): number[] {
    const active = this.activeIndexes();
    const values = computeDrift(
      active.map((i) => {
        const c = (this.targets[i] as Target).totals();
        return { delivered: c.delivered, given: c.produced - DELIBERATE.reduce((a, r) => a + c.droppedBy[r], 0) };
      }),
    );
    const out = new Array<number>(this.targets.length).fill(0);
    active.forEach((index, k) => {
      out[index] = values[k] ?? 0;
    });
    return out;
  }

  /** Losses the relay is answerable for (queue overflow, frames lost) over the last minute, against the frames it was meant to deliver. */
  private dropRatePct(t: Target): number | null {
    const samples = this.history.get(t) ?? [];
    const first = samples[0];
    const now = lossSample(t.totals());
    const produced = now.produced - (first?.produced ?? 0);
    const lost = now.lost - (first?.lost ?? 0);
    return produced > 0 ? (lost / produced) * 100 : null;
  }

  /** Once a second: losses and latency for the views' windows and charts, and whether parity holds. */
  private sample(): void {
    this.sampleLosses();
    this.sampleLatency();
    const now = Date.now();
    this.noteParity(this.parityHealthyAndCompared(now), now);
  }

  private sampleLosses(): void {
    const now = Date.now();
    for (const [t, samples] of this.history) {
      samples.push({ at: now, ...lossSample(t.totals()) });
      while (samples.length > 1 && (samples[0] as LossSample).at < now - DROP_WINDOW_MS) samples.shift();
    }
  }

  private sampleLatency(): void {
    const t = Date.now();
    for (const [target, ring] of this.latency) {
      const { p50, p95 } = target.ackLatency();
      ring.add({ t, p50, p95 });
    }
  }

  private tuningFor(s: Settings): TargetTuning {
    return {
      ...DEFAULT_TUNING,
      ...this.options.tuning,
      connectTimeoutMs: s.targetTimeoutMs,
      sendTimeoutMs: s.sendTimeoutMs,
      queueMaxFrames: s.queueMaxFrames,
      queueMaxBytes: s.queueMaxBytes,
    };
  }

  private onTargetEvent(e: TargetEvent): void {
    this.record({ ts: e.ts, url: e.url, kind: e.kind, detail: e.detail });
  }

  private record(event: TimelineEvent): void {
    this.events.push(event);
    const limit = this.options.timelineLimit ?? 1000;
    if (this.events.length > limit) this.events.splice(0, this.events.length - limit);
    this.options.onEvent?.(event);
  }
}

/** The target's gateway confirmed a delivery within the parity window, and it is connected. */
function confirming(t: Target, now: number): boolean {
  return t.state === 'connected' && t.lastConfirmMs !== null && now - t.lastConfirmMs <= CONFIRM_WINDOW_MS;
}

function lossSample(c: StreamCounts): { produced: number; lost: number } {
  return { produced: c.produced - DELIBERATE.reduce((a, r) => a + c.droppedBy[r], 0), lost: c.lost + c.droppedBy.queueFull };
}

function sumOf<T>(rows: readonly T[], f: (row: T) => number): number {
  return rows.reduce((a, row) => a + f(row), 0);
}

function describeFinish(result: FinishResult): string {
  if (result.complete) return 'backend removed: every frame it was given is confirmed or accounted for';
  const parts = [
    ...Object.entries(result.unconfirmed).map(([s, n]) => `${n} ${s} frame(s) never confirmed (lost)`),
    ...Object.entries(result.queued).map(([s, n]) => `${n} ${s} frame(s) never written`),
  ];
  return `backend removed: ${parts.join(', ')}`;
}
