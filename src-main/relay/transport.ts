// The seam between a connection and the wire: one link to one gateway. The connection speaks
// the relay protocol over any link that carries text messages in order, reports a write's
// completion, pings, and closes; ws-transport.ts is the WebSocket one.

/** What a link reports. Every event comes asynchronously, never from inside a call on the link. */
export interface TransportEvents {
  /** The link is up: texts may be sent. */
  open(): void;
  /** A message from the gateway: its text, or null when it was binary (the protocol is JSON text). */
  message(text: string | null): void;
  pong(): void;
  /**
   * Something went wrong, described for a person. With `closing`, the gateway refused the link
   * outright and it cannot go on: the connection ends it, with that reason.
   */
  error(message: string, closing?: string): void;
  /** The link is down; the last event. */
  close(code: number, reason: string): void;
}

export interface Transport {
  /** Texts sent now go out (the link is open and not closing). */
  readonly writable: boolean;
  /** Bytes handed over and not yet written to the wire. */
  readonly bufferedAmount: number;
  /**
   * Sends one text message, in order: a string, or its UTF-8 bytes (a frame is encoded once and
   * shared by every target). `onWritten` is called once it is written (or failed).
   */
  send(text: string | Buffer, onWritten?: (err?: Error | null) => void): void;
  ping(): void;
  /** Closes politely: the peer is told `code` and `reason`. */
  close(code: number, reason: string): void;
  /** Drops the link at once. */
  terminate(): void;
}

export interface TransportOptions {
  /** Sent as a bearer token with the opening request. */
  token: string | undefined;
  /** The opening handshake gives up after this long. */
  connectTimeoutMs: number;
}

/** Opens a link to `url`; may throw when the address cannot be used at all. */
export type OpenTransport = (url: string, options: TransportOptions, events: TransportEvents) => Transport;
