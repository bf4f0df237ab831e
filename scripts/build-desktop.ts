// Bundles the desktop app's Node side for electron-builder: the main process and the
// live reader's worker thread as ESM next to each other (reader-thread.ts finds the
// worker through import.meta.url), and the preload as one CommonJS file.
//
// Production dependencies stay external so they load from node_modules inside the asar:
// irsdk-node is native and cannot be bundled, and keeping the rest as packages lets the
// asar hold one copy each. The preload is the exception: the window is sandboxed, and a
// sandboxed preload can require nothing but 'electron', so everything else is inlined.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type BuildOptions, type Message, type Metafile } from 'esbuild';

const projectDir = fileURLToPath(new URL('..', import.meta.url));

/**
 * What runs the bundles: the Electron of package.json, its Chromium (the preload runs in the
 * renderer) and its Node (the main process and the reader's worker; Node 24 since Electron
 * 40). The build machine's own Node only runs esbuild. Bumped with Electron: a test fails
 * when the installed Electron's major differs.
 */
export const ELECTRON_RUNTIME = { major: 45, chromium: 156, node: 24 } as const;
const PRELOAD_TARGET = `chrome${ELECTRON_RUNTIME.chromium}`;
const MAIN_TARGET = `node${ELECTRON_RUNTIME.node}`;

export interface BuildDesktopOptions {
  /** Where dist/main and dist/preload go; the project's dist/ by default. */
  outDir?: string;
  minify?: boolean;
}

export interface BuildDesktopResult {
  main: string;
  worker: string;
  preload: string;
}

export class DesktopBuildError extends Error {
  constructor(entry: string, detail: string) {
    super(`build-desktop: ${entry} failed to build:\n${detail}`);
    this.name = 'DesktopBuildError';
  }
}

export function productionDependencies(): string[] {
  const pkg = JSON.parse(readFileSync(path.join(projectDir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  return Object.keys(pkg.dependencies ?? {});
}

function formatMessages(messages: Message[]): string {
  return messages
    .map((m) => (m.location ? `  ${m.location.file}:${m.location.line}:${m.location.column}: ${m.text}` : `  ${m.text}`))
    .join('\n');
}

export async function bundle(entry: string, options: BuildOptions): Promise<Metafile> {
  try {
    const result = await build({
      entryPoints: [path.join(projectDir, entry)],
      bundle: true,
      absWorkingDir: projectDir,
      logLevel: 'silent',
      metafile: true,
      ...options,
    });
    if (result.warnings.length > 0) console.warn(`build-desktop: ${entry}: warnings\n${formatMessages(result.warnings)}`);
    if (!result.metafile) throw new Error('esbuild returned no metafile');
    return result.metafile;
  } catch (err) {
    // esbuild throws with the errors attached; without them the message says only "Build failed".
    const errors = (err as { errors?: Message[] }).errors;
    throw new DesktopBuildError(entry, errors && errors.length > 0 ? formatMessages(errors) : String(err));
  }
}

// A require the sandbox cannot satisfy only fails when the window opens; fail the build instead.
function assertPreloadRequiresOnlyElectron(metafile: Metafile, entry: string): void {
  const stray = new Set<string>();
  for (const output of Object.values(metafile.outputs)) {
    for (const imported of output.imports) {
      if (imported.external && imported.path !== 'electron') stray.add(imported.path);
    }
  }
  if (stray.size > 0) {
    throw new DesktopBuildError(entry, `  a sandboxed preload can require only 'electron', but the bundle requires: ${[...stray].join(', ')}`);
  }
}

export async function buildDesktop(options: BuildDesktopOptions = {}): Promise<BuildDesktopResult> {
  const outDir = path.resolve(options.outDir ?? path.join(projectDir, 'dist'));
  const minify = options.minify ?? false;
  // Subpath imports (zod/v4, ws/wrapper…) must stay external too.
  const external = ['electron', ...productionDependencies().flatMap((dep) => [dep, `${dep}/*`])];

  const result: BuildDesktopResult = {
    main: path.join(outDir, 'main', 'main.js'),
    worker: path.join(outDir, 'main', 'worker.js'),
    preload: path.join(outDir, 'preload', 'preload.cjs'),
  };

  const nodeSide: BuildOptions = {
    platform: 'node',
    format: 'esm',
    target: MAIN_TARGET,
    external,
    sourcemap: 'linked',
    minify,
  };

  const preloadEntry = 'src-main/shell/preload.ts';
  const [, , preloadMeta] = await Promise.all([
    bundle('src-main/shell/main.ts', { ...nodeSide, outfile: result.main }),
    bundle('src-main/sources/iracing/worker.ts', { ...nodeSide, outfile: result.worker }),
    bundle(preloadEntry, {
      // 'browser', not 'node': a Node built-in has no place in a sandboxed preload, and
      // esbuild then refuses one at build time instead of leaving a require that fails later.
      platform: 'browser',
      format: 'cjs',
      target: PRELOAD_TARGET,
      external: ['electron'],
      sourcemap: 'linked',
      minify,
      outfile: result.preload,
    }),
  ]);
  assertPreloadRequiresOnlyElectron(preloadMeta, preloadEntry);
  return result;
}

const invokedDirectly = process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  const started = performance.now();
  buildDesktop({ minify: process.argv.includes('--minify') }).then(
    (out) => {
      const rel = (p: string) => path.relative(projectDir, p);
      console.log(`build-desktop: ${rel(out.main)}, ${rel(out.worker)}, ${rel(out.preload)} in ${Math.round(performance.now() - started)} ms`);
    },
    (err: unknown) => {
      console.error(err instanceof DesktopBuildError ? err.message : err);
      process.exitCode = 1;
    },
  );
}
