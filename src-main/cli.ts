// The headless relay: `relay [run] | set <key> <value> | kill on|off | status | config | report`.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { SettingsError, applySettingText, maskUrl, redactSettings, resolveSettings, settingTarget, SETTING_VARIABLES } from '../src-shared/settings';
import type { HealthResponse, ParityResponse, TargetsResponse } from '../src-shared/debug-api';
import { HTTP_ROUTES, type ReportExport } from '../src-shared/bridge';
import { Relay, RUNTIME_FILE_NAME, describe, describeUnconfirmed, type RuntimeInfo, type SourceFactory } from './relay';
import { SETTINGS_FILE_NAME, SettingsFileError, SettingsStore, defaultConfigDir } from './settings-store';
import { parseSourceSpec, SourceSpecError } from './sources/source-spec';
import { IbtError } from './ibt/errors';
import { SourceUnavailableError } from './sources/source';
import { createLogger } from './log';
import { APP_VERSION } from './version';

export const EXIT_OK = 0;
export const EXIT_RUNTIME = 1;
export const EXIT_USAGE = 2;

const USAGE = `Relay Agent ${APP_VERSION}: fans iRacing telemetry out to several gateways.

Usage:
  relay [run] [--source synthetic] [--config-dir <dir>]   run the relay
  relay set <name> <value> [--config-dir <dir>]           change a setting (a running relay applies it live)
  relay kill on|off [--config-dir <dir>]                  the kill switch: cut every backend off, or restore them
  relay status [--config-dir <dir>]                       what the running relay is doing
  relay config [--config-dir <dir>]                       the settings in force (secrets redacted)
  relay report [--out <file>] [--config-dir <dir>]        save the running relay's parity report: <file>.json
                                                          for tools and <file>.html for people (secrets redacted)

Settings names for "set": ${Object.keys(SETTING_VARIABLES).join(', ')}
(or their keys: mode, primaryIndex, backends, enabled, tokens, killSwitch, maxBackends, ...). Environment
variables of the same names override the settings file for one run; the kill switch is on if either
says so. The kill switch reads 1, true, on, yes as on and 0, false, off, no as off; any other value
in the file or the environment counts as on.`;

class UsageError extends Error {}

