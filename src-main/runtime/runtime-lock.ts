// One relay per config folder. The running relay's runtime file (relay-runtime.json) is
// also its lock: created exclusively before the relay touches anything else in the folder,
// naming its pid and, once bound, its debug port, and removed when it stops. A second relay
// on the same folder refuses to start and names the first; a lock whose process is gone (a
// crash, kill -9) is taken over.
//
// Beside it, each running relay leaves a pointer in a per-user folder of the temp dir, so a
// command aimed at a folder where no relay runs can name the folders where relays do run
// (`relay kill on` without --config-dir while the demo runs elsewhere).
//
// Light on purpose (node built-ins only): the CLI reads it on the path of `relay kill on`.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const RUNTIME_FILE_NAME = 'relay-runtime.json';
/** The running relay's per-run secret, beside its runtime file: readable by the user only. */
export const DASHBOARD_SECRET_FILE = 'dashboard-secret';

export interface RuntimeInfo {
  pid: number;
  /** The bound debug port; 0 while the relay is starting (a bound port is never 0). */
  debugPort: number;
  startedAt: string;
  version: string;
  /** The config folder, resolved. */
  configDir: string;
}

export class RelayLockedError extends Error {
  constructor(
    readonly holder: RuntimeInfo,
    readonly file: string,
  ) {
    super(
      holder.pid === 0
        ? `another relay is starting for the config folder ${holder.configDir} right now (${file} was just created). One relay per config folder: wait for it and use it, or give this one another --config-dir.`
        : `another relay already runs for the config folder ${holder.configDir} (pid ${holder.pid}, ${holder.debugPort === 0 ? 'still starting' : `debug port ${holder.debugPort}`}, since ${holder.startedAt}). ` +
        `One relay per config folder: stop that one first (relay status --config-dir ${JSON.stringify(holder.configDir)} shows it), or give this one another --config-dir. ` +
        `If no process ${holder.pid} is a relay, delete ${file}.`,
    );
    this.name = 'RelayLockedError';
  }
}

/** Whether a process with this pid exists (EPERM: it does, and belongs to someone else). */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function parseInfo(text: string): RuntimeInfo | null {
  try {
    const v = JSON.parse(text) as Partial<RuntimeInfo>;
    if (typeof v.pid !== 'number' || typeof v.startedAt !== 'string') return null;
    return {
      pid: v.pid,
      debugPort: typeof v.debugPort === 'number' && Number.isInteger(v.debugPort) && v.debugPort > 0 && v.debugPort < 65536 ? v.debugPort : 0,
      startedAt: v.startedAt,
      version: typeof v.version === 'string' ? v.version : '?',
      configDir: typeof v.configDir === 'string' ? v.configDir : '',
    };
  } catch {
    return null;
  }
}

export type RunningRelay =
  | { running: true; info: RuntimeInfo; file: string }
  /** `why`: a sentence on why no relay counts as running there (no file, or a file left by a process that is gone). */
  | { running: false; file: string; why: string; stale: RuntimeInfo | null };

/** The relay that runs for this config folder, by its runtime file and whether its process lives. */
export function findRunningRelay(configDir: string): RunningRelay {
  const dir = path.resolve(configDir);
  const file = path.join(dir, RUNTIME_FILE_NAME);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return { running: false, file, why: `no relay runs for the config folder ${dir}`, stale: null };
  }
  const info = parseInfo(text);
  if (!info) return { running: false, file, why: `no relay runs for the config folder ${dir} (${file} cannot be read as a runtime file)`, stale: null };
  const withDir = { ...info, configDir: info.configDir || dir };
  if (!processAlive(info.pid)) {
    return { running: false, file, why: `no relay runs for the config folder ${dir} (the relay that ran there, pid ${info.pid}, is gone without cleaning up)`, stale: withDir };
  }
  return { running: true, info: withDir, file };
}

// ---- the per-user list of running relays ------------------------------------------------

function registryDir(): string {
  const who = typeof process.getuid === 'function' ? String(process.getuid()) : os.userInfo().username.replace(/[^A-Za-z0-9_-]/g, '_');
  return path.join(os.tmpdir(), `relay-agent-${who}`, 'running');
}

