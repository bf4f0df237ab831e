// The one way tests wait for real state: poll it, never sleep a guessed time and hope. A wait
// that runs out names what it waited for (and the probe's last error), so a failing test says
// what never happened.

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The values a probe returns while what it waits for has not happened yet. */
type NotYet = undefined | null | false | 0 | '';

/**
 * Polls `probe` every `intervalMs` until it returns a truthy value, and returns that value.
 * A probe that throws or rejects has not succeeded yet (a server not listening yet, a file
 * not written yet) and is tried again; its last error is named if time runs out.
 */
export async function waitFor<T>(what: string, probe: () => T | Promise<T>, timeoutMs = 5000, intervalMs = 10): Promise<Exclude<T, NotYet>> {
  const deadline = performance.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value as Exclude<T, NotYet>;
      lastError = undefined;
    } catch (e) {
      lastError = e;
    }
    if (performance.now() > deadline) {
      const why = lastError === undefined ? '' : ` (last error: ${lastError instanceof Error ? lastError.message : String(lastError)})`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`);
    }
    await sleep(intervalMs);
  }
}
