// The headless relay's command line: `relay [run] | set | kill | status | config | report |
// cutover | rollback | help`. This module only reads the arguments and hands over: each
// command's module is loaded when that command runs, so `relay kill on` (built into
// dist/cli with code splitting) loads the loopback client and little else.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { APP_VERSION } from '../runtime/version';
import { defaultConfigDir } from '../settings/config-dir';
import { EXIT_OK, EXIT_RUNTIME, EXIT_USAGE, UsageError, type Out } from './exit';

export { EXIT_NOT_RUNNING, EXIT_OK, EXIT_RUNTIME, EXIT_USAGE, UsageError } from './exit';

const out: Out = {
  print(text) {
    process.stdout.write(text + '\n');
    return EXIT_OK;
  },
  fail(code, text) {
    process.stderr.write(text + '\n');
    return code;
  },
};

const OPTIONS = {
  'config-dir': { type: 'string' },
  source: { type: 'string' },
  speed: { type: 'string' },
  loop: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
  out: { type: 'string' },
  force: { type: 'boolean' },
  to: { type: 'string' },
  name: { type: 'string' },
  window: { type: 'string' },
  remove: { type: 'boolean' },
} as const;

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  try {
    return await dispatch(argv, env);
  } catch (e) {
    return explain(e, argv);
  }
}

async function dispatch(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, strict: true, options: OPTIONS });
  } catch (e) {
    throw await argumentError(e as Error, argv);
  }
  const { values, positionals } = parsed;
  if (values.version) return out.print(APP_VERSION);
  const [command = 'run', ...rest] = positionals;
  const help = await import('./help');
  if (!(help.COMMANDS as readonly string[]).includes(command)) {
    const near = help.nearestCommand(command);
    throw new UsageError(`unknown command ${JSON.stringify(command)}${near ? `; did you mean "${near}"?` : ''} (the commands: ${help.COMMANDS.join(', ')})`);
  }
  const cmd = command as (typeof help.COMMANDS)[number];
  if (values.help) return out.print(positionals.length === 0 ? help.usage() : help.commandHelp(cmd));
  if (cmd === 'help') {
    if (rest.length === 0) return out.print(help.usage());
    const topic = rest[0] as string;
    if (!(help.COMMANDS as readonly string[]).includes(topic)) {
      const near = help.nearestCommand(topic);
      throw new UsageError(`no help for ${JSON.stringify(topic)}${near ? `; did you mean "${near}"?` : ''} (the commands: ${help.COMMANDS.join(', ')})`);
    }
    return out.print(help.commandHelp(topic as (typeof help.COMMANDS)[number]));
  }
  const allowed = new Set(['config-dir', 'help', 'version', ...help.COMMAND_OPTIONS[cmd]]);
  for (const name of Object.keys(values)) {
    if (!allowed.has(name)) {
      const users = (Object.keys(help.COMMAND_OPTIONS) as (typeof help.COMMANDS)[number][]).filter((c) => help.COMMAND_OPTIONS[c].includes(name));
      throw new UsageError(`--${name} does not apply to ${cmd}; it is an option of ${users.map((c) => `relay ${c}`).join(' and ')}`, cmd);
    }
  }
  const configDir = path.resolve(values['config-dir'] ?? defaultConfigDir(env));
  switch (cmd) {
    case 'run': {
      expectArgs(rest, 0, 'run', cmd);
      const { run } = await import('./run');
      return run(configDir, { source: values.source ?? 'synthetic', speed: values.speed, loop: values.loop ?? false }, env, out);
    }
    case 'set': {
      const { assignmentsOf, setSettings } = await import('./set');
      return setSettings(configDir, assignmentsOf(rest), values.force ?? false, env, out);
    }
    case 'kill': {
      expectArgs(rest, 1, 'kill on|off', cmd);
      const flag = (rest[0] as string).toLowerCase();
      if (flag !== 'on' && flag !== 'off') throw new UsageError(`kill: got ${JSON.stringify(rest[0])}; expected "on" or "off"`, cmd);
      const { kill } = await import('./kill');
      return kill(configDir, flag === 'on', out);
    }
    case 'status': {
      expectArgs(rest, 0, 'status', cmd);
      const { status } = await import('./status');
      return status(configDir, out);
    }
    case 'config': {
      expectArgs(rest, 0, 'config', cmd);
      const { showConfig } = await import('./set');
      return showConfig(configDir, env, out);
    }
    case 'report': {
      expectArgs(rest, 0, 'report [--out <file>]', cmd);
      const { report } = await import('./status');
      return report(configDir, values.out, out);
    }
    case 'cutover': {
      const { cutover } = await import('./cutover');
      return cutover(configDir, rest, { to: values.to, name: values.name, window: values.window, remove: values.remove ?? false }, out);
    }
    case 'rollback': {
      expectArgs(rest, 0, 'rollback', cmd);
      const { rollback } = await import('./cutover');
      return rollback(configDir, out);
    }
  }
}

