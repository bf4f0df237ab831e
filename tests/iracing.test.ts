// The live iRacing reader, through its interface, on values recorded from a real .ibt file:
// iRacing itself cannot run here. Each complaint users make of other telemetry apps (they
// crash when the sim never started, lose the sim on a session change, take a pause for a
// stop) is a test of its own. Time is a number the tests advance, not a real clock.
import { MessageChannel } from 'node:worker_threads';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { parseSessionInfo } from '../src-main/ibt/session-yaml';
import { IRacingSource, type IRacingSourceOptions } from '../src-main/sources/iracing/iracing-source';
import { IrsdkBackend } from '../src-main/sources/iracing/irsdk-backend';
import type { LiveReaderOptions } from '../src-main/sources/iracing/live-reader';
import { readerThreadsRunning, runReaderThread, spawnReaderThread, type FromReaderThread } from '../src-main/sources/iracing/reader-thread';
import { SdkSimProbe, sdkSimProbeFor } from '../src-main/sources/iracing/sim-probe';
import { SourceUnavailableError, type SourceSample, type SourceSession, type SourceSink, type SourceState, type StreamSettings } from '../src-main/sources/source';
import { FrameMapper } from '../src-main/telemetry/frame-mapper';
import { offlineFingerprint } from '../src-main/telemetry/session-identity';
import { SessionRegistry } from '../src-main/telemetry/session-registry';
import { DEFAULT_BASELINE_VARS, DEFAULT_CONTROLS_VARS } from '../src-shared/settings';
import { loadRecording, RecordedBackend, type Recording } from './helpers/recorded-sim';
import { waitFor } from './helpers/wait';

// Any import of irsdk-node, static or dynamic, from anything under test lands here: off
// Windows it would print its mock warning and serve made-up data.
const irsdk = vi.hoisted(() => ({ imported: false }));
vi.mock('irsdk-node', () => {
  irsdk.imported = true;
  return {};
});

const SETTINGS: StreamSettings = {
  controlsVars: [...DEFAULT_CONTROLS_VARS],
  baselineVars: [...DEFAULT_BASELINE_VARS],
  baselineHz: 4,
  sharePersonalData: false,
  sourceStaleMs: 2000,
};
const TICK_MS = 1000 / 60;
const OWN = ['SessionTick', 'SessionTime', 'SessionNum', 'SessionState'];

let recording: Recording;
let onlineYaml: string;
beforeAll(async () => {
  recording = await loadRecording();
  onlineYaml = recording.yaml.replace(/^ SessionID: 0$/m, ' SessionID: 111').replace(/^ SubSessionID: 0$/m, ' SubSessionID: 222');
  expect(onlineYaml).not.toBe(recording.yaml);
});

type Logged = { kind: 'state'; state: SourceState } | { kind: 'session'; session: SourceSession } | { kind: 'sample'; sample: SourceSample };

class LogSink implements SourceSink {
  readonly log: Logged[] = [];
  sample(sample: SourceSample): void {
    this.log.push({ kind: 'sample', sample });
  }
  session(session: SourceSession): void {
    this.log.push({ kind: 'session', session });
  }
  state(state: SourceState): void {
    this.log.push({ kind: 'state', state });
  }
  frames(stream: string): SourceSample[] {
    return this.log.flatMap((l) => (l.kind === 'sample' && l.sample.stream === stream ? [l.sample] : []));
  }
  get states(): SourceState[] {
    return this.log.flatMap((l) => (l.kind === 'state' ? [l.state] : []));
  }
  get sessions(): SourceSession[] {
    return this.log.flatMap((l) => (l.kind === 'session' ? [l.session] : []));
  }
}

/** An in-process source on a recorded sim, stepped by hand on a fake clock. */
function rig(options: Partial<IRacingSourceOptions> = {}) {
  const backend = new RecordedBackend(recording);
  const sink = new LogSink();
  const problems: string[] = [];
  const source = new IRacingSource({ ...SETTINGS, backend, manual: true, onProblem: (m) => problems.push(m), ...options });
  source.start(sink);
  const clock = { now: 0 };
  const run = (steps: number, dt = TICK_MS) => {
    for (let i = 0; i < steps; i++) {
      clock.now += dt;
      source.step(clock.now);
    }
  };
  /** Steps until every queued buffer has been taken, then once more. */
  const drain = () => {
    for (let guard = 0; backend.queued > 0 && guard < 100_000; guard++) run(1);
    run(1);
  };
  const simUp = (yaml: string | null = recording.yaml) => {
    backend.simStarts();
    backend.setYaml(yaml);
  };
  return { backend, sink, source, clock, run, drain, simUp, problems };
}

