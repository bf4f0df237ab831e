// `relay status` in words (the demo prints the same every few seconds). A backend is named as
// everywhere else: #index (the number RELAY_PRIMARY_INDEX takes), friendly name, masked URL.
// A target that is not meant to send says so, never "healthy": only the relay's health and
// parity verdicts grade what is sent.
import type { HealthResponse, ParityResponse, TargetView, TargetsResponse } from '../../src-shared/debug-api';
import { backendLabel } from '../../src-shared/settings';

const NOT_SENDING = new Set(['standby', 'disabled', 'killed', 'removed']);

function verdictOf(t: TargetView): string {
  return NOT_SENDING.has(t.state) ? 'not sending' : t.health.status;
}

export function formatStatus(health: HealthResponse, targets: TargetsResponse, parity?: ParityResponse): string {
  const lines = [
    `Relay Agent ${health.version}: ${health.status.toUpperCase()}${health.killSwitch ? '  *** Kill Switch Active: no telemetry leaves this machine ***' : ''}`,
  ];
  if (health.configDir) lines.push(`config folder ${health.configDir}${health.pid ? ` (relay pid ${health.pid})` : ''}`);
  lines.push(`mode ${health.mode}, primary #${targets.primaryIndex}, session ${health.sessionId ?? '-'}`);
  if (parity) {
    const since = parity.healthySinceMs === null ? '' : ` for ${Math.max(0, Math.round((Date.now() - parity.healthySinceMs) / 1000))} s`;
    lines.push(`parity ${parity.verdict.status}${since}, drift ${parity.driftPct}% (on confirmed deliveries)${parity.verdict.reasons.length > 0 ? `: ${parity.verdict.reasons.join('; ')}` : ''}`);
  }
  if (health.source) {
    const s = health.source;
    const cost = s.stats && typeof s.stats.readP50Ms === 'number' ? `, read p50/p99 ${s.stats.readP50Ms}/${s.stats.readP99Ms ?? '-'} ms` : '';
    lines.push(`source ${s.kind}: ${s.state} (${s.connected ? 'connected' : 'not connected'}), ${s.framesProduced} frames produced, session ${s.sessionId ?? '-'}${cost}`);
  }
  targets.targets.forEach((t, i) => {
    const c = t.counters;
    lines.push(
      `  ${t.primary ? '*' : ' '} #${i} ${backendLabel(t)}  ${t.state}${t.enabled ? '' : ' (disabled)'}  delivered ${c.delivered} (confirmed)  in flight ${c.inFlight}  queued ${c.queued}  dropped ${c.dropped}  lost ${c.lost}` +
        `  (sent ${c.sent}, acked ${c.acked})  ack p50/p95 ${t.ackLatency.p50 ?? '-'}/${t.ackLatency.p95 ?? '-'} ms  drift ${t.driftPct}%  ${verdictOf(t)}`,
    );
    if (t.lastError) lines.push(`      last error: ${t.lastError}`);
  });
  for (const t of targets.removed) {
    const c = t.counters;
    lines.push(`    ${backendLabel(t)}  removed during this run: delivered ${c.delivered} (confirmed)  in flight ${c.inFlight}  queued ${c.queued}  dropped ${c.dropped}  lost ${c.lost}`);
  }
  for (const r of health.reasons) lines.push(`  ! ${r}`);
  return lines.join('\n');
}
