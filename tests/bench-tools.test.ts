// The bench's own instruments, on real processes and files: every figure `npm run bench`
// prints rests on them (CPU from /proc, process trees, profile summaries, percentiles).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CpuMeter, processCpuNs, processTree, rssBytes } from '../bench/procfs';
import { summarizeProfile } from '../bench/profile';
import { latencyStats, median } from '../bench/util';

const onLinux = process.platform === 'linux';
const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

describe.skipIf(!onLinux)('bench/procfs (Linux /proc; skipped elsewhere: the bench reads /proc)', () => {
  it("counts a process's CPU in nanoseconds, and a busy child's window against its wall time", async () => {
    expect(processCpuNs(process.pid)).toBeGreaterThan(0);
    expect(rssBytes(process.pid)).toBeGreaterThan(1024 * 1024);
    // A child that spins for about 300 ms of CPU, then sleeps.
    const child = spawn(process.execPath, ['-e', 'const t = Date.now(); while (Date.now() - t < 300); setTimeout(() => {}, 5000);'], { stdio: 'ignore' });
    cleanups.push(() => child.kill('SIGKILL'));
    const pid = child.pid as number;
    const meter = new CpuMeter(() => [pid]);
    meter.begin();
    await new Promise((r) => setTimeout(r, 1000));
    const { cpuMs, wallMs } = meter.sample();
    expect(wallMs).toBeGreaterThanOrEqual(990);
    // Its start-up and the spin, not more than the wall time it had.
    expect(cpuMs).toBeGreaterThan(250);
    expect(cpuMs).toBeLessThan(wallMs);
    expect(processTree(process.pid)).toContain(pid);
    expect(meter.byProcess().map((p) => p.pid)).toEqual([pid]);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(processCpuNs(pid)).toBeNull();
  });
});

describe('bench/profile', () => {
  it('adds up self time by module of a bundle (its // path comments) and leaves idle out', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-profile-'));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const bundle = path.join(dir, 'app.mjs');
    fs.writeFileSync(bundle, ['// src-main/relay/target.ts', 'function pump() {}', '// node_modules/ws/lib/sender.js', 'function send() {}', ''].join('\n'));
    const url = `file://${bundle}`;
    const profile = {
      nodes: [
        { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1 }, children: [2, 3, 4, 5] },
        { id: 2, callFrame: { functionName: 'pump', url, lineNumber: 1 } },
        { id: 3, callFrame: { functionName: 'send', url, lineNumber: 3 } },
        { id: 4, callFrame: { functionName: '(idle)', url: '', lineNumber: -1 } },
        { id: 5, callFrame: { functionName: '(garbage collector)', url: '', lineNumber: -1 } },
      ],
      // 30 ms pump, 10 ms send, 50 ms idle, 10 ms GC, one sample per millisecond.
      samples: [...Array(30).fill(2), ...Array(10).fill(3), ...Array(50).fill(4), ...Array(10).fill(5)],
      timeDeltas: Array(100).fill(1000),
      startTime: 0,
      endTime: 100_000,
    };
    const file = path.join(dir, 'p.cpuprofile');
    fs.writeFileSync(file, JSON.stringify(profile));
    const s = summarizeProfile(file);
    expect(s.wallMs).toBe(100);
    expect(s.busyMs).toBe(50);
    expect(s.modules.map((m) => m.module)).toEqual(['src-main/relay/target.ts', 'ws (package)', '(garbage collector)']);
    expect(s.modules[0]?.ms).toBe(30);
    expect(s.gcShare).toBeCloseTo(0.2, 3);
    // The window can leave start-up out.
    expect(summarizeProfile(file, { fromMs: 35 }).modules.map((m) => [m.module, m.ms])).toEqual([
      ['(garbage collector)', 10],
      ['ws (package)', 6],
    ]);
  });
});

describe('bench/util', () => {
  it('takes medians and nearest-rank percentiles', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    const samples = Array.from({ length: 1000 }, (_, i) => i + 1);
    expect(latencyStats(samples)).toEqual({ samples: 1000, p50: 500, p99: 990, max: 1000 });
  });
});
