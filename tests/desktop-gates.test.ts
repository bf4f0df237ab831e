// The desktop app's gates: notices, updates, the sim watcher and the launch arguments, with
// a manual clock and plain-object ports, so nothing here waits for real time or Electron.
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_DESKTOP_PREFS } from '../src-shared/desktop';
import type { SourceState } from '../src-main/sources/source';
import type { NotificationPort, SimProbe, UpdaterEvent, UpdaterPort } from '../src-main/desktop/ports';
import { MAX_HELD_NOTICES, NoticeQueue } from '../src-main/desktop/notice-queue';
import type { Clock, TimerHandle } from '../src-main/clock';
import type { UpdatePrefs } from '../src-main/desktop/update-gate';
import { DEFAULT_CHECK_INTERVAL_MS, DEFAULT_FIRST_CHECK_DELAY_MS, UPDATE_READY_NOTICE_KEY, UpdateGate } from '../src-main/desktop/update-gate';
import { DEFAULT_SIM_POLL_MS, SimWatcher } from '../src-main/desktop/sim-watcher';
import { loginItemPlan, parseLaunchArgs, shouldStartHidden } from '../src-main/desktop/launch';

const NOT_LIVE_STATES: SourceState[] = ['paused', 'waiting', 'ended', 'not-running', 'stale'];
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

/** Lets settled promises run their callbacks (no timers involved). */
async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

class ManualClock implements Clock {
  t = Date.UTC(2026, 0, 5, 12, 0, 0);
  private seq = 0;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): number {
    this.seq += 1;
    this.timers.set(this.seq, { at: this.t + ms, fn });
    return this.seq;
  }

  clearTimeout(handle: TimerHandle): void {
    if (typeof handle === 'number') this.timers.delete(handle);
  }

  pending(): number {
    return this.timers.size;
  }

  /** Moves time forward, firing each due timer at its own time and letting promises settle after it. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    // What already settled may set timers of its own before time moves.
    await flush();
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const entry of this.timers) if (entry[1].at <= end && (!next || entry[1].at < next[1].at)) next = entry;
      if (!next) break;
      this.timers.delete(next[0]);
      this.t = Math.max(this.t, next[1].at);
      next[1].fn();
      await flush();
    }
    this.t = end;
    await flush();
  }
}

function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

class FakeNotifications implements NotificationPort {
  supported = true;
  shown: { title: string; body: string; onClick?: () => void }[] = [];
  isSupported(): boolean {
    return this.supported;
  }
  show(title: string, body: string, onClick?: () => void): void {
    this.shown.push({ title, body, onClick });
  }
}

/** electron-updater as the gate sees it; by default a check finds `nextVersion` and a download completes. */
class FakeUpdater implements UpdaterPort {
  checks = 0;
  downloads = 0;
  installs = 0;
  nextVersion: string | null = '1.2.0';
  checkImpl: () => Promise<void> = async () => {
    this.emit(this.nextVersion === null ? { kind: 'not-available' } : { kind: 'available', version: this.nextVersion });
  };
  /** The version the last 'available' named: what a download fetches. */
  found: string | null = null;
  downloadImpl: () => Promise<void> = async () => {
    this.emit({ kind: 'downloaded', version: this.found ?? '?' });
  };
  private handler: ((event: UpdaterEvent) => void) | null = null;

  check(): Promise<void> {
    this.checks += 1;
    return this.checkImpl();
  }
  download(): Promise<void> {
    this.downloads += 1;
    return this.downloadImpl();
  }
  quitAndInstall(): void {
    this.installs += 1;
  }
  onEvent(handler: (event: UpdaterEvent) => void): void {
    this.handler = handler;
  }
  emit(event: UpdaterEvent): void {
    if (event.kind === 'available') this.found = event.version;
    this.handler?.(event);
  }
}

interface Rig {
  clock: ManualClock;
  updater: FakeUpdater;
  notifications: FakeNotifications;
  notices: NoticeQueue;
  prefs: UpdatePrefs;
  saved: Partial<UpdatePrefs>[];
  logs: string[];
  /** status() as reported through onChange, in order. */
  statuses: string[];
  gate: UpdateGate;
  state: { current: SourceState };
  /** Changes the source state and tells both gates, as the shell will. */
  setState(state: SourceState): Promise<void>;
}

const gates: UpdateGate[] = [];
afterEach(() => {
  for (const gate of gates.splice(0)) gate.dispose();
});

