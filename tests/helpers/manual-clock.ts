// Time and promises driven by hand, for the parts that take a Clock (src-main/runtime/clock.ts):
// a test moves time forward and every timer due in between fires at its own time, so
// nothing waits for real time.
import type { Clock, TimerHandle } from '../../src-main/runtime/clock';

/** Lets settled promises run their callbacks (no timers involved). */
export async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

/** A promise and the functions that settle it, for an answer the test gives later. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

export class ManualClock implements Clock {
  t = Date.UTC(2026, 0, 5, 12, 0, 0);
  private seq = 0;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): number {
    this.seq += 1;
    this.timers.set(this.seq, { at: this.t + ms, fn });
    return this.seq;
  }

  clearTimeout(handle: TimerHandle): void {
    if (typeof handle === 'number') this.timers.delete(handle);
  }

  pending(): number {
    return this.timers.size;
  }

  /** Moves time forward, firing each due timer at its own time and letting promises settle after it. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    // What already settled may set timers of its own before time moves.
    await flush();
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const entry of this.timers) if (entry[1].at <= end && (!next || entry[1].at < next[1].at)) next = entry;
      if (!next) break;
      this.timers.delete(next[0]);
      this.t = Math.max(this.t, next[1].at);
      next[1].fn();
      await flush();
    }
    this.t = end;
    await flush();
  }
}