function parseSource(spec: string, speedText: string | undefined, loop: boolean): SourceFactory {
  try {
    return parseSourceSpec(spec, speedText, loop);
  } catch (e) {
    if (e instanceof SourceSpecError) throw new UsageError(e.message);
    throw e;
  }
}

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        'config-dir': { type: 'string' },
        source: { type: 'string' },
        speed: { type: 'string' },
        loop: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean' },
        out: { type: 'string' },
      },
    });
  } catch (e) {
    return fail(EXIT_USAGE, `${(e as Error).message}\n\n${USAGE}`);
  }
  const { values, positionals } = parsed;
  if (values.help) return print(USAGE);
  if (values.version) return print(APP_VERSION);
  if (values.out !== undefined && positionals[0] !== 'report') return fail(EXIT_USAGE, `Relay Agent: --out applies to the report command only\n\n${USAGE}`);
  const configDir = values['config-dir'] ?? defaultConfigDir(env);
  const [command = 'run', ...rest] = positionals;
  try {
    switch (command) {
      case 'run':
        expectArgs(rest, 0, 'run');
        return await run(configDir, parseSource(values.source ?? 'synthetic', values.speed, values.loop ?? false), env);
      case 'set':
        expectArgs(rest, 2, 'set <name> <value>');
        return setSetting(configDir, rest[0] as string, rest[1] as string);
      case 'kill': {
        expectArgs(rest, 1, 'kill on|off');
        const flag = (rest[0] as string).toLowerCase();
        if (flag !== 'on' && flag !== 'off') throw new UsageError(`kill: got ${JSON.stringify(rest[0])}; expected "on" or "off"`);
        return setKillSwitch(configDir, flag === 'on');
      }
      case 'status':
        expectArgs(rest, 0, 'status');
        return await status(configDir, env);
      case 'config':
        expectArgs(rest, 0, 'config');
        return showConfig(configDir, env);
      case 'report':
        expectArgs(rest, 0, 'report [--out <file>]');
        return await report(configDir, env, values.out);
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)}; expected run, set, kill, status, config or report`);
    }
  } catch (e) {
    if (e instanceof SettingsError) {
      return fail(EXIT_USAGE, `Relay Agent: bad settings, nothing was started or changed. Fix:\n${e.problems.length > 0 ? e.message.split('\n').map((l) => `  - ${l}`).join('\n') : ''}`);
    }
    if (e instanceof UsageError) return fail(EXIT_USAGE, `Relay Agent: ${e.message}\n\n${USAGE}`);
    if (e instanceof SettingsFileError || e instanceof IbtError || e instanceof SourceUnavailableError) return fail(EXIT_USAGE, `Relay Agent: ${e.message}`);
    return fail(EXIT_RUNTIME, `Relay Agent: ${(e as Error).message}`);
  }
}

function expectArgs(args: string[], count: number, form: string): void {
  if (args.length !== count) throw new UsageError(`expected: relay ${form} (got ${args.length} argument(s) after the command)`);
}

/** `synthetic`, `ibt:<path>` (with --speed and --loop) or `iracing`. */
async function run(configDir: string, source: SourceFactory, env: NodeJS.ProcessEnv): Promise<number> {
  const log = createLogger();
  const relay = await Relay.start({ configDir, env, source, log });
  process.stdout.write(
    `Relay Agent ${APP_VERSION} running (${describe(relay.settings)})\n` +
      `  source:   ${relay.source.kind}${relay.source.session ? `, session ${relay.source.session.sessionId}` : ''}\n` +
      `  settings: ${relay.store.path}\n` +
      `  debug:    http://127.0.0.1:${relay.debug.port}/debug/health  /debug/targets  /debug/parity\n` +
      `  dashboard: ${relay.dashboardUrl}\n`,
  );
  return new Promise<number>((resolve) => {
    let stopping = false;
    // Every way out (Ctrl-C, SIGTERM, the end of a recording) ends each target's delivery:
    // the gateways confirm what they hold, and only then does the relay say delivered.
    const finish = (why: string) => {
      if (stopping) return;
      stopping = true;
      const produced = relay.source.framesProduced;
      relay.stop().then(
        (results) => {
          const short = results.filter((r) => !r.complete);
          if (short.length === 0) {
            process.stdout.write(`${why}: ${produced} frames produced; every frame given to a gateway was confirmed by it (or counted as dropped, with its reason)\n`);
            resolve(EXIT_OK);
            return;
          }
          process.stdout.write(`${why}: ${produced} frames produced; NOT confirmed: ${short.map((r) => `${r.url}: ${describeUnconfirmed(r)}`).join('; ')}\n`);
          resolve(EXIT_RUNTIME);
        },
        () => resolve(EXIT_RUNTIME),
      );
    };
    // conf's atomic writes (atomically, through when-exit) hook SIGINT and SIGTERM to re-raise
    // them: on Windows that re-raise is TerminateProcess, which ended the relay with exit 1 before
    // it had delivered anything or said what. This handler is the way out; their cleanup still
    // runs on 'exit'.
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.removeAllListeners(signal);
    process.once('SIGINT', () => {
      log.info('SIGINT: stopping');
      finish('stopped (SIGINT)');
    });
    process.once('SIGTERM', () => {
      log.info('SIGTERM: stopping');
      finish('stopped (SIGTERM)');
    });
    relay.source.finished?.then(() => {
      if (stopping) return;
      log.info(`recording ended after ${relay.source.framesProduced} frames; delivering what is still queued and waiting for the gateways to confirm`);
      finish('replay finished');
    });
  });
}

function setSetting(configDir: string, name: string, value: string): number {
  // An unknown name is refused here, with the nearest known one, before the file is opened.
  const target = settingTarget(name, value);
  if (target === 'killSwitch') {
    // Its value alone is checked (a value that is neither on nor off changes nothing), then
    // written like `relay kill`: no other setting, valid or not, stands in its way.
    return setKillSwitch(configDir, applySettingText({}, name, value).killSwitch === true);
  }
  const store = new SettingsStore(configDir);
  const next = applySettingText(store.read(), name, value);
  // The whole file must still be valid on its own before it is written.
  const { warnings } = resolveSettings(next, {});
  store.write(next);
  // Never echo a secret: tokens are hidden, backend URLs shown with credentials masked.
  const shown = target === 'tokens' ? '(redacted)' : target === 'backends' ? value.split(',').map((u) => maskUrl(u.trim())).join(',') : value;
  return print(`${name} = ${shown} saved to ${store.path}; a running relay applies it within 200 ms${warningLines(warnings)}`);
}

