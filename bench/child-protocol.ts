// Messages between the bench and its child process (bench/sink.ts), kept apart from both so
// importing them runs neither side's top-level code.

export type ChildRequest =
  | { id: number; cmd: 'sinks'; count: number }
  | { id: number; cmd: 'gateways'; count: number }
  | { id: number; cmd: 'reset' }
  | { id: number; cmd: 'expect'; frames: number; timeoutMs: number }
  | { id: number; cmd: 'counts' }
  | { id: number; cmd: 'close' };

export interface ChildCounts {
  sinks: number[];
  gateways: number[];
}

export interface ChildReply {
  id: number;
  ok: boolean;
  error?: string;
  urls?: string[];
  counts?: ChildCounts;
  /** For `expect`: false when the timeout came first. */
  reached?: boolean;
}

/** Sent once the message handler is installed: IPC messages sent before it would be lost. */
export const READY = 'bench-child-ready';
