// Real recordings through the real relay to real gateways on 127.0.0.1: every sample of
// valid_test_file.ibt arrives once, in order, with the values of the file.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../src-gateway/gateway';
import type { Frame } from '../src-shared/protocol';
import { DEFAULT_SETTINGS, type Settings } from '../src-shared/settings';
import { IbtFile } from '../src-main/ibt/ibt-file';
import { Relay } from '../src-main/runtime/relay';
import { RUNTIME_FILE_NAME } from '../src-main/runtime/runtime-lock';
import { IbtReplaySource } from '../src-main/sources/ibt-replay';
import { SessionRegistry } from '../src-main/telemetry/session-registry';
import { VALID_IBT } from './helpers/fixtures';
import { waitFor } from './helpers/wait';

const dirs: string[] = [];
const gateways: Gateway[] = [];
const relays: Relay[] = [];
afterEach(async () => {
  for (const r of relays.splice(0)) await r.stop();
  for (const g of gateways.splice(0)) await g.close();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function configDir(settings: Partial<Settings>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-replay-'));
  dirs.push(dir);
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ debugPort: 0, ...settings }));
  return dir;
}

async function replay(dir: string, speed: number | 'max' = 'max', loop = false): Promise<Relay> {
  const relay = await Relay.start({
    configDir: dir,
    source: (s) => new IbtReplaySource({ path: VALID_IBT, speed, loop, controlsVars: s.controlsVars, baselineVars: s.baselineVars, baselineHz: s.baselineHz, sharePersonalData: s.sharePersonalData, sourceStaleMs: s.sourceStaleMs }),
  });
  relays.push(relay);
  return relay;
}

/** Replays the whole recording and waits until every queued frame is delivered. */
async function replayToEnd(dir: string): Promise<Relay> {
  const relay = await replay(dir);
  await relay.source.finished;
  expect(await relay.drain(10_000)).toBe(true);
  return relay;
}

const collect = (g: Gateway) => {
  const frames: Frame[] = [];
  g.on('frame', (f) => frames.push(f));
  return frames;
};

