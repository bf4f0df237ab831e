// `relay kill on|off`: through the relay running for the config folder, which applies it and
// confirms how many backend connections it closed and how fast. With no relay running there
// it is saved for the next start, and the command says so (exit 3): a kill switch must never
// report an effect it did not have.
import { EXIT_NOT_RUNNING, EXIT_OK, EXIT_RUNTIME, EXIT_USAGE, type Out } from './exit';
import { HTTP_ROUTES, RelayUnreachableError, elsewhereHint, locateRelay, postAction, waitWhileStarting, type RelayLocation } from './relay-client';

/** The spec: every backend cut off within 100 ms of the command reaching the relay. */
const SPEC_KILL_MS = 100;

interface KillConfirmation {
  pid: number;
  configDir: string;
  killSwitch?: { on: boolean; closed: number; stillOpen: number; withinMs: number };
  warnings?: string[];
}

export async function kill(configDir: string, on: boolean, out: Out): Promise<number> {
  const where = await waitWhileStarting(locateRelay(configDir));
  if (where.kind !== 'running') return saveForNextStart(where, on, out);
  let answer;
  try {
    answer = await postAction(where, HTTP_ROUTES.setKillSwitch, { on });
  } catch (e) {
    if (!(e instanceof RelayUnreachableError)) throw e;
    return unconfirmed(where, on, e.message, out);
  }
  if (!answer.ok) {
    const refused = answer.status === 409 || answer.status === 400;
    return out.fail(refused ? EXIT_USAGE : EXIT_RUNTIME, `kill switch NOT changed: the relay (pid ${where.info.pid}, config folder ${where.configDir}) answered: ${answer.error ?? `HTTP ${answer.status}`}`);
  }
  const c = (answer.confirmation ?? {}) as KillConfirmation;
  const warnings = c.warnings && c.warnings.length > 0 ? `\nwarnings:\n${c.warnings.map((w) => `  - ${w}`).join('\n')}` : '';
  const who = `the relay (pid ${c.pid ?? where.info.pid}, config folder ${c.configDir ?? where.configDir})`;
  const k = c.killSwitch;
  if (!k || k.on !== on) return out.fail(EXIT_RUNTIME, `kill switch ${on ? 'on' : 'off'} was accepted by ${who}, but it did not confirm the switch is ${on ? 'on' : 'off'}: check relay status`);
  if (!on) return out.print(`kill switch off, confirmed by ${who}: the backends reconnect by themselves.${warnings}`);
  if (k.stillOpen > 0) {
    return out.fail(EXIT_RUNTIME, `kill switch ON in ${who}, but ${k.stillOpen} backend connection(s) were still open ${k.withinMs} ms later (${k.closed} closed): check relay status`);
  }
  const slow = k.withinMs > SPEC_KILL_MS ? ` (slower than the spec's ${SPEC_KILL_MS} ms)` : '';
  return out.print(`kill switch ON, confirmed by ${who}: ${k.closed} backend connection(s) closed within ${k.withinMs} ms${slow}; no telemetry leaves this machine until "relay kill off".${warnings}`);
}

async function saveForNextStart(where: Exclude<RelayLocation, { kind: 'running' }>, on: boolean, out: Out): Promise<number> {
  const { saveKillSwitch } = await import('./settings-file');
  const saved = saveKillSwitch(where.configDir, on);
  const why = where.kind === 'none' ? where.why : `the relay for the config folder ${where.configDir} (pid ${where.info.pid}) did not finish starting`;
  const effect = on ? 'a relay started there starts with every backend cut off' : 'a relay started there connects to its backends';
  out.fail(EXIT_NOT_RUNNING, `${why}: nothing was cut off now. The kill switch is saved ${on ? 'ON' : 'off'} in ${saved.file}; ${effect}.${saved.notes}${where.kind === 'none' ? elsewhereHint(where.others) : ''}`);
  return EXIT_NOT_RUNNING;
}

/**
 * The relay runs but did not answer: the switch still goes into the settings file, which the
 * relay watches, and /debug/health (no secret needed) is asked whether it took effect.
 */
async function unconfirmed(where: Extract<RelayLocation, { kind: 'running' }>, on: boolean, why: string, out: Out): Promise<number> {
  const { saveKillSwitch, killSwitchSeen } = await import('./settings-file');
  const saved = saveKillSwitch(where.configDir, on);
  const seen = await killSwitchSeen(where.info.debugPort, on, 1000);
  if (seen) {
    out.print(`kill switch ${on ? 'ON' : 'off'}: the relay (pid ${where.info.pid}) did not answer the request (${why}), but it applied the switch from ${saved.file}, as /debug/health confirms.${saved.notes}`);
    return EXIT_OK;
  }
  return out.fail(EXIT_RUNTIME, `kill switch ${on ? 'ON' : 'off'} NOT confirmed: the relay (pid ${where.info.pid}, config folder ${where.configDir}) did not answer (${why}). The switch is saved in ${saved.file}, which the relay watches; check relay status.${saved.notes}`);
}
