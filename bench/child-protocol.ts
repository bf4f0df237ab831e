// Messages between the bench and its gateway-side child process (bench/sink.ts), kept apart
// from both so importing them runs neither side's top-level code.
//
// Times cross the process boundary as process.hrtime.bigint() in decimal text: on Linux it
// is CLOCK_MONOTONIC, one clock for every process on the machine.

export type ChildRequest =
  | { id: number; cmd: 'sinks'; count: number }
  | { id: number; cmd: 'gateways'; count: number }
  | { id: number; cmd: 'stalled'; kind: 'tcp' | 'ws' }
  | { id: number; cmd: 'reset' }
  /** Resolves once each of the first `sinks` sinks has counted `frames` frames since the last reset. */
  | { id: number; cmd: 'expect'; frames: number; sinks: number; timeoutMs: number }
  | { id: number; cmd: 'counts' }
  /** Latency samples of these sessions' frames at gateway `gateway` from now on (and forgets older ones). */
  | { id: number; cmd: 'watch'; gateway: number; sessions: string[] }
  | { id: number; cmd: 'latency' }
  /** From `atNs` on: every frame the gateways take in is noted, and when each gateway's last connection closes. */
  | { id: number; cmd: 'mark'; atNs: string }
  | { id: number; cmd: 'marked' }
  | { id: number; cmd: 'close' };

export interface SinkCounts {
  frames: number;
  /** hrtime (ns, decimal text) of the first and last frame since the last reset; null before any. */
  firstNs: string | null;
  lastNs: string | null;
}

export interface ChildCounts {
  sinks: SinkCounts[];
  gateways: number[];
  /** Open relay connections per gateway. */
  connections: number[];
}

/** Frame latency at the watched gateway per session: receipt (epoch ms, sub-ms) minus the frame's ts. */
export type LatencySamples = Record<string, number[]>;

export interface MarkedReport {
  /** Per gateway: hrtime (ns, text) when its open connections reached zero after the mark, or null. */
  zeroAtNs: (string | null)[];
  /** Frames taken in after the mark: gateway, and receipt hrtime (ns, text). */
  frames: Array<{ gateway: number; atNs: string }>;
}

export interface ChildReply {
  id: number;
  ok: boolean;
  error?: string;
  urls?: string[];
  counts?: ChildCounts;
  /** For `expect`: false when the timeout came first. */
  reached?: boolean;
  latency?: LatencySamples;
  marked?: MarkedReport;
}

/** Sent once the message handler is installed: IPC messages sent before it would be lost. */
export const READY = 'bench-child-ready';
