// Units of the telemetry input: named enums and bitfields, float32 text, the frame mapper,
// session identity and privacy, the session registry, and the shared source state machine.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { namerForUnit } from '../src-main/telemetry/named-values';
import { FrameMapper, float32Text } from '../src-main/telemetry/frame-mapper';
import { identifySession, offlineFingerprint, sessionIdOf } from '../src-main/telemetry/session-identity';
import { SessionRegistry } from '../src-main/telemetry/session-registry';
import { SourceStateTracker, type SourceState } from '../src-main/sources/source';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe('named values', () => {
  it('names enums by the unit iRacing gives them, keeping unknown values as numbers', () => {
    const state = namerForUnit('irsdk_SessionState')!;
    expect(state(4)).toBe('Racing');
    expect(state(99)).toBe(99);
    expect(namerForUnit('irsdk_TrkLoc')!(-1)).toBe('NotInWorld');
    expect(namerForUnit('m/s')).toBeUndefined();
  });

  it('names bitfields as a list of flags, with unknown bits kept in hex', () => {
    const flags = namerForUnit('irsdk_Flags')!;
    expect(flags(0)).toEqual([]);
    expect(flags(0x4 | 0x10000000)).toEqual(['Green', 'StartHidden']);
    expect(flags(0x80000000)).toEqual(['StartGo']);
    expect(namerForUnit('irsdk_EngineWarnings')!(0x10 | 0x400000)).toEqual(['PitSpeedLimiter', '0x400000']);
  });
});

describe('FrameMapper', () => {
  const vars = [
    { name: 'Speed', type: 'float' as const, unit: 'm/s', count: 1 },
    { name: 'Gear', type: 'int' as const, unit: '', count: 1 },
    { name: 'SessionState', type: 'int' as const, unit: 'irsdk_SessionState', count: 1 },
    { name: 'SessionFlags', type: 'bitField' as const, unit: 'irsdk_Flags', count: 1 },
    { name: 'Torque', type: 'float' as const, unit: 'N*m', count: 3 },
    { name: 'SessionTime', type: 'double' as const, unit: 's', count: 1 },
  ];

  it('maps only the configured variables, names enums, keeps units, and reports what is absent', () => {
    const m = new FrameMapper(vars, [
      { name: 'controls', variables: ['Speed', 'Gear', 'Torque', 'PlayerCarPosition'] },
      { name: 'baseline', variables: ['SessionTime', 'SessionState', 'SessionFlags'] },
    ]);
    expect(m.needed.sort()).toEqual(['Gear', 'SessionFlags', 'SessionState', 'SessionTime', 'Speed', 'Torque']);
    const values = { Speed: Math.fround(12.3), Gear: 3, Torque: [Math.fround(0.1), 0, Math.fround(-2.5)], SessionTime: 1.5, SessionState: 4, SessionFlags: 4, Other: 1 };
    expect(m.map(m.layout('controls')!, values)).toEqual({ Speed: 12.3, Gear: 3, Torque: [0.1, 0, -2.5] });
    expect(m.map(m.layout('baseline')!, values)).toEqual({ SessionTime: 1.5, SessionState: 'Racing', SessionFlags: ['Green'] });
    expect(m.describe().controls).toEqual({ variables: ['Speed', 'Gear', 'Torque'], units: { Speed: 'm/s', Torque: 'N*m' }, absent: ['PlayerCarPosition'] });
  });

  it('maps values laid out by position (a reader chunk) to the same data as by name', () => {
    const m = new FrameMapper(vars, [
      { name: 'controls', variables: ['Speed', 'Gear', 'Torque', 'PlayerCarPosition'] },
      { name: 'baseline', variables: ['SessionTime', 'SessionState', 'SessionFlags'] },
    ]);
    const names = ['SessionFlags', 'Torque', 'Speed', 'SessionTime', 'Gear', 'SessionState'];
    const samples = [
      { Speed: Math.fround(12.3), Gear: 3, Torque: [Math.fround(0.1), 0, Math.fround(-2.5)], SessionTime: 1.5, SessionState: 4, SessionFlags: 4 },
      { Speed: Math.fround(0.048), Gear: -1, Torque: [0, 0, 0], SessionTime: 2, SessionState: 5, SessionFlags: 0x10000004 },
    ];
    const flat = samples.flatMap((s) => names.map((n) => s[n as keyof typeof s]));
    for (const stream of ['controls', 'baseline']) {
      const layout = m.layout(stream)!;
      const at = m.positions(layout, names);
      samples.forEach((s, k) => expect(m.mapAt(layout, flat, k * names.length, at)).toEqual(m.map(layout, s)));
    }
    // A variable the values do not hold is left out, as map() leaves out an absent name.
    const layout = m.layout('controls')!;
    expect(m.mapAt(layout, [Math.fround(1.5)], 0, m.positions(layout, ['Speed']))).toEqual({ Speed: 1.5 });
  });

  it('writes float32 values in the fewest digits that read back exactly', () => {
    for (const v of [0.048, 4058.952, 1e-7, 123456.78, -0.11, 3.4e38]) {
      const f = Math.fround(v);
      const t = float32Text(f);
      expect(Math.fround(t)).toBe(f);
      expect(String(t).replace(/[-.]|e.*$/g, '').length).toBeLessThanOrEqual(9);
    }
    expect(float32Text(Math.fround(0.048))).toBe(0.048);
  });
});

