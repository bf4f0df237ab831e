// The relay as a racer runs it: the CLI in its own process, with its own config directory
// (settings file, settings watcher, sessions file, log file, dashboard secret), its debug
// server on a free port, and the default queue caps unless a phase says otherwise.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { HealthResponse, TargetsResponse } from '../src-shared/debug-api';
import type { CliCommand } from './build';
import { PROJECT_DIR } from './build';
import { rssBytes } from './procfs';
import { sleep, until } from './util';

export interface RelayStartOptions {
  backends: readonly string[];
  /** The CLI's run arguments after `run` (default: the synthetic 60 Hz source). */
  runArgs?: readonly string[];
  /** Settings file keys beside backends, mode and debugPort. */
  settings?: Record<string, unknown>;
  env?: Record<string, string>;
  /** Extra node flags, as in --cpu-prof. */
  nodeArgs?: readonly string[];
}

export class RelayProcess {
  readonly exited: Promise<number | null>;
  private exitCode: number | null | undefined;

  private constructor(
    readonly proc: ChildProcess,
    readonly dir: string,
    private readonly outFile: string,
  ) {
    this.exited = new Promise((resolve) => {
      proc.once('exit', (code) => {
        this.exitCode = code;
        resolve(code);
      });
    });
  }

  static async start(cli: CliCommand, options: RelayStartOptions): Promise<RelayProcess> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-bench-'));
    fs.writeFileSync(
      path.join(dir, 'config.json'),
      JSON.stringify({ backends: options.backends.map((url) => ({ url, enabled: true })), mode: 'parallel', debugPort: 0, ...options.settings }, null, '\t'),
      { mode: 0o600 },
    );
    const outFile = path.join(dir, 'output.txt');
    const out = fs.openSync(outFile, 'w');
    // Output to a file, as a terminal would take it: a pipe would charge the bench for reading it.
    const proc = spawn(process.execPath, [...(options.nodeArgs ?? []), ...cli.args, 'run', ...(options.runArgs ?? []), '--config-dir', dir], {
      cwd: PROJECT_DIR,
      env: { ...cleanEnv(), ...options.env },
      stdio: ['ignore', out, out],
    });
    fs.closeSync(out);
    const relay = new RelayProcess(proc, dir, outFile);
    try {
      // The runtime file is written first as the folder's lock (debugPort 0 while starting), then with the port.
      await until(() => relay.portOrZero() > 0, 30_000, 'the relay to bind its debug server', () => relay.exitCode !== undefined);
    } catch (e) {
      await relay.stop();
      throw new Error(`${(e as Error).message}; relay output:\n${relay.output()}`);
    }
    return relay;
  }

  get pid(): number {
    return this.proc.pid as number;
  }

  get port(): number {
    const port = this.portOrZero();
    if (port === 0) throw new Error(`the relay in ${this.dir} has no debug port (yet)`);
    return port;
  }

  private portOrZero(): number {
    try {
      return (JSON.parse(fs.readFileSync(path.join(this.dir, 'relay-runtime.json'), 'utf8')) as { debugPort?: number }).debugPort ?? 0;
    } catch {
      return 0;
    }
  }

  output(): string {
    try {
      return fs.readFileSync(this.outFile, 'utf8');
    } catch {
      return '';
    }
  }

  async get<T>(route: string): Promise<T> {
    const res = await fetch(`http://127.0.0.1:${this.port}${route}`, { signal: AbortSignal.timeout(5_000) });
    if (!res.ok) throw new Error(`${route}: HTTP ${res.status}`);
    return (await res.json()) as T;
  }

  targets(): Promise<TargetsResponse> {
    return this.get<TargetsResponse>('/debug/targets');
  }

  health(): Promise<HealthResponse> {
    return this.get<HealthResponse>('/debug/health');
  }

  /** Every target connected (welcomed by its gateway). */
  async waitConnected(timeoutMs = 15_000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const view = await this.targets();
      if (view.targets.length > 0 && view.targets.every((t) => t.state === 'connected')) return;
      if (performance.now() > deadline) throw new Error(`relay targets not connected after ${timeoutMs} ms: ${view.targets.map((t) => `${t.url} ${t.state}${t.lastError ? ` (${t.lastError})` : ''}`).join(', ')}`);
      await sleep(50);
    }
  }

  rss(): number | null {
    return rssBytes(this.pid);
  }

  /** SIGTERM (the relay delivers what it holds and exits), SIGKILL after `graceMs`; removes its directory. */
  async stop(graceMs = 10_000): Promise<number | null> {
    if (this.exitCode === undefined) {
      this.proc.kill('SIGTERM');
      const timer = setTimeout(() => this.proc.kill('SIGKILL'), graceMs);
      await this.exited;
      clearTimeout(timer);
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
    return this.exitCode ?? null;
  }
}

/** The bench's environment without RELAY_* variables, which would override the settings file. */
export function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('RELAY_')));
}
