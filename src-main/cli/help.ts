// The CLI's words: the usage, each command's own --help with every option, and the meaning
// of every setting (from src-shared/settings, where the dashboard reads them too). Loaded
// only when help is asked for or a command line is wrong.
import { DEFAULT_SETTINGS, SETTING_MEANINGS, SETTING_VARIABLES, nearestName, type Settings } from '../../src-shared/settings';
import { APP_VERSION } from '../runtime/version';

export const COMMANDS = ['run', 'set', 'kill', 'status', 'config', 'report', 'cutover', 'rollback', 'help'] as const;
export type Command = (typeof COMMANDS)[number];

/** The options each command takes, beyond --config-dir and --help. */
export const COMMAND_OPTIONS: Record<Command, readonly string[]> = {
  run: ['source', 'speed', 'loop'],
  set: ['force'],
  kill: [],
  status: [],
  config: [],
  report: ['out'],
  cutover: ['to', 'name', 'window', 'remove'],
  rollback: [],
  help: [],
};

const CONFIG_DIR = '  --config-dir <dir>   the config folder of the relay to act on (default: the platform\'s user config folder,\n                       ~/.config/relay-agent on Linux); one relay runs per folder';
const EXIT_CODES = 'Exit codes: 0 done (and confirmed by the running relay), 1 the relay did not confirm or failed,\n2 bad input or refused, 3 no relay runs for that config folder (a setting is then saved for its next start).';

const HELP: Record<Command, string> = {
  run: `relay [run] [--source <source>] [--speed <x>|max] [--loop] [--config-dir <dir>]

Runs the relay: reads the settings file and RELAY_* variables, relays telemetry to the backends,
applies every change of the settings file live, and serves the debug endpoints and the
dashboard on 127.0.0.1. One relay per config folder. Ctrl-C or SIGTERM ends the run: the
gateways confirm what they hold, and it exits 0 only when every frame was confirmed.

Options:
  --source synthetic        generated 60 Hz telemetry (the default)
  --source ibt:<file.ibt>   replay an iRacing recording, on its own clock
  --source iracing          live telemetry from the sim (Windows)
  --speed <x>|max           with ibt: replay x times the recorded pace (up to 1000), or as fast as the gateways take it
  --loop                    with ibt: start again at the end
${CONFIG_DIR}`,
  set: `relay set <NAME> <VALUE> [--force] [--config-dir <dir>]
relay set NAME=VALUE [NAME=VALUE ...] [--force] [--config-dir <dir>]

Changes settings. With a relay running for the config folder, the relay checks the change,
saves it in the settings file, applies it at once and confirms what it now runs with; a
setting that its environment pins (a RELAY_* variable set when it started) is refused, naming
the variable. Without one, the change is saved for the next start (exit 3). Several settings
in one command are one change, checked as a whole: the backend list and the primary can
change together (relay set RELAY_BACKENDS=wss://b/relay RELAY_PRIMARY_INDEX=0).

Settings under which no backend would receive frames (single mode with a disabled primary,
every backend disabled) are refused: telemetry would go nowhere.

Options:
  --force   accept settings under which no backend receives frames (the relay then shows Critical)
${CONFIG_DIR}

NAME is the variable (RELAY_BACKEND_MODE) or its settings-file key (mode). The settings:
${settingsTable()}`,
  kill: `relay kill on|off [--config-dir <dir>]

The kill switch. "on" cuts every backend off at once through the running relay, which
confirms how many connections it closed and how fast (the spec asks within 100 ms); it stays
on, across restarts, until "off". Without a relay running for the folder it is saved, and the
next relay starts with every backend cut off (exit 3).

Options:
${CONFIG_DIR}`,
  status: `relay status [--config-dir <dir>]

What the relay running for the config folder is doing: its health (Critical when telemetry is
going nowhere), the parity verdict, the source, and per backend what was delivered (confirmed
by the gateway), in flight, queued, dropped and lost. Exit 3 when no relay runs there.

Options:
${CONFIG_DIR}`,
  config: `relay config [--config-dir <dir>]

The settings in force for that folder (the file with this shell's RELAY_* variables over it),
secrets redacted, as JSON, with the running relay's pid and port if one runs.

Options:
${CONFIG_DIR}`,
  report: `relay report [--out <file>] [--config-dir <dir>]

Saves the running relay's parity report: <file>.json for tools and <file>.html for people
(default: relay-parity-report-<time> in this folder), secrets redacted.

Options:
  --out <file>   where to save (a .json name; the .html goes beside it)
${CONFIG_DIR}`,
  cutover: `relay cutover --to <url> [--name <name>] [--window 2m] [--remove] [--config-dir <dir>]
relay cutover status|pause|resume|retry|abort|remove [--config-dir <dir>]

Moves telemetry from the primary backend to a new one, the spec's blue/green playbook as one
guided procedure run by the relay: add the new backend, parallel mode, hold until the relay's
parity verdict has been healthy for the whole window, make the new one the primary, single
mode, disable the old one, and (with --remove, or "relay cutover remove" later) remove it.
Each step waits until the relay confirms its effect. Progress prints as it goes; Ctrl-C pauses
the cutover. Every step, with the verdict at that moment, goes into the parity report.

Options:
  --to <url>        the new gateway (ws:// or wss://)
  --name <name>     its friendly name (shown beside the URL everywhere)
  --window <time>   how long parity must stay healthy before the switch: 2m (default), 90s, 1m30s
  --remove          remove the old backend at the end (its account stays in the report)
${CONFIG_DIR}

  status   where the cutover stands      pause    hold before the next step
  resume   go on from where it holds     retry    wait again for a step that failed
  abort    stop; a step not yet confirmed is undone
  remove   after a completed cutover, remove the old backend`,
  rollback: `relay rollback [--config-dir <dir>]

Undoes the last step of the cutover: restores the backends, mode and primary as they were
before it, and waits until deliveries are confirmed again. It is refused, and changes
nothing, when the restored settings would send telemetry only to a gateway that is not
confirming deliveries now. Run it again to undo the step before. The kill switch is never
touched.

Options:
${CONFIG_DIR}`,
  help: `relay help [command]

Prints the usage, or the help of one command (the same as relay <command> --help).`,
};