function rig(options: { isPackaged?: boolean; prefs?: Partial<UpdatePrefs>; state?: SourceState; start?: boolean } = {}): Rig {
  const clock = new ManualClock();
  const updater = new FakeUpdater();
  const notifications = new FakeNotifications();
  const logs: string[] = [];
  const state = { current: options.state ?? ('not-running' as SourceState) };
  const notices = new NoticeQueue(notifications, () => state.current !== 'live', (m) => logs.push(m));
  const prefs: UpdatePrefs = { updates: 'auto', updatesDeferredUntil: null, ...options.prefs };
  const saved: Partial<UpdatePrefs>[] = [];
  const statuses: string[] = [];
  const gate: UpdateGate = new UpdateGate({
    updater,
    prefs: () => prefs,
    savePrefs: (patch) => {
      saved.push(patch);
      Object.assign(prefs, patch);
    },
    sourceState: () => state.current,
    clock,
    isPackaged: options.isPackaged ?? true,
    notifier: notices,
    log: (m) => logs.push(m),
    onChange: () => statuses.push(gate.status().phase),
  });
  gates.push(gate);
  if (options.start ?? true) gate.start();
  return {
    clock,
    updater,
    notifications,
    notices,
    prefs,
    saved,
    logs,
    statuses,
    gate,
    state,
    async setState(next) {
      state.current = next;
      notices.sourceStateChanged(next);
      gate.sourceStateChanged(next);
      await flush();
    },
  };
}

describe('NoticeQueue', () => {
  function queue(live = false) {
    const notifications = new FakeNotifications();
    const logs: string[] = [];
    const state = { live };
    const q = new NoticeQueue(notifications, () => !state.live, (m) => logs.push(m));
    return { q, notifications, logs, state };
  }

  it('shows a notice at once when the source is not live, passing the click handler through', () => {
    const { q, notifications } = queue();
    const onClick = () => undefined;
    expect(q.notify({ key: 'a', title: 'A', body: 'first', onClick })).toBe('shown');
    expect(notifications.shown).toEqual([{ title: 'A', body: 'first', onClick }]);
    expect(q.held()).toEqual([]);
  });

  it('holds every notice while live and shows nothing', () => {
    const { q, notifications } = queue(true);
    expect(q.notify({ key: 'a', title: 'A', body: '1' })).toBe('held');
    expect(q.notify({ key: 'b', title: 'B', body: '2' })).toBe('held');
    expect(notifications.shown).toEqual([]);
    expect(q.held().map((n) => n.key)).toEqual(['a', 'b']);
  });

  it('does not flush on a change to live, only when the state leaves live', () => {
    const { q, notifications, state } = queue(true);
    q.notify({ key: 'a', title: 'A', body: '1' });
    q.sourceStateChanged('live');
    expect(notifications.shown).toEqual([]);
    state.live = false;
    q.sourceStateChanged('paused');
    expect(notifications.shown.map((n) => n.title)).toEqual(['A']);
    expect(q.held()).toEqual([]);
  });

  it.each(NOT_LIVE_STATES)('flushes held notices in order when the state goes to %s', (next) => {
    const { q, notifications, state } = queue(true);
    q.notify({ key: 'a', title: 'A', body: '1' });
    q.notify({ key: 'b', title: 'B', body: '2' });
    q.notify({ key: 'c', title: 'C', body: '3' });
    state.live = false;
    q.sourceStateChanged(next);
    expect(notifications.shown.map((n) => n.title)).toEqual(['A', 'B', 'C']);
    q.sourceStateChanged(next);
    expect(notifications.shown).toHaveLength(3);
  });

  it('keeps only the latest held notice of a key (no pile-up)', () => {
    const { q, notifications, state } = queue(true);
    q.notify({ key: 'gateway', title: 'Gateway down', body: 'v1' });
    q.notify({ key: 'other', title: 'Other', body: 'x' });
    q.notify({ key: 'gateway', title: 'Gateway down', body: 'v2' });
    q.notify({ key: 'gateway', title: 'Gateway down', body: 'v3' });
    expect(q.held().map((n) => `${n.key}:${n.body}`)).toEqual(['other:x', 'gateway:v3']);
    state.live = false;
    q.sourceStateChanged('ended');
    expect(notifications.shown.map((n) => n.body)).toEqual(['x', 'v3']);
  });

  it(`holds at most ${MAX_HELD_NOTICES}, dropping the oldest and counting and logging each drop`, () => {
    const { q, notifications, logs, state } = queue(true);
    for (let i = 0; i < MAX_HELD_NOTICES + 3; i++) q.notify({ key: `k${i}`, title: `T${i}`, body: '' });
    expect(q.held()).toHaveLength(MAX_HELD_NOTICES);
    expect(q.held()[0]?.key).toBe('k3');
    expect(q.dropped()).toBe(3);
    expect(logs.filter((l) => l.includes('dropped'))).toHaveLength(3);
    expect(logs.at(-1)).toContain('T2');
    state.live = false;
    q.sourceStateChanged('waiting');
    expect(notifications.shown.map((n) => n.title)).toEqual(Array.from({ length: MAX_HELD_NOTICES }, (_, i) => `T${i + 3}`));
  });

  it('shows older held notices before a new one when it is quiet before the state change arrives', () => {
    const { q, notifications, state } = queue(true);
    q.notify({ key: 'a', title: 'A', body: '' });
    state.live = false;
    q.notify({ key: 'b', title: 'B', body: '' });
    expect(notifications.shown.map((n) => n.title)).toEqual(['A', 'B']);
  });

  it('logs instead of showing where notifications are not supported, and never throws', () => {
    const { q, notifications, logs, state } = queue(true);
    notifications.supported = false;
    q.notify({ key: 'a', title: 'Held', body: 'while live' });
    state.live = false;
    expect(() => q.sourceStateChanged('paused')).not.toThrow();
    expect(q.notify({ key: 'b', title: 'Now', body: 'at once' })).toBe('logged');
    expect(notifications.shown).toEqual([]);
    expect(logs).toEqual([expect.stringContaining('Held: while live'), expect.stringContaining('Now: at once')]);
  });

  it('logs a notice whose platform call throws, and goes on with the rest', () => {
    const logs: string[] = [];
    let calls = 0;
    const port: NotificationPort = {
      isSupported: () => true,
      show: () => {
        calls += 1;
        if (calls === 1) throw new Error('toast service gone');
      },
    };
    const live = { v: true };
    const q = new NoticeQueue(port, () => !live.v, (m) => logs.push(m));
    q.notify({ key: 'a', title: 'A', body: '' });
    q.notify({ key: 'b', title: 'B', body: '' });
    live.v = false;
    expect(() => q.sourceStateChanged('not-running')).not.toThrow();
    expect(calls).toBe(2);
    expect(logs).toEqual([expect.stringContaining('toast service gone')]);
  });
});

