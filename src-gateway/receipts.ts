// Receipts: what the gateway confirms to a relay, and how often. A relay counts a frame as
// delivered only when a receipt's `upTo` covers it, so receipts must come soon enough to
// keep its window moving, yet never cost a message per frame.
import { MAX_LACKING_RANGES, MAX_MESSAGE_BYTES, type Receipt, type StreamReceipt } from '../src-shared/protocol';
import { MAX_STREAMS_PER_SESSION, type SessionRecord, type StreamRecord } from './parity';

/** After a frame or gap, the receipt waits this long for more to confirm in one message. */
export const RECEIPT_INTERVAL_MS = 50;
/** ...unless this many frames or gaps arrived since the last receipt (a fast replay). */
export const RECEIPT_EVERY_MESSAGES = 256;

// A receipt must stay under MAX_MESSAGE_BYTES or the relay refuses it. A stream entry costs
// at most ~120 bytes (name, upTo, highest as 16-digit numbers) and a lacking range ~36, so
// the ranges of all streams share what MAX_STREAMS_PER_SESSION entries leave.
const STREAM_ENTRY_BYTES = 120;
const RANGE_BYTES = 36;
const ENVELOPE_BYTES = 512;
const LACKING_BUDGET = Math.floor((MAX_MESSAGE_BYTES - ENVELOPE_BYTES - MAX_STREAMS_PER_SESSION * STREAM_ENTRY_BYTES) / RANGE_BYTES);

/** Lacking ranges listed per stream when a message lists `streams` streams. */
export function lackingCap(streams: number): number {
  return Math.max(1, Math.min(MAX_LACKING_RANGES, Math.floor(LACKING_BUDGET / Math.max(1, streams))));
}

export function streamReceipt(stream: StreamRecord, maxLacking: number): StreamReceipt {
  const receipt: StreamReceipt = { from: stream.firstSeq ?? 0, upTo: stream.upTo(), highest: stream.lastSeq ?? 0 };
  const lacking = stream.lacking(maxLacking + 1);
  const beyond = lacking[maxLacking];
  // A cut list is complete only below the first range it leaves out: say so through `highest`,
  // so a relay never takes an unlisted hole for a held frame.
  if (beyond) receipt.highest = beyond[0] - 1;
  if (lacking.length > 0) receipt.lacking = lacking.slice(0, maxLacking);
  return receipt;
}

/** Receipts of the named streams of a session (all of them when names is omitted). */
export function streamReceipts(session: SessionRecord, names?: Iterable<string>): Record<string, StreamReceipt> {
  const picked: Array<[string, StreamRecord]> = [];
  if (names === undefined) picked.push(...session.streams);
  else {
    for (const name of names) {
      const stream = session.streams.get(name);
      if (stream) picked.push([name, stream]);
    }
  }
  const cap = lackingCap(picked.length);
  const out: Record<string, StreamReceipt> = {};
  for (const [name, stream] of picked) out[name] = streamReceipt(stream, cap);
  return out;
}

export function receiptMessage(session: SessionRecord, names?: Iterable<string>, final = false): Receipt {
  const receipt: Receipt = { type: 'receipt', sessionId: session.sessionId, streams: streamReceipts(session, names) };
  if (final) receipt.final = true;
  return receipt;
}

/**
 * Paces the receipts of one connection: one timer per window (never one per frame), the
 * names of the streams that changed, and a count that forces a receipt when a fast sender
 * would otherwise wait for the timer.
 */
export class ReceiptPacer {
  private readonly changed = new Set<string>();
  private unconfirmed = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly send: (streams: ReadonlySet<string>) => void,
    private readonly intervalMs = RECEIPT_INTERVAL_MS,
    private readonly everyMessages = RECEIPT_EVERY_MESSAGES,
  ) {}

  /** A frame or gap of `stream` arrived. */
  note(stream: string): void {
    this.changed.add(stream);
    if (++this.unconfirmed >= this.everyMessages) this.flush();
    else if (this.timer === null) {
      this.timer = setTimeout(this.onTimer, this.intervalMs);
      this.timer.unref();
    }
  }

  /** Sends what is pending now, if anything. */
  flush(): void {
    this.clearTimer();
    this.unconfirmed = 0;
    if (this.changed.size === 0) return;
    try {
      this.send(this.changed);
    } finally {
      this.changed.clear();
    }
  }

  /** A receipt covering everything pending went out another way (sync, end), or the connection is gone. */
  reset(): void {
    this.clearTimer();
    this.unconfirmed = 0;
    this.changed.clear();
  }

  private readonly onTimer = (): void => {
    this.timer = null;
    this.flush();
  };

  private clearTimer(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }
}
