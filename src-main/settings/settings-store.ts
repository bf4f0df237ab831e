// The settings file: one JSON object in the config directory, written through conf (whose
// format electron-store shares, so the desktop shell reads and writes the very same file).
// Given a vault (the desktop shell's safe storage), backend tokens in it are kept sealed.
import fs from 'node:fs';
import path from 'node:path';
import Conf from 'conf';
import { maskUrl, SEALED_TOKEN_KEY, TOKENS_VARIABLE, type Settings } from '../../src-shared/settings';

export const SETTINGS_FILE_NAME = 'config.json';

/**
 * What seals backend tokens in the file: Electron's safeStorage in the desktop shell
 * (src-main/shell/adapters.ts). `available` is false where the platform offers no real
 * protection (Linux without a keyring falls back to a fixed key: that is not storage a
 * token should trust).
 */
export interface TokenVault {
  available(): { ok: true } | { ok: false; reason: string };
  /** Base64 of the encrypted bytes. */
  seal(plain: string): string;
  /** Throws when the text was sealed elsewhere (another user, another machine) or is damaged. */
  open(sealed: string): string;
}

// Kept in its own light module for the CLI's fast path; re-exported here, where callers look for it.
export { defaultConfigDir } from './config-dir';

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

/**
 * The conf options of the settings file, exactly as the backing factory receives them. Typed
 * here rather than taken from electron-store, so the headless relay never depends on
 * Electron's types. electron-store names its file by its own `name` option, whose default
 * 'config' is this configName: `(o) => new ElectronStore(o)` opens this very file.
 */
export interface ConfOptions {
  readonly cwd: string;
  readonly configName: string;
  readonly projectName: string;
  readonly clearInvalidConfig: false;
  readonly accessPropertiesByDotNotation: false;
  readonly watch: false;
  readonly deserialize: (text: string) => Record<string, unknown>;
  readonly configFileMode: number;
}

/** Calls `tick` every `periodMs` until the returned function is called; never keeps the process alive. */
export type Every = (periodMs: number, tick: () => void) => () => void;