describe('UpdateGate: timing of checks', () => {
  it('checks first after firstCheckDelayMs, then every checkIntervalMs', async () => {
    const r = rig();
    r.updater.nextVersion = null;
    await r.clock.advance(DEFAULT_FIRST_CHECK_DELAY_MS - 1);
    expect(r.updater.checks).toBe(0);
    await r.clock.advance(1);
    expect(r.updater.checks).toBe(1);
    expect(r.gate.status()).toEqual({ phase: 'idle' });
    await r.clock.advance(DEFAULT_CHECK_INTERVAL_MS - 1);
    expect(r.updater.checks).toBe(1);
    await r.clock.advance(1);
    expect(r.updater.checks).toBe(2);
    await r.clock.advance(3 * DEFAULT_CHECK_INTERVAL_MS);
    expect(r.updater.checks).toBe(5);
  });

  it('honours custom intervals', async () => {
    const clock = new ManualClock();
    const updater = new FakeUpdater();
    updater.nextVersion = null;
    const gate = new UpdateGate(
      { updater, prefs: () => ({ updates: 'auto', updatesDeferredUntil: null }), savePrefs: () => undefined, sourceState: () => 'not-running', clock, isPackaged: true, notifier: { notify: () => undefined } },
      { firstCheckDelayMs: 10, checkIntervalMs: 100 },
    );
    gates.push(gate);
    gate.start();
    await clock.advance(10);
    expect(updater.checks).toBe(1);
    await clock.advance(300);
    expect(updater.checks).toBe(4);
  });

  it('does nothing before start()', async () => {
    const r = rig({ start: false });
    await r.clock.advance(DAY);
    await r.setState('paused');
    expect(r.updater.checks).toBe(0);
  });

  it('never checks in a development build', async () => {
    const r = rig({ isPackaged: false });
    await r.clock.advance(7 * DAY);
    await r.setState('ended');
    r.gate.prefsChanged();
    expect(r.updater.checks).toBe(0);
    expect(r.clock.pending()).toBe(0);
    expect(r.gate.status().phase).toBe('off');
    expect(r.gate.restartToUpdate()).toBe(false);
    expect(r.gate.lastRefusal()).toContain('development');
  });

  it('never checks when updates are off', async () => {
    const r = rig({ prefs: { updates: 'off' } });
    await r.clock.advance(7 * DAY);
    await r.setState('ended');
    expect(r.updater.checks).toBe(0);
    expect(r.clock.pending()).toBe(0);
    expect(r.gate.status()).toEqual({ phase: 'off', detail: 'updates are turned off' });
  });
});

