// One interface for every telemetry source: synthetic, .ibt replay and live iRacing, and
// what the relay gives a source it starts. The relay imports this; sources never import it.
import type { Settings } from '../../src-shared/settings';
import type { Logger } from '../log/logger';
import type { SessionRegistry } from '../telemetry/session-registry';

/**
 * The same state machine for every kind of source:
 * - not-running: no sim;
 * - waiting: sim up, no session yet (or loading);
 * - live: new samples arriving;
 * - paused: connected, but the sim's clock does not advance (a paused sim or replay):
 *   never a disconnect, and no frames are lost since none are produced;
 * - stale: connected, but no new data for longer than the stale threshold;
 * - ended: a recording finished.
 */
export const SOURCE_STATES = ['not-running', 'waiting', 'live', 'paused', 'stale', 'ended'] as const;
export type SourceState = (typeof SOURCE_STATES)[number];

export interface SourceSample {
  stream: string;
  data: Record<string, unknown>;
  /** The source's own tick: a jump between frames of a stream is a gap at the source. */
  tick?: number;
}

export interface SourceSession {
  sessionId: string;
  meta: Record<string, unknown>;
  /** Ticks between frames of each stream when nothing is skipped (see the hello's tickStrides). */
  tickStrides?: Record<string, number>;
}

export interface SourceSink {
  sample(sample: SourceSample): void;
  session(session: SourceSession): void;
  state(state: SourceState): void;
  /** Frames waiting in the fullest queue of a connected target: a replay at full speed paces itself on it. */
  backlog?(): number;
}

export interface TelemetrySource {
  readonly kind: string;
  readonly streams: readonly string[];
  /** Opens what the source reads (a file, say), so a bad input fails before anything connects. */
  prepare?(): Promise<void>;
  start(sink: SourceSink): void;
  stop(): Promise<void>;
  readonly state: SourceState;
  readonly framesProduced: number;
  readonly session: SourceSession | null;
  /** Resolves when a finite source (a recording without --loop) has produced its last frame. */
  readonly finished?: Promise<void>;
  /** The source's own figures for /debug/health (the live reader's cost, a replay's position). */
  stats?(): Record<string, unknown>;
}

/** The settings a source turns into streams: which variables, how often, what stays private. */
export interface StreamSettings {
  controlsVars: readonly string[];
  baselineVars: readonly string[];
  baselineHz: number;
  sharePersonalData: boolean;
  sourceStaleMs: number;
}

/** The relay's parts a source may use. */
export interface SourceContext {
  /** The one registry of this config dir: a second one would overwrite its seq reservations. */
  registry: SessionRegistry;
  log: Logger;
}

/** Makes the source for the settings in force (stream variables, privacy): the relay calls it once it has read them. */
export type SourceFactory = (settings: Settings, context: SourceContext) => TelemetrySource;

/**
 * Derives the state from what a source observes, the same way for every kind: ticks that
 * advance are live, data whose tick stands still is paused, no data at all for a while is
 * stale. Time comes from the caller so tests can drive it.
 */
export class SourceStateTracker {
  private current: SourceState = 'not-running';
  private lastTick: number | null = null;
  private lastAdvanceAt = 0;
  private lastDataAt = 0;

  constructor(
    private readonly onChange: (state: SourceState) => void,
    private readonly staleAfterMs: number,
    private readonly pauseAfterMs = 250,
  ) {}

  get state(): SourceState {
    return this.current;
  }

  simStopped(): void {
    this.lastTick = null;
    this.set('not-running');
  }

  /** The sim is up but has no session (the menus, or a session loading). */
  simWaiting(): void {
    this.lastTick = null;
    this.set('waiting');
  }

  /** A sample with this tick was read; true when it is new (the tick moved, either way). */
  data(tick: number, now: number): boolean {
    this.lastDataAt = now;
    if (this.lastTick === null || tick !== this.lastTick) {
      this.lastTick = tick;
      this.lastAdvanceAt = now;
      this.set('live');
      return true;
    }
    if (now - this.lastAdvanceAt >= this.pauseAfterMs) this.set('paused');
    return false;
  }

  /** Nothing new was read at `now`. */
  idle(now: number): void {
    if ((this.current === 'live' || this.current === 'paused') && now - this.lastDataAt >= this.staleAfterMs) this.set('stale');
  }

  /** A pause the source knows of without looking at ticks (a gap in a recording's clock). */
  paused(): void {
    if (this.current === 'live') this.set('paused');
  }

  ended(): void {
    this.set('ended');
  }

  private set(state: SourceState): void {
    if (state === this.current) return;
    this.current = state;
    this.onChange(state);
  }
}

/** The source cannot run here (live iRacing off Windows, say): a usage problem, not a crash. */
export class SourceUnavailableError extends Error {
  override name = 'SourceUnavailableError';
}