const ticksOf = (frames: SourceSample[]) => frames.map((f) => f.tick as number);
const steps = (ticks: number[]) => ticks.slice(1).map((t, i) => t - (ticks[i] as number));
const sampleAt = (i: number) => recording.samples[i] as Record<string, unknown>;

describe('live reader: mapping', () => {
  it('builds controls every tick and baseline every 15 ticks from the recorded values, enums named', () => {
    const r = rig();
    r.simUp();
    r.backend.deliver(0, 390);
    r.drain();

    const controls = r.sink.frames('controls');
    expect(controls).toHaveLength(390);
    controls.forEach((f, i) => {
      const s = sampleAt(i);
      expect(f.tick).toBe(s.SessionTick);
      expect(Object.keys(f.data).sort()).toEqual([...DEFAULT_CONTROLS_VARS].sort());
      expect(f.data.SessionTime).toBe(s.SessionTime);
      expect(f.data.Gear).toBe(s.Gear);
      for (const name of ['Throttle', 'Brake', 'Clutch', 'SteeringWheelAngle', 'RPM', 'Speed']) {
        expect(Math.fround(f.data[name] as number), `${name} of sample ${i}`).toBe(s[name]);
      }
    });
    // The fixture README's figures.
    expect(controls[0]?.data).toMatchObject({ Gear: 0, Throttle: 0, Brake: 1 });
    expect(controls[0]?.data.RPM).toBeCloseTo(300, 3);
    expect(controls[0]?.data.Speed).toBeCloseTo(0.048, 3);
    expect(controls[195]?.data.RPM).toBeCloseTo(4058.952, 2);
    expect(controls[195]?.data.Gear).toBe(1);
    expect(controls[195]?.data.Brake).toBeCloseTo(0.11, 3);

    const baseline = r.sink.frames('baseline');
    expect(baseline).toHaveLength(26);
    baseline.forEach((f, k) => {
      const s = sampleAt(k * 15);
      expect(f.tick).toBe(s.SessionTick);
      expect(f.data).toMatchObject({ SessionState: 'Racing', SessionNum: 0, Lap: 9, OnPitRoad: true, PlayerCarPosition: 1, SessionTime: s.SessionTime });
      expect(Math.fround(f.data.FuelLevel as number)).toBe(s.FuelLevel);
      expect(Math.fround(f.data.LapDistPct as number)).toBe(s.LapDistPct);
      expect(Array.isArray(f.data.SessionFlags)).toBe(true);
      for (const flag of f.data.SessionFlags as unknown[]) expect(typeof flag).toBe('string');
    });
    expect(steps(ticksOf(baseline)).every((d) => d === 15)).toBe(true);

    // The session is announced before its first frame, with the strides the gateway checks ticks against.
    expect(r.sink.sessions).toHaveLength(1);
    const session = r.sink.sessions[0] as SourceSession;
    expect(session.tickStrides).toEqual({ controls: 1, baseline: 15 });
    expect(session.meta).toMatchObject({ source: 'iracing', track: 'Red Bull Ring', car: 'Mercedes-AMG W13 E Performance', sessionType: 'Offline Testing', sessionNum: 0 });
    expect(r.sink.log.findIndex((l) => l.kind === 'session')).toBeLessThan(r.sink.log.findIndex((l) => l.kind === 'sample'));
    expect(r.source.framesProduced).toBe(390 + 26);
    expect(r.source.session?.sessionId).toBe(session.sessionId);
  });

  it('reads only the variables the streams need, plus its own four, and only once there is data', () => {
    const r = rig();
    r.simUp();
    r.backend.deliver(0, 100);
    r.drain();
    const mapper = new FrameMapper(recording.variables, [
      { name: 'controls', variables: SETTINGS.controlsVars },
      { name: 'baseline', variables: SETTINGS.baselineVars },
    ]);
    const expected = new Set([...mapper.needed, ...OWN]);
    expect(r.backend.reads).toHaveLength(100);
    for (const names of r.backend.reads) expect(new Set(names)).toEqual(expected);
    expect(expected.size).toBeLessThan(20);
    expect(recording.variables.length).toBe(276);
    expect(r.backend.misuse).toEqual([]);
    expect(r.source.stats()).toMatchObject({ variablesRead: expected.size, variablesOnOffer: 276 });
  });

  it('reads a custom stream list, and says which asked-for variables the sim lacks', () => {
    const r = rig({ controlsVars: ['Throttle', 'NoSuchVariable'], baselineVars: ['FuelLevel'] });
    r.simUp();
    r.backend.deliver(0, 20);
    r.drain();
    for (const names of r.backend.reads) expect(new Set(names)).toEqual(new Set(['Throttle', 'FuelLevel', ...OWN]));
    expect(r.sink.frames('controls')[0]?.data).toEqual({ Throttle: 0 });
    expect(r.sink.sessions[0]?.meta.streams).toMatchObject({ controls: { variables: ['Throttle'], absent: ['NoSuchVariable'] } });
    expect(r.backend.misuse).toEqual([]);
  });
});