export function usage(): string {
  return `Relay Agent ${APP_VERSION}: fans iRacing telemetry out to several gateways.

Usage:
  relay [run] [--source synthetic|ibt:<file.ibt>|iracing] [--speed <x>|max] [--loop]   run the relay
  relay set <NAME> <VALUE> | relay set NAME=VALUE ... [--force]   change settings (applied and confirmed by the running relay)
  relay kill on|off                       the kill switch: cut every backend off, or restore them
  relay status                            what the running relay is doing
  relay config                            the settings in force (secrets redacted)
  relay report [--out <file>]             save the running relay's parity report (.json and .html)
  relay cutover --to <url> [--window 2m] [--remove]   the guided blue/green cutover; status|pause|resume|retry|abort|remove
  relay rollback                          undo the last cutover step
  relay help [command]                    a command's options, and what every setting means
Every command takes --config-dir <dir> (default: the user config folder) and --help.

Settings (relay help set says what each means): ${Object.keys(SETTING_VARIABLES).join(', ')}
(or their file keys: mode, primaryIndex, backends, enabled, tokens, names, killSwitch, maxBackends, ...).
Environment variables of the same names override the settings file for one run; the kill switch
is on if either says so. It reads 1, true, on, yes as on and 0, false, off, no as off; any other
value in the file or the environment counts as on.
${EXIT_CODES}`;
}

/** The command's synopsis lines, for an error message: the whole help is one --help away. */
export function commandSynopsis(command: Command): string {
  const synopsis = HELP[command].split('\n\n')[0] ?? '';
  return `Usage:\n${synopsis.split('\n').map((l) => `  ${l}`).join('\n')}\n(relay ${command} --help: every option${command === 'set' ? ' and what each setting means' : ''})`;
}

export function commandHelp(command: Command): string {
  return `${HELP[command]}\n\n${EXIT_CODES}`;
}

/** A command name for a slip of the keyboard ('stauts'), or nothing. */
export function nearestCommand(name: string): string | undefined {
  return nearestName(name, COMMANDS);
}

export function nearestOption(name: string): string | undefined {
  const all = ['config-dir', 'help', 'version', ...new Set(Object.values(COMMAND_OPTIONS).flat())];
  return nearestName(name, all);
}

function defaultOf(variable: string): string {
  const key = SETTING_VARIABLES[variable];
  if (key === 'enabled') return 'all 1';
  if (key === 'tokens' || key === 'names' || key === 'backends' || key === undefined) return '(none)';
  const value = DEFAULT_SETTINGS[key as keyof Settings];
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (Array.isArray(value)) return value.join(',');
  return String(value);
}

function settingsTable(): string {
  return Object.keys(SETTING_VARIABLES)
    .map((v) => `  ${v} (default ${defaultOf(v)})\n      ${SETTING_MEANINGS[v] ?? ''}`)
    .join('\n');
}
