// CPU time and memory of other processes, read from Linux's /proc: the bench measures the
// relay as a separate process (the CLI as a racer runs it), so process.cpuUsage() cannot.
//
// CPU comes from each thread's schedstat (nanoseconds on the CPU, as the scheduler counts
// them), not from /proc/<pid>/stat, whose 10 ms ticks are too coarse for a process using
// 2% of a core over 10 s (20 ticks, each one 5% of the figure).
import fs from 'node:fs';
import path from 'node:path';

/** Nanoseconds on the CPU of every live thread of `pid`; null once the process is gone. */
export function processCpuNs(pid: number): number | null {
  let tids: string[];
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return null;
  }
  let ns = 0;
  for (const tid of tids) {
    try {
      ns += Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      /* the thread ended between the listing and the read */
    }
  }
  return ns;
}

/** The pids of `root` and every process below it (Chromium's renderer, GPU and utility processes). */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const ppid = parentOf(Number(entry));
    if (ppid === null) continue;
    const list = children.get(ppid) ?? [];
    list.push(Number(entry));
    children.set(ppid, list);
  }
  const out: number[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop() as number;
    out.push(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** The direct children of `pid`. */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (/^\d+$/.test(entry) && parentOf(Number(entry)) === pid) out.push(Number(entry));
  }
  return out;
}

function parentOf(pid: number): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return null;
  }
}

/**
 * CPU of a set of processes over a window, by pid: a process that starts inside the window
 * counts from zero, one that ends inside it keeps what it had at its last reading.
 */
export class CpuMeter {
  private readonly start = new Map<number, number>();
  private readonly last = new Map<number, number>();
  private t0 = 0;

  constructor(private readonly pids: () => number[]) {}

  begin(): void {
    this.start.clear();
    this.last.clear();
    for (const pid of this.pids()) {
      const ns = processCpuNs(pid);
      if (ns !== null) this.start.set(pid, ns);
    }
    this.t0 = performance.now();
  }

  /** CPU ms in the window so far per process, named by its command line's --type (Chromium's) or its name. */
  byProcess(): Array<{ pid: number; what: string; cpuMs: number }> {
    return [...this.last].map(([pid, now]) => ({ pid, what: processKind(pid), cpuMs: (now - (this.start.get(pid) ?? 0)) / 1e6 }));
  }

  /** Reads again (call it now and then for processes that may end); returns the window so far. */
  sample(): { cpuMs: number; wallMs: number } {
    for (const pid of this.pids()) {
      const ns = processCpuNs(pid);
      if (ns !== null) this.last.set(pid, ns);
    }
    let ns = 0;
    for (const [pid, now] of this.last) ns += now - (this.start.get(pid) ?? 0);
    return { cpuMs: ns / 1e6, wallMs: performance.now() - this.t0 };
  }
}

function processKind(pid: number): string {
  try {
    // Chromium rewrites its command line as one string; others keep NUL-separated arguments.
    const text = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    const type = /--type=(\S+)/.exec(text)?.[1];
    const sub = /--utility-sub-type=(\S+)/.exec(text)?.[1];
    if (type) return `${type}${sub ? ` (${sub})` : ''}`;
    return path.basename(text.split(' ')[0] || String(pid));
  } catch {
    return 'gone';
  }
}

/** Resident set size of `pid` in bytes (VmRSS), or null once it is gone. */
export function rssBytes(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** The machine's load averages, printed beside the figures: the bench shares 2 cores with others. */
export function loadAverage(): string {
  try {
    return fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    return 'unknown';
  }
}
