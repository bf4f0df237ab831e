// Waits for iRacing ("launch with iRacing"): polls a probe of the sim (its SDK's memory map)
// and reports only when the answer changes. A probe that fails says nothing about the sim, so
// it is never taken as "not running": a hiccup must not stop a relay mid-session.
import type { SimProbe } from './ports';
import { systemClock, type Clock, type TimerHandle } from '../runtime/clock';

export const DEFAULT_SIM_POLL_MS = 3000;

export interface SimWatcherOptions {
  probe: SimProbe;
  onChange: (running: boolean) => void;
  intervalMs?: number;
  log?: (msg: string) => void;
  clock?: Pick<Clock, 'setTimeout' | 'clearTimeout'>;
}

// Distinct error texts remembered at most, so a message carrying a changing detail cannot grow the set forever.
const MAX_REMEMBERED_ERRORS = 20;

export class SimWatcher {
  private readonly intervalMs: number;
  private readonly clock: Pick<Clock, 'setTimeout' | 'clearTimeout'>;
  private timer: TimerHandle | null = null;
  private active = false;
  private polling = false;
  private last: boolean | null = null;
  private readonly loggedErrors = new Set<string>();

  constructor(private readonly options: SimWatcherOptions) {
    this.intervalMs = options.intervalMs ?? DEFAULT_SIM_POLL_MS;
    this.clock = options.clock ?? systemClock;
  }

  /** Polls at once, then every `intervalMs` after each poll finishes. */
  start(): void {
    if (this.active) return;
    this.active = true;
    void this.poll();
  }

  stop(): void {
    this.active = false;
    if (this.timer !== null) {
      this.clock.clearTimeout(this.timer);
      this.timer = null;
    }
  }

  /** The last known answer; null before the first successful poll. */
  get running(): boolean | null {
    return this.last;
  }

  private async poll(): Promise<void> {
    if (!this.active || this.polling) return;
    this.polling = true;
    this.timer = null;
    let result: boolean | null = null;
    try {
      result = await this.options.probe.isRunning();
    } catch (e) {
      this.logError(e instanceof Error ? e.message : String(e));
    } finally {
      this.polling = false;
    }
    if (!this.active) return;
    if (result !== null) {
      // Logged again if it comes back after a good poll: it is news then.
      this.loggedErrors.clear();
      if (result !== this.last) {
        this.last = result;
        try {
          this.options.onChange(result);
        } catch (e) {
          this.options.log?.(`sim watcher: onChange failed: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
    }
    // The next poll is timed from the end of this one, so a slow listing never overlaps the next.
    if (this.active && this.timer === null) this.timer = this.clock.setTimeout(() => void this.poll(), this.intervalMs);
  }

  private logError(message: string): void {
    if (this.loggedErrors.has(message)) return;
    if (this.loggedErrors.size >= MAX_REMEMBERED_ERRORS) this.loggedErrors.clear();
    this.loggedErrors.add(message);
    this.options.log?.(`sim watcher: could not tell whether iRacing runs (${message}); keeping the last known state`);
  }
}
