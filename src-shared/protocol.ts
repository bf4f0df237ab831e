// Wire protocol 2 between relay and gateway: JSON text messages over WebSocket.
// Both ends validate every message they receive with these schemas.
//
// Delivery is proven by the gateway, never assumed from a socket that took the bytes:
// - the gateway confirms receipt cumulatively per (session, stream) in `receipt` messages
//   (at a bounded rate, when asked with `sync`, and at once on `end`), and its `welcome`
//   says what it already holds of the greeted session, so a reconnecting relay resends
//   exactly what was written but not confirmed (`resend: true`) and nothing twice;
// - seqs a relay deliberately did not give a gateway (kill switch, standby, disabled, a
//   full queue, ...) are announced as `gap` messages with their reason, in stream order,
//   so the gateway's `missing` means only frames truly lost on the way;
// - `end` names the last seq of each stream, so a tail that never came counts as missing.
import { z } from 'zod';

export const PROTOCOL_VERSION = 2;
/** Largest message either side accepts; a telemetry frame is a few hundred bytes. */
export const MAX_MESSAGE_BYTES = 64 * 1024;
export const DEFAULT_STREAMS = ['controls', 'baseline'] as const;

const streamName = z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, 'a lower-case stream name of up to 32 characters');
const sessionId = z.string().min(1).max(128).regex(/^[\x21-\x7e]+$/, 'printable characters without spaces');
const seq = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);
/** 0 = nothing yet. */
const seqOrZero = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/**
 * Why a relay did not give a gateway some seqs of a stream. The relay counts the same
 * frames as dropped with the same reason, except `beforeAdded` (seqs produced before this
 * target existed in this relay run, announced only to a gateway that already holds earlier
 * seqs of the session).
 */
export const GAP_REASONS = ['killSwitch', 'standby', 'disabled', 'queueFull', 'deactivated', 'removed', 'beforeAdded'] as const;
export type GapReason = (typeof GAP_REASONS)[number];

/**
 * Plausibility bounds a gateway applies, so one hostile or broken message cannot make every
 * later real frame look like a duplicate: a hello's resume mark may skip at most
 * MAX_RESUME_SKIP seqs past what the gateway holds (a relay reserves 600 at a time), and a
 * frame or gap may reach at most MAX_SEQ_ADVANCE past the highest seq seen (about nine days
 * of a 60 Hz stream).
 */
export const MAX_RESUME_SKIP = 1_000_000;
export const MAX_SEQ_ADVANCE = 50_000_000;

/** Most `lacking` ranges one stream receipt lists; beyond them `upTo` alone speaks. */
export const MAX_LACKING_RANGES = 64;

export const HelloSchema = z.object({
  type: z.literal('hello'),
  protocol: z.number().int(),
  agent: z.string().min(1).max(100),
  sessionId,
  streams: z.array(streamName).max(32),
  meta: z.record(z.string(), z.unknown()),
  /**
   * A relay restarted inside a session continues its seqs: the first seq it will send per
   * stream. Seqs between the gateway's last one and this were never sent by this relay run
   * (at most a reservation block after a crash), so they are not counted as missing.
   */
  resume: z.record(streamName, seq).optional(),
  /**
   * Source ticks between consecutive frames of a stream when the source skipped nothing
   * (1 for a stream with a frame per sample; more for a slower stream). A larger jump is a
   * gap at the source. Absent: 1.
   */
  tickStrides: z.record(streamName, z.number().int().min(1).max(1_000_000)).optional(),
  /**
   * This relay run's id. A relay never has two sockets open to one gateway: a gateway that
   * sees a hello with the same (instance, sessionId) as an older open connection closes the
   * older one first, so its last bytes can never arrive after the new connection's frames.
   */
  instance: z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, '8 to 64 letters, digits, _ or -').optional(),
});

