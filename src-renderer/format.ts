// Display helpers. Everything here is pure (no DOM, no clock): the caller passes "now",
// which is the relay's snapshot time, so relative times stay consistent with the relay's
// own timestamps and freeze visibly when the connection to the relay is lost.
import type { TargetState } from '../src-shared/debug-api';

export const DASH = '—';

const counts = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** A whole count with thousands separators: 12,450. */
export function formatCount(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return DASH;
  return counts.format(Math.round(n));
}

/** A latency: 4.2 ms, 45 ms, 1.25 s. */
export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return DASH;
  if (ms < 0) return DASH;
  if (ms < 10) return `${trimZeros(ms.toFixed(1))} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${trimZeros((ms / 1000).toFixed(2))} s`;
}

/**
 * A percentage with enough digits to tell 0.04% from 0.4% (the spec's drift bounds are
 * 1% and 5%, the drop-rate bounds 0.1% and 1%), and "<0.01%" rather than a misleading 0%.
 * Truncated, not rounded: 4.999% (a warning) must not read as 5% (critical).
 */
export function formatPct(pct: number | null | undefined, digits = 2): string {
  if (pct === null || pct === undefined || !Number.isFinite(pct)) return DASH;
  if (pct === 0) return '0%';
  const f = 10 ** digits;
  const min = 1 / f;
  if (Math.abs(pct) < min) return `${pct < 0 ? '>-' : '<'}${min}%`;
  // The epsilon undoes binary noise (0.29 * 100 is 28.999...), not real digits.
  const truncated = Math.trunc(pct * f + Math.sign(pct) * 1e-7) / f;
  return `${trimZeros(truncated.toFixed(digits))}%`;
}

/** A span of time in words: 45 s, 1 min 32 s, 2 h 5 min, 3 d 4 h. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return DASH;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 === 0 ? `${m} min` : `${m} min ${s % 60} s`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 === 0 ? `${h} h` : `${h} h ${m % 60} min`;
  const d = Math.floor(h / 24);
  return h % 24 === 0 ? `${d} d` : `${d} d ${h % 24} h`;
}

/** How long something has waited: 45 ms, 1.25 s, then 2 min 5 s. */
export function formatWait(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return DASH;
  return ms < 60_000 ? formatMs(ms) : formatDuration(ms);
}

/** How long ago: "just now" under a second (at 60 Hz a live target always is), then "12 s ago". */
export function formatRelative(then: number | null | undefined, now: number): string {
  if (then === null || then === undefined || !Number.isFinite(then)) return 'never';
  const diff = now - then;
  if (diff < 1000) return 'just now';
  return `${formatDuration(diff)} ago`;
}

/** Wall-clock time of day, 24 h: 15:40:02. */
export function formatClock(ts: number | null | undefined): string {
  if (ts === null || ts === undefined || !Number.isFinite(ts)) return DASH;
  const d = new Date(ts);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((v) => String(v).padStart(2, '0')).join(':');
}

/** Bytes for people: 812 B, 12.3 KB, 4.1 MB. */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes) || bytes < 0) return DASH;
  if (bytes < 1024) return `${Math.round(bytes)} B`;
  if (bytes < 1024 * 1024) return `${trimZeros((bytes / 1024).toFixed(1))} KB`;
  return `${trimZeros((bytes / (1024 * 1024)).toFixed(1))} MB`;
}

/** A chart tick relative to the right edge: "now", "-30 s", "-4 min". */
export function formatAgoTick(t: number, now: number): string {
  const s = Math.round((now - t) / 1000);
  if (s <= 0) return 'now';
  if (s < 60) return `-${s} s`;
  const m = s / 60;
  return Number.isInteger(m) ? `-${m} min` : `-${Math.floor(m)} min ${s % 60} s`;
}

/** A target's connection state in words, with the retry countdown when it is backing off. */
export function describeTargetState(state: TargetState, nextRetryMs: number | null = null): string {
  switch (state) {
    case 'connected':
      return 'Connected';
    case 'connecting':
      return 'Connecting…';
    case 'backoff':
      return nextRetryMs === null ? 'Reconnecting…' : `Reconnecting in ${Math.max(1, Math.ceil(nextRetryMs / 1000))} s`;
    case 'standby':
      return 'Standby (not the primary in single mode)';
    case 'disabled':
      return 'Disabled';
    case 'killed':
      return 'Stopped by the kill switch';
    case 'removed':
      return 'Removed during this run';
  }
}

function trimZeros(fixed: string): string {
  return fixed.includes('.') ? fixed.replace(/\.?0+$/, '') : fixed;
}