/** Relays running now for other config folders than `configDir`, as their pointers say (pointers of dead processes are ignored). */
export function otherRunningRelays(configDir: string): RuntimeInfo[] {
  const dir = path.resolve(configDir);
  let names: string[];
  try {
    names = fs.readdirSync(registryDir());
  } catch {
    return [];
  }
  const out: RuntimeInfo[] = [];
  for (const name of names) {
    if (!name.endsWith('.json')) continue;
    let info: RuntimeInfo | null = null;
    try {
      info = parseInfo(fs.readFileSync(path.join(registryDir(), name), 'utf8'));
    } catch {
      continue;
    }
    if (!info || !info.configDir || path.resolve(info.configDir) === dir || !processAlive(info.pid)) continue;
    // The folder's own runtime file is the authority: a pointer it does not confirm is stale.
    const there = findRunningRelay(info.configDir);
    if (there.running && there.info.pid === info.pid) out.push(there.info);
  }
  return out;
}

// ---- the lock -------------------------------------------------------------------------------

export class RuntimeLock {
  private released = false;
  private pointer: string | null = null;

  constructor(
    readonly file: string,
    private info: RuntimeInfo,
  ) {}

  get current(): RuntimeInfo {
    return this.info;
  }

  /** Records the bound debug port (and leaves the pointer for otherRunningRelays). */
  setDebugPort(debugPort: number): void {
    this.info = { ...this.info, debugPort };
    writeFileAtomically(this.file, JSON.stringify(this.info, null, 2));
    try {
      fs.mkdirSync(registryDir(), { recursive: true, mode: 0o700 });
      this.pointer = path.join(registryDir(), `${process.pid}-${path.basename(this.info.configDir).replace(/[^A-Za-z0-9_.-]/g, '_')}-${Date.parse(this.info.startedAt)}.json`);
      writeFileAtomically(this.pointer, JSON.stringify(this.info));
    } catch {
      // Only a hint for commands aimed at the wrong folder: the lock itself stands without it.
      this.pointer = null;
    }
  }

  /** Removes the runtime file, if it is still ours, and the pointer. */
  release(): void {
    if (this.released) return;
    this.released = true;
    if (this.pointer) fs.rmSync(this.pointer, { force: true });
    try {
      const now = parseInfo(fs.readFileSync(this.file, 'utf8'));
      if (now && now.pid === this.info.pid && now.startedAt === this.info.startedAt) fs.rmSync(this.file, { force: true });
    } catch {
      /* gone already */
    }
  }
}

function writeFileAtomically(file: string, text: string): void {
  const temp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temp, text, { mode: 0o600 });
  fs.renameSync(temp, file);
}

/**
 * Takes the config folder for this relay, or throws RelayLockedError naming the relay that
 * holds it. A lock whose process is gone is taken over. The file is created exclusively, so
 * two relays starting at the same instant cannot both win.
 */
export function acquireRuntimeLock(configDir: string, version: string): RuntimeLock {
  const dir = path.resolve(configDir);
  const file = path.join(dir, RUNTIME_FILE_NAME);
  // Unique per start, so a release never removes the lock of a later relay with a reused pid.
  const info: RuntimeInfo = { pid: process.pid, debugPort: 0, startedAt: new Date().toISOString(), version, configDir: dir };
  for (let attempt = 0; attempt < 5; attempt++) {
    let fd: number;
    try {
      fd = fs.openSync(file, 'wx', 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const found = findRunningRelay(dir);
      if (found.running) throw new RelayLockedError(found.info, file);
      if (found.stale === null && Date.now() - safeMtime(file) < 2000) {
        // Created a moment ago and not written yet: another relay is starting right now.
        throw new RelayLockedError({ pid: 0, debugPort: 0, startedAt: new Date(safeMtime(file)).toISOString(), version: '?', configDir: dir }, file);
      }
      // Left by a relay that is gone: taken over.
      fs.rmSync(file, { force: true });
      continue;
    }
    try {
      fs.writeSync(fd, JSON.stringify(info, null, 2));
    } finally {
      fs.closeSync(fd);
    }
    return new RuntimeLock(file, info);
  }
  throw new Error(`could not take the lock ${file}: it keeps being replaced by another process`);
}

function safeMtime(file: string): number {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}
