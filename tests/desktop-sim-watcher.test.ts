// Waiting for the sim (src-main/desktop/sim-watcher.ts): polls a probe on a manual clock,
// reports only changes, and never takes a failed probe for "not running".
import { describe, expect, it } from 'vitest';
import { DEFAULT_SIM_POLL_MS, SimWatcher } from '../src-main/desktop/sim-watcher';
import { FakeSimProbe } from './helpers/desktop-ports';
import { deferred, flush, ManualClock } from './helpers/manual-clock';

describe('SimWatcher', () => {
  function watcher(intervalMs?: number) {
    const clock = new ManualClock();
    const probe = new FakeSimProbe();
    const changes: boolean[] = [];
    const logs: string[] = [];
    const w = new SimWatcher({ probe, onChange: (v) => changes.push(v), log: (m) => logs.push(m), clock, ...(intervalMs === undefined ? {} : { intervalMs }) });
    return { clock, probe, changes, logs, w };
  }

  it('reports the first poll, then only transitions, every 3 s by default', async () => {
    const { clock, probe, changes, w } = watcher();
    probe.answers = [false, false, true, true, true, false];
    w.start();
    await flush();
    expect(changes).toEqual([false]);
    await clock.advance(DEFAULT_SIM_POLL_MS - 1);
    expect(probe.calls).toBe(1);
    await clock.advance(1);
    expect(probe.calls).toBe(2);
    await clock.advance(4 * DEFAULT_SIM_POLL_MS);
    expect(changes).toEqual([false, true, false]);
    expect(w.running).toBe(false);
    w.stop();
  });

  it('reports true at once when the sim is already running', async () => {
    const { probe, changes, w } = watcher();
    probe.running = true;
    w.start();
    await flush();
    expect(changes).toEqual([true]);
    w.stop();
  });

  it('a failed probe is no transition, and each distinct message is logged once', async () => {
    const { clock, probe, changes, logs, w } = watcher(100);
    probe.answers = [true, new Error('the SDK did not load'), new Error('the SDK did not load'), new Error('access denied'), new Error('the SDK did not load'), true];
    w.start();
    await clock.advance(500);
    expect(changes).toEqual([true]);
    expect(logs).toHaveLength(2);
    expect(logs[0]).toContain('the SDK did not load');
    expect(logs[1]).toContain('access denied');
    w.stop();
  });

  it('logs an error again when it comes back after a good poll', async () => {
    const { clock, probe, logs, w } = watcher(100);
    probe.answers = [new Error('boom'), false, new Error('boom')];
    w.start();
    await clock.advance(200);
    expect(logs).toHaveLength(2);
    w.stop();
  });

  it('reports nothing until a poll succeeds', async () => {
    const { clock, probe, changes, w } = watcher(100);
    probe.answers = [new Error('boom'), new Error('boom')];
    probe.running = false;
    w.start();
    await clock.advance(100);
    expect(changes).toEqual([]);
    expect(w.running).toBeNull();
    await clock.advance(100);
    expect(changes).toEqual([false]);
    w.stop();
  });

  it('never overlaps polls when one is slow: the next starts an interval after the slow one ends', async () => {
    const { clock, probe, changes, w } = watcher(100);
    const slow = deferred<boolean>();
    probe.answers = [slow.promise];
    probe.running = true;
    w.start();
    await clock.advance(10_000);
    expect(probe.calls).toBe(1);
    expect(clock.pending()).toBe(0);
    slow.resolve(false);
    await flush();
    expect(changes).toEqual([false]);
    await clock.advance(99);
    expect(probe.calls).toBe(1);
    await clock.advance(1);
    expect(probe.calls).toBe(2);
    expect(changes).toEqual([false, true]);
    w.stop();
  });

  it('stop() ends polling, and an answer still in flight is not reported', async () => {
    const { clock, probe, changes, w } = watcher(100);
    const slow = deferred<boolean>();
    probe.answers = [false, slow.promise];
    w.start();
    await clock.advance(100);
    expect(probe.calls).toBe(2);
    w.stop();
    slow.resolve(true);
    await clock.advance(1000);
    expect(probe.calls).toBe(2);
    expect(changes).toEqual([false]);
    expect(clock.pending()).toBe(0);
  });

  it('keeps polling when onChange throws', async () => {
    const clock = new ManualClock();
    const probe = new FakeSimProbe();
    probe.answers = [false, true];
    probe.running = true;
    const logs: string[] = [];
    const w = new SimWatcher({
      probe,
      onChange: () => {
        throw new Error('listener broke');
      },
      log: (m) => logs.push(m),
      clock,
      intervalMs: 100,
    });
    w.start();
    await clock.advance(200);
    expect(probe.calls).toBe(3);
    expect(logs.filter((l) => l.includes('listener broke'))).toHaveLength(2);
    w.stop();
  });
});
