// Where every frame given to one target on one stream stands. The fields move only in the
// steps of a frame's life (given, written, confirmed, dropped, lost), so
// produced = delivered + inFlight + queued + dropped + lost holds at every instant, and
// the gateway's own counts can be checked against each field separately.
import { DROP_REASONS, LOST_REASONS, type DropReason, type LostReason, type StreamCounts, type TargetCounters } from '../../src-shared/debug-api';

const zeroes = <K extends string>(keys: readonly K[]): Record<K, number> => Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;

export class StreamAccount {
  produced = 0;
  delivered = 0;
  inFlight = 0;
  queued = 0;
  dropped = 0;
  lost = 0;
  /** Written at least once. */
  sent = 0;
  acked = 0;
  resent = 0;
  notGiven = 0;
  readonly droppedBy = zeroes(DROP_REASONS);
  readonly lostBy = zeroes(LOST_REASONS);

  given(): void {
    this.produced++;
    this.queued++;
  }

  /** Given while the target may not send (kill switch, standby, disabled): never queued. */
  givenAndDropped(reason: DropReason): void {
    this.produced++;
    this.dropped++;
    this.droppedBy[reason]++;
  }

  droppedFromQueue(reason: DropReason): void {
    this.queued--;
    this.dropped++;
    this.droppedBy[reason]++;
  }

  written(): void {
    this.queued--;
    this.inFlight++;
    this.sent++;
  }

  confirmed(count: number): void {
    this.inFlight -= count;
    this.delivered += count;
  }

  lostInFlight(count: number, reason: LostReason): void {
    this.inFlight -= count;
    this.lost += count;
    this.lostBy[reason] += count;
  }

  /** Adds this account to `total` (the target's counters summed without a view per stream). */
  addTo(total: StreamCounts): void {
    total.produced += this.produced;
    total.delivered += this.delivered;
    total.inFlight += this.inFlight;
    total.queued += this.queued;
    total.dropped += this.dropped;
    total.lost += this.lost;
    total.sent += this.sent;
    total.failed += this.lost;
    total.acked += this.acked;
    total.resent += this.resent;
    total.notGiven += this.notGiven;
    for (const r of DROP_REASONS) total.droppedBy[r] += this.droppedBy[r];
    for (const r of LOST_REASONS) total.lostBy[r] += this.lostBy[r];
  }

  view(): StreamCounts {
    return {
      produced: this.produced,
      delivered: this.delivered,
      inFlight: this.inFlight,
      queued: this.queued,
      dropped: this.dropped,
      lost: this.lost,
      sent: this.sent,
      failed: this.lost,
      acked: this.acked,
      resent: this.resent,
      droppedBy: { ...this.droppedBy },
      lostBy: { ...this.lostBy },
      notGiven: this.notGiven,
    };
  }
}

/** The counters of an account, without its reasons: what /debug/targets and /debug/parity show per target. */
export function countersOf(c: StreamCounts): TargetCounters {
  return {
    produced: c.produced,
    delivered: c.delivered,
    inFlight: c.inFlight,
    queued: c.queued,
    dropped: c.dropped,
    lost: c.lost,
    sent: c.sent,
    failed: c.failed,
    acked: c.acked,
    resent: c.resent,
  };
}
