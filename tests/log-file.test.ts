// The relay's log file: JSON lines, the previous run kept at start, the current run capped
// in size, and no credential ever written, whatever a caller forgot to mask.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { redactText } from '../src-shared/redact';
import { LOG_DIR_NAME, LogFile, teeLogger, type LogLine } from '../src-main/log/log-file';
import { createLogger } from '../src-main/log/logger';
import { Relay } from '../src-main/runtime/relay';
import { SyntheticSource } from '../src-main/sources/synthetic';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-log-'));
  dirs.push(dir);
  return dir;
}

const logDir = (dir: string) => path.join(dir, LOG_DIR_NAME);
const read = (dir: string, name: string): LogLine[] =>
  fs
    .readFileSync(path.join(logDir(dir), name), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as LogLine);

async function run(dir: string, messages: string[], options: { maxBytes?: number } = {}): Promise<LogFile> {
  const file = LogFile.open(dir, options);
  for (const m of messages) file.write('info', m);
  await file.close();
  return file;
}

describe('the log file', () => {
  it('writes JSON lines with ts, level and msg', async () => {
    const dir = tempDir();
    const file = LogFile.open(dir);
    file.write('info', 'hello');
    file.write('error', 'went wrong');
    await file.flushed();
    const lines = read(dir, 'relay.log');
    expect(lines).toEqual([
      { ts: expect.any(String), level: 'info', msg: 'hello' },
      { ts: expect.any(String), level: 'error', msg: 'went wrong' },
    ]);
    expect(new Date(lines[0]?.ts ?? '').toISOString()).toBe(lines[0]?.ts);
    if (process.platform !== 'win32') expect(fs.statSync(file.path).mode & 0o777).toBe(0o600);
    await file.close();
  });

  it('keeps the previous run as relay.previous.log at each start, and only that one', async () => {
    const dir = tempDir();
    await run(dir, ['run 1']);
    await run(dir, ['run 2']);
    expect(read(dir, 'relay.log').map((l) => l.msg)).toEqual(['run 2']);
    expect(read(dir, 'relay.previous.log').map((l) => l.msg)).toEqual(['run 1']);
    await run(dir, ['run 3']);
    expect(read(dir, 'relay.log').map((l) => l.msg)).toEqual(['run 3']);
    expect(read(dir, 'relay.previous.log').map((l) => l.msg)).toEqual(['run 2']);
    expect(fs.readdirSync(logDir(dir)).sort()).toEqual(['relay.log', 'relay.previous.log']);
  });

  it('caps the current run: past the size it rotates to relay.1.log, keeping at most three files', async () => {
    const dir = tempDir();
    const maxBytes = 2000;
    const messages = Array.from({ length: 200 }, (_, i) => `line ${i} ${'x'.repeat(40)}`);
    await run(dir, messages, { maxBytes });
    const files = fs.readdirSync(logDir(dir)).sort();
    expect(files).toEqual(['relay.1.log', 'relay.log']);
    for (const f of files) expect(fs.statSync(path.join(logDir(dir), f)).size).toBeLessThanOrEqual(maxBytes);
    // The newest lines are in relay.log, the ones just before them in relay.1.log, in order.
    const current = read(dir, 'relay.log').map((l) => l.msg);
    const older = read(dir, 'relay.1.log').map((l) => l.msg);
    expect(current.at(-1)).toBe(messages.at(-1));
    expect([...older, ...current]).toEqual(messages.slice(messages.length - older.length - current.length));

    // The next start: this run becomes "previous", its older segment goes.
    await run(dir, ['next run'], { maxBytes });
    expect(fs.readdirSync(logDir(dir)).sort()).toEqual(['relay.log', 'relay.previous.log']);
    expect(read(dir, 'relay.previous.log').at(-1)?.msg).toBe(messages.at(-1));
  });

  it('masks credentials in URLs, bearer tokens, token= values and the secrets it is given', async () => {
    const dir = tempDir();
    const file = LogFile.open(dir, { secrets: ['dash-secret-value-1'] });
    file.addSecret('late-secret-value-2');
    file.write('warn', 'cannot open ws://bob:hunter22@gw.example:8080/relay?token=abc123xyz&x=1: refused');
    file.write('info', 'sent Authorization: Bearer tok-987654 to the gateway');
    file.write('info', 'retrying with token=plain-secret-1 and api_key=key-555555');
    file.write('info', 'the dashboard is at http://127.0.0.1:8765/#secret=dash-secret-value-1, also late-secret-value-2');
    file.write('info', '{"token":"json-secret-77","url":"wss://u:p4ssw0rd@h/relay"}');
    const tail = await file.tail();
    await file.close();
    const text = fs.readFileSync(file.path, 'utf8');
    for (const secret of ['hunter22', 'abc123xyz', 'tok-987654', 'plain-secret-1', 'key-555555', 'dash-secret-value-1', 'late-secret-value-2', 'json-secret-77', 'p4ssw0rd', 'bob']) {
      expect(text, secret).not.toContain(secret);
      expect(tail.join('\n'), secret).not.toContain(secret);
    }
    expect(text).toContain('ws://***:***@gw.example:8080/relay?token=***&x=1');
    expect(text).toContain('Bearer ***');
    expect(text).toContain('token=***');
    expect(tail).toHaveLength(5);
  });

  it('gives the last lines of the run as its tail, from relay.1.log too when the current file is short', async () => {
    const dir = tempDir();
    const file = LogFile.open(dir, { maxBytes: 1000 });
    for (let i = 0; i < 60; i++) file.write('info', `message ${i}`);
    const tail = await file.tail(10);
    await file.close();
    expect(read(dir, 'relay.log').length).toBeLessThan(10);
    expect(tail.map((l) => (JSON.parse(l) as LogLine).msg)).toEqual(Array.from({ length: 10 }, (_, i) => `message ${50 + i}`));
  });

  it('leaves already masked text as it is', () => {
    const masked = 'ws://***:***@h/relay?token=*** token=(redacted) {"token":"(redacted)"} ws://127.0.0.1:8080/relay';
    expect(redactText(masked)).toBe(masked);
  });
});

