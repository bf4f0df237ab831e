// The relay's own log file, for support: JSON lines in <configDir>/logs/relay.log. The run
// before this one is kept as relay.previous.log (a crash report needs the run that crashed),
// and the current run is capped in size by rotating into relay.1.log, so at most three
// files, each at most maxBytes, ever sit on the racer's disk.
import fs from 'node:fs';
import path from 'node:path';
import { redactText } from '../../src-shared/redact';
import type { LogLevel, Logger } from './logger';

export const LOG_DIR_NAME = 'logs';
export const LOG_FILE_NAME = 'relay.log';
export const PREVIOUS_LOG_FILE_NAME = 'relay.previous.log';
export const ROTATED_LOG_FILE_NAME = 'relay.1.log';
export const DEFAULT_LOG_MAX_BYTES = 5 * 1024 * 1024;

export interface LogLine {
  ts: string;
  level: LogLevel;
  msg: string;
}

export interface LogFileOptions {
  maxBytes?: number;
  /** Extra strings to mask in every line (the dashboard secret); more can be added later. */
  secrets?: string[];
}

export class LogFile {
  readonly dir: string;
  readonly path: string;
  private readonly maxBytes: number;
  private readonly secrets: string[];
  private stream: fs.WriteStream | null = null;
  private bytes = 0;
  private pending = 0;
  private waiters: (() => void)[] = [];
  private closed = false;

  /** Opens the log of a new run: the last run's file becomes relay.previous.log. */
  static open(configDir: string, options: LogFileOptions = {}): LogFile {
    return new LogFile(configDir, options);
  }

  private constructor(configDir: string, options: LogFileOptions) {
    this.dir = path.join(configDir, LOG_DIR_NAME);
    this.path = path.join(this.dir, LOG_FILE_NAME);
    this.maxBytes = options.maxBytes ?? DEFAULT_LOG_MAX_BYTES;
    this.secrets = [...(options.secrets ?? [])];
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const rotated = path.join(this.dir, ROTATED_LOG_FILE_NAME);
    if (fs.existsSync(this.path)) fs.renameSync(this.path, path.join(this.dir, PREVIOUS_LOG_FILE_NAME));
    // The last run's older segment goes: "previous" means the previous run's latest part.
    fs.rmSync(rotated, { force: true });
    this.openStream();
  }

  addSecret(secret: string): void {
    this.secrets.push(secret);
  }

  redact(text: string): string {
    return redactText(text, this.secrets);
  }

  write(level: LogLevel, message: string): void {
    if (this.closed || !this.stream) return;
    const line: LogLine = { ts: new Date().toISOString(), level, msg: this.redact(message) };
    const text = JSON.stringify(line) + '\n';
    const size = Buffer.byteLength(text);
    if (this.bytes > 0 && this.bytes + size > this.maxBytes) this.rotate();
    this.bytes += size;
    this.pending++;
    this.stream.write(text, () => {
      this.pending--;
      if (this.pending === 0) for (const w of this.waiters.splice(0)) w();
    });
  }

  /** Resolves once every line written so far has reached the file. */
  flushed(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** The last lines of this run (from relay.1.log too when the current file is short), redacted again. */
  async tail(lines = 200): Promise<string[]> {
    // Bounded: a disk that stopped answering must not hold the report up; it then shows what is on disk.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.flushed(), new Promise<void>((resolve) => (timer = setTimeout(resolve, 1000)))]);
    clearTimeout(timer);
    const out = readTail(this.path, lines);
    if (out.length < lines) out.unshift(...readTail(path.join(this.dir, ROTATED_LOG_FILE_NAME), lines - out.length));
    return out.map((l) => this.redact(l));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const stream = this.stream;
    this.stream = null;
    if (stream) await new Promise<void>((resolve) => stream.end(() => resolve()));
    for (const w of this.waiters.splice(0)) w();
  }

  private openStream(): void {
    // Opened synchronously so the descriptor exists before any rename: the lines of a
    // segment can then never land in the file that replaced it.
    const fd = fs.openSync(this.path, 'a', 0o600);
    this.bytes = fs.fstatSync(fd).size;
    this.stream = fs.createWriteStream('', { fd, flags: 'a' });
    const stream = this.stream;
    stream.on('error', () => {
      // A full or vanished disk must not take the relay down: logging stops, relaying goes on.
      if (this.stream === stream) this.stream = null;
    });
  }

  private rotate(): void {
    const old = this.stream;
    try {
      fs.renameSync(this.path, path.join(this.dir, ROTATED_LOG_FILE_NAME));
    } catch {
      // Cannot rename (a reader holds it on Windows, say): start over in the same file rather than grow without end.
      fs.truncateSync(this.path, 0);
    }
    old?.end();
    this.openStream();
  }
}

function readTail(file: string, lines: number): string[] {
  if (lines <= 0) return [];
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return [];
  }
  try {
    const size = fs.fstatSync(fd).size;
    // Lines are short; 256 KiB holds the last few hundred without reading megabytes.
    const length = Math.min(size, 256 * 1024);
    const buf = Buffer.alloc(length);
    fs.readSync(fd, buf, 0, length, size - length);
    const all = buf.toString('utf8').split('\n').filter((l) => l.length > 0);
    // A cut first line is a fragment, not a line.
    if (length < size) all.shift();
    return all.slice(-lines);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * A logger that also writes every line to the log file (the file redacts; the console gets
 * what callers already masked). The file may be given late: the relay opens it only once
 * it knows it will run, and the lines logged before that are handed over then.
 */
export function teeLogger(inner: Logger, file: LogFile | ((level: LogLevel, message: string) => void)): Logger {
  const write = typeof file === 'function' ? file : (level: LogLevel, message: string) => file.write(level, message);
  const at = (level: LogLevel) => (message: string) => {
    inner[level](message);
    write(level, message);
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