describe('UpdateGate: never while live', () => {
  it('a check that comes due while live waits, however long, and does not run on a change to live', async () => {
    const r = rig({ state: 'live' });
    await r.clock.advance(3 * DAY);
    await r.setState('live');
    expect(r.updater.checks).toBe(0);
    expect(r.gate.status()).toEqual({ phase: 'waiting-for-session-end', detail: 'checks after the session' });
  });

  it.each(NOT_LIVE_STATES)('the waiting check runs once when the source goes to %s', async (next) => {
    const r = rig({ state: 'live' });
    await r.clock.advance(DAY);
    await r.setState(next);
    expect(r.updater.checks).toBe(1);
    await r.setState(next);
    expect(r.updater.checks).toBe(1);
  });

  it('an update found before the session is downloaded only after it', async () => {
    const r = rig();
    const check = deferred();
    r.updater.checkImpl = () => check.promise;
    await r.clock.advance(DEFAULT_FIRST_CHECK_DELAY_MS);
    expect(r.gate.status()).toEqual({ phase: 'checking' });
    await r.setState('live');
    r.updater.emit({ kind: 'available', version: '2.0.0' });
    check.resolve();
    await flush();
    await r.clock.advance(HOUR);
    expect(r.updater.downloads).toBe(0);
    expect(r.gate.status()).toEqual({ phase: 'waiting-for-session-end', version: '2.0.0', detail: 'downloads after the session' });
    await r.setState('paused');
    expect(r.updater.downloads).toBe(1);
  });

  it('with a live session throughout: no check, download, notice or install; all of it once the session ends', async () => {
    const r = rig({ state: 'live' });
    r.notices.notify({ key: 'other', title: 'Gateway B reconnected', body: '' });
    await r.clock.advance(2 * DAY);
    expect(r.updater.checks).toBe(0);
    expect(r.notifications.shown).toEqual([]);
    expect(r.gate.installOnQuitAllowed()).toBe(false);

    // Between sessions: the check finds 1.2.0 and downloads it; the held notice goes out.
    await r.setState('waiting');
    expect(r.updater.checks).toBe(1);
    expect(r.updater.downloads).toBe(1);
    expect(r.notifications.shown.map((n) => n.body)).toEqual(['', 'Update 1.2.0 ready: installs when you quit']);
    expect(r.gate.status()).toEqual({ phase: 'ready', version: '1.2.0', detail: 'installs when you quit' });
    expect(r.gate.installOnQuitAllowed()).toBe(true);
    expect(r.gate.readyUpdate()).toEqual({ version: '1.2.0', installable: true });

    // Back on track: quitting installs nothing, and the tray's restart is refused.
    await r.setState('live');
    expect(r.gate.installOnQuitAllowed()).toBe(false);
    expect(r.gate.status()).toEqual({ phase: 'waiting-for-session-end', version: '1.2.0', detail: 'installs when you quit after the session' });
    expect(r.gate.readyUpdate()).toEqual({ version: '1.2.0', installable: false });
    expect(r.gate.restartToUpdate()).toBe(false);
    expect(r.gate.lastRefusal()).toMatch(/session is live/);
    expect(r.updater.installs).toBe(0);

    await r.setState('ended');
    expect(r.gate.installOnQuitAllowed()).toBe(true);
    expect(r.gate.restartToUpdate()).toBe(true);
    expect(r.updater.installs).toBe(1);
    expect(r.gate.lastRefusal()).toBeNull();
  });

  it('the "update ready" notice of a download finishing during a session waits for the session to end', async () => {
    const r = rig();
    const download = deferred();
    r.updater.downloadImpl = () => download.promise;
    await r.clock.advance(DEFAULT_FIRST_CHECK_DELAY_MS);
    expect(r.gate.status()).toEqual({ phase: 'downloading', version: '1.2.0' });
    await r.setState('live');
    r.updater.emit({ kind: 'downloaded', version: '1.2.0' });
    download.resolve();
    await flush();
    expect(r.notifications.shown).toEqual([]);
    expect(r.notices.held()).toEqual([expect.objectContaining({ key: UPDATE_READY_NOTICE_KEY, body: 'Update 1.2.0 ready: installs when you quit' })]);
    await r.setState('stale');
    expect(r.notifications.shown.map((n) => n.body)).toEqual(['Update 1.2.0 ready: installs when you quit']);
  });

  it('stops checking once an update is downloaded, and announces it once', async () => {
    const r = rig();
    await r.clock.advance(DEFAULT_FIRST_CHECK_DELAY_MS);
    expect(r.updater.downloads).toBe(1);
    await r.clock.advance(3 * DAY);
    expect(r.updater.checks).toBe(1);
    expect(r.clock.pending()).toBe(0);
    expect(r.notifications.shown).toHaveLength(1);
  });

  it('takes a download that resolves without its event as done', async () => {
    const r = rig();
    r.updater.downloadImpl = async () => undefined;
    await r.clock.advance(DEFAULT_FIRST_CHECK_DELAY_MS);
    expect(r.gate.status()).toEqual({ phase: 'ready', version: '1.2.0', detail: 'installs when you quit' });
    expect(r.notifications.shown).toHaveLength(1);
  });
});

describe('UpdateGate: status for the tray', () => {
  it('reports each change of status once, including a session starting and ending', async () => {
    const r = rig();
    const download = deferred();
    r.updater.downloadImpl = () => download.promise;
    await r.clock.advance(DEFAULT_FIRST_CHECK_DELAY_MS);
    expect(r.statuses).toEqual(['downloading']);
    r.updater.emit({ kind: 'downloaded', version: '1.2.0' });
    download.resolve();
    await flush();
    await r.setState('live');
    await r.setState('live');
    await r.setState('paused');
    await r.setState('waiting');
    expect(r.statuses).toEqual(['downloading', 'ready', 'waiting-for-session-end', 'ready']);
  });

  it('a throwing status listener is logged, not fatal', async () => {
    const clock = new ManualClock();
    const updater = new FakeUpdater();
    const logs: string[] = [];
    const gate = new UpdateGate({
      updater,
      prefs: () => ({ updates: 'auto', updatesDeferredUntil: null }),
      savePrefs: () => undefined,
      sourceState: () => 'not-running',
      clock,
      isPackaged: true,
      notifier: { notify: () => undefined },
      log: (m) => logs.push(m),
      onChange: () => {
        throw new Error('tray gone');
      },
    });
    gates.push(gate);
    gate.start();
    await clock.advance(DEFAULT_FIRST_CHECK_DELAY_MS);
    expect(gate.status().phase).toBe('ready');
    expect(logs.some((l) => l.includes('tray gone'))).toBe(true);
  });
});