describe('live reader: states', () => {
  it('never crashes when the sim has never started, and retries at a bounded rate', () => {
    const r = rig({ reconnectMs: 1000 });
    expect(() => r.run(600)).not.toThrow(); // 10 s of polling with no iRacing
    expect(r.source.state).toBe('not-running');
    expect(r.sink.log.filter((l) => l.kind !== 'state')).toEqual([]);
    expect(r.backend.opens).toBeGreaterThanOrEqual(10);
    expect(r.backend.opens).toBeLessThanOrEqual(11);
    expect(r.source.stats()).toMatchObject({ simState: 'not-running', attached: false, openAttempts: r.backend.opens, readP50Ms: null, readP99Ms: null });

    // iRacing starts: picked up at the next attempt.
    r.simUp();
    r.backend.deliver(0, 30);
    r.run(Math.ceil(1000 / TICK_MS) + 30);
    expect(r.source.state).toBe('live');
    expect(r.sink.frames('controls')).toHaveLength(30);
    expect(r.problems).toEqual([]);
  });

  it('waits while the sim has no session: no YAML yet, or a session still loading', () => {
    const r = rig();
    r.simUp(null);
    r.backend.deliver(0, 30);
    r.drain();
    expect(r.source.state).toBe('waiting');
    expect(r.sink.frames('controls')).toHaveLength(0);
    expect(r.backend.reads).toHaveLength(0);

    r.backend.setYaml(recording.yaml);
    r.backend.deliver(30, 40, { SessionState: 0 }); // irsdk_SessionState Invalid
    r.drain();
    expect(r.source.state).toBe('waiting');
    expect(r.sink.frames('controls')).toHaveLength(0);

    r.backend.deliver(40, 60);
    r.drain();
    expect(r.source.state).toBe('live');
    expect(ticksOf(r.sink.frames('controls'))[0]).toBe(sampleAt(40).SessionTick);
    expect(r.sink.states).toEqual(['waiting', 'live']);
  });

  it('does not lose the sim on a session change', () => {
    const r = rig();
    r.simUp();
    r.backend.deliver(0, 200);
    r.drain();
    r.backend.setYaml(onlineYaml); // another session: new SessionID and SubSessionID
    r.backend.deliver(200, 390);
    r.drain();

    // Never not-running, never waiting: the reader stayed attached through the change.
    expect(r.sink.states).toEqual(['live']);
    expect(r.backend.opens).toBe(1);
    expect(r.backend.closes).toBe(0);
    const sessions = r.sink.sessions;
    expect(sessions).toHaveLength(2);
    expect(sessions[0]?.sessionId).toMatch(/^ir-offline-/);
    expect(sessions[1]?.sessionId).toBe('ir-111-222');
    expect(sessions[1]?.meta).toMatchObject({ iracingSessionId: 111, iracingSubSessionId: 222 });

    // Every tick became a frame, in order, across the change; the new session starts exactly at sample 200.
    const controls = r.sink.frames('controls');
    expect(controls).toHaveLength(390);
    expect(steps(ticksOf(controls)).every((d) => d === 1)).toBe(true);
    const at = r.sink.log.findIndex((l) => l.kind === 'session' && l.session.sessionId === 'ir-111-222');
    const next = r.sink.log.slice(at).find((l) => l.kind === 'sample');
    const before = r.sink.log.slice(0, at).filter((l) => l.kind === 'sample').at(-1);
    expect(next?.kind === 'sample' && next.sample.tick).toBe(sampleAt(200).SessionTick);
    expect(before?.kind === 'sample' && before.sample.tick).toBe(sampleAt(199).SessionTick);
    expect(r.source.stats()).toMatchObject({ reconnects: 0, sessionId: 'ir-111-222' });
  });

  it('a YAML update with the same ids keeps the session: quiet when nothing announced changed, new meta when it did', () => {
    const r = rig();
    r.simUp(onlineYaml);
    r.backend.deliver(0, 50);
    r.drain();
    r.backend.setYaml(onlineYaml.replace(/TrackAirTemp: [^\n]*/, 'TrackAirTemp: 25.00 C'));
    r.backend.deliver(50, 100);
    r.drain();
    expect(r.sink.sessions.map((s) => s.sessionId)).toEqual(['ir-111-222']);

    r.backend.setYaml(onlineYaml.replace('SessionType: Offline Testing', 'SessionType: Practice'));
    r.backend.deliver(100, 150);
    r.drain();
    expect(r.sink.sessions.map((s) => s.sessionId)).toEqual(['ir-111-222', 'ir-111-222']);
    expect(r.sink.sessions[1]?.meta.sessionType).toBe('Practice');
    expect(r.sink.states).toEqual(['live']);
    expect(steps(ticksOf(r.sink.frames('controls'))).every((d) => d === 1)).toBe(true);
  });

  it('treats a pause as a pause, not a stop', () => {
    const r = rig({ pauseAfterMs: 250 });
    r.simUp();
    r.backend.deliver(0, 100);
    r.backend.repeat(120); // 2 s of buffers whose SessionTick stands still
    r.backend.deliver(100, 200);
    r.drain();

    expect(r.sink.states).toEqual(['live', 'paused', 'live']);
    const paused = r.sink.log.findIndex((l) => l.kind === 'state' && l.state === 'paused');
    const resumed = r.sink.log.findIndex((l, i) => i > paused && l.kind === 'state' && l.state === 'live');
    expect(r.sink.log.slice(paused, resumed).filter((l) => l.kind === 'sample')).toEqual([]);
    const controls = r.sink.frames('controls');
    expect(controls).toHaveLength(200);
    expect(steps(ticksOf(controls)).every((d) => d === 1)).toBe(true);
    expect(r.backend.closes).toBe(0);
    expect(r.source.stats()).toMatchObject({ samples: 200, buffers: 320, reconnects: 0, ticksSkipped: 0 });
  });

  it('is stale after sourceStaleMs without data, and live again when data returns', () => {
    const r = rig({ sourceStaleMs: 2000 });
    r.simUp();
    r.backend.deliver(0, 50);
    r.drain();
    r.run(Math.floor(1900 / TICK_MS) - 1);
    expect(r.source.state).toBe('live');
    r.run(Math.ceil(200 / TICK_MS));
    expect(r.source.state).toBe('stale');
    r.backend.deliver(50, 60);
    r.drain();
    expect(r.sink.states).toEqual(['live', 'stale', 'live']);
    expect(r.backend.closes).toBe(0);
  });

  it('survives iRacing stopping and starting again', () => {
    const registry = new SessionRegistry(null);
    const r = rig({ registry, reconnectMs: 1000 });
    r.simUp();
    r.backend.deliver(0, 100);
    r.drain();
    r.backend.simStops();
    expect(() => r.run(180)).not.toThrow(); // 3 s without iRacing
    expect(r.source.state).toBe('not-running');
    expect(r.backend.closes).toBe(1);
    expect(r.backend.opens).toBeLessThanOrEqual(1 + 4);
    expect(r.sink.frames('controls')).toHaveLength(100);

    // A new sim run, its clock starting over: a new offline session.
    r.simUp();
    r.backend.deliver(0, 100);
    r.run(Math.ceil(1000 / TICK_MS));
    r.drain();
    expect(r.source.state).toBe('live');
    expect(r.sink.states).toEqual(['live', 'not-running', 'live']);
    expect(r.sink.frames('controls')).toHaveLength(200);
    const ids = r.sink.sessions.map((s) => s.sessionId);
    expect(ids).toHaveLength(2);
    expect(ids[0]).not.toBe(ids[1]);
    expect(r.source.stats()).toMatchObject({ connections: 2, reconnects: 1, simState: 'live' });
  });

  it('recovers from a failing SDK call and from unreadable session YAML without dropping the session', () => {
    const r = rig({ reconnectMs: 1000 });
    r.simUp();
    r.backend.deliver(0, 20);
    r.drain();
    r.backend.setYaml('WeekendInfo: [unclosed\n  - : :');
    r.backend.deliver(20, 40);
    r.drain();
    expect(r.sink.states).toEqual(['live']);
    expect(r.sink.frames('controls')).toHaveLength(40);
    expect(r.problems.some((p) => p.includes('session info'))).toBe(true);

    r.backend.failNext = 'native failure';
    expect(() => r.run(1)).not.toThrow();
    expect(r.source.state).toBe('not-running');
    r.backend.setYaml(recording.yaml);
    r.backend.deliver(40, 60);
    r.run(Math.ceil(1000 / TICK_MS));
    r.drain();
    expect(r.source.state).toBe('live');
    expect(r.problems.some((p) => p.includes('native failure'))).toBe(true);
    expect(r.source.stats()).toMatchObject({ lastProblem: expect.stringContaining('native failure') });
  });
});