export const FrameSchema = z.object({
  type: z.literal('frame'),
  sessionId,
  stream: streamName,
  seq,
  ts: z.number().finite(),
  ack: z.literal(true).optional(),
  /** The source's own tick; a jump between frames of a stream is a gap at the source. */
  tick: z.number().int().min(0).optional(),
  /** Written before on a connection that died unconfirmed: a repeat of it is a resend, not a duplicate. */
  resend: z.literal(true).optional(),
  data: z.record(z.string(), z.unknown()),
});

/** Seqs from..to (inclusive) of a stream that this gateway was deliberately not given. */
export const GapSchema = z
  .object({
    type: z.literal('gap'),
    sessionId,
    stream: streamName,
    from: seq,
    to: seq,
    reason: z.enum(GAP_REASONS),
  })
  .refine((g) => g.from <= g.to, { message: 'from must not be greater than to', path: ['to'] });

/** The relay is done with the session on this connection: `last` is the last seq of each stream (absent: none). */
export const EndSchema = z.object({
  type: z.literal('end'),
  sessionId,
  last: z.record(streamName, seq),
});

/** Asks for a receipt now. */
export const SyncSchema = z.object({
  type: z.literal('sync'),
  sessionId,
});

/**
 * What a gateway holds of one stream. `from`: the first seq of its record of the stream (0:
 * none); below it the gateway claims nothing. `upTo`: every seq from `from` up to and
 * including it was received or announced as a gap (0: nothing yet); a relay counts a frame it
 * wrote as delivered when its seq lies in from..upTo. `lacking`: the seq ranges above `upTo`
 * it does not hold (lowest first, at most MAX_LACKING_RANGES), complete up to `highest`
 * (the stream's highest seq, or less when the list had to be cut at its bound): a seq up to
 * `highest` in no lacking range is held.
 */
export const StreamReceiptSchema = z.object({
  from: seqOrZero.optional(),
  upTo: seqOrZero,
  highest: seqOrZero,
  lacking: z.array(z.tuple([seq, seq])).max(MAX_LACKING_RANGES).optional(),
});

export const WelcomeSchema = z.object({
  type: z.literal('welcome'),
  protocol: z.number().int(),
  gateway: z.string().max(200),
  /** The session the hello named, and what the gateway already holds of it per stream (absent stream: nothing). */
  sessionId: sessionId.optional(),
  holds: z.record(streamName, StreamReceiptSchema).optional(),
});

/** Cumulative confirmation of receipt; `final` answers an `end`. */
export const ReceiptSchema = z.object({
  type: z.literal('receipt'),
  sessionId,
  streams: z.record(streamName, StreamReceiptSchema),
  final: z.literal(true).optional(),
});

export const AckSchema = z.object({
  type: z.literal('ack'),
  sessionId,
  stream: streamName,
  seq,
});

export const ErrorMessageSchema = z.object({
  type: z.literal('error'),
  code: z.string().max(100),
  message: z.string().max(2000),
});

export type Hello = z.infer<typeof HelloSchema>;
export type Frame = z.infer<typeof FrameSchema>;
export type Gap = z.infer<typeof GapSchema>;
export type End = z.infer<typeof EndSchema>;
export type Sync = z.infer<typeof SyncSchema>;
export type StreamReceipt = z.infer<typeof StreamReceiptSchema>;
export type Welcome = z.infer<typeof WelcomeSchema>;
export type Receipt = z.infer<typeof ReceiptSchema>;
export type Ack = z.infer<typeof AckSchema>;
export type ErrorMessage = z.infer<typeof ErrorMessageSchema>;
export type RelayMessage = Hello | Frame | Gap | End | Sync;
export type GatewayMessage = Welcome | Receipt | Ack | ErrorMessage;

export const ERROR_CODES = {
  badJson: 'bad_json',
  unknownType: 'unknown_type',
  invalidMessage: 'invalid_message',
  protocolMismatch: 'protocol_mismatch',
  helloRequired: 'hello_required',
  tooLarge: 'too_large',
  rateLimited: 'rate_limited',
  binaryNotSupported: 'binary_not_supported',
  /** A hello whose resume marks or a gap whose width no real relay could produce. */
  implausible: 'implausible',
  tooManySessions: 'too_many_sessions',
} as const;

