// The fan-out: one Target per backend, settings applied live, and the views the debug
// server, the dashboard and the report read. It only enqueues; it never waits on a socket.
import type { Settings } from '../../src-shared/settings';
import type { HealthResponse, ParityResponse, TargetView, TargetsResponse } from '../../src-shared/debug-api';
import { KILL_SWITCH_MESSAGE } from '../../src-shared/debug-api';
import { SampleWindow, classifyHealth, computeDrift, round, worst, type HealthStatus, type HealthVerdict } from '../../src-shared/metrics';
import type { LatencyHistory, LatencyPoint } from '../../src-shared/bridge';
import { DEFAULT_TUNING, Target, type Activity, type StreamDetail, type TargetEvent, type TargetTuning } from './target';
import type { OutgoingFrame } from './queue';

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
}

const DROP_WINDOW_MS = 60_000;
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

export class BackendManager {
  private targets: Target[] = [];
  private current: Settings;
  private readonly history = new Map<Target, LossSample[]>();
  private readonly latency = new Map<Target, LatencyRing>();
  private readonly events: TimelineEvent[] = [];
  private readonly sampler: NodeJS.Timeout;
  private closed = false;
  /** Since when drift between two or more sending targets has stayed healthy without a break. */
  private parityHealthySince: number | null = null;

  constructor(
    settings: Settings,
    private readonly hello: () => string,
    private readonly options: ManagerOptions = {},
  ) {
    this.current = settings;
    this.sampler = setInterval(() => {
      this.sampleLosses();
      this.sampleLatency();
      this.parityView(null);
    }, 1000);
    this.sampler.unref();
    this.apply(settings);
  }

  get settings(): Settings {
    return this.current;
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
        target = new Target(backend.url, backend.token, tuning, this.hello, (e) => this.onTargetEvent(e));
        this.history.set(target, []);
        this.latency.set(target, new LatencyRing(this.options.latencyHistoryPoints ?? LATENCY_HISTORY_POINTS));
        this.record({ ts: Date.now(), url: target.displayUrl, kind: 'added', detail: 'backend added' });
      }
      kept.add(target);
      return target;
    });
    for (const old of byUrl.values()) {
      if (kept.has(old)) continue;
      old.dispose();
      this.history.delete(old);
      this.latency.delete(old);
      this.record({ ts: Date.now(), url: old.displayUrl, kind: 'removed', detail: 'backend removed' });
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

  publish(frame: OutgoingFrame): void {
    if (this.current.killSwitch) return;
    for (const t of this.targets) t.enqueue(frame);
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
    clearInterval(this.sampler);
    for (const t of this.targets) t.dispose();
    this.targets = [];
  }

  // ---- views ------------------------------------------------------------------------------

  targetsView(): TargetsResponse {
    const drift = this.drift();
    return {
      targets: this.targets.map((t, i) => this.viewOf(t, i, drift[i] ?? 0)),
      mode: this.current.mode,
      primaryIndex: this.current.primaryIndex,
      killSwitch: this.current.killSwitch,
    };
  }

  parityView(sessionId: string | null): ParityResponse {
    const drift = this.drift();
    const all = new SampleWindow(4096);
    const perTarget = this.targets.map((t, i) => ({
      url: t.displayUrl,
      sent: t.sent,
      acked: t.acked,
      failed: t.failed,
      dropped: t.dropped,
      queued: t.queued,
      produced: t.produced,
      driftPct: round(drift[i] ?? 0, 3) ?? 0,
    }));
    for (const t of this.targets) for (const v of t.latencySamples()) all.add(v);
    const active = this.activeIndexes();
    const maxDrift = Math.max(0, ...active.map((i) => drift[i] ?? 0));
    const verdict = classifyHealth({ driftPct: maxDrift });
    // Kept here, not in a page, so "parity healthy for 2 minutes" survives a dashboard reload.
    const comparable = active.length >= 2 && active.every((i) => this.targets[i]?.state === 'connected');
    this.parityHealthySince = comparable && verdict.status === 'healthy' ? (this.parityHealthySince ?? Date.now()) : null;
    return {
      totalSent: sum(this.targets, (t) => t.sent),
      totalAcked: sum(this.targets, (t) => t.acked),
      totalFailed: sum(this.targets, (t) => t.failed),
      totalDropped: sum(this.targets, (t) => t.dropped),
      ackLatency: all.summary(),
      perTarget,
      sessionId,
      driftPct: round(maxDrift, 3) ?? 0,
      verdict,
      healthySinceMs: this.parityHealthySince,
    };
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

  /** Per target (in the order of targetsView), each stream's loss reasons and acks. */
  streamDetails(): Record<string, StreamDetail>[] {
    return this.targets.map((t) => t.streamDetails());
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
        status = worst(status, 'warning');
        reasons.push('no backend is active (all disabled, or the primary is disabled in single mode)');
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
    const health: HealthVerdict =
      this.activityOf(index) === 'active'
        ? classifyHealth({ dropRatePct: this.dropRatePct(t), ackP95Ms: latency.p95, driftPct, queueSize: t.queued })
        : { status: 'healthy', reasons: [] };
    return {
      url: t.displayUrl,
      enabled: this.current.backends[index]?.enabled ?? false,
      state: t.state,
      primary: index === this.current.primaryIndex,
      counters: { sent: t.sent, failed: t.failed, acked: t.acked, dropped: t.dropped, produced: t.produced, queued: t.queued },
      streams: t.streams(),
      droppedBy: { ...t.droppedBy },
      failedBy: { ...t.failedBy },
      queueSize: t.queued,
      queueBytes: t.queueBytes,
      lastSendOkMs: t.lastSendOkMs,
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

  private activeIndexes(): number[] {
    return this.targets.map((_, i) => i).filter((i) => this.activityOf(i) === 'active');
  }

  /** Drift among the active targets only: a standby target is not expected to keep up. */
  private drift(): number[] {
    const active = this.activeIndexes();
    const values = computeDrift(active.map((i) => this.targets[i] as Target));
    const out = new Array<number>(this.targets.length).fill(0);
    active.forEach((index, k) => {
      out[index] = values[k] ?? 0;
    });
    return out;
  }

  /** Losses the relay is answerable for (queue overflow, failed sends) over the last minute. */
  private dropRatePct(t: Target): number | null {
    const samples = this.history.get(t) ?? [];
    const first = samples[0];
    const produced = t.produced - (first?.produced ?? 0);
    const lost = lossOf(t) - (first?.lost ?? 0);
    return produced > 0 ? (lost / produced) * 100 : null;
  }

  private sampleLosses(): void {
    const now = Date.now();
    for (const [t, samples] of this.history) {
      samples.push({ at: now, produced: t.produced, lost: lossOf(t) });
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

function lossOf(t: Target): number {
  return t.failed + t.droppedBy.queueFull;
}

function sum(targets: Target[], f: (t: Target) => number): number {
  return targets.reduce((a, t) => a + f(t), 0);
}