describe('live reader: session identity and privacy', () => {
  it('names an offline session (SubSessionID 0) by its fingerprint and the registry key, and notes it', () => {
    const calls: unknown[][] = [];
    const registry = {
      offlineKey: (fingerprint: string, sessionTime: number) => {
        calls.push(['key', fingerprint, sessionTime]);
        return 'key1';
      },
      noteOffline: (sessionId: string, fingerprint: string, sessionTime: number) => void calls.push(['note', sessionId, fingerprint, sessionTime]),
    };
    const r = rig({ registry });
    r.simUp();
    r.backend.deliver(0, 40);
    r.drain();
    const fp = offlineFingerprint(parseSessionInfo(recording.yaml, 0));
    const id = `ir-offline-${fp}-key1`;
    expect(r.sink.sessions.map((s) => s.sessionId)).toEqual([id]);
    expect(calls.slice(0, 2)).toEqual([
      ['key', fp, sampleAt(0).SessionTime],
      ['note', id, fp, sampleAt(0).SessionTime],
    ]);
    // Then the clock as it goes on, so a later run can tell this session from a new one.
    expect(calls.slice(2).every((c) => c[0] === 'note' && c[1] === id)).toBe(true);
  });

  it('keeps an offline session id across a relay restart inside the same session', () => {
    const registry = new SessionRegistry(null);
    const first = rig({ registry });
    first.simUp();
    first.backend.deliver(0, 100);
    first.drain();
    const second = rig({ registry });
    second.simUp();
    second.backend.deliver(100, 200);
    second.drain();
    expect(second.sink.sessions[0]?.sessionId).toBe(first.sink.sessions[0]?.sessionId);
  });

  it('names an online session from SessionID and SubSessionID', () => {
    const r = rig();
    r.simUp(onlineYaml);
    r.backend.deliver(0, 5);
    r.drain();
    expect(r.source.session?.sessionId).toBe('ir-111-222');
  });

  it('keeps personal fields (user name, user id) out of the metadata unless sharing is allowed', () => {
    const closed = rig();
    closed.simUp();
    closed.backend.deliver(0, 5);
    closed.drain();
    const meta = closed.sink.sessions[0]?.meta ?? {};
    expect(meta).not.toHaveProperty('driver');
    const text = JSON.stringify(meta);
    expect(text).not.toContain('George v Rensburg');
    expect(text).not.toContain('450313');

    const open = rig({ sharePersonalData: true });
    open.simUp();
    open.backend.deliver(0, 5);
    open.drain();
    expect(open.sink.sessions[0]?.meta.driver).toMatchObject({ userName: 'George v Rensburg', userId: 450313 });
  });
});