export type ParseResult<T> = { ok: true; message: T } | { ok: false; code: string; error: string };

const relaySchemas = { hello: HelloSchema, frame: FrameSchema, gap: GapSchema, end: EndSchema, sync: SyncSchema } as const;
const gatewaySchemas = { welcome: WelcomeSchema, receipt: ReceiptSchema, ack: AckSchema, error: ErrorMessageSchema } as const;

const encoder = new TextEncoder();

/** UTF-8 size; exact only when it could matter, since most messages are far below the cap. */
function byteLength(text: string): number {
  return text.length * 3 <= MAX_MESSAGE_BYTES ? text.length : encoder.encode(text).length;
}

function parseWith<T>(text: string, schemas: Record<string, z.ZodType>, fastPaths: Record<string, (value: Record<string, unknown>) => object | null> = {}): ParseResult<T> {
  const size = byteLength(text);
  if (size > MAX_MESSAGE_BYTES) {
    return { ok: false, code: ERROR_CODES.tooLarge, error: `message of ${size} bytes; expected at most ${MAX_MESSAGE_BYTES}` };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { ok: false, code: ERROR_CODES.badJson, error: `not JSON (${(e as Error).message}); expected one JSON object per message` };
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, code: ERROR_CODES.invalidMessage, error: 'expected a JSON object with a "type" field' };
  }
  const type = (value as { type?: unknown }).type;
  const schema = typeof type === 'string' && Object.hasOwn(schemas, type) ? schemas[type] : undefined;
  if (!schema) {
    return { ok: false, code: ERROR_CODES.unknownType, error: `unknown message type ${JSON.stringify(type)}; expected one of ${Object.keys(schemas).join(', ')}` };
  }
  const fast = Object.hasOwn(fastPaths, type as string) ? fastPaths[type as string]?.(value as Record<string, unknown>) : null;
  if (fast) return { ok: true, message: fast as T };
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const detail = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(message)'}: ${i.message}`).join('; ');
    return { ok: false, code: ERROR_CODES.invalidMessage, error: `invalid ${type} message: ${detail}` };
  }
  return { ok: true, message: parsed.data as T };
}

/** Gateway side: a message from a relay. */
export function parseRelayMessage(text: string): ParseResult<RelayMessage> {
  return parseWith<RelayMessage>(text, relaySchemas);
}

/** Relay side: a message from a gateway. */
export function parseGatewayMessage(text: string): ParseResult<GatewayMessage> {
  return parseWith<GatewayMessage>(text, gatewaySchemas, gatewayFastPaths);
}

// Hand-written checks of the two messages a relay receives many times a second, receipts
// (about 20 a second per gateway) and acks: through zod they were the largest part of a
// 60 Hz relay's CPU beyond a plain sender's (about 15% of it, and much of its garbage).
// Each accepts only what its schema accepts and returns what the schema returns (unknown
// keys stripped); anything else, valid or not, goes on to the schema, which has the last
// word and the error text. tests/protocol-fast-path.test.ts holds them to that against the
// schemas on generated messages.
const STREAM_NAME = /^[a-z][a-z0-9_-]{0,31}$/;
const SESSION_ID = /^[\x21-\x7e]+$/;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;
const isSeqOrZero = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isSeq = (v: unknown): v is number => isSeqOrZero(v) && v >= 1;
/**
 * Names already found valid: a relay sees the same session id and stream names in every
 * receipt, and a set lookup is cheaper than running the pattern again. Bounded: a gateway
 * sending ever new names only gets them checked each time.
 */
class CheckedNames {
  private readonly seen = new Set<string>();

  constructor(private readonly check: (v: string) => boolean) {}

