// The relay's one-line summaries, for its log, the CLI and the confirmations of a change:
// tokens redacted, URLs masked.
import { backendLabel, redactSettings, type Settings } from '../../src-shared/settings';
import type { FinishResult } from '../relay/target';

/** "12 controls frame(s) never confirmed, 3 baseline frame(s) never written". */
export function describeUnconfirmed(r: FinishResult): string {
  return [
    ...Object.entries(r.unconfirmed).map(([stream, n]) => `${n} ${stream} frame(s) written but never confirmed by the gateway`),
    ...Object.entries(r.queued).map(([stream, n]) => `${n} ${stream} frame(s) never written (still queued)`),
  ].join(', ');
}

export function describe(s: Settings): string {
  const r = redactSettings(s);
  const targets = r.backends.map((b, i) => `#${i} ${backendLabel(b)}${b.enabled ? '' : ' (disabled)'}${i === s.primaryIndex && s.mode === 'single' ? ' (primary)' : ''}`);
  return `${s.killSwitch ? 'KILL SWITCH ON, ' : ''}${s.mode} mode, ${targets.length} backend(s)${targets.length ? ': ' + targets.join(', ') : ''}`;
}
