// Where a target stands, as one model: what the manager wants of it, how far its run has
// gone, and what its link is doing. The combinations that cannot happen cannot be written:
// only a target in standby or disabled drains, and a removed target is done.
import type { TargetState } from '../../src-shared/debug-api';

/** What the manager wants of a target; the kill switch wins over enabled flags, which win over the mode. */
export type Activity = 'active' | 'standby' | 'disabled' | 'killed';

/**
 * What the manager wants; `draining`: standby or disabled was asked with frames still queued or
 * in flight, and they are being delivered before the socket closes.
 */
export type Wanted = { activity: 'active' | 'killed' } | { activity: 'standby' | 'disabled'; draining: boolean };

/** running -> finishing (finish() or dispose() began) -> done (no socket opens again) -> removed. */
export type Phase = 'running' | 'finishing' | 'done' | 'removed';

export type Link = 'idle' | 'connecting' | 'connected' | 'backoff';

export class Lifecycle {
  private wanted: Wanted = { activity: 'disabled', draining: false };
  private phase: Phase = 'running';
  link: Link = 'idle';

  get activity(): Activity {
    return this.wanted.activity;
  }

  get draining(): boolean {
    return 'draining' in this.wanted && this.wanted.draining;
  }

  /** The run is ending or over: nothing new is accepted. */
  get finishing(): boolean {
    return this.phase !== 'running';
  }

  get done(): boolean {
    return this.phase === 'done' || this.phase === 'removed';
  }

  get removed(): boolean {
    return this.phase === 'removed';
  }

  /** Frames may be written: the target is active, draining, or finishing its run. */
  get maySend(): boolean {
    return this.wanted.activity === 'active' || this.draining || this.finishing;
  }

  want(activity: Activity): void {
    this.wanted = activity === 'active' || activity === 'killed' ? { activity } : { activity, draining: false };
  }

  /** Standby or disabled with work left: deliver it before closing. */
  startDrain(): void {
    if (this.wanted.activity === 'standby' || this.wanted.activity === 'disabled') this.wanted = { activity: this.wanted.activity, draining: true };
  }

  stopDrain(): void {
    if ('draining' in this.wanted) this.wanted = { activity: this.wanted.activity, draining: false };
  }

  /** Moves the run forward (never back). */
  reach(phase: Exclude<Phase, 'running'>): void {
    const order: Phase[] = ['running', 'finishing', 'done', 'removed'];
    if (order.indexOf(phase) > order.indexOf(this.phase)) this.phase = phase;
  }

  /** The one state the manager and the dashboard see. */
  view(hasSocket: boolean): TargetState {
    if (this.removed) return 'removed';
    if (this.wanted.activity === 'active' || this.draining || (this.finishing && hasSocket)) {
      return this.link === 'idle' ? 'connecting' : this.link;
    }
    return this.wanted.activity;
  }
}
