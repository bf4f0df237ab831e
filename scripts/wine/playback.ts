// The sim's moves that need the relay's reader to keep up with them, shared by wine:live and
// the Wine tests. irsdk hands a reader only the latest buffer, so a sim that publishes while
// the reader is still attaching or setting up a session loses those ticks for it (counted as
// ticksSkipped). Like the sim itself, which sits in the loading screen before the car rolls,
// these steps wait until the reader is there before the recording runs.
import type { FakeSim } from './fake-sim';
import type { WineRelay } from './relay';

/** The sim starts with no session yet and keeps publishing until the reader has attached ("waiting"). */
export async function simStartsWaiting(sim: FakeSim, relay: WineRelay, timeoutMs = 60_000): Promise<void> {
  await sim.start({ session: false });
  const until = Date.now() + timeoutMs;
  while ((await relay.source()).state !== 'waiting') {
    if (Date.now() > until) throw new Error(`the relay's reader never saw the sim (state ${(await relay.source()).state})`);
    await sim.hold(200);
  }
}

/**
 * A session begins (the recording's YAML, or `yaml`): the YAML is written, sample `at` is
 * published once, and nothing more until the reader has set the session up and made that
 * sample a frame. Resolves with the relay's session id.
 */
export async function sessionBegins(sim: FakeSim, relay: WineRelay, at: number, yaml?: { text: string; scratchFile: string }): Promise<string> {
  const before = await relay.source();
  await sim.session(yaml?.text, yaml?.scratchFile);
  await sim.play(at, at + 1);
  const after = await relay.waitForSource('the reader to set the session up and relay its first sample', (s) => s.framesProduced > before.framesProduced && s.sessionId !== null);
  return after.sessionId as string;
}

/** The sim quits; resolves once the reader has let go of it ("not-running"). */
export async function simQuits(sim: FakeSim, relay: WineRelay): Promise<void> {
  await sim.quit();
  await relay.waitForSource('the reader to see the sim gone', (s) => s.state === 'not-running');
}
