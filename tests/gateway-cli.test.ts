// The gateway CLI as a user runs it: a real child process, its output and exit codes.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { parseBoolEnv, parseCli, parseOrigins, parsePort, USAGE, UsageError } from '../src-gateway/cli-args';
import { PROTOCOL_VERSION } from '../src-shared/protocol';
import { waitFor } from './helpers/wait';

const root = fileURLToPath(new URL('..', import.meta.url));
const children = new Set<ChildProcess>();
const sockets = new Set<WebSocket>();
const dirs: string[] = [];

afterEach(() => {
  for (const ws of sockets) ws.terminate();
  sockets.clear();
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children.clear();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gateway-cli-'));
  dirs.push(dir);
  return dir;
}

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
  // Spawned with node itself (not npx) so a signal reaches the gateway, not a wrapper.
  return { child, stdout: () => out, stderr: () => err, exited };
}

describe('gateway CLI', () => {
  it('prints the listening line, applies the env switches, never prints the token, and exits 0 on SIGTERM', async () => {
    const token = 'very-secret-token-123';
    const r = run(['--port', '0', '--name', 'cli-gw', '--token', token], { DIAGNOSTICS_ENABLED: 'false', METRICS_ENABLED: '0' });
    const m = await waitFor('the listening line', () => r.stdout().match(/^gateway cli-gw listening on ws:\/\/127\.0\.0\.1:(\d+)\/relay \(http:\/\/127\.0\.0\.1:(\d+)\)$/m), 15_000);
    expect(m[1]).toBe(m[2]);
    const base = `http://127.0.0.1:${m[1]}`;
    expect((await fetch(`${base}/api/health`)).status).toBe(200);
    expect((await fetch(`${base}/api/dev/diagnostics/build`)).status).toBe(404);
    expect((await fetch(`${base}/metrics`)).status).toBe(404);
    r.child.kill('SIGTERM');
    expect(await r.exited).toBe(0);
    expect(r.stdout() + r.stderr()).not.toContain(token);
  });

  it('captures every relay message to a file that survives kill -9', async () => {
    const file = join(tempDir(), 'capture.jsonl');
    const r = run(['--port', '0', '--capture', file]);
    const m = await waitFor('the listening line', () => r.stdout().match(/listening on (ws:\S+)/), 15_000);
    // stderr is another pipe: its line may be read after stdout's.
    await waitFor('the capture line on stderr', () => r.stderr().match(/capturing relay messages to/), 15_000);
    expect(r.stderr()).toContain(`capturing relay messages to ${file}`);
    const ws = new WebSocket(m[1] as string);
    sockets.add(ws);
    const replies: Array<{ type: string; final?: boolean }> = [];
    ws.on('message', (data) => replies.push(JSON.parse(String(data)) as { type: string }));
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const sessionId = 'sess_capture';
    const send = (msg: object): void => ws.send(JSON.stringify(msg));
    send({ type: 'hello', protocol: PROTOCOL_VERSION, agent: 'relay-agent/test', sessionId, streams: ['controls'], meta: {} });
    for (const seq of [1, 2, 3, 3, 5]) send({ type: 'frame', sessionId, stream: 'controls', seq, ts: seq, data: { seq } });
    send({ type: 'frame', sessionId, stream: 'controls', seq: 4, ts: 4, data: {}, resend: true });
    send({ type: 'end', sessionId, last: { controls: 5 } });
    // The final receipt answers the end, after every message before it was written.
    await waitFor('the final receipt', () => replies.some((x) => x.type === 'receipt' && x.final), 15_000);
    r.child.kill('SIGKILL');
    await r.exited;
    expect(r.child.signalCode).toBe('SIGKILL');
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as { conn: number; outcome?: string; msg: { type: string; seq?: number } });
    expect(lines.map((l) => [l.msg.type, l.outcome ?? null, l.msg.seq ?? null])).toEqual([
      ['hello', null, null],
      ['frame', 'new', 1],
      ['frame', 'new', 2],
      ['frame', 'new', 3],
      ['frame', 'duplicate', 3],
      ['frame', 'new', 5],
      ['frame', 'resent', 4],
      ['end', null, null],
    ]);
    expect(new Set(lines.map((l) => l.conn))).toEqual(new Set([1]));
  });

  it('exits 1 naming a capture file it cannot open', async () => {
    const file = join(tempDir(), 'missing-dir', 'capture.jsonl');
    const r = run(['--port', '0', '--capture', file]);
    expect(await r.exited).toBe(1);
    expect(r.stderr()).toContain(`gateway: cannot start: cannot open capture file ${JSON.stringify(file)}`);
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
    expect(parseCli(['--capture', '/tmp/c.jsonl', '--allow-origin', 'http://localhost:5173', '--allow-origin', 'https://a.example, https://b.example:8443/'], {})).toMatchObject({
      capture: '/tmp/c.jsonl',
      allowedOrigins: ['http://localhost:5173', 'https://a.example', 'https://b.example:8443'],
    });
    expect(parseCli([], {})).not.toHaveProperty('allowedOrigins');
    expect(USAGE).toContain('--capture');
    expect(USAGE).toContain('--allow-origin');
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
    expect(() => parseCli(['--capture', ''], {})).toThrow('--capture "" is invalid; expected a file path');
    expect(() => parseOrigins(['http://ok.example,evil.example'])).toThrow(
      new UsageError('--allow-origin "evil.example" is invalid; expected an origin such as http://localhost:5173 (scheme://host[:port], no path)'),
    );
    expect(() => parseOrigins(['http://x.example/path'])).toThrow(/--allow-origin "http:\/\/x\.example\/path" is invalid/);
    expect(parseBoolEnv('X', 'TRUE')).toBe(true);
    expect(parseBoolEnv('X', undefined)).toBe(true);
    expect(parseBoolEnv('X', 'false')).toBe(false);
    expect(() => parseBoolEnv('X', 'on')).toThrow(/X="on"/);
  });
});
