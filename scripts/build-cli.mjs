#!/usr/bin/env node
// Builds the headless CLI with esbuild (the bundler the desktop app uses) into
// dist/cli/relay-agent.mjs, so `relay-agent kill on` starts plain Node on a few small files
// instead of compiling TypeScript with tsx at every call.
//
// Plain JavaScript on purpose: it must run on a fresh clone before anything is compiled
// (npm's `prepare`, and `npm run relay`, which calls it with --if-stale first).
//
// Code splitting: the entry holds argument parsing and the loopback client; the relay, the
// settings schema (zod) and the rest load only for the commands that need them, so `kill on`
// against a running relay costs little more than Node's own start-up. Everything is bundled
// except irsdk-node (native) and electron: the CLI needs no module resolution at run time.
//
// Safe to run from several processes at once (test workers): every output is written to a
// temporary name and renamed into place, chunks carry a hash of their content, and the
// entry, written last, only ever points at chunks that exist.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const CLI_DIR = path.join(PROJECT_DIR, 'dist', 'cli');
export const CLI_ENTRY = path.join(CLI_DIR, 'relay-agent.mjs');
const INPUTS_FILE = path.join(CLI_DIR, 'inputs.json');
const SOURCE = 'src-main/cli/bin.ts';
// A chunk no build has named for this long is left over from an older build.
const OLD_CHUNK_MS = 10 * 60_000;

/** Why the built CLI must be rebuilt, or null when it is up to date with its sources. */
export function staleReason() {
  let built;
  try {
    built = fs.statSync(CLI_ENTRY).mtimeMs;
  } catch {
    return `${path.relative(PROJECT_DIR, CLI_ENTRY)} does not exist`;
  }
  let inputs;
  try {
    inputs = JSON.parse(fs.readFileSync(INPUTS_FILE, 'utf8'));
  } catch {
    return 'the list of its sources is missing';
  }
  for (const file of [...inputs, 'package.json', 'scripts/build-cli.mjs']) {
    let mtime;
    try {
      mtime = fs.statSync(path.join(PROJECT_DIR, file)).mtimeMs;
    } catch {
      return `${file} is gone`;
    }
    if (mtime > built) return `${file} changed`;
  }
  return null;
}

function writeAtomically(file, contents) {
  const temp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  fs.writeFileSync(temp, contents, { mode: 0o755 });
  fs.renameSync(temp, file);
}

/** Builds dist/cli; returns the entry's path. */
export async function buildCli({ minify = false } = {}) {
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: { 'relay-agent': path.join(PROJECT_DIR, SOURCE) },
    absWorkingDir: PROJECT_DIR,
    bundle: true,
    splitting: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outdir: CLI_DIR,
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunks/[name]-[hash]',
    external: ['irsdk-node', 'electron'],
    // Bundled CommonJS dependencies (conf's, ws's) call require: give the ES module one.
    banner: { js: "import { createRequire as __relayCreateRequire } from 'node:module';\nconst require = __relayCreateRequire(import.meta.url);" },
    define: { __RELAY_CLI_BUNDLE__: 'true' },
    write: false,
    metafile: true,
    minify,
    logLevel: 'silent',
  });
  fs.mkdirSync(path.join(CLI_DIR, 'chunks'), { recursive: true });
  const entry = result.outputFiles.find((f) => f.path === CLI_ENTRY);
  if (!entry) throw new Error(`esbuild wrote no ${CLI_ENTRY}`);
  const written = new Set();
  for (const f of result.outputFiles) {
    written.add(f.path);
    if (f !== entry) writeAtomically(f.path, f.contents);
  }
  const inputs = Object.keys(result.metafile.inputs).filter((p) => !p.startsWith('node_modules/') && !p.includes('/node_modules/'));
  writeAtomically(INPUTS_FILE, JSON.stringify(inputs, null, 1));
  // Last: the entry, with the shebang that lets the bin entry run it.
  const text = Buffer.from(entry.contents).toString('utf8');
  writeAtomically(CLI_ENTRY, text.startsWith('#!') ? text : `#!/usr/bin/env node\n${text}`);
  const chunkDir = path.join(CLI_DIR, 'chunks');
  for (const name of fs.readdirSync(chunkDir)) {
    const file = path.join(chunkDir, name);
    try {
      if (!written.has(file) && Date.now() - fs.statSync(file).mtimeMs > OLD_CHUNK_MS) fs.rmSync(file, { force: true });
    } catch {
      /* another build removed it */
    }
  }
  return CLI_ENTRY;
}

const invokedDirectly = process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  const ifStale = process.argv.includes('--if-stale');
  const reason = staleReason();
  if (ifStale && reason === null) process.exit(0);
  const started = performance.now();
  buildCli({ minify: process.argv.includes('--minify') }).then(
    (entry) => {
      // Said on stderr, so that `npm run relay -- status` keeps stdout for the command's own output.
      process.stderr.write(`build-cli: ${path.relative(PROJECT_DIR, entry)} built in ${Math.round(performance.now() - started)} ms${reason ? ` (${reason})` : ''}\n`);
    },
    (err) => {
      if (process.argv.includes('--prepare') && err && err.code === 'ERR_MODULE_NOT_FOUND') {
        // An install without the dev dependencies (npm ci --omit=dev) has no esbuild: nothing to build with.
        process.stderr.write('build-cli: esbuild is not installed (dev dependencies omitted); the CLI is not built. Run npm run build:cli once they are.\n');
        process.exit(0);
      }
      const errors = err && Array.isArray(err.errors) ? err.errors : [];
      const detail = errors.length > 0 ? errors.map((m) => (m.location ? `  ${m.location.file}:${m.location.line}:${m.location.column}: ${m.text}` : `  ${m.text}`)).join('\n') : String(err);
      process.stderr.write(`build-cli: the CLI failed to build:\n${detail}\n`);
      process.exit(1);
    },
  );
}
