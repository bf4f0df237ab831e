// The .ibt reader's throughput on the real fixture, as a ratio against a plain sequential
// read of the same bytes with the same chunk size in the same run: what decoding costs on
// top of the I/O a reader cannot avoid.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { IbtFile } from '../src-main/ibt/ibt-file';
import { DEFAULT_SETTINGS } from '../src-shared/settings';
import { VALID_IBT } from '../tests/helpers/fixtures';
import { round } from './util';

/** The copy kept in this repository (tests/fixtures/ibt/README.md says where it comes from). */
export const FIXTURE = VALID_IBT;
/** recordCount in the disk sub-header: 112 + 8 + 8 + 8 + 4. */
const RECORD_COUNT_OFFSET = 140;

export interface ReaderResult {
  samples: number;
  readerSamplesPerSec: number;
  plainSamplesPerSec: number;
  ratio: number;
  readerRuns: number[];
  plainRuns: number[];
}

/** The fixture with its samples repeated, so one pass lasts long enough to time (about 20 MB). */
function buildLargeFile(repeat: number): { file: string; samples: number; bufOffset: number; bufLen: number } {
  const data = fs.readFileSync(FIXTURE);
  const bufLen = data.readInt32LE(36);
  const bufOffset = data.readInt32LE(52);
  const original = (data.length - bufOffset) / bufLen;
  const head = Buffer.from(data.subarray(0, bufOffset));
  const samples = original * repeat;
  head.writeInt32LE(samples, RECORD_COUNT_OFFSET);
  const file = path.join(os.tmpdir(), `relay-bench-${process.pid}.ibt`);
  const fd = fs.openSync(file, 'w');
  try {
    fs.writeSync(fd, head);
    const block = data.subarray(bufOffset);
    for (let i = 0; i < repeat; i++) fs.writeSync(fd, block);
  } finally {
    fs.closeSync(fd);
  }
  return { file, samples, bufOffset, bufLen };
}

async function readerPass(file: string, variables: string[]): Promise<number> {
  const ibt = await IbtFile.open(file);
  try {
    const t0 = performance.now();
    let n = 0;
    for await (const s of ibt.samples({ variables })) if (s.index >= 0) n++;
    return n / ((performance.now() - t0) / 1000);
  } finally {
    await ibt.close();
  }
}

async function plainPass(file: string, bufOffset: number, bufLen: number, samples: number): Promise<number> {
  const fh = await fs.promises.open(file, 'r');
  try {
    // The reader's own chunk: 64 samples per read.
    const chunk = Buffer.alloc(64 * bufLen);
    const t0 = performance.now();
    let position = bufOffset;
    let checksum = 0;
    for (;;) {
      const { bytesRead } = await fh.read(chunk, 0, chunk.length, position);
      if (bytesRead <= 0) break;
      checksum ^= chunk[0] ?? 0;
      position += bytesRead;
    }
    if (checksum < 0) throw new Error('unreachable');
    return samples / ((performance.now() - t0) / 1000);
  } finally {
    await fh.close();
  }
}

export async function measureIbtReader(rounds = 3, repeat = 50): Promise<ReaderResult> {
  const { file, samples, bufOffset, bufLen } = buildLargeFile(repeat);
  try {
    // What a replay decodes: the two streams' variables and the tick.
    const variables = [...new Set([...DEFAULT_SETTINGS.controlsVars, ...DEFAULT_SETTINGS.baselineVars, 'SessionTick'])];
    const readerRuns: number[] = [];
    const plainRuns: number[] = [];
    for (let i = 0; i < rounds; i++) {
      plainRuns.push(await plainPass(file, bufOffset, bufLen, samples));
      readerRuns.push(await readerPass(file, variables));
    }
    const reader = Math.max(...readerRuns);
    const plain = Math.max(...plainRuns);
    return {
      samples,
      readerSamplesPerSec: Math.round(reader),
      plainSamplesPerSec: Math.round(plain),
      ratio: round(reader / plain, 3),
      readerRuns: readerRuns.map(Math.round),
      plainRuns: plainRuns.map(Math.round),
    };
  } finally {
    fs.rmSync(file, { force: true });
  }
}
