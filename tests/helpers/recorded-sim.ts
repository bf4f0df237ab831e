// A scriptable stand-in for iRacing's shared memory, replaying values recorded in a real
// .ibt file: the sim not running, starting, its session YAML appearing and changing,
// buffers arriving (or repeating with the tick standing still, or not arriving), the sim
// stopping and starting again. It also records how the reader used it.
import { IbtFile } from '../../src-main/ibt';
import type { IbtValue } from '../../src-main/ibt/types';
import type { VariableInfo } from '../../src-main/telemetry/frame-mapper';
import type { SimBackend } from '../../src-main/sources/iracing/sim-backend';
import { VALID_IBT } from './fixtures';

export interface Recording {
  variables: VariableInfo[];
  yaml: string;
  samples: Record<string, IbtValue>[];
  tickRate: number;
}

export async function loadRecording(path = VALID_IBT): Promise<Recording> {
  const file = await IbtFile.open(path);
  try {
    const samples: Record<string, IbtValue>[] = [];
    for await (const s of file.samples()) samples.push(s.values);
    return {
      variables: file.variables.map((v) => ({ name: v.name, type: v.type, unit: v.unit, count: v.count })),
      yaml: file.sessionInfoText,
      samples,
      tickRate: file.header.tickRate,
    };
  } finally {
    await file.close();
  }
}

type Delivery = { kind: 'sample'; index: number; override?: Record<string, IbtValue> } | { kind: 'repeat' };

export class RecordedBackend implements SimBackend {
  /** The sim process is up: open() succeeds. */
  running = false;
  opens = 0;
  closes = 0;
  /** The names passed to each read(). */
  readonly reads: string[][] = [];
  /** How many times the session YAML was fetched (the SDK copies it out of shared memory each time). */
  yamlReads = 0;
  /** Calls that broke the SimBackend contract (read before data, names not on offer). */
  readonly misuse: string[] = [];
  /** Make the next SDK call throw, as a native failure would. */
  failNext: string | null = null;

  private attached = false;
  private hadData = false;
  private yaml: string | null = null;
  private version = 0;
  private queue: Delivery[] = [];
  private current: Record<string, IbtValue> | null = null;
  private readonly known: Set<string>;

  constructor(readonly recording: Recording) {
    this.known = new Set(recording.variables.map((v) => v.name));
  }

  // --- the script ---

  simStarts(): void {
    this.running = true;
  }

  /** iRacing exits: its status drops, nothing more arrives, its YAML is gone. */
  simStops(): void {
    this.running = false;
    this.queue = [];
    this.yaml = null;
    this.version++;
  }

  setYaml(text: string | null): void {
    this.yaml = text;
    this.version++;
  }

  /** Queues recorded samples [from, to), one per waitForData(). */
  deliver(from: number, to: number, override?: Record<string, IbtValue>): void {
    for (let i = from; i < to; i++) this.queue.push({ kind: 'sample', index: i, ...(override ? { override } : {}) });
  }

  /** Queues `n` buffers that repeat the last one: data arrives, the tick stands still. */
  repeat(n: number): void {
    for (let i = 0; i < n; i++) this.queue.push({ kind: 'repeat' });
  }

  get queued(): number {
    return this.queue.length;
  }

  // --- SimBackend ---

  open(): boolean {
    this.opens++;
    this.maybeFail();
    if (!this.running) return false;
    this.attached = true;
    this.hadData = false;
    return true;
  }

  isConnected(): boolean {
    return this.attached && this.running;
  }

  waitForData(_timeoutMs: number): boolean {
    this.maybeFail();
    if (!this.attached || !this.running) return false;
    const next = this.queue.shift();
    if (!next) return false;
    if (next.kind === 'sample') {
      const sample = this.recording.samples[next.index];
      if (!sample) throw new Error(`the recording has no sample ${next.index}`);
      this.current = { ...sample, ...next.override };
    } else if (this.current === null) {
      throw new Error('repeat() before any sample');
    }
    this.hadData = true;
    return true;
  }

  sessionInfoVersion(): number {
    return this.version;
  }

  sessionInfoYaml(): string | null {
    this.yamlReads++;
    return this.attached ? this.yaml : null;
  }

  variables(): VariableInfo[] {
    if (!this.hadData) this.misuse.push('variables() before any data');
    return this.recording.variables.map((v) => ({ ...v }));
  }

  read(names: readonly string[]): Record<string, IbtValue> {
    if (!this.hadData || this.current === null) this.misuse.push('read() before any data');
    this.reads.push([...names]);
    const out: Record<string, IbtValue> = {};
    for (const name of names) {
      if (!this.known.has(name)) this.misuse.push(`read() of ${name}, which is not on offer`);
      const v = this.current?.[name];
      if (v !== undefined) out[name] = v;
    }
    return out;
  }

  tickRate(): number {
    return this.recording.tickRate;
  }

  close(): void {
    this.closes++;
    this.attached = false;
    this.hadData = false;
    this.current = null;
  }

  private maybeFail(): void {
    if (this.failNext === null) return;
    const message = this.failNext;
    this.failNext = null;
    throw new Error(message);
  }
}
