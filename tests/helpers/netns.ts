// A private network namespace joined to this one by a veth pair, for faults a loopback proxy
// cannot fake: a real link squeezed by the kernel (tc tbf) and a real partition.
//
// Needs root, `ip` and `tc`. What this was written against: no netem, no matchall/u32
// classifiers, no iptables; tbf and the blackhole qdisc work. `ip link set <veth> down` is NOT
// a partition on such a machine: the connected route goes with the link and traffic for the
// namespace's address leaves by the default route instead (where something may even accept it).
// So partition() puts a blackhole qdisc on both ends of the veth: every packet is dropped
// silently, both ways, and TCP sees nothing but silence until heal().
//
// Addresses: a /30 in 10.200.0.0/16 that no interface here already uses; the host end is .1,
// the namespace end .2. Names carry this process's pid, so a namespace left behind by a crashed
// run is recognised and removed by the next createNetns().
import { execFile, spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { spawnGateway, type GatewayProcess, type SpawnGatewayOptions } from './gateway-process';

export type NetnsAvailability = { ok: true } | { ok: false; why: string };

export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface SqueezeOptions {
  /** Which egress to shape: toward the namespace, out of it, or both (default). */
  direction?: 'both' | 'to-ns' | 'from-ns';
  /** tbf burst in bytes (default max(1600, rate/50): 20 ms worth, at least one full frame). */
  burstBytes?: number;
  /** tbf latency: how long a packet may queue before it is dropped (default 200 ms). */
  latencyMs?: number;
}

export interface Netns {
  readonly name: string;
  /** The veth end in this (the host's) namespace. */
  readonly hostVeth: string;
  /** The veth end inside the namespace. */
  readonly nsVeth: string;
  /** The host end's address, e.g. 10.200.7.1. */
  readonly hostAddress: string;
  /** The namespace end's address, e.g. 10.200.7.2: bind servers here to reach them from the host. */
  readonly nsAddress: string;
  /** Runs a command inside the namespace to completion (`ip netns exec <ns> ...`). */
  exec(command: string, args?: string[], timeoutMs?: number): Promise<ExecResult>;
  /** Starts a command inside the namespace; it is SIGKILLed by destroy() if still running. */
  spawn(command: string, args?: string[], options?: SpawnOptions): ChildProcess;
  /** The gateway CLI inside the namespace, bound to nsAddress (tracked by gateway-process too). */
  spawnGateway(options?: Omit<SpawnGatewayOptions, 'host' | 'commandPrefix'>): Promise<GatewayProcess>;
  /** Rate-limits the link with tbf; a later call replaces the earlier one. */
  squeeze(rateKbit: number, options?: SqueezeOptions): Promise<void>;
  /** Lifts the squeeze. */
  unsqueeze(): Promise<void>;
  /** Drops every packet both ways, silently (blackhole qdisc on both veth ends). */
  partition(): Promise<void>;
  /** Ends the partition; a squeeze set before or during it applies again. */
  heal(): Promise<void>;
  readonly partitioned: boolean;
  /** Kills what runs inside, deletes the veth pair and the namespace. Idempotent. */
  destroy(): Promise<void>;
}

const PREFIX = 'rtest';
const live = new Set<NetnsImpl>();
let counter = 0;
let exitHookInstalled = false;
let availability: Promise<NetnsAvailability> | undefined;

function run(command: string, args: string[], timeoutMs = 10_000): Promise<ExecResult> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: timeoutMs, encoding: 'utf8' }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      resolve({ code, stdout, stderr: stderr || (error && typeof error.code !== 'number' ? error.message : '') });
    });
  });
}