describe('replaying valid_test_file.ibt', () => {
  it('gives each of two gateways exactly 390 controls frames, once each, in order, with the values of the file', async () => {
    const a = await startGateway({ name: 'A' });
    const b = await startGateway({ name: 'B' });
    gateways.push(a, b);
    const framesA = collect(a);
    const framesB = collect(b);
    const dir = configDir({ backends: [{ url: a.url, enabled: true }, { url: b.url, enabled: true }], mode: 'parallel' });
    const relay = await replay(dir);
    await relay.source.finished;
    expect(await relay.drain(10_000)).toBe(true);
    const sessionId = relay.builder.sessionId;
    expect(sessionId).toMatch(/^ir-offline-[0-9a-f]{10}-1719258336$/);
    for (const g of [a, b]) {
      const p = g.parity(sessionId)!;
      expect(p.streams.controls).toMatchObject({ framesIn: 390, firstSeq: 1, lastSeq: 390, missing: 0, sourceGaps: 0 });
      expect(p).toMatchObject({ duplicates: 0, outOfOrder: 0, missing: 0, lastError: null });
      // 6.48 s of recording at the default 4 Hz baseline: one frame every 15 ticks.
      expect(p.streams.baseline).toMatchObject({ framesIn: 26, missing: 0, sourceGaps: 0 });
    }
    const parity = relay.manager.parityView(sessionId);
    expect(parity.driftPct).toBe(0);
    expect(parity.perTarget.map((t) => t.sent)).toEqual([416, 416]);

    const file = await IbtFile.open(VALID_IBT);
    try {
      const expected: Record<string, unknown>[] = [];
      for await (const s of file.samples({ variables: [...DEFAULT_SETTINGS.controlsVars, 'SessionTick'] })) expected.push(s.values);
      for (const frames of [framesA, framesB]) {
        const controls = frames.filter((f) => f.stream === 'controls');
        expect(controls.map((f) => f.seq)).toEqual(Array.from({ length: 390 }, (_, i) => i + 1));
        controls.forEach((f, i) => {
          const want = expected[i]!;
          expect(f.tick).toBe(want.SessionTick);
          expect(f.data.SessionTime).toBe(want.SessionTime);
          expect(f.data.Gear).toBe(want.Gear);
          for (const name of ['Throttle', 'Brake', 'Clutch', 'SteeringWheelAngle', 'RPM', 'Speed']) {
            expect(Math.fround(f.data[name] as number), `${name} of sample ${i}`).toBe(Math.fround(want[name] as number));
          }
        });
        // The README's facts for samples 0 and 195, as they arrived at the gateway.
        expect(controls[0]!.data).toMatchObject({ Gear: 0, RPM: 300, Throttle: 0, Brake: 1 });
        expect(controls[0]!.data.SessionTime).toBeCloseTo(932, 3);
        expect(controls[0]!.data.Speed).toBeCloseTo(0.048, 3);
        expect(controls[195]!.data.SessionTime).toBeCloseTo(935.25, 3);
        expect(controls[195]!.data.RPM).toBeCloseTo(4058.952, 2);
        expect(controls[195]!.data.Brake).toBeCloseTo(0.11, 3);
        const baseline = frames.find((f) => f.stream === 'baseline')!;
        expect(baseline.data).toMatchObject({ Lap: 9, SessionNum: 0, OnPitRoad: true, SessionState: 'Racing' });
        expect(baseline.data.FuelLevel).toBeCloseTo(60, 3);
        expect(Array.isArray(baseline.data.SessionFlags)).toBe(true);
      }
    } finally {
      await file.close();
    }
    const health = relay.actions.healthView();
    expect(health.source).toMatchObject({ kind: 'ibt', state: 'ended', framesProduced: 416, sessionId });
    expect(health.source?.stats).toMatchObject({ samplesReplayed: 390, loops: 1 });
  });

  it('announces the session with track, car and session type, and no personal fields unless allowed', async () => {
    const g = await startGateway();
    gateways.push(g);
    const hellos: unknown[] = [];
    const dirOff = configDir({ backends: [{ url: g.url, enabled: true }] });
    const relay = await replay(dirOff);
    await relay.source.finished;
    hellos.push(JSON.parse(relay.builder.hello()));
    const dirOn = configDir({ backends: [{ url: g.url, enabled: true }], sharePersonalData: true });
    const shared = await replay(dirOn);
    await shared.source.finished;
    hellos.push(JSON.parse(shared.builder.hello()));
    const [off, on] = hellos as { meta: Record<string, unknown>; tickStrides: Record<string, number> }[];
    expect(off!.meta).toMatchObject({ track: 'Red Bull Ring', car: 'Mercedes-AMG W13 E Performance', sessionType: 'Offline Testing', source: 'ibt' });
    expect(off!.tickStrides).toEqual({ controls: 1, baseline: 15 });
    const text = JSON.stringify(off);
    expect(text).not.toContain('Rensburg');
    expect(text).not.toContain('450313');
    expect(off!.meta.driver).toBeUndefined();
    expect(on!.meta.driver).toMatchObject({ userId: 450313 });
    expect((on!.meta.streams as Record<string, { units: Record<string, string> }>).controls!.units).toMatchObject({ Speed: 'm/s', RPM: 'revs/min', SteeringWheelAngle: 'rad' });
  });

  it('continues the same session after a relay restart: no duplicates, nothing missing', async () => {
    const g = await startGateway();
    gateways.push(g);
    const dir = configDir({ backends: [{ url: g.url, enabled: true }] });
    const first = await replayToEnd(dir);
    const sessionId = first.builder.sessionId;
    await first.stop();
    const second = await replayToEnd(dir);
    expect(second.builder.sessionId).toBe(sessionId);
    expect(JSON.parse(second.builder.hello()).resume).toEqual({ controls: 391, baseline: 27 });
    const p = g.parity(sessionId)!;
    expect(p.streams.controls).toMatchObject({ framesIn: 780, firstSeq: 1, lastSeq: 780, missing: 0, restartSkipped: 0 });
    expect(p).toMatchObject({ duplicates: 0, outOfOrder: 0, missing: 0 });
  });

  it('after a crash, starts past every seq the crashed run could have used, and the gateway counts the skip apart from missing', async () => {
    const g = await startGateway();
    gateways.push(g);
    const dir = configDir({ backends: [{ url: g.url, enabled: true }] });
    const first = await replayToEnd(dir);
    const sessionId = first.builder.sessionId;
    // A crash: the exact stop is never written, only the reservation made before the seqs were used.
    const reserved = new SessionRegistry(dir).resumePoint(sessionId);
    expect(reserved.controls).toBeGreaterThan(390);
    relays.splice(relays.indexOf(first), 1);
    await first.source.stop();
    await first.manager.close();
    await first.debug.close();
    // A crashed relay's lock stays behind, naming a process that is gone: the next relay takes it over.
    const lockFile = path.join(dir, RUNTIME_FILE_NAME);
    fs.writeFileSync(lockFile, JSON.stringify({ ...JSON.parse(fs.readFileSync(lockFile, 'utf8')), pid: 999_999 }));
    await replayToEnd(dir);
    const p = g.parity(sessionId)!;
    expect(p).toMatchObject({ duplicates: 0, outOfOrder: 0, missing: 0 });
    expect(p.streams.controls!.framesIn).toBe(780);
    expect(p.streams.controls!.restartSkipped).toBe(reserved.controls! - 391);
  });

  it('keeps the recorded pace, scaled by --speed, and loops with seqs that go on', async () => {
    const g = await startGateway();
    gateways.push(g);
    const dir = configDir({ backends: [{ url: g.url, enabled: true }] });
    const t0 = performance.now();
    const paced = await replay(dir, 10);
    await paced.source.finished;
    // 6.48 s recorded / 10: a pace check, not a speed target.
    expect(performance.now() - t0).toBeGreaterThan(550);
    await paced.stop();
    const g2 = await startGateway();
    gateways.push(g2);
    const looped = await replay(configDir({ backends: [{ url: g2.url, enabled: true }] }), 'max', true);
    await waitFor('two loops', () => ((looped.source.stats?.() as { loops: number }).loops >= 2), 10_000);
    await looped.drain(10_000);
    await looped.stop();
    expect(looped.source.framesProduced).toBeGreaterThanOrEqual(2 * 416);
    // The second pass goes on with the session's seqs: the gateway sees one stream, no repeats.
    const p = g2.parity(looped.builder.sessionId)!;
    expect(p.streams.controls!.lastSeq).toBeGreaterThanOrEqual(780);
    expect(p).toMatchObject({ duplicates: 0, outOfOrder: 0, missing: 0 });
  });
});
