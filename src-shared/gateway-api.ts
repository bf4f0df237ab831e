// What a gateway says it received of a session: the body of the reference gateway's
// GET /api/dev/diagnostics/parity?sessionId=..., and what the relay's report reads from any
// gateway. The spec's fields (framesIn, acked, lastFrameTs, duplicates, outOfOrder,
// lastError) keep their meaning; the rest closes the account of every seq.
import { GAP_REASONS, type GapReason } from './protocol';

export interface StreamParity {
  /** Distinct frames received (a resend that filled a hole counts; a repeat does not). */
  framesIn: number;
  /** Sampled acks sent back (frames that asked). */
  acked: number;
  lastFrameTs: number | null;
  firstSeq: number | null;
  /** Highest seq received or announced (by a gap or an end). */
  lastSeq: number | null;
  /** Every seq from firstSeq up to this one was received or announced as a gap (0: nothing yet): what receipts confirm. */
  upTo: number;
  /** Seqs truly lost on the way: neither received nor announced, below a later seq or an end. */
  missing: number;
  /** Seqs the relay announced it did not give this gateway, by reason. */
  gapped: Record<GapReason, number>;
  /** Ticks the sim skipped (never produced). */
  sourceGaps: number;
  /** Seqs a restarted relay said it never sent (hello.resume). */
  restartSkipped: number;
  /** Frames repeated without the resend flag (counted once in framesIn). */
  duplicates: number;
  /** Resent frames that filled a hole (counted in framesIn). */
  resent: number;
  /** Resent frames it already held, dropped: a resend, not a duplicate. */
  resentDuplicates: number;
  /** Frames that arrived below a seq already received (a hole filled late, without the resend flag). */
  outOfOrder: number;
  /** The last seq an `end` named for this stream, or null while the stream is open. */
  endedAt: number | null;
}

export interface GatewayParity {
  sessionId: string;
  streams: Record<string, StreamParity>;
  duplicates: number;
  outOfOrder: number;
  missing: number;
  resent: number;
  resentDuplicates: number;
  lastError: string | null;
}

/** A stream a gateway holds nothing of: every count zero. */
export function emptyStreamParity(): StreamParity {
  return {
    framesIn: 0,
    acked: 0,
    lastFrameTs: null,
    firstSeq: null,
    lastSeq: null,
    upTo: 0,
    missing: 0,
    gapped: Object.fromEntries(GAP_REASONS.map((r) => [r, 0])) as Record<GapReason, number>,
    sourceGaps: 0,
    restartSkipped: 0,
    duplicates: 0,
    resent: 0,
    resentDuplicates: 0,
    outOfOrder: 0,
    endedAt: null,
  };
}
