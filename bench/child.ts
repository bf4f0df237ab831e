// The parent's side of bench/sink.ts: forks its bundle and turns its IPC messages into promises.
import { fork, type ChildProcess } from 'node:child_process';
import { PROJECT_DIR } from './paths';
import { READY, type ChildCounts, type ChildReply, type ChildRequest, type LatencySamples, type MarkedReport } from './child-protocol';

type Command = ChildRequest extends infer R ? (R extends ChildRequest ? Omit<R, 'id'> : never) : never;

export class BenchChild {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: ChildReply) => void; reject: (e: Error) => void }>();
  private readonly exited: Promise<void>;

  private constructor(private readonly proc: ChildProcess) {
    proc.on('message', (msg: ChildReply | string) => {
      if (typeof msg === 'string') return;
      const waiter = this.pending.get(msg.id);
      if (!waiter) return;
      this.pending.delete(msg.id);
      if (msg.ok) waiter.resolve(msg);
      else waiter.reject(new Error(`bench child: ${msg.error ?? 'failed'}`));
    });
    this.exited = new Promise((resolve) => {
      proc.once('exit', () => {
        for (const w of this.pending.values()) w.reject(new Error('bench child exited'));
        this.pending.clear();
        resolve();
      });
    });
  }

  /** `script`: the bundled bench/sink.ts (see build.ts). */
  static async start(script: string): Promise<BenchChild> {
    // stdout ignored: the parent's last stdout line must be its JSON, whatever the child does.
    const proc = fork(script, [], {
      cwd: PROJECT_DIR,
      execArgv: [],
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('bench child did not start within 15 s')), 15_000);
      proc.once('error', reject);
      proc.once('exit', (code) => reject(new Error(`bench child exited early (code ${code})`)));
      proc.on('message', (msg) => {
        if (msg !== READY) return;
        clearTimeout(timer);
        resolve();
      });
    });
    return new BenchChild(proc);
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  call(command: Command, timeoutMs = 30_000): Promise<ChildReply> {
    const id = this.nextId++;
    return new Promise<ChildReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`bench child: no answer to ${command.cmd} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.proc.send({ ...command, id } as ChildRequest);
    });
  }

  async sinks(count: number): Promise<string[]> {
    return (await this.call({ cmd: 'sinks', count })).urls ?? [];
  }

  async gateways(count: number): Promise<string[]> {
    return (await this.call({ cmd: 'gateways', count })).urls ?? [];
  }

  async stalled(kind: 'tcp' | 'ws'): Promise<string> {
    return (await this.call({ cmd: 'stalled', kind })).urls?.[0] ?? '';
  }

  /** Latency samples at gateway `gateway` for these sessions, from now until latency(). */
  async watch(gateway: number, sessions: string[]): Promise<void> {
    await this.call({ cmd: 'watch', gateway, sessions });
  }

  async latency(): Promise<LatencySamples> {
    return (await this.call({ cmd: 'latency' })).latency ?? {};
  }

  async mark(atNs: bigint): Promise<void> {
    await this.call({ cmd: 'mark', atNs: atNs.toString() });
  }

  async marked(): Promise<MarkedReport> {
    const r = await this.call({ cmd: 'marked' });
    if (!r.marked) throw new Error('bench child: no marked report');
    return r.marked;
  }

  /** Stops (SIGSTOP) or resumes (SIGCONT) the whole child: its gateways stop reading, answering and accepting. */
  signal(sig: 'SIGSTOP' | 'SIGCONT'): void {
    this.proc.kill(sig);
  }

  async reset(): Promise<void> {
    await this.call({ cmd: 'reset' });
  }

  async counts(): Promise<ChildCounts> {
    return (await this.call({ cmd: 'counts' })).counts ?? { sinks: [], gateways: [], connections: [] };
  }

  /** Resolves once each of the first `sinks` sinks has counted `frames` frames since the last reset, or at the timeout. */
  async expect(frames: number, sinks: number, timeoutMs: number): Promise<{ reached: boolean; counts: ChildCounts }> {
    const r = await this.call({ cmd: 'expect', frames, sinks, timeoutMs }, timeoutMs + 5_000);
    return { reached: r.reached === true, counts: r.counts ?? { sinks: [], gateways: [], connections: [] } };
  }

  async close(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.kill('SIGCONT');
    try {
      await this.call({ cmd: 'close' }, 5_000);
    } catch {
      /* killed below if it is still there */
    }
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 3_000);
    await this.exited;
    clearTimeout(timer);
  }
}
