// The reference gateway as a real child process (`node --import tsx src-gateway/cli.ts`), so a
// test can SIGSTOP it, kill -9 it and start it again on the same port. Every process started
// here is tracked: killAllGatewayProcesses() (afterEach/afterAll) kills what is left, and a
// process 'exit' hook SIGKILLs any straggler, so no gateway outlives the test run.
import { spawn, type ChildProcess } from 'node:child_process';
import type { GatewayParity } from '../../src-gateway/parity';
import { childEnv, PROJECT_DIR, request } from './cli';

export interface SpawnGatewayOptions {
  /** --name (default "gw-<n>"). */
  name?: string;
  /** --port (default 0: any free port, read back from the listening line). */
  port?: number;
  /** --capture <file>, passed through as is. */
  capture?: string;
  /** --host (default: the CLI's own, 127.0.0.1). */
  host?: string;
  /** More CLI arguments, appended last. */
  extraArgs?: string[];
  /** More environment variables (RELAY_* of this process are not inherited). */
  env?: Record<string, string>;
  /** A command the node process runs under, e.g. ['ip', 'netns', 'exec', 'ns1'] (it must exec node). */
  commandPrefix?: string[];
  /** How long to wait for the listening line (default 20 s: tsx on a loaded machine). */
  startTimeoutMs?: number;
}

export interface GatewayExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface HttpReply {
  status: number;
  text: string;
  json: unknown;
}

export interface GatewayProcess {
  readonly name: string;
  readonly pid: number;
  readonly port: number;
  /** The host the gateway printed (127.0.0.1 unless --host said otherwise). */
  readonly host: string;
  /** `ws://<host>:<port>/relay`, as the gateway printed it. */
  readonly url: string;
  /** `http://<host>:<port>`. */
  readonly httpUrl: string;
  readonly stdout: string;
  readonly stderr: string;
  readonly running: boolean;
  readonly paused: boolean;
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<GatewayExit>;
  /** SIGSTOP: the kernel still accepts connections and buffers bytes, nothing is read or answered. */
  pause(): void;
  /** SIGCONT. */
  resume(): void;
  /** SIGKILL; resolves when the process has exited. */
  kill9(): Promise<GatewayExit>;
  /** SIGTERM (after a SIGCONT if paused), SIGKILL after 3 s; resolves when the process has exited. */
  stop(): Promise<GatewayExit>;
  /** GET <path> with a timeout (default 2 s); rejects on timeout or connection error. */
  get(path: string, timeoutMs?: number): Promise<HttpReply>;
  /** GET /api/dev/diagnostics/parity?sessionId=…; null on 404 (unknown session). */
  parity(sessionId: string, timeoutMs?: number): Promise<GatewayParity | null>;
  /**
   * A new process with the same options on the same port. This one must have exited first
   * (kill9() or stop()); EADDRINUSE is retried for a few seconds.
   */
  restartOnSamePort(): Promise<GatewayProcess>;
}

const LISTENING = /gateway .* listening on (ws:\/\/(\[[^\]]+\]|[^\s/:]+):(\d+)\/\S*)/;
const MAX_OUTPUT = 1024 * 1024;