async function must(command: string, args: string[]): Promise<string> {
  const r = await run(command, args);
  if (r.code !== 0) throw new Error(`${command} ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const ns of live) ns.destroySync();
  });
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes namespaces of ours whose process is gone (a crashed or killed earlier run). */
async function reapStale(): Promise<void> {
  const list = await run('ip', ['netns', 'list']);
  for (const line of list.stdout.split('\n')) {
    const m = line.match(new RegExp(`^(${PREFIX}-(\\d+)-\\w+)\\b`));
    if (m && !pidAlive(Number(m[2]))) await run('ip', ['netns', 'del', m[1] as string]);
  }
}

async function whyUnavailable(): Promise<string | null> {
  if (process.platform !== 'linux') return `network namespaces are Linux only (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return `needs root for ip netns and tc (uid is ${process.getuid?.()})`;
  for (const tool of ['ip', 'tc']) {
    const r = await run(tool, ['-V']);
    if (r.code !== 0) return `\`${tool}\` is not usable: ${r.stderr.trim() || `exit ${r.code}`}`;
  }
  // The real thing, briefly: a namespace, a veth pair into it, tbf and blackhole on it.
  const tag = `${process.pid.toString(36)}p${++counter}`;
  const ns = `${PREFIX}-${process.pid}-probe${counter}`;
  const veth = `rv${tag}h`;
  try {
    const steps: [string, string[]][] = [
      ['ip', ['netns', 'add', ns]],
      ['ip', ['link', 'add', veth, 'type', 'veth', 'peer', 'name', `rv${tag}n`, 'netns', ns]],
      ['tc', ['qdisc', 'replace', 'dev', veth, 'root', 'tbf', 'rate', '1mbit', 'burst', '1600', 'latency', '100ms']],
      ['tc', ['qdisc', 'replace', 'dev', veth, 'root', 'blackhole']],
    ];
    for (const [command, args] of steps) {
      const r = await run(command, args);
      if (r.code !== 0) return `\`${command} ${args.join(' ')}\` failed: ${r.stderr.trim()}`;
    }
    return null;
  } finally {
    await run('ip', ['link', 'del', veth]);
    await run('ip', ['netns', 'del', ns]);
  }
}

/** Whether createNetns() can work here, and if not, why (for it.skipIf and its title). Cached. */
export function netnsAvailable(): Promise<NetnsAvailability> {
  availability ??= whyUnavailable().then(
    (why): NetnsAvailability => (why === null ? { ok: true } : { ok: false, why }),
    (e: unknown): NetnsAvailability => ({ ok: false, why: `probe failed: ${(e as Error).message}` }),
  );
  return availability;
}

/** A /30 in 10.200.0.0/16 that no interface of this namespace uses yet: [host, ns]. */
async function freeSubnet(): Promise<[string, string]> {
  const used = await must('ip', ['-4', '-o', 'addr', 'show']);
  for (let attempt = 0; attempt < 50; attempt++) {
    const c = Math.floor(Math.random() * 256);
    const d = Math.floor(Math.random() * 64) * 4;
    if (!new RegExp(`inet 10\\.200\\.${c}\\.(${d}|${d + 1}|${d + 2}|${d + 3})/`).test(used)) return [`10.200.${c}.${d + 1}`, `10.200.${c}.${d + 2}`];
  }
  throw new Error('no free /30 found in 10.200.0.0/16');
}

class NetnsImpl implements Netns {
  partitioned = false;
  private squeezed: { rateKbit: number; options: SqueezeOptions } | null = null;
  private destroyed = false;
  private readonly children = new Set<ChildProcess>();
  private readonly gateways = new Set<GatewayProcess>();

  constructor(
    readonly name: string,
    readonly hostVeth: string,
    readonly nsVeth: string,
    readonly hostAddress: string,
    readonly nsAddress: string,
  ) {}

  async setUp(): Promise<void> {
    await must('ip', ['netns', 'add', this.name]);
    await must('ip', ['link', 'add', this.hostVeth, 'type', 'veth', 'peer', 'name', this.nsVeth, 'netns', this.name]);
    await must('ip', ['addr', 'add', `${this.hostAddress}/30`, 'dev', this.hostVeth]);
    await must('ip', ['link', 'set', this.hostVeth, 'up']);
    await must('ip', ['-n', this.name, 'addr', 'add', `${this.nsAddress}/30`, 'dev', this.nsVeth]);
    await must('ip', ['-n', this.name, 'link', 'set', this.nsVeth, 'up']);
    await must('ip', ['-n', this.name, 'link', 'set', 'lo', 'up']);
  }

  exec(command: string, args: string[] = [], timeoutMs = 10_000): Promise<ExecResult> {
    return run('ip', ['netns', 'exec', this.name, command, ...args], timeoutMs);
  }

  spawn(command: string, args: string[] = [], options: SpawnOptions = {}): ChildProcess {
    if (this.destroyed) throw new Error(`namespace ${this.name} is destroyed`);
    // `ip netns exec` execs the command: the child's pid is the command's own.
    const child = spawn('ip', ['netns', 'exec', this.name, command, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...options });
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    child.once('error', () => this.children.delete(child));
    return child;
  }

  async spawnGateway(options: Omit<SpawnGatewayOptions, 'host' | 'commandPrefix'> = {}): Promise<GatewayProcess> {
    if (this.destroyed) throw new Error(`namespace ${this.name} is destroyed`);
    const gateway = await spawnGateway({ ...options, host: this.nsAddress, commandPrefix: ['ip', 'netns', 'exec', this.name] });
    this.gateways.add(gateway);
    return gateway;
  }

  /** Puts on each veth end what the current state asks for: blackhole, tbf, or nothing. */
  private async applyQdiscs(): Promise<void> {
    const ends: { inNs: boolean; dev: string; shaped: boolean }[] = [
      { inNs: false, dev: this.hostVeth, shaped: this.squeezed !== null && this.squeezed.options.direction !== 'from-ns' },
      { inNs: true, dev: this.nsVeth, shaped: this.squeezed !== null && this.squeezed.options.direction !== 'to-ns' },
    ];
    for (const end of ends) {
      const tc = end.inNs ? ['-n', this.name] : [];
      if (this.partitioned) {
        await must('tc', [...tc, 'qdisc', 'replace', 'dev', end.dev, 'root', 'blackhole']);
      } else if (end.shaped && this.squeezed) {
        const { rateKbit, options } = this.squeezed;
        const burst = options.burstBytes ?? Math.max(1600, Math.ceil((rateKbit * 1000) / 8 / 50));
        const latency = options.latencyMs ?? 200;
        await must('tc', [...tc, 'qdisc', 'replace', 'dev', end.dev, 'root', 'tbf', 'rate', `${rateKbit}kbit`, 'burst', String(burst), 'latency', `${latency}ms`]);
      } else {
        // Nothing to delete is fine: the veth's default qdisc is already there.
        await run('tc', [...tc, 'qdisc', 'del', 'dev', end.dev, 'root']);
      }
    }
  }

  async squeeze(rateKbit: number, options: SqueezeOptions = {}): Promise<void> {
    if (!(rateKbit > 0)) throw new Error(`squeeze(${rateKbit}): expected a positive rate in kbit/s`);
    this.squeezed = { rateKbit, options };
    await this.applyQdiscs();
  }

  async unsqueeze(): Promise<void> {
    this.squeezed = null;
    await this.applyQdiscs();
  }

  async partition(): Promise<void> {
    this.partitioned = true;
    await this.applyQdiscs();
  }

  async heal(): Promise<void> {
    this.partitioned = false;
    await this.applyQdiscs();
  }

  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    await Promise.all([...this.gateways].map((g) => g.kill9()));
    await Promise.all(
      [...this.children].map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGKILL');
            setTimeout(resolve, 5000).unref();
          }),
      ),
    );
    // Deleting one end deletes the pair; the namespace goes once nothing runs in it.
    await run('ip', ['link', 'del', this.hostVeth]);
    await run('ip', ['netns', 'del', this.name]);
    live.delete(this);
  }

  /** For the process 'exit' hook: no awaiting there. */
  destroySync(): void {
    for (const child of this.children) child.kill('SIGKILL');
    for (const g of this.gateways) if (g.running) process.kill(g.pid, 'SIGKILL');
    spawnSync('ip', ['link', 'del', this.hostVeth], { stdio: 'ignore', timeout: 5000 });
    spawnSync('ip', ['netns', 'del', this.name], { stdio: 'ignore', timeout: 5000 });
  }
}

/** Creates a namespace with a veth pair and a private /30; tears down what it made if a step fails. */
export async function createNetns(): Promise<Netns> {
  const available = await netnsAvailable();
  if (!available.ok) throw new Error(`network namespaces unavailable: ${available.why}`);
  installExitHook();
  await reapStale();
  const n = ++counter;
  const tag = `${process.pid.toString(36)}x${n}`;
  const [hostAddress, nsAddress] = await freeSubnet();
  const ns = new NetnsImpl(`${PREFIX}-${process.pid}-${n}`, `rv${tag}h`, `rv${tag}n`, hostAddress, nsAddress);
  live.add(ns);
  try {
    await ns.setUp();
  } catch (e) {
    await ns.destroy();
    throw e;
  }
  return ns;
}

/** Destroys every namespace created here and not yet destroyed (for afterEach/afterAll). */
export async function destroyAllNetns(): Promise<void> {
  await Promise.all([...live].map((ns) => ns.destroy()));
}
