// `relay set NAME VALUE` and `relay set A=1 B=2 ...`, and `relay config`. A running relay for
// the folder checks the change with its own environment, saves and applies it, and confirms
// what it now runs with; with none running, the change is checked the same way and saved for
// the next start (exit 3).
import { formatProblem, isKillSwitchName, killSwitchValueProblem, maskUrl, readKillSwitch, redactSettings, resolveSettings, settingTarget } from '../../src-shared/settings';
import { planAssignments, type Assignment } from '../settings/settings-update';
import { SettingsStore } from '../settings/settings-store';
import { EXIT_NOT_RUNNING, EXIT_RUNTIME, EXIT_USAGE, UsageError, type Out } from './exit';
import { HTTP_ROUTES, RelayUnreachableError, elsewhereHint, locateRelay, postAction, waitWhileStarting } from './relay-client';
import { saveKillSwitch, warningLines } from './settings-file';

/** The arguments after `set`: `NAME VALUE`, or one `NAME=VALUE` or more. */
export function assignmentsOf(args: readonly string[]): Assignment[] {
  const form = 'relay set <NAME> <VALUE>, or relay set NAME=VALUE [NAME=VALUE ...]';
  if (args.length === 0) throw new UsageError(`expected: ${form} (got nothing after set)`, 'set');
  if (args.length === 2 && !(args[0] as string).includes('=')) return [{ name: args[0] as string, value: args[1] as string }];
  return args.map((arg) => {
    const at = arg.indexOf('=');
    if (at <= 0) throw new UsageError(`expected: ${form} (got ${JSON.stringify(arg)}${args.length === 1 ? ' without a value' : ', which is not NAME=VALUE'})`, 'set');
    return { name: arg.slice(0, at), value: arg.slice(at + 1) };
  });
}

/** NAME = value, never echoing a secret: tokens hidden, backend URLs with credentials masked. */
function shown(a: Assignment): string {
  let target;
  try {
    target = settingTarget(a.name, a.value);
  } catch {
    return `${a.name} = ${a.value}`;
  }
  const value = target === 'tokens' ? '(redacted)' : target === 'backends' ? a.value.split(',').map((u) => maskUrl(u.trim())).join(',') : a.value;
  return `${a.name} = ${value}`;
}

function problemLines(problems: readonly string[] | undefined): string {
  return problems && problems.length > 0 ? `\n${problems.map((p) => `  - ${p}`).join('\n')}` : '';
}

export async function setSettings(configDir: string, assignments: Assignment[], force: boolean, env: NodeJS.ProcessEnv, out: Out): Promise<number> {
  const what = assignments.map(shown).join(', ');
  const where = await waitWhileStarting(locateRelay(configDir));
  if (where.kind === 'running') {
    let answer;
    try {
      answer = await postAction(where, HTTP_ROUTES.assignSettings, { assignments, ...(force ? { force: true } : {}) });
    } catch (e) {
      if (!(e instanceof RelayUnreachableError)) throw e;
      return out.fail(EXIT_RUNTIME, `${what}: NOT changed: the relay for the config folder ${where.configDir} (pid ${where.info.pid}) did not answer: ${e.message}`);
    }
    const who = `the relay (pid ${where.info.pid}, config folder ${where.configDir})`;
    if (!answer.ok) {
      if (answer.status === 400 && answer.problems?.length) return out.fail(EXIT_USAGE, `Relay Agent: bad settings, nothing was changed. Fix:${problemLines(answer.problems)}`);
      const refused = answer.status === 400 || answer.status === 409;
      return out.fail(refused ? EXIT_USAGE : EXIT_RUNTIME, `${what}: refused by ${who}, nothing was changed: ${answer.error ?? `HTTP ${answer.status}`}${problemLines(answer.problems)}`);
    }
    const c = (answer.confirmation ?? {}) as { summary?: string; notes?: string[]; warnings?: string[]; killSwitch?: { on: boolean; closed: number; withinMs: number } };
    const kill = c.killSwitch ? ` (kill switch ${c.killSwitch.on ? `ON: ${c.killSwitch.closed} backend connection(s) closed within ${c.killSwitch.withinMs} ms` : 'off'})` : '';
    const notes = (c.notes ?? []).map((n) => `\nnote: ${n}`).join('');
    return out.print(`${what}: applied and confirmed by ${who}${kill}; saved in its settings file\nnow: ${c.summary ?? '(no summary)'}${notes}${warningLines(c.warnings ?? [])}`);
  }
  // No relay for this folder: the same checks (without a relay's environment), saved for its next start.
  const only = assignments.length === 1 ? (assignments[0] as Assignment) : undefined;
  if (only && isKillSwitchName(only.name)) {
    // Written like relay kill: no other setting, valid or not, stands in its way.
    const flag = readKillSwitch(only.value);
    if (flag === undefined) return out.fail(EXIT_USAGE, `Relay Agent: bad settings, nothing was changed. Fix:\n  - ${formatProblem(killSwitchValueProblem(only.value))}`);
    const saved = saveKillSwitch(configDir, flag);
    const why = where.kind === 'none' ? where.why : `the relay for the config folder ${where.configDir} did not finish starting`;
    out.fail(EXIT_NOT_RUNNING, `${why}: nothing was applied now. ${what} saved in ${saved.file}; it applies when a relay starts there.${saved.notes}${where.kind === 'none' ? elsewhereHint(where.others) : ''}`);
    return EXIT_NOT_RUNNING;
  }
  const store = new SettingsStore(configDir);
  const plan = planAssignments(store.read(), assignments, { envOverrides: [], env: {}, force });
  if (!plan.ok) {
    if (plan.status === 400) return out.fail(EXIT_USAGE, `Relay Agent: bad settings, nothing was changed. Fix:${problemLines(plan.problems ?? [plan.error])}`);
    return out.fail(EXIT_USAGE, `Relay Agent: ${plan.error}`);
  }
  store.write(plan.file);
  const pinnedHere = plan.changed.filter((v) => env[v] !== undefined);
  const shellNote = pinnedHere.length
    ? `\nnote: ${pinnedHere.join(', ')} ${pinnedHere.length > 1 ? 'are' : 'is'} set in this shell's environment: a relay started from this shell uses ${pinnedHere.length > 1 ? 'those values' : 'that value'} instead`
    : '';
  const why = where.kind === 'none' ? where.why : `the relay for the config folder ${where.configDir} (pid ${where.info.pid}) did not finish starting`;
  out.fail(
    EXIT_NOT_RUNNING,
    `${why}: nothing was applied now. ${what} saved in ${store.path}; it applies when a relay starts there.${shellNote}${warningLines(plan.warnings)}${where.kind === 'none' ? elsewhereHint(where.others) : ''}`,
  );
  return EXIT_NOT_RUNNING;
}

export function showConfig(configDir: string, env: NodeJS.ProcessEnv, out: Out): number {
  const store = new SettingsStore(configDir);
  const { settings, envOverrides, warnings } = resolveSettings(store.read(), env);
  const where = locateRelay(configDir);
  const running = where.kind === 'none' ? null : { pid: where.info.pid, debugPort: where.info.debugPort };
  return out.print(JSON.stringify({ file: store.path, running, envOverrides, warnings, settings: redactSettings(settings) }, null, 2));
}

