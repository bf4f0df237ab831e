// The live reader's logic, free of threads and timers: one step() is one poll of the sim.
// It attaches when iRacing appears, detaches when it goes and attaches again when it comes
// back; re-reads the session when its YAML changes without ever dropping the sim for it;
// reads only the variables the streams need; and tells a paused sim (data arrives, the tick
// stands still) from a stale one (no data) and from one that is gone (not connected).
// The caller owns the clock (`now`), so tests drive it with recorded values and a number.
import { parseSessionInfo } from '../../ibt/session-yaml';
import type { IbtValue } from '../../ibt/types';
import { FrameMapper, type StreamLayout } from '../../telemetry/frame-mapper';
import { percentile, round, SampleWindow } from '../../../src-shared/metrics';
import { SourceStateTracker, type SourceState, type StreamSettings } from '../source';
import type { SimBackend } from './sim-backend';

export type LiveReaderOptions = Pick<StreamSettings, 'controlsVars' | 'baselineVars' | 'baselineHz' | 'sourceStaleMs'> & {
  /** Attach attempts, and re-attaching after the sim went, at most this often (default 1000 ms). */
  reconnectMs?: number;
  /**
   * How long one step blocks waiting for a telemetry buffer (default 16 ms, irsdk-node's
   * least). The sim pulses its event (iRacing's own irsdkMemServer calls PulseEvent), so a
   * pulse that comes while the reader is between its check and its wait is lost and the wait
   * runs out: shorter than one 60 Hz tick (16.7 ms), the reader then still finds that tick as
   * the latest buffer; longer, the next tick may have replaced it.
   */
  waitTimeoutMs?: number;
  /** A tick standing still this long is a pause (the state tracker's default when absent). */
  pauseAfterMs?: number;
};

/** What a YAML version and the first sample read after it say about the session. */
export interface LiveSessionInfo {
  /** The parsed session YAML. */
  info: Record<string, unknown>;
  sessionNum: number | null;
  sessionTime: number | null;
  /** Counts sim runs seen by this reader: a new run is a new offline session. */
  connection: number;
  tickRate: number;
  tickStrides: Record<string, number>;
  streams: ReturnType<FrameMapper['describe']>;
}

export type LiveEvent =
  | { type: 'state'; state: SourceState }
  | { type: 'session'; session: LiveSessionInfo }
  /** `time` is the tick's SessionTime, whatever the streams carry. */
  | { type: 'sample'; stream: string; data: Record<string, unknown>; tick: number; time: number | null }
  | { type: 'problem'; message: string };

export interface LiveReaderStats {
  state: SourceState;
  /** Attached to the sim's shared memory. */
  attached: boolean;
  /**
   * The sim's memory map exists (the last attempt to open it succeeded, or the reader is
   * attached): the sim runs, in a session or not. What "start with iRacing" asks a running relay.
   */
  simPresent: boolean;
  /** Telemetry arrived since the last attach: the sim is up. */
  simConnected: boolean;
  openAttempts: number;
  /** Sim runs seen, and how many of them came after a lost one. */
  connections: number;
  reconnects: number;
  /** Telemetry buffers that arrived, and the ticks among them that became frames. */
  buffers: number;
  samples: number;
  /**
   * Sim ticks the reader never saw: SessionTick moved on by more than one between two samples
   * of a session. irsdk hands over only the latest buffer, so a reader held up for longer than
   * a tick loses the ones in between; they are counted here, and the gateways see the same
   * ticks missing from the frames (hello.tickStrides).
   */
  ticksSkipped: number;
  /** Time the last new session YAML took to read and set up (parse, variable table, mapping). */
  sessionSetupMs: number | null;
  sessionInfoVersion: number | null;
  /** Variables read per tick, out of those on offer. */
  variablesRead: number;
  variablesOnOffer: number;
  /** Time spent in read() per tick, over the last `readSamples` ticks. */
  readP50Ms: number | null;
  readP99Ms: number | null;
  readSamples: number;
  /**
   * Share of wall time the reader spent in its own work (read, map, bookkeeping), i.e.
   * everything but its blocking wait for data; over the last second or so.
   */
  readerBusyPct: number | null;
  /**
   * CPU time of the whole relay process (every thread: the relay, its sockets and the
   * reader) as a share of wall time. Node 20 cannot measure one thread's CPU
   * (process.threadCpuUsage is Node 23+), so this is an upper bound for the reader; with
   * several threads busy it can exceed 100.
   */
  processCpuPct: number | null;
  problems: number;
  lastProblem: string | null;
}

