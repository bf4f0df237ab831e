// One interface for every telemetry source (synthetic now; .ibt replay and live iRacing next).

/** The same state machine for every kind of source. */
export type SourceState = 'not-running' | 'waiting' | 'live' | 'paused' | 'stale' | 'ended';

export interface SourceSample {
  stream: string;
  data: Record<string, unknown>;
  /** The source's own tick: a jump between frames of a stream is a gap at the source. */
  tick?: number;
}

export interface SourceSession {
  sessionId: string;
  meta: Record<string, unknown>;
}

export interface SourceSink {
  sample(sample: SourceSample): void;
  session(session: SourceSession): void;
  state(state: SourceState): void;
}

export interface TelemetrySource {
  readonly kind: string;
  readonly streams: readonly string[];
  start(sink: SourceSink): void;
  stop(): Promise<void>;
  readonly state: SourceState;
  readonly framesProduced: number;
  readonly session: SourceSession | null;
}
