// The headless relay as Windows runs it: the bundle of scripts/wine/build.ts on Node for
// Windows under Wine, with irsdk-node's real win32 module. Its output goes to files (Node for
// Windows cannot write to a pipe under Wine); its debug port comes from its runtime file; it
// is stopped the way a racer stops it, with Ctrl-C (SIGINT).
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { HealthResponse, SourceView } from '../../src-shared/debug-api';
import { RUNTIME_FILE_NAME, type RuntimeInfo } from '../../src-main/runtime/runtime-lock';
import { SIM_NICE } from './fake-sim';
import { windowsPath, type WinePrefix } from './wine';

export interface WineRelayOptions {
  node: string;
  cli: string;
  /** The relay's config folder (a Linux path): settings, runtime file, logs. */
  configDir: string;
  /** RELAY_* variables for this run (RELAY_DEBUG_PORT defaults to 0: any free port). */
  env?: Record<string, string>;
  /** More `relay run` options. */
  args?: string[];
  /** Where stdout and stderr go; the config folder by default. */
  outDir?: string;
}

export interface WineRelayExit {
  code: number | null;
  stdout: string;
  stderr: string;
}

const START_TIMEOUT_MS = 60_000;

export class WineRelay {
  private exit: WineRelayExit | null = null;
  private readonly exited: Promise<WineRelayExit>;

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    readonly stdoutFile: string,
    readonly stderrFile: string,
    exited: Promise<WineRelayExit>,
  ) {
    this.exited = exited.then((e) => (this.exit = e));
  }

  static async start(prefix: WinePrefix, options: WineRelayOptions): Promise<WineRelay> {
    const outDir = options.outDir ?? options.configDir;
    for (const d of [options.configDir, outDir]) fs.mkdirSync(d, { recursive: true });
    const stdoutFile = path.join(outDir, 'relay.stdout.txt');
    const stderrFile = path.join(outDir, 'relay.stderr.txt');
    const runtimeFile = path.join(options.configDir, RUNTIME_FILE_NAME);
    fs.rmSync(runtimeFile, { force: true });
    const child = prefix.spawn(options.node, {
      args: [windowsPath(options.cli), 'run', '--source', 'iracing', '--config-dir', windowsPath(options.configDir), ...(options.args ?? [])],
      env: { RELAY_DEBUG_PORT: '0', ...options.env },
      stdoutFile,
      stderrFile,
      // A reader of the sim's 60 Hz ticks keeps up only if it is not starved of CPU: iRacing's
      // SDK samples raise their priority for that (HIGH_PRIORITY_CLASS); so does this relay.
      nice: SIM_NICE,
    });
    const read = (file: string) => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '');
    const exited = new Promise<WineRelayExit>((resolve) => child.once('exit', (code) => resolve({ code, stdout: read(stdoutFile), stderr: read(stderrFile) })));
    let gone: WineRelayExit | null = null;
    void exited.then((e) => (gone = e));
    const until = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      const early = gone as WineRelayExit | null;
      if (early) throw new Error(`the relay under Wine exited (${early.code}) before it was up:\n${early.stdout}${early.stderr}`);
      try {
        const info = JSON.parse(fs.readFileSync(runtimeFile, 'utf8')) as RuntimeInfo;
        if (info.debugPort > 0) return new WineRelay(child, info.debugPort, stdoutFile, stderrFile, exited);
      } catch {
        // Not written yet.
      }
      if (Date.now() > until) {
        child.kill('SIGKILL');
        throw new Error(`the relay under Wine wrote no ${RUNTIME_FILE_NAME} within ${START_TIMEOUT_MS / 1000} s:\n${read(stdoutFile)}${read(stderrFile)}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  get running(): boolean {
    return this.exit === null;
  }

  async health(): Promise<HealthResponse> {
    const res = await fetch(`http://127.0.0.1:${this.port}/debug/health`, { signal: AbortSignal.timeout(5000) });
    if (!res.ok) throw new Error(`/debug/health answered HTTP ${res.status}`);
    return (await res.json()) as HealthResponse;
  }

  async source(): Promise<SourceView & { stats: Record<string, unknown> }> {
    const source = (await this.health()).source;
    if (!source) throw new Error('/debug/health names no source');
    return { ...source, stats: source.stats ?? {} };
  }

  /** Polls the source until `check` holds; throws naming `what` and the last view after `timeoutMs`. */
  async waitForSource(what: string, check: (s: SourceView & { stats: Record<string, unknown> }) => boolean, timeoutMs = 20_000): Promise<SourceView & { stats: Record<string, unknown> }> {
    const until = Date.now() + timeoutMs;
    let last: unknown = null;
    for (;;) {
      if (!this.running) throw new Error(`the relay exited while waiting for ${what}:\n${this.exit?.stdout}${this.exit?.stderr}`);
      const s = await this.source();
      if (check(s)) return s;
      last = s;
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}; the source said: ${JSON.stringify(last)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** The source states the relay logged, in order ("source iracing: <state>"). */
  states(): string[] {
    const log = fs.existsSync(this.stderrFile) ? fs.readFileSync(this.stderrFile, 'utf8') : '';
    return [...log.matchAll(/source iracing: ([a-z-]+)/g)].map((m) => m[1] as string);
  }

  /** Ctrl-C: the relay delivers what is queued, prints its summary and exits (0 when every frame was confirmed). */
  async stop(timeoutMs = 30_000): Promise<WineRelayExit> {
    if (this.running) this.child.kill('SIGINT');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }
}