/** The reader's own needs beyond the streams' variables. */
const OWN_VARIABLES = ['SessionTick', 'SessionTime', 'SessionNum', 'SessionState'] as const;
/** irsdk_SessionState Invalid: the sim is loading a session, its telemetry means nothing yet. */
const SESSION_STATE_INVALID = 0;
const COST_WINDOW = 1024;
export const DEFAULT_WAIT_TIMEOUT_MS = 16;
const SHARE_WINDOW_MS = 1000;

const num = (v: IbtValue | undefined): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const isMapping = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export class LiveReader {
  private readonly tracker: SourceStateTracker;
  private readonly reconnectMs: number;
  private readonly waitTimeoutMs: number;
  private out: LiveEvent[] = [];

  private attached = false;
  private present = false;
  private connected = false;
  private attachedAt = 0;
  private nextOpenAt = Number.NEGATIVE_INFINITY;

  private infoVersion: number | null = null;
  private info: Record<string, unknown> | null = null;
  private mapper: FrameMapper | null = null;
  private controls: StreamLayout | null = null;
  private baseline: StreamLayout | null = null;
  private readList: string[] = [];
  private variablesOnOffer = 0;
  private tickRate = 60;
  private baselineStride = 1;
  private sessionPending = false;
  private lastSessionNum: number | null = null;
  private lastBaselineTick: number | null = null;
  /** The tick of the last sample of this session, for counting ticks never seen. */
  private lastSampleTick: number | null = null;
  private ticksSkipped = 0;
  private sessionSetupMs: number | null = null;
  /** Stands in for SessionTick should a sim ever lack it. */
  private bufferCount = 0;

  private openAttempts = 0;
  private connections = 0;
  private samples = 0;
  private problems = 0;
  private lastProblem: string | null = null;

  private readonly readCost = new SampleWindow(COST_WINDOW);
  private busyMs = 0;
  private shareWindow = { at: performance.now(), busyMs: 0, cpu: process.cpuUsage() };
  private lastShares: { readerBusyPct: number | null; processCpuPct: number | null } | null = null;

  constructor(
    private readonly backend: SimBackend,
    private readonly options: LiveReaderOptions,
  ) {
    this.reconnectMs = options.reconnectMs ?? 1000;
    this.waitTimeoutMs = options.waitTimeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS;
    this.tracker = new SourceStateTracker((state) => this.out.push({ type: 'state', state }), options.sourceStaleMs, options.pauseAfterMs);
  }

  get state(): SourceState {
    return this.tracker.state;
  }

  /** One poll of the sim at `now` (ms, any monotonic clock); what changed, in order. */
  step(now: number): LiveEvent[] {
    const out: LiveEvent[] = [];
    this.out = out;
    const started = performance.now();
    let waited = 0;
    try {
      waited = this.poll(now);
    } catch (e) {
      // A failing SDK call must not take the relay down: report it and start over from attaching.
      this.problem(`iRacing SDK call failed: ${e instanceof Error ? e.message : String(e)}`);
      this.detach();
      this.tracker.simStopped();
    }
    this.busyMs += Math.max(0, performance.now() - started - waited);
    return out;
  }

  /** How long the caller may wait before the next step: only an unattached reader has nothing to do. */
  idleMs(now: number): number {
    return this.attached ? 0 : Math.max(0, this.nextOpenAt - now);
  }

  close(): void {
    this.detach();
  }

  stats(): LiveReaderStats {
    const reads = this.readCost.values();
    return {
      state: this.tracker.state,
      attached: this.attached,
      simPresent: this.attached || this.present,
      simConnected: this.connected,
      openAttempts: this.openAttempts,
      connections: this.connections,
      reconnects: Math.max(0, this.connections - 1),
      buffers: this.bufferCount,
      samples: this.samples,
      ticksSkipped: this.ticksSkipped,
      sessionSetupMs: this.sessionSetupMs === null ? null : round(this.sessionSetupMs, 2),
      sessionInfoVersion: this.infoVersion,
      variablesRead: this.readList.length,
      variablesOnOffer: this.variablesOnOffer,
      readP50Ms: round(percentile(reads, 50), 4),
      readP99Ms: round(percentile(reads, 99), 4),
      readSamples: reads.length,
      ...this.shares(),
      problems: this.problems,
      lastProblem: this.lastProblem,
    };
  }

  /** Returns the milliseconds spent blocked in waitForData, which are not the reader's work. */
  private poll(now: number): number {
    if (!this.attached) {
      if (now < this.nextOpenAt) return 0;
      this.nextOpenAt = now + this.reconnectMs;
      this.openAttempts++;
      this.present = this.backend.open();
      if (!this.present) {
        this.tracker.simStopped();
        return 0;
      }
      this.attached = true;
      this.connected = false;
      this.attachedAt = now;
    }

    const waitStart = performance.now();
    const fresh = this.backend.waitForData(this.waitTimeoutMs);
    const waited = performance.now() - waitStart;
    if (!fresh) {
      this.noData(now);
      return waited;
    }
    this.bufferCount++;
    if (!this.connected) {
      this.connected = true;
      this.connections++;
    }

    this.checkSessionInfo();
    if (this.info === null || this.mapper === null) {
      // The sim is up but has no session to speak of (loading, or no YAML yet).
      this.tracker.simWaiting();
      this.lastSampleTick = null;
      return waited;
    }
    const readStart = performance.now();
    const values = this.backend.read(this.readList);
    this.readCost.add(performance.now() - readStart);
    this.frame(values, now);
    return waited;
  }

  private noData(now: number): void {
    if (this.backend.isConnected()) {
      this.tracker.idle(now);
      return;
    }
    // Not connected. A sim that was delivering is gone: let go of its memory and attach
    // afresh later (iRacing may be restarted). A fresh attach gets a grace period, since
    // the SDK reports "connected" only once the first buffer has been copied.
    if (this.connected || now - this.attachedAt >= this.reconnectMs) this.detach();
    this.tracker.simStopped();
  }

  private detach(): void {
    if (this.attached) {
      try {
        this.backend.close();
      } catch (e) {
        this.problem(`closing the iRacing SDK failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    this.attached = false;
    this.connected = false;
    this.infoVersion = null;
    this.info = null;
    this.mapper = null;
    this.controls = null;
    this.baseline = null;
    this.readList = [];
    this.lastSessionNum = null;
    this.lastBaselineTick = null;
    this.lastSampleTick = null;
  }

  private checkSessionInfo(): void {
    const version = this.backend.sessionInfoVersion();
    if (version === this.infoVersion) return;
    this.infoVersion = version;
    const started = performance.now();
    try {
      this.readSessionInfo(version);
    } finally {
      this.sessionSetupMs = performance.now() - started;
    }
  }

  private readSessionInfo(version: number): void {
    const text = this.backend.sessionInfoYaml();
    if (text === null || text.trim() === '') {
      this.info = null;
      return;
    }
    let parsed: unknown;
    try {
      parsed = parseSessionInfo(text, 0);
    } catch (e) {
      // A broken update mid-session keeps the session we know rather than dropping it.
      this.problem(`session info version ${version}: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    if (!isMapping(parsed) || !isMapping(parsed.WeekendInfo)) {
      this.info = null;
      return;
    }
    this.info = parsed;
    // Another session may bring another car and so another variable table.
    const variables = this.backend.variables();
    const mapper = new FrameMapper(variables, [
      { name: 'controls', variables: this.options.controlsVars },
      { name: 'baseline', variables: this.options.baselineVars },
    ]);
    const onOffer = new Set(variables.map((v) => v.name));
    this.mapper = mapper;
    this.controls = mapper.layout('controls') ?? null;
    this.baseline = mapper.layout('baseline') ?? null;
    this.readList = [...new Set([...mapper.needed, ...OWN_VARIABLES.filter((n) => onOffer.has(n))])];
    this.variablesOnOffer = variables.length;
    this.tickRate = this.backend.tickRate();
    this.baselineStride = Math.max(1, Math.round(this.tickRate / this.options.baselineHz));
    this.sessionPending = true;
  }

  private frame(values: Record<string, IbtValue>, now: number): void {
    if (num(values.SessionState) === SESSION_STATE_INVALID) {
      this.tracker.simWaiting();
      this.lastSampleTick = null;
      return;
    }
    const sessionNum = num(values.SessionNum);
    if (this.sessionPending || sessionNum !== this.lastSessionNum) {
      this.sessionPending = false;
      this.lastSessionNum = sessionNum;
      this.lastSampleTick = null;
      this.out.push({
        type: 'session',
        session: {
          info: this.info as Record<string, unknown>,
          sessionNum,
          sessionTime: num(values.SessionTime),
          connection: this.connections,
          tickRate: this.tickRate,
          tickStrides: { controls: 1, baseline: this.baselineStride },
          streams: (this.mapper as FrameMapper).describe(),
        },
      });
    }
    const tick = num(values.SessionTick) ?? this.bufferCount;
    const time = num(values.SessionTime);
    // A tick that stands still is a pause: nothing to send, and nothing lost.
    if (!this.tracker.data(tick, now)) return;
    if (this.lastSampleTick !== null && tick > this.lastSampleTick + 1) this.ticksSkipped += tick - this.lastSampleTick - 1;
    this.lastSampleTick = tick;
    this.samples++;
    const mapper = this.mapper as FrameMapper;
    if (this.controls) this.out.push({ type: 'sample', stream: 'controls', data: mapper.map(this.controls, values), tick, time });
    if (this.baseline && (this.lastBaselineTick === null || tick - this.lastBaselineTick >= this.baselineStride || tick < this.lastBaselineTick)) {
      this.lastBaselineTick = tick;
      this.out.push({ type: 'sample', stream: 'baseline', data: mapper.map(this.baseline, values), tick, time });
    }
  }

  private problem(message: string): void {
    this.problems++;
    this.lastProblem = message;
    this.out.push({ type: 'problem', message });
  }

  /** Busy and CPU shares over the last complete window of about a second (or since the start). */
  private shares(): { readerBusyPct: number | null; processCpuPct: number | null } {
    const at = performance.now();
    const elapsed = at - this.shareWindow.at;
    if (this.lastShares !== null && elapsed < SHARE_WINDOW_MS) return this.lastShares;
    const cpu = process.cpuUsage(this.shareWindow.cpu);
    const current = {
      readerBusyPct: elapsed > 0 ? round((100 * (this.busyMs - this.shareWindow.busyMs)) / elapsed, 2) : null,
      processCpuPct: elapsed > 0 ? round((100 * (cpu.user + cpu.system)) / 1000 / elapsed, 1) : null,
    };
    if (elapsed >= SHARE_WINDOW_MS) {
      this.shareWindow = { at, busyMs: this.busyMs, cpu: process.cpuUsage() };
      this.lastShares = current;
    }
    return current;
  }
}