const live = new Set<ChildProcess>();
let counter = 0;
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Last resort when a test run ends without afterEach/afterAll (a crash, a timeout of the hook).
  process.on('exit', () => {
    for (const child of live) {
      try {
        child.kill('SIGKILL');
      } catch {
        // gone already
      }
    }
  });
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Kills every gateway process started here that is still running (paused ones too) and waits for them. */
export async function killAllGatewayProcesses(): Promise<void> {
  const children = [...live];
  await Promise.all(
    children.map(async (child) => {
      if (!hasExited(child)) {
        // SIGKILL ends a stopped process too; the SIGCONT is for good measure.
        child.kill('SIGKILL');
        child.kill('SIGCONT');
        await new Promise<void>((resolve) => {
          if (hasExited(child)) return resolve();
          const timer = setTimeout(resolve, 5000);
          child.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      live.delete(child);
    }),
  );
}

/** How many gateway processes started here are still tracked (a test can assert it is 0). */
export function liveGatewayProcesses(): number {
  return live.size;
}

class Gateway implements GatewayProcess {
  stdout = '';
  stderr = '';
  paused = false;
  port = 0;
  host = '127.0.0.1';
  url = '';
  readonly exited: Promise<GatewayExit>;
  private exit: GatewayExit | undefined;

  constructor(
    readonly name: string,
    private readonly child: ChildProcess,
    private readonly options: SpawnGatewayOptions,
  ) {
    child.stdout?.setEncoding('utf8');
    child.stderr?.setEncoding('utf8');
    child.stdout?.on('data', (d: string) => (this.stdout = (this.stdout + d).slice(-MAX_OUTPUT)));
    child.stderr?.on('data', (d: string) => (this.stderr = (this.stderr + d).slice(-MAX_OUTPUT)));
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        this.paused = false;
        live.delete(child);
        resolve(this.exit);
      });
      child.once('error', (e) => {
        this.stderr += `\nspawn error: ${e.message}`;
        this.exit = { code: null, signal: null };
        live.delete(child);
        resolve(this.exit);
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  get httpUrl(): string {
    return `http://${this.host}:${this.port}`;
  }

  /** Resolves once the listening line is printed; rejects with the output if it exits or takes too long. */
  async ready(timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const m = this.stdout.match(LISTENING);
      if (m) {
        this.url = m[1] as string;
        this.host = m[2] as string;
        this.port = Number(m[3]);
        return;
      }
      if (!this.running) {
        throw new Error(`gateway ${this.name} exited (${JSON.stringify(this.exit)}) before listening\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`);
      }
      if (performance.now() > deadline) {
        this.child.kill('SIGKILL');
        throw new Error(`gateway ${this.name} did not print its listening line within ${timeoutMs} ms\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  pause(): void {
    if (!this.running) throw new Error(`gateway ${this.name} is not running`);
    this.child.kill('SIGSTOP');
    this.paused = true;
  }

  resume(): void {
    if (!this.running) return;
    this.child.kill('SIGCONT');
    this.paused = false;
  }

  async kill9(): Promise<GatewayExit> {
    if (this.running) this.child.kill('SIGKILL');
    return this.exited;
  }

  async stop(): Promise<GatewayExit> {
    if (!this.running) return this.exited;
    if (this.paused) this.resume();
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  get(path: string, timeoutMs = 2000): Promise<HttpReply> {
    const address = this.host.replace(/^\[|\]$/g, '');
    return request(this.port, path, { address, host: `${this.host}:${this.port}`, timeoutMs });
  }

  async parity(sessionId: string, timeoutMs = 2000): Promise<GatewayParity | null> {
    const reply = await this.get(`/api/dev/diagnostics/parity?sessionId=${encodeURIComponent(sessionId)}`, timeoutMs);
    if (reply.status === 404) return null;
    if (reply.status !== 200) throw new Error(`parity of ${sessionId} at ${this.name}: HTTP ${reply.status} ${reply.text}`);
    return reply.json as GatewayParity;
  }

  async restartOnSamePort(): Promise<GatewayProcess> {
    if (this.running) throw new Error(`gateway ${this.name} (pid ${this.pid}) is still running: kill9() or stop() it before restartOnSamePort()`);
    const deadline = performance.now() + 5000;
    for (;;) {
      try {
        return await spawnGateway({ ...this.options, name: this.name, port: this.port });
      } catch (e) {
        if (!/EADDRINUSE/.test((e as Error).message) || performance.now() > deadline) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }
}

/** Starts the gateway CLI and resolves once it prints its listening line. */
export async function spawnGateway(options: SpawnGatewayOptions = {}): Promise<GatewayProcess> {
  installExitHook();
  const name = options.name ?? `gw-${process.pid}-${++counter}`;
  const args = ['--import', 'tsx', 'src-gateway/cli.ts', '--port', String(options.port ?? 0), '--name', name];
  if (options.host !== undefined) args.push('--host', options.host);
  if (options.capture !== undefined) args.push('--capture', options.capture);
  args.push(...(options.extraArgs ?? []));
  const [command, ...prefixArgs] = [...(options.commandPrefix ?? []), process.execPath];
  const child = spawn(command as string, [...prefixArgs, ...args], {
    cwd: PROJECT_DIR,
    env: childEnv(options.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  const gateway = new Gateway(name, child, options);
  try {
    await gateway.ready(options.startTimeoutMs ?? 20_000);
  } catch (e) {
    await gateway.kill9();
    throw e;
  }
  return gateway;
}
