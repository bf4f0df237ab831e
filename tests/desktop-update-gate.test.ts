// When updates may act (src-main/desktop/update-gate.ts): never while the source is live,
// on the gate's own timing, off and deferred on request, with a manual clock and
// plain-object ports, so nothing here waits for real time or Electron.
import { afterEach, describe, expect, it } from 'vitest';
import { SOURCE_STATES, type SourceState } from '../src-main/sources/source';
import { NoticeQueue } from '../src-main/desktop/notice-queue';
import type { UpdatePrefs } from '../src-main/desktop/update-gate';
import { DEFAULT_CHECK_INTERVAL_MS, DEFAULT_FIRST_CHECK_DELAY_MS, UPDATE_READY_NOTICE_KEY, UpdateGate } from '../src-main/desktop/update-gate';
import { FakeNotifications, FakeUpdater } from './helpers/desktop-ports';
import { deferred, flush, ManualClock } from './helpers/manual-clock';

/** Every state but live: the ones in which a notice or an update may appear. */
const NOT_LIVE_STATES = SOURCE_STATES.filter((s) => s !== 'live');
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

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