/** Warnings (unknown keys and variables), one indented line each after a heading; nothing when there are none. */
function warningLines(warnings: readonly string[]): string {
  return warnings.length === 0 ? '' : `\nwarnings:\n${warnings.map((w) => `  - ${w}`).join('\n')}`;
}

/**
 * The emergency control writes its one key whatever else the file holds: an unrelated bad
 * setting must never stand between a racer and the kill switch. Not even a file that is not
 * JSON at all: to turn the switch on, that file is kept beside as config.json.broken-<time>
 * and replaced by one that holds only the kill switch.
 */
function setKillSwitch(configDir: string, on: boolean): number {
  let store: SettingsStore;
  let file: Record<string, unknown>;
  let moved = '';
  try {
    store = new SettingsStore(configDir);
    file = store.read();
  } catch (e) {
    if (!on || !(e instanceof SettingsFileError)) throw e;
    const target = path.join(path.resolve(configDir), SETTINGS_FILE_NAME);
    const aside = `${target}.broken-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    try {
      // Kept as it is, readable by this user only (it may hold tokens), then replaced in one rename.
      fs.writeFileSync(aside, fs.readFileSync(target), { mode: 0o600, flag: 'wx' });
      const temp = `${target}.kill-${process.pid}`;
      fs.writeFileSync(temp, `${JSON.stringify({ killSwitch: true }, undefined, '\t')}\n`, { mode: 0o600 });
      fs.renameSync(temp, target);
    } catch {
      // Not readable, or the directory not writable: nothing this command can fix.
      throw e;
    }
    moved = `\n(${e.message}\nThe broken file was kept as ${aside} and replaced by one holding only the kill switch; restore your settings from it once the kill switch has done its job)`;
    store = new SettingsStore(configDir);
    file = store.read();
  }
  store.write({ ...file, killSwitch: on });
  let note = '';
  let warnings: string[] = [];
  try {
    warnings = resolveSettings(store.read(), {}).warnings;
  } catch (e) {
    if (e instanceof SettingsError) {
      warnings = e.warnings;
      const effect = on ? 'the kill switch applies regardless' : 'a running relay applies no settings file with problems, so its kill switch stays as it is (on, if it was) until they are fixed';
      note = `\n(note: other settings in the file are invalid and were left as they are:\n${e.message}\n${effect})`;
    }
  }
  return print(`kill switch ${on ? 'ON: every backend is cut off' : 'off: backends reconnect'}; saved to ${store.path}, a running relay applies it within 200 ms${moved}${note}${warningLines(warnings)}`);
}

function showConfig(configDir: string, env: NodeJS.ProcessEnv): number {
  const store = new SettingsStore(configDir);
  const { settings, envOverrides, warnings } = resolveSettings(store.read(), env);
  return print(JSON.stringify({ file: store.path, envOverrides, warnings, settings: redactSettings(settings) }, null, 2));
}

/** The running relay's debug port: from its runtime file, else the one configured. */
function runningPort(configDir: string, env: NodeJS.ProcessEnv): number {
  const store = new SettingsStore(configDir);
  try {
    return (JSON.parse(fs.readFileSync(path.join(store.dir, RUNTIME_FILE_NAME), 'utf8')) as RuntimeInfo).debugPort;
  } catch {
    return resolveSettings(store.read(), env).settings.debugPort;
  }
}

/** `relay report --out <file>`: the running relay builds it (it holds the counters); this process saves it. */
async function report(configDir: string, env: NodeJS.ProcessEnv, out: string | undefined): Promise<number> {
  const port = runningPort(configDir, env);
  let body: ReportExport;
  try {
    // The relay waits up to 2 s for each gateway (in parallel): 10 s is ample.
    const res = await fetch(`http://127.0.0.1:${port}${HTTP_ROUTES.report}`, { signal: AbortSignal.timeout(10_000) });
    const parsed = (await res.json()) as ReportExport | { error?: string };
    if (!res.ok || !('ok' in parsed) || parsed.ok !== true) throw new Error(`${HTTP_ROUTES.report} answered HTTP ${res.status}${'error' in parsed && parsed.error ? `: ${parsed.error}` : ''}`);
    body = parsed;
  } catch (e) {
    return fail(EXIT_RUNTIME, `Relay Agent: no relay answers with a report on http://127.0.0.1:${port} (${(e as Error).message}); the report comes from a running relay: start one with npm run relay`);
  }
  const target = path.resolve(out ?? `${body.fileBase}.json`);
  const jsonFile = path.extname(target) === '' ? `${target}.json` : target;
  const htmlFile = path.join(path.dirname(jsonFile), `${path.basename(jsonFile, path.extname(jsonFile))}.html`);
  if (htmlFile === jsonFile) return fail(EXIT_USAGE, `Relay Agent: --out ${out} would write the JSON over the HTML; give a .json file name`);
  fs.mkdirSync(path.dirname(jsonFile), { recursive: true });
  fs.writeFileSync(jsonFile, body.json);
  fs.writeFileSync(htmlFile, body.html);
  return print(`report saved:\n  ${jsonFile}\n  ${htmlFile}`);
}

