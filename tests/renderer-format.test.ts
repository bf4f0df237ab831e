import { describe, expect, it } from 'vitest';
import {
  DASH,
  describeTargetState,
  formatAgoTick,
  formatBytes,
  formatClock,
  formatCount,
  formatDuration,
  formatMs,
  formatPct,
  formatRelative,
  formatWait,
} from '../src-renderer/format';
import { PARITY_CHECK_MS, describeParityCheck, driftTone, isInactive, latencyTone, parityTone, queueTone, targetTone } from '../src-renderer/health';
import type { ParityStatus } from '../src-shared/debug-api';
import { describeReasons } from '../src-shared/report';

describe('renderer formatting', () => {
  it('counts with separators, and a dash for nothing', () => {
    expect(formatCount(12450)).toBe('12,450');
    expect(formatCount(0)).toBe('0');
    expect(formatCount(1234567.6)).toBe('1,234,568');
    expect(formatCount(null)).toBe(DASH);
    expect(formatCount(Number.NaN)).toBe(DASH);
  });

  it('milliseconds: a decimal under 10 ms, whole ms below a second, seconds above', () => {
    expect(formatMs(4.25)).toBe('4.3 ms');
    expect(formatMs(4)).toBe('4 ms');
    expect(formatMs(0)).toBe('0 ms');
    expect(formatMs(45.2)).toBe('45 ms');
    expect(formatMs(999.4)).toBe('999 ms');
    expect(formatMs(1250)).toBe('1.25 s');
    expect(formatMs(2000)).toBe('2 s');
    expect(formatMs(null)).toBe(DASH);
    expect(formatMs(-1)).toBe(DASH);
  });

  it('percentages keep small drifts apart and never round a real drift to 0%', () => {
    expect(formatPct(0)).toBe('0%');
    expect(formatPct(0.123)).toBe('0.12%');
    expect(formatPct(1)).toBe('1%');
    expect(formatPct(4.999)).toBe('4.99%'); // still a warning: must not read as the 5% critical bound
    expect(formatPct(0.29)).toBe('0.29%');
    expect(formatPct(0.999)).toBe('0.99%');
    expect(formatPct(0.004)).toBe('<0.01%');
    expect(formatPct(12.5, 1)).toBe('12.5%');
    expect(formatPct(null)).toBe(DASH);
  });

  it('durations in words', () => {
    expect(formatDuration(0)).toBe('0 s');
    expect(formatDuration(45_900)).toBe('45 s');
    expect(formatDuration(92_000)).toBe('1 min 32 s');
    expect(formatDuration(120_000)).toBe('2 min');
    expect(formatDuration(2 * 3600_000 + 5 * 60_000)).toBe('2 h 5 min');
    expect(formatDuration(3 * 86400_000 + 4 * 3600_000)).toBe('3 d 4 h');
    expect(formatDuration(-5)).toBe(DASH);
  });

  it('relative times against the snapshot clock', () => {
    const now = 1_735_635_285_000;
    expect(formatRelative(null, now)).toBe('never');
    expect(formatRelative(now - 16, now)).toBe('just now');
    expect(formatRelative(now + 50, now)).toBe('just now'); // a send stamped a hair after the snapshot
    expect(formatRelative(now - 12_000, now)).toBe('12 s ago');
    expect(formatRelative(now - 185_000, now)).toBe('3 min 5 s ago');
  });

  it('clock, bytes and chart ticks', () => {
    expect(formatClock(new Date(2026, 10, 27, 9, 5, 7).getTime())).toBe('09:05:07');
    expect(formatClock(null)).toBe(DASH);
    expect(formatBytes(812)).toBe('812 B');
    expect(formatBytes(12_595)).toBe('12.3 KB');
    expect(formatBytes(4.1 * 1024 * 1024)).toBe('4.1 MB');
    const now = 1_000_000;
    expect(formatAgoTick(now, now)).toBe('now');
    expect(formatAgoTick(now - 30_000, now)).toBe('-30 s');
    expect(formatAgoTick(now - 240_000, now)).toBe('-4 min');
    expect(formatAgoTick(now - 90_000, now)).toBe('-1 min 30 s');
  });

  it('target states in words, with the retry countdown', () => {
    expect(describeTargetState('connected')).toBe('Connected');
    expect(describeTargetState('backoff', 2100)).toBe('Reconnecting in 3 s');
    expect(describeTargetState('backoff', 0)).toBe('Reconnecting in 1 s');
    expect(describeTargetState('backoff', null)).toBe('Reconnecting…');
    expect(describeTargetState('killed')).toBe('Stopped by the kill switch');
    expect(describeTargetState('removed')).toBe('Removed during this run');
  });

  it('how long the oldest unconfirmed frame has waited', () => {
    expect(formatWait(null)).toBe(DASH);
    expect(formatWait(45)).toBe('45 ms');
    expect(formatWait(1250)).toBe('1.25 s');
    expect(formatWait(125_000)).toBe('2 min 5 s');
  });

  it('dropped and lost frames by reason, in words, only the reasons that counted', () => {
    expect(describeReasons({ connectionLost: 3, unconfirmedAtStop: 0 })).toBe('connection lost 3');
    expect(describeReasons({ connectionLost: 1, unconfirmedAtStop: 2 })).toBe('connection lost 1, unconfirmed at stop 2');
    expect(describeReasons({ queueFull: 0, killSwitch: 4, standby: 0, disabled: 0, deactivated: 0, removed: 1 })).toBe('kill switch 4, target removed 1');
    expect(describeReasons({ connectionLost: 0, unconfirmedAtStop: 0 })).toBe('none');
  });
});

