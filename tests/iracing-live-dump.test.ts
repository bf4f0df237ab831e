// The live reader on what the sim's shared memory really holds: a dump of iRacing's live
// memory map (tests/fixtures/ibt/live_test_file.ibt), whose layout disk recordings lack: 323
// variables, CarIdx arrays of 64 cars, enums and bitfields per car, three rotating buffers.
// In-process and on a number for a clock, like tests/iracing.test.ts: fast, no Wine.
import { beforeAll, describe, expect, it } from 'vitest';
import { IRacingSource, type IRacingSourceOptions } from '../src-main/sources/iracing/iracing-source';
import type { SourceSample, SourceSession, SourceSink } from '../src-main/sources/source';
import { DEFAULT_BASELINE_VARS, DEFAULT_CONTROLS_VARS } from '../src-shared/settings';
import { DumpBackend, loadLiveDump, type LiveDump } from './helpers/live-dump';

const TICK_MS = 1000 / 60;
const PER_CAR = ['CarIdxLapDistPct', 'CarIdxTrackSurface', 'CarIdxSessionFlags', 'CarIdxOnPitRoad', 'CarIdxGear', 'CarIdxPaceFlags'];

let dump: LiveDump;
beforeAll(() => {
  dump = loadLiveDump();
});

function rig(options: Partial<IRacingSourceOptions> = {}) {
  const backend = new DumpBackend(dump);
  const samples: SourceSample[] = [];
  const sessions: SourceSession[] = [];
  const sink: SourceSink = { sample: (s) => samples.push(s), session: (s) => sessions.push(s), state: () => {} };
  const source = new IRacingSource({
    controlsVars: [...DEFAULT_CONTROLS_VARS],
    baselineVars: [...DEFAULT_BASELINE_VARS],
    baselineHz: 4,
    sharePersonalData: false,
    sourceStaleMs: 2000,
    backend,
    manual: true,
    ...options,
  });
  source.start(sink);
  let now = 0;
  const drain = () => {
    for (let guard = 0; guard < 10_000 && backend.left > 0; guard++) source.step((now += TICK_MS));
    source.step((now += TICK_MS));
  };
  backend.running = true;
  return { backend, source, samples, sessions, drain, frames: (stream: string) => samples.filter((s) => s.stream === stream) };
}

describe('live reader on a dump of live memory', () => {
  it('reads the live layout: 323 variables, the session of the YAML, the rotating buffers in tick order and then the clock moving on', () => {
    const r = rig();
    r.backend.deliver(6);
    r.drain();
    expect(r.source.stats()).toMatchObject({ variablesOnOffer: 323, samples: 6, ticksSkipped: 0, problems: 0 });
    expect(r.sessions).toHaveLength(1);
    expect(r.sessions[0]?.meta).toMatchObject({ source: 'iracing', track: 'Autodromo Nazionale Monza', car: 'Mercedes-AMG W13 E Performance', sessionType: 'Offline Testing' });
    const controls = r.frames('controls');
    // The dump's buffers hold SessionTick 3441, 3442, 3443; after them the sim's clock goes on.
    expect(controls.map((f) => f.tick)).toEqual([3441, 3442, 3443, 3444, 3445, 3446]);
    expect(controls[2]?.data).toMatchObject({ RPM: 300, Brake: 1, Gear: 0, Throttle: 0 });
    expect(controls[2]?.data.SessionTime as number).toBeCloseTo(53.15, 4);
    expect((controls[5]?.data.SessionTime as number) - (controls[2]?.data.SessionTime as number)).toBeCloseTo(3 / 60, 9);
    // SessionFlags 0x10000200 on the grid, by name.
    expect(r.frames('baseline')[0]?.data.SessionFlags).toEqual(['OneLapToGreen', 'StartHidden']);
  });

  it('relays CarIdx arrays of 64 cars: numbers, booleans, an enum per car and a bitfield per car, each by name', () => {
    const r = rig({ controlsVars: ['SessionTime', ...PER_CAR], baselineVars: ['SessionTime'] });
    r.backend.deliver(3);
    r.drain();
    const first = r.frames('controls')[0]?.data as Record<string, unknown[]>;
    for (const name of PER_CAR) expect(first[name], name).toHaveLength(64);
    // In the dump every car is out of the world: the garage screen.
    expect(new Set(first.CarIdxTrackSurface)).toEqual(new Set(['NotInWorld']));
    expect(new Set(first.CarIdxLapDistPct)).toEqual(new Set([-1]));
    expect(new Set(first.CarIdxGear)).toEqual(new Set([-1]));
    expect(first.CarIdxOnPitRoad?.every((v) => v === false)).toBe(true);
    expect(first.CarIdxSessionFlags?.every((v) => Array.isArray(v) && v.length === 0)).toBe(true);

    // Cars come out: car 0 to its pit stall, car 3 on track in third gear under blue, car 5 on pit road.
    r.backend.set('CarIdxTrackSurface', 0, 1);
    r.backend.set('CarIdxTrackSurface', 3, 3);
    r.backend.set('CarIdxGear', 3, 3);
    r.backend.set('CarIdxLapDistPct', 3, 0.25);
    r.backend.set('CarIdxSessionFlags', 3, 0x20 | 0x4);
    r.backend.set('CarIdxOnPitRoad', 5, true);
    r.backend.set('CarIdxPaceFlags', 5, 0x4);
    r.backend.deliver(2);
    r.drain();
    const frames = r.frames('controls');
    expect(frames.map((f) => f.tick)).toEqual([3441, 3442, 3443, 3444, 3445]);
    const later = frames[3]?.data as Record<string, unknown[]>;
    expect(later.CarIdxTrackSurface?.slice(0, 6)).toEqual(['InPitStall', 'NotInWorld', 'NotInWorld', 'OnTrack', 'NotInWorld', 'NotInWorld']);
    expect(later.CarIdxGear?.[3]).toBe(3);
    expect(later.CarIdxLapDistPct?.[3]).toBeCloseTo(0.25, 6);
    expect(later.CarIdxSessionFlags?.[3]).toEqual(['Green', 'Blue']);
    expect(later.CarIdxSessionFlags?.[4]).toEqual([]);
    expect(later.CarIdxOnPitRoad?.[5]).toBe(true);
    expect(later.CarIdxPaceFlags?.[5]).toEqual(['WavedAround']);
    // Units per stream in the hello: enums and bitfields keep their iRacing type name.
    expect(r.sessions[0]?.meta.streams).toMatchObject({ controls: { variables: ['SessionTime', ...PER_CAR], absent: [] } });
  });

  it('reads only what the streams name out of the 323 (the CarIdx arrays only when asked for)', () => {
    const r = rig();
    r.backend.deliver(2);
    r.drain();
    expect(r.source.stats().variablesRead).toBeLessThan(20);
    expect(Object.keys(r.frames('controls')[0]?.data ?? {}).some((k) => k.startsWith('CarIdx'))).toBe(false);
  });
});