describe('UpdateGate: off, deferral and errors', () => {
  it('turning updates off mid-check stops the download and every further check; turning on resumes', async () => {
    const r = rig();
    const check = deferred();
    r.updater.checkImpl = () => check.promise;
    await r.clock.advance(DEFAULT_FIRST_CHECK_DELAY_MS);
    expect(r.updater.checks).toBe(1);
    r.prefs.updates = 'off';
    r.gate.prefsChanged();
    r.updater.emit({ kind: 'available', version: '1.3.0' });
    check.resolve();
    await flush();
    await r.clock.advance(7 * DAY);
    await r.setState('ended');
    expect(r.updater.checks).toBe(1);
    expect(r.updater.downloads).toBe(0);
    expect(r.clock.pending()).toBe(0);
    expect(r.gate.status().phase).toBe('off');

    r.prefs.updates = 'auto';
    r.gate.prefsChanged();
    // What was found before it was turned off is fetched now; the next check comes after the first-check delay.
    expect(r.updater.downloads).toBe(1);
    expect(r.gate.status()).toEqual({ phase: 'ready', version: '1.3.0', detail: 'installs when you quit' });
  });

  it('turning updates on again checks after the first-check delay', async () => {
    const r = rig({ prefs: { updates: 'off' } });
    await r.clock.advance(DAY);
    r.prefs.updates = 'auto';
    r.gate.prefsChanged();
    await r.clock.advance(DEFAULT_FIRST_CHECK_DELAY_MS - 1);
    expect(r.updater.checks).toBe(0);
    await r.clock.advance(1);
    expect(r.updater.checks).toBe(1);
  });

  it('a downloaded update is not installed on quit, nor announced, once updates are off', async () => {
    const r = rig();
    const download = deferred();
    r.updater.downloadImpl = () => download.promise;
    await r.clock.advance(DEFAULT_FIRST_CHECK_DELAY_MS);
    r.prefs.updates = 'off';
    r.gate.prefsChanged();
    download.resolve();
    await flush();
    expect(r.notifications.shown).toEqual([]);
    expect(r.gate.installOnQuitAllowed()).toBe(false);
    expect(r.gate.restartToUpdate()).toBe(false);
    expect(r.gate.lastRefusal()).toBe('updates are turned off');
    expect(r.updater.installs).toBe(0);
  });

  it('installOnQuitAllowed is false with nothing downloaded, and restart is refused with a reason', async () => {
    const r = rig();
    r.updater.nextVersion = null;
    await r.clock.advance(DEFAULT_FIRST_CHECK_DELAY_MS);
    expect(r.gate.installOnQuitAllowed()).toBe(false);
    expect(r.gate.restartToUpdate()).toBe(false);
    expect(r.gate.lastRefusal()).toBe('no update has been downloaded');
    expect(r.logs.some((l) => l.includes('restart refused'))).toBe(true);
  });

  it('defer(ms) saves the deferral, checks nothing until it ends, then checks', async () => {
    const r = rig();
    const start = r.clock.now();
    r.gate.defer(DAY);
    expect(r.saved).toEqual([{ updatesDeferredUntil: start + DAY }]);
    expect(r.gate.status()).toEqual({ phase: 'deferred', detail: `until ${new Date(start + DAY).toISOString()}` });
    await r.clock.advance(DAY - 1);
    await r.setState('paused');
    expect(r.updater.checks).toBe(0);
    await r.clock.advance(1);
    expect(r.updater.checks).toBe(1);
    expect(r.updater.downloads).toBe(1);
  });

  it('a deferral in the preferences at startup is respected, and a deferral ending during a session waits for the session', async () => {
    const clockStart = new ManualClock().now();
    const r = rig({ prefs: { updatesDeferredUntil: clockStart + 2 * DAY } });
    await r.clock.advance(DAY);
    expect(r.updater.checks).toBe(0);
    await r.setState('live');
    await r.clock.advance(DAY + HOUR);
    expect(r.updater.checks).toBe(0);
    await r.setState('not-running');
    expect(r.updater.checks).toBe(1);
  });

  it('a deferral longer than a timer can wait does not fire early', async () => {
    const r = rig();
    r.gate.defer(40 * DAY);
    await r.clock.advance(40 * DAY - 1);
    expect(r.updater.checks).toBe(0);
    await r.clock.advance(1);
    expect(r.updater.checks).toBe(1);
  });

  it('a deferral holds back the download of an update already found, and installing on quit', async () => {
    const r = rig();
    const check = deferred();
    r.updater.checkImpl = () => check.promise;
    await r.clock.advance(DEFAULT_FIRST_CHECK_DELAY_MS);
    r.gate.defer(HOUR);
    r.updater.emit({ kind: 'available', version: '1.2.0' });
    check.resolve();
    await flush();
    expect(r.updater.downloads).toBe(0);
    expect(r.gate.installOnQuitAllowed()).toBe(false);
    await r.clock.advance(HOUR - 1);
    expect(r.updater.downloads).toBe(0);
    await r.clock.advance(1);
    expect(r.updater.downloads).toBe(1);
    expect(r.updater.checks).toBe(1);
  });

  it('a deferral ending during a session with an update found waits for the session, then downloads', async () => {
    const r = rig();
    const check = deferred();
    r.updater.checkImpl = () => check.promise;
    await r.clock.advance(DEFAULT_FIRST_CHECK_DELAY_MS);
    r.gate.defer(HOUR);
    r.updater.emit({ kind: 'available', version: '1.2.0' });
    check.resolve();
    await r.setState('live');
    await r.clock.advance(2 * HOUR);
    expect(r.updater.downloads).toBe(0);
    await r.setState('paused');
    expect(r.updater.downloads).toBe(1);
  });

  it('cancelDeferral clears it and checks', async () => {
    const r = rig();
    r.gate.defer(DAY);
    await r.clock.advance(2 * HOUR);
    r.gate.cancelDeferral();
    expect(r.prefs.updatesDeferredUntil).toBeNull();
    await r.clock.advance(0);
    expect(r.updater.checks).toBe(1);
  });

  it('defer refuses a nonsense duration', () => {
    const r = rig();
    expect(() => r.gate.defer(0)).toThrow(RangeError);
    expect(() => r.gate.defer(Number.NaN)).toThrow(RangeError);
    expect(r.saved).toEqual([]);
  });

  it('updater errors are logged once, never shown, and retried at the next interval', async () => {
    const r = rig();
    r.updater.checkImpl = async () => {
      const err = new Error('net::ERR_INTERNET_DISCONNECTED');
      r.updater.emit({ kind: 'error', message: err.message });
      throw err;
    };
    await r.clock.advance(DEFAULT_FIRST_CHECK_DELAY_MS);
    expect(r.gate.status()).toEqual({ phase: 'error', detail: 'net::ERR_INTERNET_DISCONNECTED' });
    expect(r.logs.filter((l) => l.includes('ERR_INTERNET_DISCONNECTED'))).toHaveLength(1);
    expect(r.notifications.shown).toEqual([]);
    await r.clock.advance(DEFAULT_CHECK_INTERVAL_MS - 1);
    expect(r.updater.checks).toBe(1);
    r.updater.checkImpl = async () => r.updater.emit({ kind: 'available', version: '1.2.1' });
    await r.clock.advance(1);
    expect(r.updater.checks).toBe(2);
    expect(r.gate.status()).toEqual({ phase: 'ready', version: '1.2.1', detail: 'installs when you quit' });
  });

  it('a failed download is retried with a fresh check at the next interval', async () => {
    const r = rig();
    let failNext = true;
    r.updater.downloadImpl = async () => {
      if (failNext) {
        failNext = false;
        throw new Error('sha512 checksum mismatch');
      }
      r.updater.emit({ kind: 'downloaded', version: '1.2.0' });
    };
    await r.clock.advance(DEFAULT_FIRST_CHECK_DELAY_MS);
    expect(r.gate.status()).toEqual({ phase: 'error', detail: 'sha512 checksum mismatch' });
    expect(r.notifications.shown).toEqual([]);
    await r.clock.advance(DEFAULT_CHECK_INTERVAL_MS);
    expect(r.updater.checks).toBe(2);
    expect(r.updater.downloads).toBe(2);
    expect(r.gate.status().phase).toBe('ready');
  });

  it('an updater that throws synchronously is treated as an error, not a crash', async () => {
    const r = rig();
    r.updater.check = () => {
      throw new Error('not configured');
    };
    await r.clock.advance(DEFAULT_FIRST_CHECK_DELAY_MS);
    expect(r.gate.status()).toEqual({ phase: 'error', detail: 'not configured' });
  });

  it('a failing quitAndInstall is a refusal with its reason', async () => {
    const r = rig();
    await r.clock.advance(DEFAULT_FIRST_CHECK_DELAY_MS);
    r.updater.quitAndInstall = () => {
      throw new Error('installer missing');
    };
    expect(r.gate.restartToUpdate()).toBe(false);
    expect(r.gate.lastRefusal()).toContain('installer missing');
  });

  it('a user restart is allowed during a deferral; installing on quit is not', async () => {
    const r = rig();
    await r.clock.advance(DEFAULT_FIRST_CHECK_DELAY_MS);
    r.gate.defer(DAY);
    expect(r.gate.status()).toMatchObject({ phase: 'deferred', version: '1.2.0' });
    expect(r.gate.installOnQuitAllowed()).toBe(false);
    expect(r.gate.restartToUpdate()).toBe(true);
    expect(r.updater.installs).toBe(1);
  });

  it('dispose clears its timers and ignores what the updater says afterwards', async () => {
    const r = rig();
    expect(r.clock.pending()).toBe(1);
    r.gate.dispose();
    expect(r.clock.pending()).toBe(0);
    r.updater.emit({ kind: 'downloaded', version: '9.9.9' });
    await r.clock.advance(DAY);
    await r.setState('ended');
    expect(r.updater.checks).toBe(0);
    expect(r.notifications.shown).toEqual([]);
    expect(r.gate.installOnQuitAllowed()).toBe(false);
  });
});

