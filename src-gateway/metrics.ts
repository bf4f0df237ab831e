// Prometheus metrics of one gateway. Each gateway has its own Registry (not prom-client's
// global one) so that several gateways in one process, as in tests and the demo, do not
// clash over metric names or mix their counts.
import { Counter, Gauge, Registry } from 'prom-client';
import { ERROR_CODES, GAP_REASONS, type GapReason } from '../src-shared/protocol';
import type { FrameOutcome } from './parity';

/** Stream labels beyond this many distinct names share one series, so a relay cannot blow up cardinality. */
export const MAX_STREAM_LABELS = 64;
// Cannot clash with a real stream: stream names start with a letter.
const OTHER_STREAM = '_other';

type CounterChild = ReturnType<Counter<string>['labels']>;

export class GatewayMetrics {
  readonly registry = new Registry();
  private readonly framesReceived: Counter<'stream'>;
  private readonly acksSent: Counter<'stream'>;
  private readonly errors: Counter<'code'>;
  private readonly duplicates: Counter;
  private readonly outOfOrder: Counter;
  private readonly sourceGaps: Counter;
  private readonly resent: Counter;
  private readonly resentDuplicates: Counter;
  private readonly receipts: Counter;
  private readonly gappedChildren = new Map<GapReason, CounterChild>();
  readonly connectionsGauge: Gauge;
  // Children are cached because labels() hashes its arguments on every call, and this is
  // the per-frame hot path.
  private readonly frameChildren = new Map<string, CounterChild>();
  private readonly ackChildren = new Map<string, CounterChild>();

  constructor(name: string, version: string, totalMissing: () => number) {
    const registers = [this.registry];
    this.framesReceived = new Counter({
      name: 'gateway_frames_received_total',
      help: 'Frames the gateway did not hold before (new, late or resent), by stream.',
      labelNames: ['stream'],
      registers,
    });
    this.acksSent = new Counter({ name: 'gateway_acks_sent_total', help: 'Acks sent, by stream.', labelNames: ['stream'], registers });
    this.errors = new Counter({ name: 'gateway_errors_total', help: 'Protocol errors, by error code.', labelNames: ['code'], registers });
    this.duplicates = new Counter({ name: 'gateway_duplicates_total', help: 'Frames repeated without the resend flag (already held, dropped).', registers });
    this.outOfOrder = new Counter({ name: 'gateway_out_of_order_total', help: 'Frames that filled a hole below a higher seq without the resend flag.', registers });
    this.sourceGaps = new Counter({ name: 'gateway_source_gaps_total', help: 'Ticks skipped at the source, by the frames\' tick field.', registers });
    this.resent = new Counter({ name: 'gateway_resent_total', help: 'Resent frames the gateway did not hold (counted in frames received).', registers });
    this.resentDuplicates = new Counter({ name: 'gateway_resent_duplicates_total', help: 'Resent frames the gateway already held, dropped.', registers });
    this.receipts = new Counter({ name: 'gateway_receipts_sent_total', help: 'Receipts sent to relays (welcomes excluded).', registers });
    const gapped = new Counter({
      name: 'gateway_gapped_seqs_total',
      help: 'Seqs relays announced they did not give this gateway, by reason.',
      labelNames: ['reason'],
      registers,
    });
    // Every reason shows from the start, so a dashboard's rate() has a baseline.
    for (const reason of GAP_REASONS) {
      const child = gapped.labels(reason);
      child.inc(0);
      this.gappedChildren.set(reason, child);
    }
    // A gauge, not a counter: a late frame fills a gap, so the number can fall.
    new Gauge({
      name: 'gateway_frames_missing',
      help: 'Seqs not received (gaps) over all sessions and streams; falls when a late frame arrives.',
      registers,
      collect() {
        this.set(totalMissing());
      },
    });
    this.connectionsGauge = new Gauge({ name: 'gateway_connections', help: 'Open relay connections.', registers });
    new Gauge({ name: 'gateway_info', help: 'Constant 1, labelled with the gateway name and version.', labelNames: ['name', 'version'], registers })
      .labels(name, version)
      .set(1);
    // Every known code shows from the start, so a dashboard's rate() has a baseline.
    for (const code of Object.values(ERROR_CODES)) this.errors.labels(code).inc(0);
  }

  /** What became of one frame that was not refused. */
  outcome(stream: string, outcome: Exclude<FrameOutcome, 'refused'>): void {
    switch (outcome) {
      case 'duplicate':
        this.duplicates.inc();
        return;
      case 'resentDuplicate':
        this.resentDuplicates.inc();
        return;
      case 'late':
        this.outOfOrder.inc();
        break;
      case 'resent':
        this.resent.inc();
        break;
      case 'new':
        break;
    }
    this.child(this.framesReceived, this.frameChildren, stream).inc();
  }

  gapped(reason: GapReason, seqs: number): void {
    if (seqs > 0) this.gappedChildren.get(reason)?.inc(seqs);
  }

  receipt(): void {
    this.receipts.inc();
  }

  ack(stream: string): void {
    this.child(this.acksSent, this.ackChildren, stream).inc();
  }

  error(code: string): void {
    this.errors.labels(code).inc();
  }

  sourceGap(n: number): void {
    this.sourceGaps.inc(n);
  }

  private child(counter: Counter<'stream'>, cache: Map<string, CounterChild>, stream: string): CounterChild {
    let child = cache.get(stream);
    if (!child) {
      if (cache.size >= MAX_STREAM_LABELS) return counter.labels(OTHER_STREAM);
      child = counter.labels(stream);
      cache.set(stream, child);
    }
    return child;
  }
}
