// The retry schedule of one target: how long to wait before the next connection attempt.

export class Backoff {
  private attempt = 0;

  /** The link held long enough (or a run is ending): the next retry waits the base again. */
  reset(): void {
    this.attempt = 0;
  }

  /**
   * The delay before the next attempt. Exponential with full jitter, so a fleet of relays does
   * not reconnect in step; `hurry` (a run that is ending) waits 100 ms at the most.
   */
  next(baseMs: number, capMs: number, hurry: boolean): number {
    const ceiling = Math.min(capMs, baseMs * 2 ** this.attempt);
    const delay = Math.round(Math.random() * (hurry ? Math.min(ceiling, 100) : ceiling));
    this.attempt = Math.min(this.attempt + 1, 30);
    return delay;
  }
}