describe('live reader: ticks it never saw', () => {
  it('counts the sim ticks that passed between two buffers it read, and only those', () => {
    const r = rig();
    r.simUp();
    r.backend.deliver(0, 100);
    r.backend.deliver(103, 110); // held up: three ticks went by unseen
    r.backend.deliver(150, 160); // forty more
    r.drain();
    expect(r.source.stats()).toMatchObject({ samples: 117, ticksSkipped: 3 + 40 });
    expect(typeof r.source.stats().sessionSetupMs).toBe('number');

    // A new session, or waiting in between, starts the count afresh: its ticks are not missed ones.
    r.backend.setYaml(onlineYaml);
    r.backend.deliver(200, 210);
    r.drain();
    r.backend.setYaml(null);
    r.backend.deliver(210, 215);
    r.drain();
    r.backend.setYaml(recording.yaml);
    r.backend.deliver(300, 310);
    r.drain();
    expect(r.sink.states).toEqual(['live', 'waiting', 'live']);
    expect(r.source.stats()).toMatchObject({ samples: 137, ticksSkipped: 43 });
  });
});

describe('live reader: its own cost', () => {
  it('reports read time per tick (p50, p99), its busy share, the process CPU share, samples and reconnects', () => {
    const r = rig();
    r.simUp();
    r.backend.deliver(0, 390);
    r.drain();
    const stats = r.source.stats();
    expect(stats).toMatchObject({ mode: 'in-process', simState: 'live', samples: 390, readSamples: 390, reconnects: 0, framesProduced: 416 });
    for (const key of ['readP50Ms', 'readP99Ms', 'readerBusyPct', 'processCpuPct']) {
      expect(typeof stats[key], key).toBe('number');
      expect(stats[key] as number, key).toBeGreaterThanOrEqual(0);
    }
    expect(stats.readP99Ms as number).toBeGreaterThanOrEqual(stats.readP50Ms as number);
  });
});

