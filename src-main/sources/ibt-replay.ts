// Replays an iRacing recording (.ibt) as live telemetry: one `controls` frame per recorded
// sample, `baseline` frames at their lower rate, on the recording's own clock (SessionTime),
// faster with a speed factor, or as fast as the relay takes it.
import { IbtFile } from '../ibt/ibt-file';
import { FrameMapper, type StreamLayout } from '../telemetry/frame-mapper';
import { identifySession, offlineFingerprint } from '../telemetry/session-identity';
import { SourceStateTracker, type SourceSession, type SourceSink, type SourceState, type StreamSettings, type TelemetrySource } from './source';

export interface IbtReplayOptions extends StreamSettings {
  path: string;
  /** A factor of the recorded pace, or 'max': as fast as the relay's queues drain. */
  speed: number | 'max';
  loop: boolean;
}

/** At full speed, the replay waits while the fullest queue holds more than this. */
const MAX_SPEED_BACKLOG = 256;
/** A gap in the recording's clock longer than this is shown as a pause. */
const PAUSE_GAP_S = 0.5;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class IbtReplaySource implements TelemetrySource {
  readonly kind = 'ibt';
  readonly streams = ['controls', 'baseline'] as const;
  readonly finished: Promise<void>;
  private resolveFinished: () => void = () => {};
  private file?: IbtFile;
  private mapper?: FrameMapper;
  private sessionValue: SourceSession | null = null;
  private produced = 0;
  private samplesReplayed = 0;
  private loops = 0;
  private stopped = false;
  private running?: Promise<void>;
  private readonly tracker: SourceStateTracker;
  private sink?: SourceSink;
  private lastError: string | null = null;
  /** Baseline frames go out every this many ticks: its rate in the sim's own clock. */
  private baselineStride = 1;

  constructor(private readonly options: IbtReplayOptions) {
    this.finished = new Promise((r) => (this.resolveFinished = r));
    this.tracker = new SourceStateTracker((s) => this.sink?.state(s), options.sourceStaleMs);
  }

  get state(): SourceState {
    return this.tracker.state;
  }

  get framesProduced(): number {
    return this.produced;
  }

  get session(): SourceSession | null {
    return this.sessionValue;
  }

  /** Opens and checks the file: an invalid recording fails here, before anything connects. */
  async prepare(): Promise<void> {
    if (this.file) return;
    const file = await IbtFile.open(this.options.path);
    this.file = file;
    this.mapper = new FrameMapper(file.variables, [
      { name: 'controls', variables: this.options.controlsVars },
      { name: 'baseline', variables: this.options.baselineVars },
    ]);
    // A recording's start date keeps an offline session's id the same on every replay.
    const identity = identifySession(file.sessionInfo, { offlineKey: String(file.disk.sessionStartDate), sharePersonalData: this.options.sharePersonalData });
    this.baselineStride = Math.max(1, Math.round(file.header.tickRate / this.options.baselineHz));
    this.sessionValue = {
      sessionId: identity.sessionId,
      tickStrides: { controls: 1, baseline: this.baselineStride },
      meta: {
        ...identity.meta,
        source: 'ibt',
        recording: { startDate: new Date(file.disk.sessionStartDate * 1000).toISOString(), samples: file.sampleCount, tickRate: file.header.tickRate, fingerprint: offlineFingerprint(file.sessionInfo) },
        streams: this.mapper.describe(),
      },
    };
  }

  start(sink: SourceSink): void {
    this.sink = sink;
    this.running = this.run(sink).catch((e) => {
      this.lastError = (e as Error).message;
      this.tracker.ended();
      this.resolveFinished();
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
    await this.file?.close();
  }

  stats(): Record<string, unknown> {
    return {
      path: this.options.path,
      speed: this.options.speed,
      loop: this.options.loop,
      samples: this.file?.sampleCount ?? null,
      samplesReplayed: this.samplesReplayed,
      loops: this.loops,
      lastError: this.lastError,
    };
  }

  private async run(sink: SourceSink): Promise<void> {
    await this.prepare();
    const file = this.file as IbtFile;
    const mapper = this.mapper as FrameMapper;
    sink.session(this.sessionValue as SourceSession);
    const controls = mapper.layout('controls') as StreamLayout;
    const baseline = mapper.layout('baseline') as StreamLayout;
    const wanted = [...new Set([...mapper.needed, 'SessionTime', 'SessionTick'])].filter((n) => file.variable(n));
    const controlsAt = mapper.positions(controls, wanted);
    const baselineAt = mapper.positions(baseline, wanted);
    const timeAt = wanted.indexOf('SessionTime');
    const tickAt = wanted.indexOf('SessionTick');
    const width = wanted.length;
    const max = this.options.speed === 'max';
    do {
      let clockStart: number | null = null;
      let wallStart = 0;
      let lastTime: number | null = null;
      let lastBaselineTick: number | null = null;
      // Chunk by chunk (up to 64 samples): at full speed a chunk's frames are published in
      // one go, so each target writes them as one batch, not one write per frame.
      for await (const chunk of file.chunks({ variables: wanted })) {
        if (this.stopped) return;
        const { values } = chunk;
        for (let k = 0; k < chunk.count; k++) {
          const base = k * width;
          const index = chunk.start + k;
          const timeValue = timeAt >= 0 ? values[base + timeAt] : undefined;
          const tickValue = tickAt >= 0 ? values[base + tickAt] : undefined;
          const time = typeof timeValue === 'number' ? timeValue : index / file.header.tickRate;
          const tick = typeof tickValue === 'number' ? tickValue : index;
          if (!max) {
            if (clockStart === null || lastTime === null || time < lastTime) {
              // First sample, or the clock went back (a loop or a session reset): re-anchor.
              clockStart = time;
              wallStart = performance.now();
            } else if (time - lastTime > PAUSE_GAP_S) {
              this.tracker.paused();
            }
            const due = wallStart + ((time - clockStart) * 1000) / (this.options.speed as number);
            const wait = due - performance.now();
            if (wait > 1) await sleep(wait);
            if (this.stopped) return;
          }
          lastTime = time;
          this.tracker.data(tick, performance.now());
          this.emit(sink, 'controls', mapper.mapAt(controls, values, base, controlsAt), tick);
          if (lastBaselineTick === null || tick - lastBaselineTick >= this.baselineStride || tick < lastBaselineTick) {
            lastBaselineTick = tick;
            this.emit(sink, 'baseline', mapper.mapAt(baseline, values, base, baselineAt), tick);
          }
          this.samplesReplayed++;
        }
        if (max) {
          // Paced by the relay: let the sockets write and read their receipts, and never
          // outrun the queues (a frame dropped for a full queue would be a replay's own loss).
          await new Promise((r) => setImmediate(r));
          while ((sink.backlog?.() ?? 0) > MAX_SPEED_BACKLOG && !this.stopped) await sleep(1);
        }
      }
      this.loops++;
    } while (this.options.loop && !this.stopped);
    this.tracker.ended();
    this.resolveFinished();
  }

  private emit(sink: SourceSink, stream: string, data: Record<string, unknown>, tick: number): void {
    this.produced++;
    sink.sample({ stream, data, tick });
  }
}
