// Live iRacing telemetry as a TelemetrySource (kind 'iracing'). On Windows the reader runs
// on irsdk-node in a worker thread (its wait for data blocks); anywhere else there is no
// iRacing to read, and the source says so instead of falling back to irsdk-node's mock.
// With an injected SimBackend the same reader runs in this thread: tests drive it that way.
import type { Worker } from 'node:worker_threads';
import { SourceUnavailableError, type SourceSession, type SourceSink, type SourceState, type StreamSettings, type TelemetrySource } from '../source';
import { DEFAULT_WAIT_TIMEOUT_MS, LiveReader, type LiveEvent, type LiveReaderOptions, type LiveReaderStats } from './live-reader';
import { LiveSessionNamer, type OfflineKeys } from './live-session';
import { spawnReaderThread, type FromReaderThread } from './reader-thread';
import { LIVE_PLATFORM, windowsOnlyMessage, type SimBackend } from './sim-backend';

export interface IRacingSourceOptions extends StreamSettings {
  /**
   * Runs the reader in this thread on this backend instead of on irsdk-node in a worker
   * (tests, recorded sims). Its waitForData should not block.
   */
  backend?: SimBackend;
  /** With `backend`: no polling loop of its own; the caller steps the reader with step(now). */
  manual?: boolean;
  /** Keeps an offline session's id across relay restarts: the relay's SessionRegistry. */
  registry?: OfflineKeys;
  /** Attach attempts while iRacing is not running, at most this often (default 1000 ms). */
  reconnectMs?: number;
  /** How long one poll blocks waiting for a telemetry buffer (default 16 ms: see LiveReaderOptions). */
  waitTimeoutMs?: number;
  /** A tick standing still this long is a pause (default 250 ms). */
  pauseAfterMs?: number;
  /** With `backend` and not `manual`: the pause between polls (default 5 ms). */
  pollMs?: number;
  /** Problems the reader recovered from (a failed SDK call, unreadable session YAML), for the log. */
  onProblem?: (message: string) => void;
}

const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 2_000;

function sameSession(a: SourceSession | null, b: SourceSession): boolean {
  return a !== null && a.sessionId === b.sessionId && JSON.stringify([a.meta, a.tickStrides]) === JSON.stringify([b.meta, b.tickStrides]);
}

export class IRacingSource implements TelemetrySource {
  readonly kind = 'iracing';
  readonly streams = ['controls', 'baseline'] as const;
  private current: SourceState = 'not-running';
  private produced = 0;
  private sessionValue: SourceSession | null = null;
  private sink?: SourceSink;
  private readonly namer: LiveSessionNamer;
  private readonly readerOptions: LiveReaderOptions;
  private reader?: LiveReader;
  private pollTimer?: NodeJS.Timeout;
  private worker?: Worker;
  private respawnTimer?: NodeJS.Timeout;
  private threadStats: LiveReaderStats | null = null;
  private threadRestarts = 0;
  private lastProblem: string | null = null;
  /** Why the reader thread cannot run at all (no native SDK): no point restarting it. */
  private fatal: string | null = null;
  private stopping = false;

  constructor(private readonly options: IRacingSourceOptions) {
    this.namer = new LiveSessionNamer({ sharePersonalData: options.sharePersonalData, registry: options.registry });
    // Plain data only: it is handed to the worker thread as is.
    this.readerOptions = {
      controlsVars: [...options.controlsVars],
      baselineVars: [...options.baselineVars],
      baselineHz: options.baselineHz,
      sourceStaleMs: options.sourceStaleMs,
      reconnectMs: options.reconnectMs ?? 1000,
      waitTimeoutMs: options.waitTimeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS,
      pauseAfterMs: options.pauseAfterMs ?? 250,
    };
  }

  get state(): SourceState {
    return this.current;
  }

  get framesProduced(): number {
    return this.produced;
  }

  get session(): SourceSession | null {
    return this.sessionValue;
  }

  /**
   * Off Windows: throws SourceUnavailableError naming the replay and synthetic sources,
   * without loading irsdk-node. On Windows: starts the reader thread and waits until it
   * has loaded the native SDK, so a broken install fails before anything connects.
   */
  async prepare(): Promise<void> {
    if (this.options.backend) return;
    if (process.platform !== LIVE_PLATFORM) throw new SourceUnavailableError(windowsOnlyMessage());
    if (!this.worker) await this.spawn();
  }

  start(sink: SourceSink): void {
    this.sink = sink;
    this.stopping = false;
    if (this.options.backend) {
      this.reader = new LiveReader(this.options.backend, this.readerOptions);
      if (!this.options.manual) this.poll();
      return;
    }
    if (process.platform !== LIVE_PLATFORM) throw new SourceUnavailableError(windowsOnlyMessage());
    // Failures to start surface through report() and the thread's exit handling.
    if (!this.worker) this.spawn().catch(() => {});
    this.worker?.postMessage({ type: 'start' });
  }

