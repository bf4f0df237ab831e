// Corrupted variants of the real fixture: every one must open and stream to the end,
// or fail with IbtError. Anything else (another exception type, a hang, a runaway
// allocation) is a reader bug. The PRNG is seeded so a failure reproduces.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { IbtError, IbtFile } from '../src-main/ibt';
import { VALID_IBT } from './helpers/fixtures';
import { mulberry32 } from './helpers/random';

const fixture = fs.readFileSync(VALID_IBT);

const VAR_HEADERS = [144, 39_888] as const;
const YAML = [39_888, 53_764] as const;
const SAMPLES = [53_764, fixture.length] as const;
const EXTREMES = [0, -1, 0x7fffffff, -0x80000000];
/** Generous for a slow CI machine: one variant takes a few ms here. */
const VARIANT_MS = 2_000;


const rand = mulberry32(0x1b7_2024);
const int = (lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo));
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;

interface Variant {
  label: string;
  data: Buffer;
  allowTruncated?: boolean;
}

function mutate(label: string, edit: (b: Buffer) => void): Variant {
  const data = Buffer.from(fixture);
  edit(data);
  return { label, data };
}

function variants(): Variant[] {
  const out: Variant[] = [];
  // Truncation at every length through the preamble, then spread over each region.
  for (let n = 0; n <= 144; n++) out.push({ label: `truncate ${n}`, data: fixture.subarray(0, n) });
  for (const [lo, hi, k] of [[...VAR_HEADERS, 40], [...YAML, 25], [...SAMPLES, 25]] as const) {
    for (let i = 0; i < k; i++) {
      const n = int(lo, hi);
      out.push({ label: `truncate ${n}`, data: fixture.subarray(0, n) });
      out.push({ label: `truncate ${n} allowTruncated`, data: fixture.subarray(0, n), allowTruncated: true });
    }
  }
  // Every int32 of the preamble set to each extreme value.
  for (let at = 0; at < 144; at += 4) {
    for (const v of EXTREMES) out.push(mutate(`int32 ${v} at ${at}`, (b) => b.writeInt32LE(v, at)));
  }
  // The type, offset and count of random variable headers, set to extremes or near the limits.
  for (let i = 0; i < 80; i++) {
    const varIdx = int(0, 276);
    const field = pick([0, 4, 8]);
    const v = pick([...EXTREMES, 1072, 1071, 6, 268, int(-10, 10)]);
    out.push(mutate(`var ${varIdx} field +${field} = ${v}`, (b) => b.writeInt32LE(v, 144 + varIdx * 144 + field)));
  }
  // Random byte flips, a few at a time, in the preamble, variable headers and YAML.
  for (let i = 0; i < 150; i++) {
    const [lo, hi] = pick([[0, 144], VAR_HEADERS, YAML] as const);
    const flips = int(1, 5);
    const spots = Array.from({ length: flips }, () => [int(lo, hi), int(0, 256)] as const);
    out.push(mutate(`bytes ${spots.map(([at, v]) => `${at}=${v}`).join(',')}`, (b) => {
      for (const [at, v] of spots) b[at] = v;
    }));
  }
  // Random int32 overwrites at unaligned places anywhere before the samples.
  for (let i = 0; i < 60; i++) {
    const at = int(0, YAML[1] - 4);
    const v = pick(EXTREMES);
    out.push(mutate(`int32 ${v} at ${at}`, (b) => b.writeInt32LE(v, at)));
  }
  // Runs of garbage in the YAML.
  for (let i = 0; i < 30; i++) {
    const at = int(YAML[0], YAML[1] - 64);
    const len = int(1, 64);
    out.push(mutate(`yaml garbage ${len} at ${at}`, (b) => {
      for (let j = 0; j < len; j++) b[at + j] = int(0, 256);
    }));
  }
  return out;
}

/** Opens and streams one variant; returns 'ok' or the IbtError code. */
async function attempt(open: () => Promise<IbtFile>): Promise<string> {
  let f: IbtFile | undefined;
  try {
    f = await open();
    let n = 0;
    for await (const s of f.samples()) {
      if (s.index !== n) throw new Error(`sample index ${s.index}, expected ${n}`);
      n++;
    }
    if (n !== f.sampleCount) throw new Error(`streamed ${n} samples of ${f.sampleCount}`);
    if (f.sampleCount > (f.size - f.header.bufOffset) / f.header.bufLen) throw new Error('sampleCount beyond the file');
    return 'ok';
  } catch (e) {
    if (!(e instanceof IbtError)) throw e;
    if (e.message.trim() === '') throw new Error(`IbtError ${e.code} with an empty message`);
    return e.code;
  } finally {
    await f?.close();
  }
}

describe('fuzzed .ibt files', () => {
  const all = variants();
  const tally = new Map<string, number>();

  it(`${all.length} in-memory variants open and stream, or fail with IbtError`, async () => {
    expect(all.length).toBeGreaterThan(600);
    for (const v of all) {
      const t0 = performance.now();
      let outcome: string;
      try {
        outcome = await attempt(() => IbtFile.fromBuffer(v.data, { allowTruncated: v.allowTruncated ?? false, name: v.label }));
      } catch (e) {
        throw new Error(`variant "${v.label}" threw a non-IbtError: ${e instanceof Error ? e.stack : String(e)}`);
      }
      const ms = performance.now() - t0;
      expect(ms, `variant "${v.label}" took ${ms.toFixed(0)} ms`).toBeLessThan(VARIANT_MS);
      tally.set(outcome, (tally.get(outcome) ?? 0) + 1);
    }
    // The variants reach past the first check: some still read, and many distinct checks fire.
    expect(tally.get('ok') ?? 0).toBeGreaterThan(20);
    for (const code of ['too_small', 'empty', 'truncated', 'bad_version', 'bad_header', 'bad_var_header', 'out_of_bounds']) {
      expect(tally.get(code) ?? 0, `${code} in ${JSON.stringify([...tally])}`).toBeGreaterThan(0);
    }
  });

  describe('through the file system', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ibt-fuzz-'));
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

    it('a sample of the variants behaves the same when read from disk', async () => {
      for (const [i, v] of all.entries()) {
        if (i % 20 !== 0) continue;
        const file = path.join(dir, `v${i}.ibt`);
        fs.writeFileSync(file, v.data);
        const options = { allowTruncated: v.allowTruncated ?? false };
        const fromDisk = await attempt(() => IbtFile.open(file, options));
        const inMemory = await attempt(() => IbtFile.fromBuffer(v.data, options));
        expect(fromDisk, v.label).toBe(inMemory);
        fs.rmSync(file);
      }
    });
  });
});