describe('live reader: session info updates', () => {
  it('fetches and parses the session YAML only when its version changes, not per tick', () => {
    const r = rig();
    r.simUp();
    r.backend.deliver(0, 100);
    r.drain();
    expect(r.backend.yamlReads).toBe(1);
    // The sim updates its session info (as it does every lap in a race): read once more, and only once.
    r.backend.setYaml(recording.yaml.replace(/TrackAirTemp: [^\n]*/, 'TrackAirTemp: 25.00 C'));
    r.backend.deliver(100, 390);
    r.drain();
    expect(r.backend.yamlReads).toBe(2);
    const stats = r.source.stats();
    expect(stats).toMatchObject({ samples: 390, ticksSkipped: 0 });
    expect(typeof stats.sessionSetupMs).toBe('number');
    expect(steps(ticksOf(r.sink.frames('controls'))).every((d) => d === 1)).toBe(true);
  });
});

describe('live reader: how it runs', () => {
  it('runs its own polling loop with an injected backend, and stop() detaches and ends it', async () => {
    const backend = new RecordedBackend(recording);
    backend.simStarts();
    backend.setYaml(recording.yaml);
    backend.deliver(0, 30);
    const sink = new LogSink();
    const source = new IRacingSource({ ...SETTINGS, backend, pollMs: 1 });
    source.start(sink);
    await waitFor('30 controls frames', () => sink.frames('controls').length === 30, 3000);
    await source.stop();
    expect(backend.closes).toBe(1);
    expect(source.state).toBe('ended');
    expect(sink.states).toEqual(['live', 'ended']);
  });

  it('speaks its thread protocol: ready, start, events and stats, stop', async () => {
    const backend = new RecordedBackend(recording);
    backend.simStarts();
    backend.setYaml(recording.yaml);
    backend.deliver(0, 120);
    const { port1, port2 } = new MessageChannel();
    const got: FromReaderThread[] = [];
    port2.on('message', (m: FromReaderThread) => got.push(m));
    const options: LiveReaderOptions = { ...SETTINGS, reconnectMs: 1000, waitTimeoutMs: 20 };
    const thread = runReaderThread(port1, options, async () => backend);
    await waitFor('ready', () => got.some((m) => m.type === 'ready'), 3000);
    expect(got.some((m) => m.type === 'events')).toBe(false);
    port2.postMessage({ type: 'start' });
    const controls = () => got.flatMap((m) => (m.type === 'events' ? m.events : [])).filter((e) => e.type === 'sample' && e.stream === 'controls');
    await waitFor('120 controls samples', () => controls().length === 120, 3000);
    port2.postMessage({ type: 'stop' });
    await waitFor('stopped', () => got.some((m) => m.type === 'stopped'), 3000);
    await thread;
    port2.close();
    expect(backend.closes).toBe(1);
    const stats = got.filter((m) => m.type === 'stats').at(-1);
    expect(stats?.type === 'stats' && stats.stats.samples).toBe(120);
  });

  it('reports a backend that cannot load as fatal', async () => {
    const { port1, port2 } = new MessageChannel();
    const got: FromReaderThread[] = [];
    port2.on('message', (m: FromReaderThread) => got.push(m));
    await runReaderThread(port1, { ...SETTINGS }, async () => {
      throw new SourceUnavailableError('no sim here');
    });
    await waitFor('a message', () => got.length > 0, 3000);
    port2.close();
    expect(got).toEqual([{ type: 'fatal', message: 'no sim here', unavailable: true }]);
  });
});

