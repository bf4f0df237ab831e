// What the bench runs as separate processes, each as plain `node <file>.mjs`: the relay CLI
// bundle (issue 10's dist/cli/relay-agent.mjs, the file a racer runs) and the bench's own
// scripts (the plain senders and the gateways' side), bundled here the same way so that no
// process under measurement pays for tsx's loader or its wrapped closures.
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { build } from 'esbuild';
import { PROJECT_DIR } from './paths';

export { PROJECT_DIR };
/** Inside the project, so version.ts finds package.json above the bundles; dist/ is git-ignored. */
const OUT_DIR = path.join(PROJECT_DIR, 'dist', 'bench');
export const CLI_BUNDLE = path.join(PROJECT_DIR, 'dist', 'cli', 'relay-agent.mjs');
const CLI_BUILD_SCRIPT = path.join(PROJECT_DIR, 'scripts', 'build-cli.mjs');

export type BenchScript = 'sink' | 'plain-sender' | 'plain-replay' | 'ibt-reader';

/** ESM bundles still meet CommonJS packages (ws's optional deps, conf's); they need a require. */
const REQUIRE_SHIM = "import { createRequire as __benchCreateRequire } from 'node:module'; const require = __benchCreateRequire(import.meta.url);";

export async function buildBenchScripts(): Promise<Record<BenchScript, string>> {
  const names: BenchScript[] = ['sink', 'plain-sender', 'plain-replay', 'ibt-reader'];
  fs.mkdirSync(OUT_DIR, { recursive: true });
  await build({
    entryPoints: names.map((n) => path.join(PROJECT_DIR, 'bench', `${n}.ts`)),
    outdir: OUT_DIR,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    banner: { js: REQUIRE_SHIM },
    // ws's optional native helpers: absent here, and ws copes without them.
    external: ['bufferutil', 'utf-8-validate'],
    logLevel: 'warning',
  });
  return Object.fromEntries(names.map((n) => [n, path.join(OUT_DIR, `${n}.mjs`)])) as Record<BenchScript, string>;
}

export interface CliCommand {
  /** node's arguments before the CLI's own. */
  args: string[];
  /** What is measured, for the printed lines. */
  describe: string;
}

/**
 * The relay as the CLI runs it: the built bundle (dist/cli/relay-agent.mjs, the relay-agent
 * bin), rebuilt first by its own build script when its sources changed, as `npm run relay`
 * does. RELAY_BENCH_CLI=<file.mjs> measures another build of the CLI instead.
 */
export function relayCli(): CliCommand {
  const other = process.env.RELAY_BENCH_CLI;
  if (other) return { args: [path.resolve(other)], describe: `node ${other} (RELAY_BENCH_CLI)` };
  const r = spawnSync(process.execPath, [CLI_BUILD_SCRIPT, '--if-stale'], { cwd: PROJECT_DIR, stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error(`${path.relative(PROJECT_DIR, CLI_BUILD_SCRIPT)} failed (exit ${r.status})`);
  return { args: [CLI_BUNDLE], describe: `node ${path.relative(PROJECT_DIR, CLI_BUNDLE)}` };
}
