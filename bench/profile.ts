// Where a process's CPU goes, from a V8 CPU profile (`node --cpu-prof`): self time by source
// module and by function, and the shares of garbage collection and of V8's own work. The
// bench profiles the relay CLI at 60 Hz with it (`npm run bench -- --profile`) to explain
// the cost that remains above the plain sender.
//
// In a bundle every function has the bundle's URL; esbuild marks where each source file's
// code begins with a `// path/to/file.ts` comment line, which maps a line back to its module.
import fs from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileSummary {
  /** Time the profile covers, and the part of it the process was on the CPU (not idle). */
  wallMs: number;
  busyMs: number;
  /** Shares of busy time. */
  gcShare: number;
  /** V8 and Node's own native work outside any JS function ("(program)"). */
  programShare: number;
  modules: Array<{ module: string; ms: number; share: number }>;
  functions: Array<{ name: string; module: string; ms: number; share: number }>;
}

/** Line numbers (0-based) where each bundled source file starts. */
function moduleStarts(bundle: string): Array<{ line: number; module: string }> {
  const out: Array<{ line: number; module: string }> = [];
  const lines = fs.readFileSync(bundle, 'utf8').split('\n');
  lines.forEach((text, line) => {
    const m = /^\/\/ ((?:node_modules|src-\w+|bench|tests)\/\S+)$/.exec(text);
    if (m) out.push({ line, module: m[1] as string });
  });
  return out;
}

function moduleOf(url: string, line: number, starts: Map<string, Array<{ line: number; module: string }>>): string {
  if (url === '') return '(native)';
  if (url.startsWith('node:')) return 'node: internals';
  // A page's scripts: one name per served file (the dashboard's chunks: index, react, charts, vendor).
  if (/^https?:/.test(url)) return url.replace(/^https?:\/\/[^/]+\//, '').replace(/-[\w-]{8}\.js$/, '.js');
  const path = url.replace(/^file:\/\//, '');
  let list = starts.get(path);
  if (list === undefined) {
    list = fs.existsSync(path) && path.endsWith('.mjs') ? moduleStarts(path) : [];
    starts.set(path, list);
  }
  let found = path;
  for (const s of list) {
    if (s.line > line) break;
    found = s.module;
  }
  // One name per package: ws's sender and receiver are one cost for this purpose.
  const pkg = /^node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(found);
  return pkg ? `${pkg[1]} (package)` : found;
}

/**
 * `fromMs`/`toMs`: the part of the profile to count, in ms from its start: start-up (module
 * loading, first connections) and shutdown are not the steady cost.
 */
export function summarizeProfile(file: string, options: { top?: number; fromMs?: number; toMs?: number } = {}): ProfileSummary {
  const top = options.top ?? 15;
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  const from = (options.fromMs ?? 0) * 1000;
  const to = options.toMs === undefined ? Infinity : options.toMs * 1000;
  let at = 0;
  let wallUs = 0;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (at < from || at > to) return;
    wallUs += delta;
    selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
  });
  const starts = new Map<string, Array<{ line: number; module: string }>>();
  let idle = 0;
  let gc = 0;
  let program = 0;
  const modules = new Map<string, number>();
  const functions = new Map<string, { module: string; us: number }>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') {
      idle += us;
      continue;
    }
    if (functionName === '(garbage collector)') gc += us;
    if (functionName === '(program)') program += us;
    const module = functionName.startsWith('(') ? functionName : moduleOf(url, lineNumber, starts);
    modules.set(module, (modules.get(module) ?? 0) + us);
    const key = `${functionName || '(anonymous)'} ${module}:${lineNumber + 1}`;
    const f = functions.get(key) ?? { module, us: 0 };
    f.us += us;
    functions.set(key, f);
  }
  const busy = wallUs - idle;
  const share = (us: number): number => Math.round((us / busy) * 1000) / 1000;
  return {
    wallMs: Math.round(wallUs / 1000),
    busyMs: Math.round(busy / 1000),
    gcShare: share(gc),
    programShare: share(program),
    modules: [...modules]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([module, us]) => ({ module, ms: Math.round(us / 100) / 10, share: share(us) })),
    functions: [...functions]
      .sort((a, b) => b[1].us - a[1].us)
      .slice(0, top)
      .map(([name, f]) => ({ name: name.split(' ')[0] as string, module: name.slice(name.indexOf(' ') + 1), ms: Math.round(f.us / 100) / 10, share: share(f.us) })),
  };
}

if (process.argv[1]?.endsWith('profile.ts') && process.argv[2]) {
  const [file, top, fromMs, toMs] = process.argv.slice(2);
  const s = summarizeProfile(file as string, { top: Number(top ?? 25), fromMs: Number(fromMs ?? 0), ...(toMs ? { toMs: Number(toMs) } : {}) });
  process.stdout.write(`wall ${s.wallMs} ms, busy ${s.busyMs} ms, gc ${s.gcShare}, program ${s.programShare}\n`);
  for (const m of s.modules) process.stdout.write(`  ${(m.share * 100).toFixed(1).padStart(5)}%  ${m.ms} ms  ${m.module}\n`);
  for (const f of s.functions) process.stdout.write(`  ${(f.share * 100).toFixed(1).padStart(5)}%  ${f.ms} ms  ${f.name}  ${f.module}\n`);
}
