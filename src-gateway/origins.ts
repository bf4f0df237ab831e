// Which web pages may open the relay WebSocket. Relays (Node `ws`) send no Origin header;
// a browser always does, so without this any page could open ws://127.0.0.1:PORT/relay
// and inject frames.

// An origin as browsers send it: scheme, host and optional port, nothing more.
const ORIGIN = /^[a-z][a-z0-9+.-]*:\/\/[^\s/?#@]+$/i;

export function isOrigin(value: string): boolean {
  return ORIGIN.test(value);
}

/** Origins compare case-insensitively (scheme and host are). */
export function originSet(origins: readonly string[]): ReadonlySet<string> {
  return new Set(origins.map((o) => o.toLowerCase()));
}

/** Whether an upgrade with this Origin header (undefined: none) may proceed. */
export function originAllowed(allowed: ReadonlySet<string>, origin: string | undefined): boolean {
  return origin === undefined || allowed.has(origin.toLowerCase());
}