function everyInterval(periodMs: number, tick: () => void): () => void {
  const timer = setInterval(tick, periodMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** What keeps the object in the file: conf for the headless relay, electron-store in the desktop shell. */
export type SettingsBacking = (options: ConfOptions) => { store: Record<string, unknown> };

export interface SettingsStoreOptions {
  /** Default: conf. */
  backing?: SettingsBacking;
  /** With a vault the file holds each backend's token sealed (`tokenSealed`), never in plain text. */
  vault?: TokenVault;
  /** Told what happened to tokens, and what the user must do about it. Default: nothing is said. */
  warn?: (message: string) => void;
}

/** The key of a backend entry that holds its token sealed by the desktop app's safe storage (the schema knows it too). */
export { SEALED_TOKEN_KEY };

type Entry = Record<string, unknown>;
const isEntry = (v: unknown): v is Entry => v !== null && typeof v === 'object' && !Array.isArray(v);
const isPlainToken = (v: unknown): v is string => typeof v === 'string' && v !== '';
const shownUrl = (e: Entry): string => (typeof e.url === 'string' ? maskUrl(e.url) : '(no url)');

/**
 * One line per backend whose token only the desktop app can open and which gets no token
 * from the environment either: the headless relay would otherwise connect without it and
 * the gateway's refusal would be the first sign.
 */
export function sealedTokenWarnings(file: Record<string, unknown>, settings: Settings): string[] {
  if (!Array.isArray(file.backends)) return [];
  const out: string[] = [];
  for (const e of file.backends as unknown[]) {
    if (!isEntry(e) || e[SEALED_TOKEN_KEY] === undefined || isPlainToken(e.token) || typeof e.url !== 'string') continue;
    const url = e.url.trim();
    const backend = settings.backends.find((b) => b.url === url);
    if (backend && !backend.token) {
      out.push(`backend ${maskUrl(url)} has a token sealed by the desktop app's safe storage, which the headless relay cannot open: set ${TOKENS_VARIABLE} for this run`);
    }
  }
  return out;
}

export class SettingsStore {
  private readonly conf: { store: Record<string, unknown> };
  private readonly vault: TokenVault | undefined;
  private readonly warn: (message: string) => void;
  private readonly warned = new Set<string>();
  /** Sealed text to its token, for every text this run sealed or opened: an unchanged token keeps its text, so a write does not re-encrypt it. */
  private readonly opened = new Map<string, string>();
  /** Tokens given while safe storage was unavailable, by backend URL: they live as long as this process. */
  private readonly memoryTokens = new Map<string, string>();
  readonly dir: string;
  readonly path: string;

  constructor(configDir: string, options: SettingsStoreOptions = {}) {
    this.dir = path.resolve(configDir);
    this.path = path.join(this.dir, SETTINGS_FILE_NAME);
    this.vault = options.vault;
    this.warn = options.warn ?? (() => {});
    try {
      fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    } catch (e) {
      throw new SettingsFileError(this.dir, `cannot create the config directory (${(e as Error).message})`);
    }
    const backing: SettingsBacking = options.backing ?? ((o) => new Conf<Record<string, unknown>>(o));
    try {
      this.conf = backing({
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

  /**
   * The object in the file (validated by the caller against the one schema). With a vault,
   * backends carry their opened `token` and no `tokenSealed`, so everything above this store
   * sees the same shape as the headless relay does; a plain token found in the file is moved
   * into safe storage on the way.
   */
  read(): Record<string, unknown> {
    const raw = this.readRaw();
    return this.vault ? this.openTokens(raw, this.vault) : raw;
  }

  write(value: Record<string, unknown>): void {
    const next = this.vault ? this.sealTokens(value, this.vault) : this.keepSealed(value);
    try {
      this.conf.store = next;
    } catch (e) {
      throw this.explain(e);
    }
  }

  private readRaw(): Record<string, unknown> {
    try {
      return { ...this.conf.store };
    } catch (e) {
      throw this.explain(e);
    }
  }

  /** The file's backend entries by URL; none when the file cannot be read (a write then replaces it anyway). */
  private currentEntries(): Map<string, Entry> {
    const out = new Map<string, Entry>();
    let raw: Record<string, unknown>;
    try {
      raw = this.conf.store;
    } catch {
      return out;
    }
    if (!Array.isArray(raw.backends)) return out;
    for (const e of raw.backends as unknown[]) {
      if (isEntry(e) && typeof e.url === 'string' && !out.has(e.url)) out.set(e.url, e);
    }
    return out;
  }

  /**
   * Headless: what callers write was rebuilt from resolved settings, which know nothing of a
   * sealed token. A backend written without a token keeps the sealed one of its URL, so
   * `relay set` or `relay kill` never destroys a token the desktop app saved.
   */
  private keepSealed(value: Record<string, unknown>): Record<string, unknown> {
    if (!Array.isArray(value.backends)) return value;
    const current = this.currentEntries();
    let kept = false;
    const backends = (value.backends as unknown[]).map((e) => {
      if (!isEntry(e) || e.token !== undefined || e[SEALED_TOKEN_KEY] !== undefined || typeof e.url !== 'string') return e;
      const sealed = current.get(e.url)?.[SEALED_TOKEN_KEY];
      if (sealed === undefined) return e;
      kept = true;
      return { ...e, [SEALED_TOKEN_KEY]: sealed };
    });
    return kept ? { ...value, backends } : value;
  }

  private sealTokens(value: Record<string, unknown>, vault: TokenVault): Record<string, unknown> {
    if (!Array.isArray(value.backends)) return value;
    const status = vault.available();
    const current = this.currentEntries();
    const backends = (value.backends as unknown[]).map((e) => {
      if (!isEntry(e)) return e;
      const url = typeof e.url === 'string' ? e.url : undefined;
      const before = url === undefined ? undefined : current.get(url);
      const previousSealed = before?.[SEALED_TOKEN_KEY];
      const { token, ...rest } = e;
      if (!isPlainToken(token)) {
        if (url !== undefined) this.memoryTokens.delete(url);
        // Not a token to hide (absent, or a bad value the schema will name): left as given.
        if (token !== undefined) rest.token = token;
        // read() never showed a token it could not open, so its absence here is no request to remove it.
        if (rest[SEALED_TOKEN_KEY] === undefined && previousSealed !== undefined && !this.canOpen(previousSealed, vault, status.ok)) {
          rest[SEALED_TOKEN_KEY] = previousSealed;
        }
        return rest;
      }
      if (typeof previousSealed === 'string' && this.opened.get(previousSealed) === token) {
        // Unchanged: the text already in the file still holds it, available or not.
        if (url !== undefined) this.memoryTokens.delete(url);
        rest[SEALED_TOKEN_KEY] = previousSealed;
        return rest;
      }
      if (status.ok) {
        if (url !== undefined) this.memoryTokens.delete(url);
        rest[SEALED_TOKEN_KEY] = this.seal(token, vault, e);
        return rest;
      }
      this.warnUnavailable(status.reason);
      if (url !== undefined) this.memoryTokens.set(url, token);
      // A plain token the file already held stays: dropping it would lose it for good, and moving it needs the safe storage that is missing.
      if (before?.token === token) rest.token = token;
      // A sealed text is kept for a later run that can open it.
      if (rest[SEALED_TOKEN_KEY] === undefined && previousSealed !== undefined) rest[SEALED_TOKEN_KEY] = previousSealed;
      return rest;
    });
    return { ...value, backends };
  }

  private openTokens(raw: Record<string, unknown>, vault: TokenVault): Record<string, unknown> {
    if (!Array.isArray(raw.backends)) return raw;
    const status = vault.available();
    const fileBackends = [...(raw.backends as unknown[])];
    const moved: string[] = [];
    const backends = (raw.backends as unknown[]).map((e, i) => {
      if (!isEntry(e)) return e;
      const url = typeof e.url === 'string' ? e.url : undefined;
      const shown = shownUrl(e);
      const { token, [SEALED_TOKEN_KEY]: sealed, ...rest } = e;
      const remembered = url === undefined ? undefined : this.memoryTokens.get(url);
      let plain: string | undefined;
      if (isPlainToken(token)) {
        plain = token;
        if (status.ok) {
          try {
            fileBackends[i] = { ...rest, [SEALED_TOKEN_KEY]: this.seal(token, vault, e) };
            moved.push(shown);
          } catch (err) {
            this.warnOnce(`seal:${url}`, `could not move the token of ${shown} into the system's safe storage (${(err as Error).message}); it stays in plain text in the settings file for now`);
          }
        } else {
          this.warnUnavailable(status.reason);
          this.warnOnce(`plain:${url}`, `the token of ${shown} stays in plain text in the settings file until the system's safe storage is available`);
        }
      } else {
        // A bad value is passed on for the schema to name.
        if (token !== undefined) rest.token = token;
        // Opened earlier in this run: still known even if safe storage has gone away since.
        plain = typeof sealed === 'string' ? this.opened.get(sealed) : undefined;
        if (sealed !== undefined && plain === undefined && remembered === undefined) {
          if (status.ok) {
            plain = this.tryOpen(sealed, vault);
            if (plain === undefined) {
              this.warnOnce(
                `sealed:${typeof sealed === 'string' ? sealed : url}`,
                `the token of backend ${shown} cannot be opened: it was sealed for another user or on another machine, or it is damaged. The backend connects without a token until you enter the token again in the dashboard; the sealed text stays in the settings file.`,
              );
            }
          } else {
            this.warnUnavailable(status.reason);
            this.warnOnce(`locked:${url}`, `the token of backend ${shown} is sealed and cannot be opened without the system's safe storage: enter the token again in the dashboard for this run`);
          }
        }
      }
      plain = remembered ?? plain;
      return plain === undefined ? rest : { ...rest, token: plain };
    });
    if (moved.length > 0) {
      try {
        this.conf.store = { ...raw, backends: fileBackends };
        for (const shown of moved) this.warn(`moved the token of ${shown} out of plain text into the system's safe storage`);
      } catch (err) {
        this.warn(`could not rewrite the settings file without plain-text tokens (${this.explain(err).message}); ${moved.join(', ')} keep${moved.length > 1 ? '' : 's'} a plain-text token for now`);
      }
    }
    return { ...raw, backends };
  }

  private seal(token: string, vault: TokenVault, entry: Entry): string {
    let sealed: string;
    try {
      sealed = vault.seal(token);
    } catch (e) {
      throw new SettingsFileError(this.path, `cannot seal the token of ${shownUrl(entry)} with the system's safe storage (${(e as Error).message}); nothing was written`);
    }
    this.opened.set(sealed, token);
    return sealed;
  }

  private tryOpen(sealed: unknown, vault: TokenVault): string | undefined {
    if (typeof sealed !== 'string') return undefined;
    const known = this.opened.get(sealed);
    if (known !== undefined) return known;
    try {
      const plain = vault.open(sealed);
      this.opened.set(sealed, plain);
      return plain;
    } catch {
      return undefined;
    }
  }

  private canOpen(sealed: unknown, vault: TokenVault, available: boolean): boolean {
    if (typeof sealed === 'string' && this.opened.has(sealed)) return true;
    return available && this.tryOpen(sealed, vault) !== undefined;
  }

  private warnOnce(key: string, message: string): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.warn(message);
  }

  private warnUnavailable(reason: string): void {
    this.warnOnce('unavailable', `the system's safe storage is not available (${reason}): tokens are kept for this run only and never written to the settings file`);
  }

  /**
   * Calls back soon after the file changes. conf's own watcher polls every 5 s on Linux and
   * macOS; a `relay set` must reach a running relay within 200 ms, so watch the directory
   * (conf writes atomically by rename, which a watch on the file itself would lose) and
   * poll the file's mtime as a fallback for file systems where fs.watch says nothing.
   *
   * The poll runs every `pollMs` only until the watch has shown it works here (any event
   * in the folder: the relay's own runtime and sessions files are written there at start),
   * then every `provenPollMs` as a safety net: ten stat calls and wake-ups a second were a
   * tenth of what a 60 Hz relay cost beyond a plain sender. It is fast again if the watch fails.
   * `every` runs the poll: the relay passes its shared clock, so the safety net costs no
   * wake-up of its own.
   */
  watch(onChange: () => void, pollMs = 100, provenPollMs = 2_000, every: Every = everyInterval): () => void {
    let last = this.stamp();
    const check = () => {
      const now = this.stamp();
      if (now !== last) {
        last = now;
        onChange();
      }
    };
    let stopPoll = (): void => {};
    let period = 0;
    const pollEvery = (ms: number) => {
      if (ms === period) return;
      period = ms;
      stopPoll();
      stopPoll = every(ms, check);
    };
    let watcher: fs.FSWatcher | undefined;
    try {
      watcher = fs.watch(this.dir, { persistent: false }, (_event, name) => {
        pollEvery(provenPollMs);
        if (!name || name.toString() === path.basename(this.path)) check();
      });
      watcher.on('error', () => {
        watcher?.close();
        pollEvery(pollMs);
      });
    } catch {
      watcher = undefined;
    }
    pollEvery(pollMs);
    return () => {
      stopPoll();
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
