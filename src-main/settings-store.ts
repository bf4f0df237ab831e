// The settings file: one JSON object in the config directory, written through conf (whose
// format electron-store shares, so the desktop shell reads and writes the very same file).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Conf from 'conf';

export const SETTINGS_FILE_NAME = 'config.json';

/**
 * The platform's user config dir for this app, the same folder Electron's
 * app.getPath('userData') gives an app named relay-agent, so both shells share one file.
 */
export function defaultConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  const name = 'relay-agent';
  if (process.platform === 'win32') return path.join(env.APPDATA ?? path.join(os.homedir(), 'AppData', 'Roaming'), name);
  if (process.platform === 'darwin') return path.join(os.homedir(), 'Library', 'Application Support', name);
  return path.join(env.XDG_CONFIG_HOME ?? path.join(os.homedir(), '.config'), name);
}

export class SettingsFileError extends Error {
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`settings file ${file}: ${detail}`);
    this.name = 'SettingsFileError';
  }
}

/** The file parses as JSON but its top level is not an object (conf would turn `[1,2]` into `{0:1,1:2}`). */
class NotAnObjectError extends Error {}

function parseSettingsObject(text: string): Record<string, unknown> {
  const value: unknown = JSON.parse(text);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new NotAnObjectError(`holds ${Array.isArray(value) ? 'an array' : JSON.stringify(value)}; expected a JSON object such as {"mode": "single"}; fix or delete it`);
  }
  return value as Record<string, unknown>;
}

export class SettingsStore {
  private readonly conf: Conf<Record<string, unknown>>;
  readonly dir: string;
  readonly path: string;

  constructor(configDir: string) {
    this.dir = path.resolve(configDir);
    this.path = path.join(this.dir, SETTINGS_FILE_NAME);
    try {
      fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    } catch (e) {
      throw new SettingsFileError(this.dir, `cannot create the config directory (${(e as Error).message})`);
    }
    try {
      this.conf = new Conf<Record<string, unknown>>({
        cwd: this.dir,
        configName: SETTINGS_FILE_NAME.replace(/\.json$/, ''),
        projectName: 'relay-agent',
        clearInvalidConfig: false,
        accessPropertiesByDotNotation: false,
        watch: false,
        deserialize: parseSettingsObject,
        // The file holds backend tokens: readable by this user only.
        configFileMode: 0o600,
      });
    } catch (e) {
      throw this.explain(e);
    }
  }

  /** The raw object in the file (validated by the caller against the one schema). */
  read(): Record<string, unknown> {
    try {
      return { ...this.conf.store };
    } catch (e) {
      throw this.explain(e);
    }
  }

  write(value: Record<string, unknown>): void {
    try {
      this.conf.store = value;
    } catch (e) {
      throw this.explain(e);
    }
  }

  /**
   * Calls back soon after the file changes. conf's own watcher polls every 5 s on Linux and
   * macOS; a `relay set` must reach a running relay within 200 ms, so watch the directory
   * (conf writes atomically by rename, which a watch on the file itself would lose) and
   * poll the file's mtime as a fallback for file systems where fs.watch says nothing.
   */
  watch(onChange: () => void, pollMs = 100): () => void {
    let last = this.stamp();
    const check = () => {
      const now = this.stamp();
      if (now !== last) {
        last = now;
        onChange();
      }
    };
    let watcher: fs.FSWatcher | undefined;
    try {
      watcher = fs.watch(this.dir, { persistent: false }, (_event, name) => {
        if (!name || name.toString() === path.basename(this.path)) check();
      });
      watcher.on('error', () => watcher?.close());
    } catch {
      watcher = undefined;
    }
    const poll = setInterval(check, pollMs);
    poll.unref();
    return () => {
      clearInterval(poll);
      watcher?.close();
    };
  }

  private stamp(): string {
    try {
      const st = fs.statSync(this.path);
      return `${st.mtimeMs}:${st.size}:${st.ino}`;
    } catch {
      return 'missing';
    }
  }

  private explain(e: unknown): Error {
    const err = e as Error & { code?: string };
    if (err instanceof NotAnObjectError) return new SettingsFileError(this.path, err.message);
    if (err instanceof SyntaxError) return new SettingsFileError(this.path, `is not valid JSON (${err.message}); fix or delete it`);
    if (err.code === 'EACCES' || err.code === 'EPERM') return new SettingsFileError(this.dir, `permission denied (${err.message})`);
    return new SettingsFileError(this.dir, err.message);
  }
}