describe('the relay and its log file', () => {
  it('logs each run to <configDir>/logs/relay.log as well as to its logger, and keeps the run before', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ debugPort: 0, backends: [{ url: 'ws://carol:pa55word@127.0.0.1:1/relay', enabled: true, token: 'tok-abcdef' }] }));
    const console: string[] = [];
    const first = await Relay.start({ configDir: dir, source: new SyntheticSource(), log: createLogger((l) => console.push(l)) });
    await first.stop();
    const second = await Relay.start({ configDir: dir, source: new SyntheticSource() });
    const secret = second.dashboardSecret;
    await second.stop();
    const previous = read(dir, 'relay.previous.log');
    const current = read(dir, 'relay.log');
    expect(previous.some((l) => l.msg.startsWith('relay 0.') && l.msg.includes('started'))).toBe(true);
    expect(previous.at(-1)?.msg).toBe('relay stopped');
    expect(current.at(-1)?.msg).toBe('relay stopped');
    // The console got the same lines the file did.
    expect(console.some((l) => l.includes('started'))).toBe(true);
    expect(console.length).toBe(previous.length);
    const all = fs.readdirSync(logDir(dir)).map((f) => fs.readFileSync(path.join(logDir(dir), f), 'utf8')).join('\n');
    for (const s of ['pa55word', 'carol', 'tok-abcdef', secret]) expect(all).not.toContain(s);
  });

  it('leaves the logs alone when a start is refused (port in use, bad settings)', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ debugPort: 0 }));
    const relay = await Relay.start({ configDir: dir, source: new SyntheticSource() });
    await relay.stop();
    const before = fs.readFileSync(path.join(logDir(dir), 'relay.log'), 'utf8');
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    try {
      fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ debugPort: (blocker.address() as net.AddressInfo).port }));
      await expect(Relay.start({ configDir: dir, source: new SyntheticSource() })).rejects.toThrow(/already in use/);
      fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ debugPort: 0, mode: 'sideways' }));
      await expect(Relay.start({ configDir: dir, source: new SyntheticSource() })).rejects.toThrow(/RELAY_BACKEND_MODE/);
    } finally {
      await new Promise<void>((r) => blocker.close(() => r()));
    }
    expect(fs.readdirSync(logDir(dir))).toEqual(['relay.log']);
    expect(fs.readFileSync(path.join(logDir(dir), 'relay.log'), 'utf8')).toBe(before);
    expect(fs.existsSync(path.join(dir, 'dashboard-secret'))).toBe(false);
  });

  it('teeLogger sends every line to both', async () => {
    const dir = tempDir();
    const file = LogFile.open(dir);
    const lines: string[] = [];
    const log = teeLogger(createLogger((l) => lines.push(l), 'debug'), file);
    log.warn('w');
    log.error('e');
    await file.close();
    expect(lines).toHaveLength(2);
    expect(read(dir, 'relay.log').map((l) => `${l.level}:${l.msg}`)).toEqual(['warn:w', 'error:e']);
  });
});