describe('SimWatcher', () => {
  class FakeProbe implements SimProbe {
    calls = 0;
    answers: (boolean | Error | ReturnType<typeof deferred<boolean>>)[] = [];
    fallback: boolean | Error = false;
    isRunning(): Promise<boolean> {
      this.calls++;
      const next = this.answers.length > 0 ? this.answers.shift() : this.fallback;
      if (next instanceof Error) return Promise.reject(next);
      if (typeof next === 'boolean') return Promise.resolve(next);
      return next!.promise;
    }
  }

  function watcher(intervalMs?: number) {
    const clock = new ManualClock();
    const lister = new FakeProbe();
    const changes: boolean[] = [];
    const logs: string[] = [];
    const w = new SimWatcher({ probe: lister, onChange: (v) => changes.push(v), log: (m) => logs.push(m), clock, ...(intervalMs === undefined ? {} : { intervalMs }) });
    return { clock, lister, changes, logs, w };
  }

  it('reports the first poll, then only transitions, every 3 s by default', async () => {
    const { clock, lister, changes, w } = watcher();
    lister.answers = [false, false, true, true, true, false];
    w.start();
    await flush();
    expect(changes).toEqual([false]);
    await clock.advance(DEFAULT_SIM_POLL_MS - 1);
    expect(lister.calls).toBe(1);
    await clock.advance(1);
    expect(lister.calls).toBe(2);
    await clock.advance(4 * DEFAULT_SIM_POLL_MS);
    expect(changes).toEqual([false, true, false]);
    expect(w.running).toBe(false);
    w.stop();
  });

  it('reports true at once when the sim is already running', async () => {
    const { lister, changes, w } = watcher();
    lister.fallback = true;
    w.start();
    await flush();
    expect(changes).toEqual([true]);
    w.stop();
  });

  it('a failed probe is no transition, and each distinct message is logged once', async () => {
    const { clock, lister, changes, logs, w } = watcher(100);
    lister.answers = [true, new Error('the SDK did not load'), new Error('the SDK did not load'), new Error('access denied'), new Error('the SDK did not load'), true];
    w.start();
    await clock.advance(500);
    expect(changes).toEqual([true]);
    expect(logs).toHaveLength(2);
    expect(logs[0]).toContain('the SDK did not load');
    expect(logs[1]).toContain('access denied');
    w.stop();
  });

  it('logs an error again when it comes back after a good poll', async () => {
    const { clock, lister, logs, w } = watcher(100);
    lister.answers = [new Error('boom'), false, new Error('boom')];
    w.start();
    await clock.advance(200);
    expect(logs).toHaveLength(2);
    w.stop();
  });

  it('reports nothing until a poll succeeds', async () => {
    const { clock, lister, changes, w } = watcher(100);
    lister.answers = [new Error('boom'), new Error('boom')];
    lister.fallback = false;
    w.start();
    await clock.advance(100);
    expect(changes).toEqual([]);
    expect(w.running).toBeNull();
    await clock.advance(100);
    expect(changes).toEqual([false]);
    w.stop();
  });

  it('never overlaps polls when one is slow: the next starts an interval after the slow one ends', async () => {
    const { clock, lister, changes, w } = watcher(100);
    const slow = deferred<boolean>();
    lister.answers = [slow];
    lister.fallback = true;
    w.start();
    await clock.advance(10_000);
    expect(lister.calls).toBe(1);
    expect(clock.pending()).toBe(0);
    slow.resolve(false);
    await flush();
    expect(changes).toEqual([false]);
    await clock.advance(99);
    expect(lister.calls).toBe(1);
    await clock.advance(1);
    expect(lister.calls).toBe(2);
    expect(changes).toEqual([false, true]);
    w.stop();
  });

  it('stop() ends polling, and an answer still in flight is not reported', async () => {
    const { clock, lister, changes, w } = watcher(100);
    const slow = deferred<boolean>();
    lister.answers = [false, slow];
    w.start();
    await clock.advance(100);
    expect(lister.calls).toBe(2);
    w.stop();
    slow.resolve(true);
    await clock.advance(1000);
    expect(lister.calls).toBe(2);
    expect(changes).toEqual([false]);
    expect(clock.pending()).toBe(0);
  });

  it('keeps polling when onChange throws', async () => {
    const clock = new ManualClock();
    const lister = new FakeProbe();
    lister.answers = [false, true];
    lister.fallback = true;
    const logs: string[] = [];
    const w = new SimWatcher({
      probe: lister,
      onChange: () => {
        throw new Error('listener broke');
      },
      log: (m) => logs.push(m),
      clock,
      intervalMs: 100,
    });
    w.start();
    await clock.advance(200);
    expect(lister.calls).toBe(3);
    expect(logs.filter((l) => l.includes('listener broke'))).toHaveLength(2);
    w.stop();
  });
});

