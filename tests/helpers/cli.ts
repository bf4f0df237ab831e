// Runs the real headless CLI as child processes, as it ships: the built dist/cli/relay-agent.mjs
// (the package's relay-agent bin), rebuilt first from the current sources when they are newer,
// and cleans up after them: every child is killed and every temp dir removed, even when a
// test fails half-way.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI_BIN = path.join(PROJECT_DIR, 'dist', 'cli', 'relay-agent.mjs');

let cliBuilt = false;
/** Builds dist/cli from the sources when they changed since (once per test process; concurrent builds are safe). */
export function ensureCliBuilt(): string {
  if (!cliBuilt) {
    execFileSync(process.execPath, [path.join(PROJECT_DIR, 'scripts', 'build-cli.mjs'), '--if-stale'], { cwd: PROJECT_DIR, stdio: ['ignore', 'ignore', 'pipe'] });
    cliBuilt = true;
  }
  return CLI_BIN;
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** performance.now() when the process exited. */
  exitedAt: number;
}

/** The environment for a child: this process's, minus every RELAY_* variable, plus the given ones. */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('RELAY_')) env[k] = v;
  return { ...env, ...extra };
}

export class RunningCli {
  stdout = '';
  stderr = '';
  readonly exited: Promise<CliResult>;
  private exitResult: CliResult | undefined;
  private readonly listeners = new Set<() => void>();

  constructor(readonly child: ChildProcess) {
    child.stdout?.setEncoding('utf8');
    child.stderr?.setEncoding('utf8');
    child.stdout?.on('data', (d: string) => {
      this.stdout += d;
      this.notify();
    });
    child.stderr?.on('data', (d: string) => {
      this.stderr += d;
      this.notify();
    });
    this.exited = new Promise((resolve) => {
      child.once('close', (code, signal) => {
        this.exitResult = { code, signal, stdout: this.stdout, stderr: this.stderr, exitedAt: performance.now() };
        this.notify();
        resolve(this.exitResult);
      });
    });
  }

  get running(): boolean {
    return this.exitResult === undefined;
  }

  /** Resolves with the first match of the pattern in stdout; rejects on exit or timeout. */
  waitForStdout(pattern: RegExp, timeoutMs = 15_000): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const m = this.stdout.match(pattern);
        if (m) return done(() => resolve(m));
        if (this.exitResult) return done(() => reject(new Error(`the CLI exited (code ${this.exitResult?.code}) before printing ${pattern}\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`)));
      };
      const timer = setTimeout(() => done(() => reject(new Error(`no ${pattern} on stdout within ${timeoutMs} ms\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`))), timeoutMs);
      const done = (settle: () => void) => {
        clearTimeout(timer);
        this.listeners.delete(check);
        settle();
      };
      this.listeners.add(check);
      check();
    });
  }

  /** Resolves with the exit, or kills the child and rejects when it takes too long. */
  async waitForExit(timeoutMs = 15_000): Promise<CliResult> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.child.kill('SIGKILL');
        reject(new Error(`the CLI did not exit within ${timeoutMs} ms\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`));
      }, timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private notify(): void {
    for (const l of [...this.listeners]) l();
  }
}

export class CliRunner {
  private readonly children = new Set<RunningCli>();
  private readonly dirs: string[] = [];

  tempDir(prefix = 'relay-cli-'): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    this.dirs.push(dir);
    return dir;
  }

  /** Starts `relay <args>` as a child process; it is killed at cleanup if still running. */
  start(args: string[], env: Record<string, string> = {}): RunningCli {
    const child = spawn(process.execPath, [ensureCliBuilt(), ...args], {
      cwd: PROJECT_DIR,
      env: childEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const running = new RunningCli(child);
    this.children.add(running);
    void running.exited.then(() => this.children.delete(running));
    return running;
  }

  /** Runs `relay <args>` to completion. */
  run(args: string[], env: Record<string, string> = {}, timeoutMs = 15_000): Promise<CliResult> {
    return this.start(args, env).waitForExit(timeoutMs);
  }

  /** Kills every child still running (and waits for it to go), then removes the temp dirs. */
  async cleanup(): Promise<void> {
    const alive = [...this.children];
    for (const c of alive) c.child.kill('SIGKILL');
    await Promise.all(alive.map((c) => c.exited));
    this.children.clear();
    for (const dir of this.dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  }
}

export interface HttpResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: unknown;
}

/** One HTTP request to 127.0.0.1:<port> (or another address of a test's own), with full control of the Host header, method and body. */
export function request(
  port: number,
  urlPath: string,
  options: { method?: string; host?: string; address?: string; headers?: Record<string, string>; timeoutMs?: number; body?: string | Buffer } = {},
): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: options.address ?? '127.0.0.1',
        port,
        path: urlPath,
        method: options.method ?? 'GET',
        agent: false,
        headers: { host: options.host ?? `127.0.0.1:${port}`, ...options.headers },
        timeout: options.timeoutMs ?? 3000,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => {
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${options.method ?? 'GET'} ${urlPath} timed out after ${options.timeoutMs ?? 3000} ms`)));
    req.on('error', reject);
    req.end(options.body);
  });
}

/** A raw TCP server that counts the connections made to it (a backend that must stay untouched). */
export async function connectionCounter(): Promise<{ port: number; connections: () => number; close: () => Promise<void> }> {
  let count = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    count++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections: () => count,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A port nothing listens on right now (bound then released). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Resolves with the connection error code, or 'connected' when the connection succeeds. */
export function tryConnect(host: string, port: number, timeoutMs = 2000): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve('timeout');
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(e.code ?? e.message);
    });
  });
}

/** The machine's first non-loopback IPv4 address, if it has one. */
export function nonLoopbackIPv4(): string | undefined {
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return undefined;
}
