// One timer per period for the whole process: the heartbeats of every connection, the
// manager's once-a-second sampler and the settings file's safety-net poll run on the same
// wake-up instead of one each. A relay at 60 Hz pays most of its CPU per wake-up, not per
// frame, so N gateways must not mean N clocks ticking beside the source's.
import { getOrAdd } from './maps';

class SharedClock {
  private readonly members = new Set<() => void>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly periodMs: number) {}

  join(tick: () => void): () => void {
    this.members.add(tick);
    if (!this.timer) {
      this.timer = setInterval(() => {
        for (const m of this.members) m();
      }, this.periodMs);
      // The clock alone never keeps the process alive.
      this.timer.unref();
    }
    return () => {
      this.members.delete(tick);
      if (this.members.size === 0 && this.timer) {
        clearInterval(this.timer);
        this.timer = undefined;
      }
    };
  }
}

const clocks = new Map<number, SharedClock>();
const newClock = (periodMs: number) => new SharedClock(periodMs);

/** Calls `tick` every `periodMs` on the process's one clock of that period; returns how to leave it. */
export function joinClock(periodMs: number, tick: () => void): () => void {
  return getOrAdd(clocks, periodMs, newClock).join(tick);
}