  has(v: unknown): v is string {
    if (typeof v !== 'string') return false;
    if (this.seen.has(v)) return true;
    if (!this.check(v)) return false;
    if (this.seen.size >= 64) this.seen.clear();
    this.seen.add(v);
    return true;
  }
}

const sessionIds = new CheckedNames((v) => v.length >= 1 && v.length <= 128 && SESSION_ID.test(v));
const streamNames = new CheckedNames((v) => STREAM_NAME.test(v));
const isSessionId = (v: unknown): v is string => sessionIds.has(v);
const isStreamName = (v: unknown): v is string => streamNames.has(v);

function fastStreamReceipt(v: unknown): StreamReceipt | null {
  if (!isRecord(v) || !isSeqOrZero(v.upTo) || !isSeqOrZero(v.highest)) return null;
  const out: StreamReceipt = { upTo: v.upTo, highest: v.highest };
  if (v.from !== undefined) {
    if (!isSeqOrZero(v.from)) return null;
    out.from = v.from;
  }
  if (v.lacking !== undefined) {
    if (!Array.isArray(v.lacking) || v.lacking.length > MAX_LACKING_RANGES) return null;
    const lacking: [number, number][] = [];
    for (const range of v.lacking as unknown[]) {
      if (!Array.isArray(range) || range.length !== 2 || !isSeq(range[0]) || !isSeq(range[1])) return null;
      lacking.push([range[0], range[1]]);
    }
    out.lacking = lacking;
  }
  return out;
}

function fastReceipt(v: Record<string, unknown>): Receipt | null {
  if (!isSessionId(v.sessionId) || !isRecord(v.streams) || (v.final !== undefined && v.final !== true)) return null;
  const streams: Record<string, StreamReceipt> = {};
  for (const name of Object.keys(v.streams)) {
    const r = isStreamName(name) ? fastStreamReceipt(v.streams[name]) : null;
    if (!r) return null;
    streams[name] = r;
  }
  return v.final === true ? { type: 'receipt', sessionId: v.sessionId, streams, final: true } : { type: 'receipt', sessionId: v.sessionId, streams };
}

function fastAck(v: Record<string, unknown>): Ack | null {
  if (!isSessionId(v.sessionId) || !isStreamName(v.stream) || !isSeq(v.seq)) return null;
  return { type: 'ack', sessionId: v.sessionId, stream: v.stream, seq: v.seq };
}

type FastPath = (value: Record<string, unknown>) => object | null;
const gatewayFastPaths: Record<string, FastPath> = { receipt: fastReceipt, ack: fastAck };

/** The fast paths alone, for their test: null where the schema must decide. */
export function fastGatewayMessage(value: unknown): GatewayMessage | null {
  if (!isRecord(value) || typeof value.type !== 'string' || !Object.hasOwn(gatewayFastPaths, value.type)) return null;
  return (gatewayFastPaths[value.type] as FastPath)(value) as GatewayMessage | null;
}

// FNV-1a over the stream name, then a murmur3 finaliser over (hash ^ seq): cheap, stable
// across processes and versions, and spreads consecutive seqs evenly. Written by hand
// because every gateway and relay must agree on it bit for bit and it is eight lines.
function streamHash(stream: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < stream.length; i++) {
    h ^= stream.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

const streamHashes = new Map<string, number>();

/**
 * Whether a frame asks for an ack. A pure function of (stream, seq, rate), so every
 * target is asked to ack the very same frames and their ack counts compare exactly.
 */
export function shouldAck(stream: string, seqNumber: number, rate: number): boolean {
  if (!(rate > 0)) return false;
  if (rate >= 1) return true;
  let base = streamHashes.get(stream);
  if (base === undefined) {
    base = streamHash(stream);
    streamHashes.set(stream, base);
  }
  let h = (base ^ (seqNumber >>> 0) ^ Math.floor(seqNumber / 0x100000000)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 0x100000000 < rate;
}

export function agentString(version: string): string {
  return `relay-agent/${version}`;
}