describe('session identity', () => {
  const yaml = (sessionId: number, subSessionId: number) => ({
    WeekendInfo: { TrackDisplayName: 'Red Bull Ring', TrackID: 403, SessionID: sessionId, SubSessionID: subSessionId, EventType: 'Race', TrackConfigName: 'GP' },
    SessionInfo: { Sessions: [{ SessionNum: 0, SessionType: 'Practice' }, { SessionNum: 1, SessionType: 'Race' }] },
    DriverInfo: { DriverCarIdx: 1, DriverUserID: 42, Drivers: [{ CarIdx: 0, UserName: 'Other', CarScreenName: 'X' }, { CarIdx: 1, UserName: 'Me', UserID: 42, TeamName: 'Team', CarScreenName: 'GT3', CarID: 7 }] },
  });

  it('uses iRacing session and sub-session ids when there are some', () => {
    expect(sessionIdOf(yaml(123, 456), 'ignored')).toBe('ir-123-456');
    const { meta } = identifySession(yaml(123, 456), { offlineKey: 'k', sharePersonalData: false, sessionNum: 1 });
    expect(meta).toMatchObject({ track: 'Red Bull Ring', car: 'GT3', sessionType: 'Race', iracingSubSessionId: 456 });
  });

  it('keys offline sessions by a fingerprint without personal data, plus the caller key', () => {
    const id = sessionIdOf(yaml(0, 0), 'k1');
    expect(id).toBe(`ir-offline-${offlineFingerprint(yaml(0, 0))}-k1`);
    expect(sessionIdOf(yaml(0, 0), 'k2')).not.toBe(id);
    const other = { ...yaml(0, 0), DriverInfo: { ...yaml(0, 0).DriverInfo, DriverUserID: 99 } };
    expect(offlineFingerprint(other)).toBe(offlineFingerprint(yaml(0, 0)));
  });

  it('sends personal fields only when allowed', () => {
    const off = identifySession(yaml(1, 2), { offlineKey: '', sharePersonalData: false });
    expect(JSON.stringify(off)).not.toMatch(/Me|Team|"userId"/);
    const on = identifySession(yaml(1, 2), { offlineKey: '', sharePersonalData: true });
    expect(on.meta.driver).toEqual({ userName: 'Me', userId: 42, teamName: 'Team' });
  });
});

describe('SessionRegistry', () => {
  it('reserves seqs ahead in its file and records the exact stop', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-registry-'));
    dirs.push(dir);
    const r = new SessionRegistry(dir);
    expect(r.resumePoint('s')).toEqual({});
    const reserved = r.reserve('s', 'controls', 1, 1);
    expect(reserved).toBeGreaterThan(1);
    expect(new SessionRegistry(dir).resumePoint('s')).toEqual({ controls: reserved });
    r.finish('s', { controls: 11 });
    expect(new SessionRegistry(dir).resumePoint('s')).toEqual({ controls: 11 });
  });

  it('recognises the same offline session after a restart, and a new one when the clock went back', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-registry-'));
    dirs.push(dir);
    const r = new SessionRegistry(dir);
    const key = r.offlineKey('fp', 100, 1_000_000);
    r.noteOffline(`ir-offline-fp-${key}`, 'fp', 100);
    r.finish(`ir-offline-fp-${key}`, { controls: 5 });
    const again = new SessionRegistry(dir);
    expect(again.offlineKey('fp', 150, 1_000_500)).toBe(key);
    expect(again.offlineKey('fp', 50, 1_000_600)).not.toBe(key);
  });

  it('survives an unreadable file by starting afresh and saying so', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-registry-'));
    dirs.push(dir);
    fs.writeFileSync(path.join(dir, 'sessions.json'), '{broken');
    const errors: string[] = [];
    expect(new SessionRegistry(dir, (m) => errors.push(m)).resumePoint('s')).toEqual({});
    expect(errors[0]).toMatch(/sessions\.json is unreadable/);
  });
});

describe('SourceStateTracker', () => {
  it('is live while ticks advance, paused while they stand still, stale without data, and never not-running for either', () => {
    const seen: SourceState[] = [];
    const t = new SourceStateTracker((s) => seen.push(s), 2000, 250);
    t.simWaiting();
    expect(t.data(1, 0)).toBe(true);
    expect(t.data(2, 16)).toBe(true);
    expect(t.data(2, 100)).toBe(false);
    expect(t.state).toBe('live');
    expect(t.data(2, 300)).toBe(false);
    expect(t.state).toBe('paused');
    expect(t.data(3, 320)).toBe(true);
    expect(t.state).toBe('live');
    t.idle(1000);
    expect(t.state).toBe('live');
    t.idle(2400);
    expect(t.state).toBe('stale');
    t.data(4, 2410);
    t.simStopped();
    t.ended();
    expect(seen).toEqual(['waiting', 'live', 'paused', 'live', 'stale', 'live', 'not-running', 'ended']);
  });
});