async function status(configDir: string, env: NodeJS.ProcessEnv): Promise<number> {
  const port = runningPort(configDir, env);
  const get = async <T,>(p: string): Promise<T> => {
    const res = await fetch(`http://127.0.0.1:${port}${p}`, { signal: AbortSignal.timeout(2000) });
    if (!res.ok) throw new Error(`${p} answered HTTP ${res.status}`);
    return (await res.json()) as T;
  };
  let health: HealthResponse;
  let targets: TargetsResponse;
  let parity: ParityResponse;
  try {
    [health, targets, parity] = await Promise.all([get<HealthResponse>('/debug/health'), get<TargetsResponse>('/debug/targets'), get<ParityResponse>('/debug/parity')]);
  } catch (e) {
    return fail(EXIT_RUNTIME, `no relay answers on http://127.0.0.1:${port} (${(e as Error).message}); start one with: npm run relay`);
  }
  return print(formatStatus(health, targets, parity));
}

export function formatStatus(health: HealthResponse, targets: TargetsResponse, parity?: ParityResponse): string {
  const lines = [
    `Relay Agent ${health.version}: ${health.status.toUpperCase()}${health.killSwitch ? '  *** Kill Switch Active: no telemetry leaves this machine ***' : ''}`,
    `mode ${health.mode}, primary ${targets.primaryIndex}, session ${health.sessionId ?? '-'}`,
  ];
  if (parity) {
    const since = parity.healthySinceMs === null ? '' : ` for ${Math.max(0, Math.round((Date.now() - parity.healthySinceMs) / 1000))} s`;
    lines.push(`parity ${parity.verdict.status}${since}, drift ${parity.driftPct}% (on confirmed deliveries)${parity.verdict.reasons.length > 0 ? `: ${parity.verdict.reasons.join('; ')}` : ''}`);
  }
  if (health.source) {
    const s = health.source;
    const cost = s.stats && typeof s.stats.readP50Ms === 'number' ? `, read p50/p99 ${s.stats.readP50Ms}/${s.stats.readP99Ms ?? '-'} ms` : '';
    lines.push(`source ${s.kind}: ${s.state} (${s.connected ? 'connected' : 'not connected'}), ${s.framesProduced} frames produced, session ${s.sessionId ?? '-'}${cost}`);
  }
  for (const t of targets.targets) {
    const c = t.counters;
    lines.push(
      `  ${t.primary ? '*' : ' '} ${t.url}  ${t.state}${t.enabled ? '' : ' (disabled)'}  delivered ${c.delivered} (confirmed)  in flight ${c.inFlight}  queued ${c.queued}  dropped ${c.dropped}  lost ${c.lost}` +
        `  (sent ${c.sent}, acked ${c.acked})  ack p50/p95 ${t.ackLatency.p50 ?? '-'}/${t.ackLatency.p95 ?? '-'} ms  drift ${t.driftPct}%  ${t.health.status}`,
    );
    if (t.lastError) lines.push(`      last error: ${t.lastError}`);
  }
  for (const t of targets.removed) {
    const c = t.counters;
    lines.push(`    ${t.url}  removed during this run: delivered ${c.delivered} (confirmed)  in flight ${c.inFlight}  queued ${c.queued}  dropped ${c.dropped}  lost ${c.lost}`);
  }
  for (const r of health.reasons) lines.push(`  ! ${r}`);
  return lines.join('\n');
}

function print(text: string): number {
  process.stdout.write(text + '\n');
  return EXIT_OK;
}

function fail(code: number, text: string): number {
  process.stderr.write(text + '\n');
  return code;
}

// Set by scripts/build-cli.mjs: in the bundle, cli-bin.ts is the entry and this module may share its file.
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
