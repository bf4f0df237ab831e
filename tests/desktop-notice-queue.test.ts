// The desktop app's notice queue (src-main/desktop/notice-queue.ts): notices wait while the
// source is live and come in order once it is not, with plain-object ports.
import { describe, expect, it } from 'vitest';
import { SOURCE_STATES } from '../src-main/sources/source';
import type { NotificationPort } from '../src-main/desktop/ports';
import { MAX_HELD_NOTICES, NoticeQueue } from '../src-main/desktop/notice-queue';
import { FakeNotifications } from './helpers/desktop-ports';

/** Every state but live: the ones in which a notice or an update may appear. */
const NOT_LIVE_STATES = SOURCE_STATES.filter((s) => s !== 'live');

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
