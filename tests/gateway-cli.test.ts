// The gateway CLI as a user runs it: a real child process, its output and exit codes.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { parseBoolEnv, parseCli, parsePort, UsageError } from '../src-gateway/cli-args';

const root = fileURLToPath(new URL('..', import.meta.url));
const children = new Set<ChildProcess>();

afterEach(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children.clear();
});

interface Run {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

function run(args: string[], env: Record<string, string> = {}): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src-gateway/cli.ts', ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exited };
}

async function waitFor(check: () => RegExpMatchArray | null, timeoutMs = 15_000): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = check();
    if (m) return m;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('gateway CLI', () => {
  it('prints the listening line, applies the env switches, never prints the token, and exits 0 on SIGTERM', async () => {
    const token = 'very-secret-token-123';
    const r = run(['--port', '0', '--name', 'cli-gw', '--token', token], { DIAGNOSTICS_ENABLED: 'false', METRICS_ENABLED: '0' });
    const m = await waitFor(() => r.stdout().match(/^gateway cli-gw listening on ws:\/\/127\.0\.0\.1:(\d+)\/relay \(http:\/\/127\.0\.0\.1:(\d+)\)$/m));
    expect(m[1]).toBe(m[2]);
    const base = `http://127.0.0.1:${m[1]}`;
    expect((await fetch(`${base}/api/health`)).status).toBe(200);
    expect((await fetch(`${base}/api/dev/diagnostics/build`)).status).toBe(404);
    expect((await fetch(`${base}/metrics`)).status).toBe(404);
    r.child.kill('SIGTERM');
    expect(await r.exited).toBe(0);
    expect(r.stdout() + r.stderr()).not.toContain(token);
  });

  it('exits 2 naming an unknown flag', async () => {
    const r = run(['--bogus']);
    expect(await r.exited).toBe(2);
    expect(r.stderr()).toMatch(/--bogus.*expected --port/);
  });

  it('exits 2 on a bad environment switch', async () => {
    const r = run(['--port', '0'], { METRICS_ENABLED: 'maybe' });
    expect(await r.exited).toBe(2);
    expect(r.stderr()).toContain('METRICS_ENABLED="maybe" is invalid; expected true, 1, false or 0');
  });
});

describe('gateway CLI arguments', () => {
  it('parses flags and environment', () => {
    expect(parseCli(['--port', '8080', '--name', 'b', '--host', '0.0.0.0'], {})).toEqual({
      port: 8080,
      name: 'b',
      host: '0.0.0.0',
      diagnosticsEnabled: true,
      metricsEnabled: true,
    });
    expect(parseCli([], { GATEWAY_TOKEN: 't', DIAGNOSTICS_ENABLED: '0' })).toMatchObject({ port: 0, token: 't', diagnosticsEnabled: false });
    expect(parseCli(['--token', 'x'], { GATEWAY_TOKEN: 't' })?.token).toBe('x');
    expect(parseCli(['--help'], {})).toBeNull();
  });

  it('names the flag, the value and what was expected', () => {
    for (const bad of ['abc', '-1', '65536', '1.5', '']) {
      expect(() => parsePort(bad)).toThrow(new UsageError(`--port ${JSON.stringify(bad)} is invalid; expected an integer from 0 to 65535`));
    }
    expect(parsePort('65535')).toBe(65535);
    expect(() => parseCli(['--port'], {})).toThrow(/--port/);
    expect(() => parseCli(['stray'], {})).toThrow(/stray/);
    expect(() => parseCli(['--token', ''], {})).toThrow(/--token is empty/);
    expect(() => parseCli(['--name', ''], {})).toThrow(/--name/);
    expect(parseBoolEnv('X', 'TRUE')).toBe(true);
    expect(parseBoolEnv('X', undefined)).toBe(true);
    expect(parseBoolEnv('X', 'false')).toBe(false);
    expect(() => parseBoolEnv('X', 'on')).toThrow(/X="on"/);
  });
});