describe('launch arguments', () => {
  it('recognises our flags among the executable, the app path and Chromium switches', () => {
    expect(
      parseLaunchArgs(['C:\\Program Files\\Relay Agent\\Relay Agent.exe', '--hidden', '--no-sandbox', '--with-iracing', '--inspect=9229', '--config-dir', 'D:\\relay cfg', '--source=ibt:C:\\laps\\spa.ibt']),
    ).toEqual({ hidden: true, withIRacing: true, configDir: 'D:\\relay cfg', source: 'ibt:C:\\laps\\spa.ibt', problems: [] });
    expect(parseLaunchArgs(['/usr/lib/electron/electron', '/home/me/relay-agent', '--enable-logging', '--config-dir=/tmp/cfg', '--source', 'synthetic'])).toEqual({
      hidden: false,
      withIRacing: false,
      configDir: '/tmp/cfg',
      source: 'synthetic',
      problems: [],
    });
  });

  it('defaults to nothing with no arguments', () => {
    expect(parseLaunchArgs([])).toEqual({ hidden: false, withIRacing: false, problems: [] });
    expect(parseLaunchArgs(['relay.exe', '-psn_0_12345'])).toEqual({ hidden: false, withIRacing: false, problems: [] });
  });

  it('reports unknown --relay- flags as problems without throwing', () => {
    const args = parseLaunchArgs(['app', '--relay-debug', '--relay-port=9', '--hidden']);
    expect(args.hidden).toBe(true);
    expect(args.problems).toEqual([expect.stringContaining('--relay-debug'), expect.stringContaining('--relay-port')]);
  });

  it('reports a missing or empty value, and a value given to a switch', () => {
    expect(parseLaunchArgs(['app', '--config-dir']).problems).toEqual([expect.stringContaining('--config-dir needs a directory')]);
    expect(parseLaunchArgs(['app', '--config-dir=']).problems).toEqual([expect.stringContaining('--config-dir needs a directory')]);
    const next = parseLaunchArgs(['app', '--source', '--hidden']);
    expect(next.source).toBeUndefined();
    expect(next.hidden).toBe(true);
    expect(next.problems).toEqual([expect.stringContaining('--source needs a source spec')]);
    const withValue = parseLaunchArgs(['app', '--hidden=yes']);
    expect(withValue.hidden).toBe(true);
    expect(withValue.problems).toEqual([expect.stringContaining('takes no value')]);
  });

  it('uses the last of a repeated value option and says so', () => {
    const args = parseLaunchArgs(['app', '--config-dir', 'a', '--config-dir=b']);
    expect(args.configDir).toBe('b');
    expect(args.problems).toEqual([expect.stringContaining('more than once')]);
  });

  it('reads nothing after "--"', () => {
    expect(parseLaunchArgs(['app', '--', '--hidden', '--relay-x'])).toEqual({ hidden: false, withIRacing: false, problems: [] });
  });

  it('plans login items per platform', () => {
    const prefs = { ...DEFAULT_DESKTOP_PREFS };
    expect(loginItemPlan('win32', prefs)).toEqual({ supported: true, openAtLogin: false, args: [] });
    expect(loginItemPlan('win32', { ...prefs, launchAtLogin: true })).toEqual({ supported: true, openAtLogin: true, args: ['--hidden'] });
    expect(loginItemPlan('win32', { ...prefs, launchWithIRacing: true })).toEqual({ supported: true, openAtLogin: true, args: ['--hidden', '--with-iracing'] });
    expect(loginItemPlan('win32', { ...prefs, launchAtLogin: true, launchWithIRacing: true })).toEqual({ supported: true, openAtLogin: true, args: ['--hidden', '--with-iracing'] });
    expect(loginItemPlan('darwin', { ...prefs, launchAtLogin: true })).toEqual({ supported: true, openAtLogin: true, args: ['--hidden'] });
    expect(loginItemPlan('darwin', { ...prefs, launchWithIRacing: true })).toEqual({ supported: true, openAtLogin: false, args: [] });
    const linux = loginItemPlan('linux', { ...prefs, launchAtLogin: true, launchWithIRacing: true });
    expect(linux).toMatchObject({ supported: false, openAtLogin: false, args: [] });
    expect(linux.reason).toMatch(/autostart/);
    expect(loginItemPlan('freebsd', { ...prefs, launchAtLogin: true }).supported).toBe(false);
  });

  it('the login item arguments parse back to what they mean', () => {
    const plan = loginItemPlan('win32', { launchAtLogin: false, launchWithIRacing: true });
    expect(parseLaunchArgs(['Relay Agent.exe', ...plan.args])).toEqual({ hidden: true, withIRacing: true, problems: [] });
  });

  it('starts hidden when the argument or the preference says so', () => {
    expect(shouldStartHidden({ hidden: false }, { startHidden: false })).toBe(false);
    expect(shouldStartHidden({ hidden: true }, { startHidden: false })).toBe(true);
    expect(shouldStartHidden({ hidden: false }, { startHidden: true })).toBe(true);
    expect(shouldStartHidden(parseLaunchArgs(['x', '--hidden']), DEFAULT_DESKTOP_PREFS)).toBe(true);
  });
});