describe('sim probe ("start with iRacing")', () => {
  it('answers from the memory map alone: opens, lets go at once, and loads the SDK only once', async () => {
    const backend = new RecordedBackend(recording);
    let loads = 0;
    const probe = new SdkSimProbe(async () => {
      loads++;
      return backend;
    });
    await expect(probe.isRunning()).resolves.toBe(false);
    backend.simStarts();
    await expect(probe.isRunning()).resolves.toBe(true);
    expect({ loads, opens: backend.opens, closes: backend.closes }).toEqual({ loads: 1, opens: 2, closes: 2 });
    // No data was ever waited for or read: the probe never takes a tick from the reader.
    expect(backend.reads).toEqual([]);
  });

  it('refuses while a reader thread of this process owns the SDK, and is absent off Windows', async () => {
    const backend = new RecordedBackend(recording);
    const probe = new SdkSimProbe(async () => backend);
    const worker = spawnReaderThread({ ...SETTINGS });
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    expect(readerThreadsRunning()).toBe(1);
    await expect(probe.isRunning()).rejects.toThrow(/live reader is attached/);
    expect(backend.opens).toBe(0);
    await exited;
    expect(readerThreadsRunning()).toBe(0);
    await expect(probe.isRunning()).resolves.toBe(false);
    expect(sdkSimProbeFor('linux')).toBeNull();
    expect(sdkSimProbeFor('win32')).toBeInstanceOf(SdkSimProbe);
  });
});

describe.skipIf(process.platform === 'win32')('off Windows', () => {
  it('prepare() rejects with the Windows message naming both alternatives, and irsdk-node is never loaded', async () => {
    const printed: unknown[][] = [];
    const spies = [
      vi.spyOn(console, 'warn').mockImplementation((...a: unknown[]) => void printed.push(a)),
      vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void printed.push(a)),
    ];
    try {
      const source = new IRacingSource(SETTINGS);
      const failure = await source.prepare().then(
        () => null,
        (e: unknown) => e,
      );
      expect(failure).toBeInstanceOf(SourceUnavailableError);
      const message = (failure as Error).message;
      expect(message).toMatch(/needs Windows/);
      expect(message).toMatch(/iRacing runs only there/);
      expect(message).toContain('--source ibt:<file.ibt>');
      expect(message).toContain('--source synthetic');
      expect(() => source.start(new LogSink())).toThrow(SourceUnavailableError);
      await expect(IrsdkBackend.load()).rejects.toThrow(SourceUnavailableError);
      await source.stop();
      expect(source.state).toBe('not-running');
    } finally {
      for (const s of spies) s.mockRestore();
    }
    expect(irsdk.imported).toBe(false);
    expect(printed.flat().map(String).join('\n')).not.toMatch(/mock SDK|iRacing SDK/);
  });

  it('the real reader thread refuses to start here, without loading irsdk-node', async () => {
    const writes: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: unknown) => {
      writes.push(String(chunk));
      return true;
    });
    try {
      const worker = spawnReaderThread({ ...SETTINGS });
      const exited = new Promise<number>((resolve) => worker.once('exit', resolve));
      const first = await new Promise<FromReaderThread>((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      });
      expect(first).toMatchObject({ type: 'fatal', unavailable: true });
      expect(first.type === 'fatal' && first.message).toContain('--source synthetic');
      expect(await exited).toBe(0);
    } finally {
      spy.mockRestore();
    }
    expect(writes.join('')).not.toMatch(/mock SDK|iRacing SDK/);
  });

  it('(control) the trap above does catch the backend importing irsdk-node', async () => {
    // Pretend to be Windows for one call: the backend's dynamic import then reaches the trap
    // (which hands back an empty module, so the real irsdk-node is still never loaded).
    const platform = Object.getOwnPropertyDescriptor(process, 'platform') as PropertyDescriptor;
    Object.defineProperty(process, 'platform', { ...platform, value: 'win32' });
    try {
      await expect(IrsdkBackend.load()).rejects.toThrow();
    } finally {
      Object.defineProperty(process, 'platform', platform);
    }
    expect(process.platform).not.toBe('win32');
    expect(irsdk.imported).toBe(true);
  });
});
