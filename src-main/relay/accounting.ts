// One target's accounting: every stream's account and the in-flight window (frames written
// and not yet confirmed, and their bytes). A frame in flight leaves it only through settle(),
// so the window and the accounts cannot disagree.
import type { LostReason, StreamCounts } from '../../src-shared/debug-api';
import type { Unconfirmed } from './outbox';
import type { OutgoingFrame } from './queue';
import { StreamAccount } from './stream-account';
import { getOrAdd } from './maps';

/**
 * What became of frames in flight: the gateway confirmed them, they are written again (they
 * stay in flight, counted as resent), or they are lost for the reason given.
 */
export type Settlement = { outcome: 'confirmed' } | { outcome: 'resent' } | { outcome: 'lost'; reason: LostReason };

export const CONFIRMED: Settlement = { outcome: 'confirmed' };
export const RESENT: Settlement = { outcome: 'resent' };

const newAccount = () => new StreamAccount();

export class Accounting {
  private readonly accounts = new Map<string, StreamAccount>();
  inFlightFrames = 0;
  inFlightBytes = 0;
  /** Date.now() of the last confirmation. */
  lastConfirmMs: number | null = null;

  account(stream: string): StreamAccount {
    return getOrAdd(this.accounts, stream, newAccount);
  }

  /** A queued frame written to the socket: it is in flight until settled. */
  written(frame: OutgoingFrame): void {
    this.account(frame.stream).written();
    this.inFlightFrames++;
    this.inFlightBytes += frame.bytes;
  }

  /** The one way out of flight (see Settlement); `entries` are frames of `stream`. */
  settle(stream: string, entries: readonly Unconfirmed[], s: Settlement): void {
    if (entries.length === 0) return;
    const account = this.account(stream);
    if (s.outcome === 'resent') {
      account.resent += entries.length;
      return;
    }
    if (s.outcome === 'confirmed') {
      account.confirmed(entries.length);
      this.lastConfirmMs = Date.now();
    } else account.lostInFlight(entries.length, s.reason);
    this.inFlightFrames -= entries.length;
    for (const u of entries) this.inFlightBytes -= u.frame.bytes;
  }

  /** Per stream, where every frame stands, with the reasons. */
  streams(): Record<string, StreamCounts> {
    const out: Record<string, StreamCounts> = {};
    for (const [name, a] of this.accounts) out[name] = a.view();
    return out;
  }

  /** Every stream added up, straight from the accounts (no view per stream: asked every second). */
  totals(): StreamCounts {
    const total = new StreamAccount().view();
    for (const a of this.accounts.values()) a.addTo(total);
    return total;
  }
}
