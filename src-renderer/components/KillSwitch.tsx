import { KILL_SWITCH_VARIABLE } from '../../src-shared/settings';
import { useDashboard } from '../context';
import { selectKillSwitch } from '../store';

export const KILL_ON_LABEL = 'KILL SWITCH: ON — no telemetry leaves this machine';
export const KILL_OFF_LABEL = 'Kill switch: off';

/**
 * One click, one real button. It shows the state asked for at once (optimistic) and says
 * "confirming" until a snapshot from the relay agrees, so a click always visibly lands.
 */
export function KillSwitch() {
  const on = useDashboard(selectKillSwitch);
  const pending = useDashboard((s) => s.pendingKillSwitch !== null);
  const envLocked = useDashboard((s) => s.state?.settings.envOverrides.includes(KILL_SWITCH_VARIABLE) ?? false);
  // Said only while a gateway is confirming deliveries: a switch that is off does not mean telemetry flows.
  const delivering = useDashboard((s) => s.status === 'open' && (s.state?.parity.perTarget.some((p) => p.confirming) ?? false));
  const notDelivering = useDashboard((s) =>
    s.status !== 'open' ? 'this page lost its connection to the relay, so it cannot tell' : (s.state?.health.reasons[0] ?? 'no gateway is confirming deliveries'),
  );
  const toggle = useDashboard((s) => s.setKillSwitch);
  const confirmed = useDashboard((s) => s.killConfirmation);

  return (
    <div className="kill-switch-wrap">
      <button
        type="button"
        data-testid="kill-switch"
        className={`kill-switch ${on ? 'is-on' : 'is-off'}`}
        aria-pressed={on}
        aria-busy={pending}
        data-state={on ? 'on' : 'off'}
        data-pending={pending ? 'true' : 'false'}
        data-delivering={delivering ? 'true' : 'false'}
        onClick={() => void toggle(!on)}
      >
        <span className="kill-switch-icon" aria-hidden="true">
          {on ? '■' : '●'}
        </span>
        <span className="kill-switch-text">
          <span className="kill-switch-label">{on ? KILL_ON_LABEL : KILL_OFF_LABEL}</span>
          <span className="kill-switch-hint">
            {pending
              ? 'Confirming with the relay…'
              : on
                ? 'Press to turn it off: the backends reconnect by themselves.'
                : delivering
                  ? 'Telemetry is being sent. Press to stop all of it at once.'
                  : `Telemetry is NOT being delivered (${notDelivering}). Press to cut every backend off.`}
          </span>
        </span>
      </button>
      {on && !pending && confirmed?.on && (
        <p className="fine" role="status" data-testid="kill-confirmed">
          Confirmed by the relay: {confirmed.closed} backend connection{confirmed.closed === 1 ? '' : 's'} closed within {confirmed.withinMs} ms
          {confirmed.stillOpen > 0 ? `; ${confirmed.stillOpen} still open` : ''}.
        </p>
      )}
      {envLocked && (
        <p className="note">{KILL_SWITCH_VARIABLE} is set in the relay&apos;s environment for this run: a change here may be refused.</p>
      )}
    </div>
  );
}

export function KillBanner() {
  const on = useDashboard(selectKillSwitch);
  const pending = useDashboard((s) => s.pendingKillSwitch !== null);
  if (!on) return null;
  return (
    <section className="banner banner-kill" data-testid="kill-banner" role="alert">
      <h2>Kill Switch Active{pending ? ' (confirming…)' : ''}</h2>
      <p>
        No telemetry leaves this machine: every backend connection is closed, frames still queued are dropped (and
        counted), and nothing new is sent. It stays on until you turn it off; the backends then reconnect by themselves.
      </p>
    </section>
  );
}
