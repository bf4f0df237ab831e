// Drives scripts/wine/fake-sim.c (built with mingw, run under Wine): iRacing's memory map,
// published from a recording, scripted one command at a time. Each call resolves once the
// sim has done it, with the figures it answered.
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { buildFakeSim, windowsPath, type WinePrefix } from './wine';

export type RecordingKind = 'ibt' | 'dump';

/** The `key=value` figures of an answer, as numbers where they are numbers. */
export type Answer = Record<string, string | number>;

export class FakeSimError extends Error {
  override name = 'FakeSimError';
}

const ANSWER_TIMEOUT_MS = 60_000;
/** The sim's clock runs ahead of other work on the machine, as the sim's own does. */
export const SIM_NICE = -10;

function parseAnswer(line: string): Answer {
  const out: Answer = {};
  for (const [, key, value] of line.matchAll(/(\w+)=(\S+)/g)) out[key as string] = Number.isFinite(Number(value)) ? Number(value) : (value as string);
  return out;
}

export class FakeSim {
  /** Every line the sim printed, for a failing test's message. */
  readonly transcript: string[] = [];
  private buffered = '';
  private waiting: { resolve: (line: string) => void; reject: (e: Error) => void } | null = null;
  private lines: string[] = [];
  private exited = false;

  private constructor(private readonly child: ChildProcess) {
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      this.buffered += chunk;
      let at: number;
      while ((at = this.buffered.indexOf('\n')) >= 0) {
        const line = this.buffered.slice(0, at).replace(/\r$/, '');
        this.buffered = this.buffered.slice(at + 1);
        this.transcript.push(line);
        this.lines.push(line);
        this.deliver();
      }
    });
    child.once('exit', (code, signal) => {
      this.exited = true;
      this.waiting?.reject(new FakeSimError(`the fake sim exited (${signal ?? code}) before answering; it said:\n${this.transcript.join('\n')}`));
      this.waiting = null;
    });
  }

  /** Builds the sim if needed and starts it in `prefix`, waiting for its first word. */
  static async start(prefix: WinePrefix): Promise<FakeSim> {
    const exe = await buildFakeSim();
    const sim = new FakeSim(prefix.spawn(exe, { pipes: true, nice: SIM_NICE }));
    const first = await sim.next();
    if (!first.startsWith('ready')) throw new FakeSimError(`the fake sim began with ${JSON.stringify(first)}`);
    return sim;
  }

  /** Reads `file` (a Linux path): a disk recording (`ibt`) or a dump of live memory (`dump`). */
  load(kind: RecordingKind, file: string): Promise<Answer> {
    return this.send(`load ${kind} ${windowsPath(file)}`);
  }

  /** The sim starts: its memory map appears, connected; without a session YAML when `session` is false. */
  start(options: { session?: boolean } = {}): Promise<Answer> {
    return this.send(options.session === false ? 'start nosession' : 'start');
  }

  /** The recording's session YAML again, or this text instead (sessionInfoUpdate + 1). */
  async session(yaml?: string, scratchFile?: string): Promise<Answer> {
    if (yaml === undefined) return this.send('session');
    if (!scratchFile) throw new FakeSimError('session(yaml) needs a scratch file to hand the text over');
    fs.writeFileSync(scratchFile, yaml, 'latin1');
    return this.send(`session ${windowsPath(scratchFile)}`);
  }

  /** Publishes samples [from, to) at `hz` (the recording's tick rate by default); for a dump, to - from ticks. */
  play(from: number, to: number, hz?: number): Promise<Answer> {
    return this.send(`play ${from} ${to}${hz ? ` ${hz}` : ''}`, Math.max(ANSWER_TIMEOUT_MS, ((to - from) / (hz ?? 60)) * 2000));
  }

  /** Paused: the last buffer again at the tick rate for `ms`, its SessionTick standing still. */
  hold(ms: number): Promise<Answer> {
    return this.send(`hold ${ms}`, ms + ANSWER_TIMEOUT_MS);
  }

  /** Stale: nothing published for `ms`, the sim still connected. */
  stall(ms: number): Promise<Answer> {
    return this.send(`stall ${ms}`, ms + ANSWER_TIMEOUT_MS);
  }

  /** The sim quits: status disconnected, its map and event closed. */
  quit(): Promise<Answer> {
    return this.send('quit');
  }

  /** Quits the sim if running and ends the program. */
  async exit(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.stdin?.end('exit\n');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await gone;
    clearTimeout(timer);
  }

  async send(command: string, timeoutMs = ANSWER_TIMEOUT_MS): Promise<Answer> {
    if (this.exited) throw new FakeSimError(`the fake sim is not running (asked: ${command})`);
    this.child.stdin?.write(`${command}\n`);
    const line = await this.next(timeoutMs, command);
    if (!line.startsWith('ok ')) throw new FakeSimError(`fake sim: ${command}: ${line}`);
    return parseAnswer(line);
  }

  private next(timeoutMs = ANSWER_TIMEOUT_MS, what = 'its start'): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = null;
        reject(new FakeSimError(`the fake sim did not answer ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting = {
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.deliver();
    });
  }

  private deliver(): void {
    if (!this.waiting || this.lines.length === 0) return;
    const waiting = this.waiting;
    this.waiting = null;
    waiting.resolve(this.lines.shift() as string);
  }
}