function expectArgs(args: string[], count: number, form: string, command: string): void {
  if (args.length !== count) throw new UsageError(`expected: relay ${form} (got ${args.length} argument(s) after the command)`, command);
}

/** node:util's words for a bad option, with the option we think was meant. */
async function argumentError(e: Error, argv: string[]): Promise<UsageError> {
  const command = argv.find((a) => !a.startsWith('-'));
  const code = (e as NodeJS.ErrnoException).code;
  const option = /'(-{1,2}[^'\s]+)'/.exec(e.message)?.[1];
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option) {
    const { nearestOption } = await import('./help');
    const near = nearestOption(option.replace(/^-+/, ''));
    return new UsageError(`unknown option ${option}${near ? `; did you mean --${near}?` : ''}`, command);
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option) {
    return new UsageError(`${option} needs a value (as in ${option} <value>)`, command);
  }
  return new UsageError(e.message, command);
}

/** Every error in words, with the exit code its kind calls for. */
async function explain(e: unknown, argv: string[]): Promise<number> {
  const error = e as Error & { problems?: unknown[]; command?: string };
  switch (error.name) {
    case 'UsageError': {
      const help = await import('./help');
      const command = (help.COMMANDS as readonly string[]).includes(error.command ?? '') ? (error.command as (typeof help.COMMANDS)[number]) : undefined;
      return out.fail(EXIT_USAGE, `Relay Agent: ${error.message}\n\n${command ? help.commandSynopsis(command) : help.usage()}`);
    }
    case 'SettingsError': {
      const lines = Array.isArray(error.problems) && error.problems.length > 0 ? error.message.split('\n').map((l) => `  - ${l}`).join('\n') : '';
      const what = argv.includes('run') || argv.every((a) => a.startsWith('-')) ? 'nothing was started or changed' : 'nothing was changed';
      return out.fail(EXIT_USAGE, `Relay Agent: bad settings, ${what}. Fix:\n${lines}`);
    }
    case 'SettingsFileError':
    case 'IbtError':
    case 'SourceUnavailableError':
    case 'SourceSpecError':
    case 'RelayLockedError':
      return out.fail(EXIT_USAGE, `Relay Agent: ${error.message}`);
    case 'RelayUnreachableError':
      return out.fail(EXIT_RUNTIME, `Relay Agent: ${error.message}`);
    default:
      return out.fail(EXIT_RUNTIME, `Relay Agent: ${error.message}`);
  }
}

// Set by scripts/build-cli.mjs: in the bundle, cli/bin.ts is the entry and this module may share its file.
declare const __RELAY_CLI_BUNDLE__: boolean | undefined;
// fileURLToPath, not URL.pathname: on Windows the pathname is /C:/... and spaces are %20, so the CLI did nothing.
const invokedDirectly = typeof __RELAY_CLI_BUNDLE__ === 'undefined' && process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      process.stderr.write(`Relay Agent: unexpected error: ${(e as Error).stack ?? e}\n`);
      process.exit(EXIT_RUNTIME);
    },
  );
}