describe('renderer tones follow the spec table', () => {
  const verdict = (status: 'healthy' | 'warning' | 'critical') => ({ status, reasons: [] });

  it('grey for targets not meant to send, the verdict otherwise, at least a warning while reconnecting', () => {
    expect(targetTone({ state: 'killed', health: verdict('critical') })).toBe('inactive');
    expect(targetTone({ state: 'disabled', health: verdict('healthy') })).toBe('inactive');
    expect(targetTone({ state: 'standby', health: verdict('warning') })).toBe('inactive');
    expect(targetTone({ state: 'connected', health: verdict('warning') })).toBe('warning');
    expect(targetTone({ state: 'backoff', health: verdict('healthy') })).toBe('warning');
    expect(targetTone({ state: 'backoff', health: verdict('critical') })).toBe('critical');
    expect(targetTone({ state: 'removed', health: verdict('critical') })).toBe('inactive');
    expect(isInactive('removed')).toBe(true);
  });

  it('queue, latency and drift bounds come from HEALTH_THRESHOLDS', () => {
    expect([queueTone(99), queueTone(100), queueTone(299), queueTone(300)]).toEqual(['healthy', 'warning', 'warning', 'critical']);
    expect([latencyTone(null), latencyTone(99.9), latencyTone(100), latencyTone(500)]).toEqual(['inactive', 'healthy', 'warning', 'critical']);
    expect([driftTone(0.99), driftTone(1), driftTone(4.99), driftTone(5)]).toEqual(['healthy', 'warning', 'warning', 'critical']);
  });
});

describe('the 2-minute parity check shows the relay\'s verdict and clock, nothing more', () => {
  const T = 1_767_000_000_000;
  const parity = (status: ParityStatus, healthySinceMs: number | null) => ({ verdict: { status, reasons: [] }, healthySinceMs });

  it('no-data is grey and never passed, whatever a clock says', () => {
    expect(parityTone('no-data')).toBe('inactive');
    const check = describeParityCheck(parity('no-data', T - 10 * 60_000), T, true);
    expect(check).toMatchObject({ state: 'no-data', healthyForMs: null });
    expect(check.text).toContain('no confirmed deliveries yet');
    expect(check.text).not.toMatch(/passed|healthy/i);
  });

  it('passes only once the relay\'s healthySinceMs is at least 2 minutes before the snapshot', () => {
    expect(describeParityCheck(parity('healthy', T - PARITY_CHECK_MS), T, true)).toMatchObject({ state: 'passed', healthyForMs: PARITY_CHECK_MS });
    const almost = describeParityCheck(parity('healthy', T - PARITY_CHECK_MS + 1000), T, true);
    expect(almost).toMatchObject({ state: 'counting', healthyForMs: PARITY_CHECK_MS - 1000 });
    expect(almost.text).toBe('2-minute parity check: healthy for 1 min 59 s, 1 s to go.');
    // A clock in the snapshot's future (never expected) counts as just started, not as passed.
    expect(describeParityCheck(parity('healthy', T + 5000), T, true)).toMatchObject({ state: 'counting', healthyForMs: 0 });
  });

  it('is not passing when the relay says so or keeps no clock, and paused while the relay is out of reach', () => {
    expect(parityTone('warning')).toBe('warning');
    expect(describeParityCheck(parity('warning', null), T, true)).toMatchObject({ state: 'not-passing' });
    // A verdict and a clock that do not go together claim nothing.
    expect(describeParityCheck(parity('critical', T - 10 * PARITY_CHECK_MS), T, true)).toMatchObject({ state: 'not-passing', healthyForMs: null });
    expect(describeParityCheck(parity('healthy', null), T, true)).toMatchObject({ state: 'not-passing' });
    expect(describeParityCheck(parity('healthy', T - 10 * PARITY_CHECK_MS), T, false)).toMatchObject({ state: 'paused', healthyForMs: null });
  });
});
