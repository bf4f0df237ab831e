// Time and timers as one injected part: the modules that wait or stamp times take a Clock,
// so tests drive them by hand instead of waiting for real time.

/** Node's timer object, or a number from a hand-driven clock in tests. */
export type TimerHandle = ReturnType<typeof setTimeout> | number;

export interface Clock {
  /** Epoch ms. */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle),
};