  /** In-process mode: one poll of the reader at `now` (ms). */
  step(now: number): void {
    if (!this.reader) throw new Error('IRacingSource.step() drives an in-process reader: construct it with { backend } and call start() first');
    this.handle(this.reader.step(now));
  }

  /** Detaches from the sim and ends the reader; a source that was reading is then `ended`. */
  async stop(): Promise<void> {
    const wasReading = this.reader !== undefined || this.worker !== undefined || this.respawnTimer !== undefined;
    this.stopping = true;
    clearTimeout(this.pollTimer);
    clearTimeout(this.respawnTimer);
    this.reader?.close();
    const worker = this.worker;
    if (worker) {
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      worker.postMessage({ type: 'stop' });
      // The thread answers within one poll; a native call stuck beyond that is cut off.
      const kill = setTimeout(() => void worker.terminate(), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(kill);
    }
    // Samples the thread posted before it stopped have been handled: nothing more comes.
    if (wasReading) this.setState('ended');
  }

  stats(): Record<string, unknown> {
    // The reader's own `state` may lag in worker mode; simState is the one the relay acts on.
    const { state: _lagging, ...reader } = (this.reader ? this.reader.stats() : this.threadStats) ?? {};
    return {
      mode: this.options.backend ? 'in-process' : 'worker',
      simState: this.current,
      sessionId: this.sessionValue?.sessionId ?? null,
      framesProduced: this.produced,
      ...reader,
      ...(this.options.backend ? {} : { threadRestarts: this.threadRestarts }),
      lastProblem: this.lastProblem,
      unavailable: this.fatal,
    };
  }

  private poll = (): void => {
    if (this.stopping || !this.reader) return;
    this.handle(this.reader.step(performance.now()));
    this.pollTimer = setTimeout(this.poll, Math.max(this.options.pollMs ?? 5, this.reader.idleMs(performance.now())));
  };

  private handle(events: readonly LiveEvent[]): void {
    for (const e of events) {
      switch (e.type) {
        case 'state':
          this.setState(e.state);
          break;
        case 'session': {
          const session = this.namer.name(e.session);
          // A YAML update that changes nothing we announce (results, say) is not news.
          if (sameSession(this.sessionValue, session)) break;
          this.sessionValue = session;
          this.sink?.session(session);
          break;
        }
        case 'sample':
          // Noted at the baseline's few hertz: the registry only needs to know the clock went on.
          if (e.stream === 'baseline') this.namer.progress(e.time);
          this.produced++;
          this.sink?.sample({ stream: e.stream, data: e.data, tick: e.tick });
          break;
        case 'problem':
          this.report(e.message);
          break;
      }
    }
  }

  private setState(state: SourceState): void {
    if (state === this.current) return;
    this.current = state;
    this.sink?.state(state);
  }

  private report(message: string): void {
    this.lastProblem = message;
    this.options.onProblem?.(message);
  }

  /** Starts the reader thread; resolves once it has loaded the SDK. */
  private spawn(): Promise<void> {
    const worker = spawnReaderThread(this.readerOptions);
    this.worker = worker;
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const settle = (error?: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timeout);
        if (error) reject(error);
        else resolve();
      };
      const timeout = setTimeout(() => {
        settle(new Error(`the live iRacing reader thread did not start within ${START_TIMEOUT_MS / 1000} s`));
        void worker.terminate();
      }, START_TIMEOUT_MS);
      worker.on('message', (m: FromReaderThread) => {
        if (m.type === 'ready') settle();
        else if (m.type === 'fatal') {
          this.fatal = m.message;
          this.report(m.message);
          settle(m.unavailable ? new SourceUnavailableError(m.message) : new Error(m.message));
        } else if (m.type === 'events') this.handle(m.events);
        else if (m.type === 'stats') this.threadStats = m.stats;
      });
      worker.on('error', (e) => {
        this.report(`live iRacing reader thread failed: ${e.message}`);
        settle(e);
      });
      worker.on('exit', (code) => {
        settle(new Error(`the live iRacing reader thread exited (code ${code}) before it was ready`));
        this.threadExited(worker, code);
      });
    });
  }

  private threadExited(worker: Worker, code: number): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    if (this.stopping || this.fatal !== null || !this.sink) return;
    // The relay outlives a reader thread that died: the sim is unknown until a new one attaches.
    this.report(`live iRacing reader thread exited (code ${code}); starting a new one in ${this.readerOptions.reconnectMs} ms`);
    this.setState('not-running');
    this.respawnTimer = setTimeout(() => {
      if (this.stopping) return;
      this.threadRestarts++;
      this.spawn().catch(() => {});
      this.worker?.postMessage({ type: 'start' });
    }, this.readerOptions.reconnectMs);
  }
}
