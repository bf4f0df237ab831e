// The heartbeat's wake-ups, shared by every connection of the process.
import { getOrAdd } from './maps';

/**
 * One clock per heartbeat interval for every connection in the process: the pings of N
 * gateways go out together, one wake-up a second instead of N (their pongs then come back
 * together too). A relay at 60 Hz pays most of its CPU per wake-up, not per frame.
 */
class HeartbeatClock {
  private readonly beats = new Set<() => void>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly intervalMs: number) {}

  join(beat: () => void): () => void {
    this.beats.add(beat);
    if (!this.timer) {
      this.timer = setInterval(() => {
        for (const b of this.beats) b();
      }, this.intervalMs);
      this.timer.unref();
    }
    return () => {
      this.beats.delete(beat);
      if (this.beats.size === 0 && this.timer) {
        clearInterval(this.timer);
        this.timer = undefined;
      }
    };
  }
}

const heartbeatClocks = new Map<number, HeartbeatClock>();
const newClock = (intervalMs: number) => new HeartbeatClock(intervalMs);

/** Calls `beat` every `intervalMs` on the clock shared by that interval; returns the way out. */
export function joinHeartbeat(intervalMs: number, beat: () => void): () => void {
  return getOrAdd(heartbeatClocks, intervalMs, newClock).join(beat);
}
