// The least a program must do to read telemetry variables out of an .ibt file: read the
// samples in chunks (64 at a time, as the reader did when this was written) and get each
// variable with one DataView call, into a reused array. The reader and the replay are
// measured against it: the floor of the reader phase, and the decoder of the plain replay.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FIXTURE_IBT as FIXTURE } from './paths';
/** recordCount in the disk sub-header: 112 + 8 + 8 + 8 + 4. */
const RECORD_COUNT_OFFSET = 140;
const HEADER_NUM_VARS = 24;
const HEADER_VAR_OFFSET = 28;
const HEADER_BUF_LEN = 36;
const HEADER_BUF_OFFSET = 52;
const VAR_HEADER_SIZE = 144;
export const FLOOR_CHUNK_SAMPLES = 64;

export interface LargeRecording {
  file: string;
  samples: number;
  bufOffset: number;
  bufLen: number;
  remove(): void;
}

/** The fixture with its samples repeated `repeat` times, so one pass lasts long enough to time. */
export function buildLargeRecording(repeat: number, dir = os.tmpdir()): LargeRecording {
  const data = fs.readFileSync(FIXTURE);
  const bufLen = data.readInt32LE(HEADER_BUF_LEN);
  const bufOffset = data.readInt32LE(HEADER_BUF_OFFSET);
  const original = (data.length - bufOffset) / bufLen;
  const head = Buffer.from(data.subarray(0, bufOffset));
  const samples = original * repeat;
  head.writeInt32LE(samples, RECORD_COUNT_OFFSET);
  const file = path.join(dir, `relay-bench-${process.pid}-${repeat}.ibt`);
  const fd = fs.openSync(file, 'w');
  try {
    fs.writeSync(fd, head);
    const block = data.subarray(bufOffset);
    for (let i = 0; i < repeat; i++) fs.writeSync(fd, block);
  } finally {
    fs.closeSync(fd);
  }
  return { file, samples, bufOffset, bufLen, remove: () => fs.rmSync(file, { force: true }) };
}

export interface FloorVariable {
  name: string;
  typeCode: number;
  offset: number;
}

/** The named variables' types and offsets, straight from the variable headers. */
export function floorVariables(file: string, names: readonly string[]): FloorVariable[] {
  const data = fs.readFileSync(file);
  const numVars = data.readInt32LE(HEADER_NUM_VARS);
  const at = data.readInt32LE(HEADER_VAR_OFFSET);
  const found = new Map<string, FloorVariable>();
  for (let i = 0; i < numVars; i++) {
    const base = at + i * VAR_HEADER_SIZE;
    const typeCode = data.readInt32LE(base);
    const offset = data.readInt32LE(base + 4);
    const raw = data.subarray(base + 16, base + 48);
    const name = raw.subarray(0, raw.indexOf(0) < 0 ? raw.length : raw.indexOf(0)).toString('latin1');
    found.set(name, { name, typeCode, offset });
  }
  return names.map((n) => {
    const v = found.get(n);
    if (!v) throw new Error(`${file}: no variable ${n}`);
    return v;
  });
}

/** One sample's variables into `out`, by irsdk type code (char, bool, int, bitField, float, double). */
export function decodeFloorSample(dv: DataView, base: number, vars: readonly FloorVariable[], out: Float64Array): void {
  for (let i = 0; i < vars.length; i++) {
    const v = vars[i] as FloorVariable;
    const at = base + v.offset;
    switch (v.typeCode) {
      case 0:
      case 1:
        out[i] = dv.getUint8(at);
        break;
      case 2:
        out[i] = dv.getInt32(at, true);
        break;
      case 3:
        out[i] = dv.getUint32(at, true);
        break;
      case 4:
        out[i] = dv.getFloat32(at, true);
        break;
      default:
        out[i] = dv.getFloat64(at, true);
    }
  }
}

/** Reads every sample of `file` and decodes `vars` of each; calls `each` with the values (a reused array), and `afterChunk` after each read. */
export async function floorPass(
  rec: Pick<LargeRecording, 'file' | 'samples' | 'bufOffset' | 'bufLen'>,
  vars: readonly FloorVariable[],
  each: (values: Float64Array, index: number) => void,
  afterChunk?: () => Promise<void> | void,
): Promise<void> {
  const fh = await fs.promises.open(rec.file, 'r');
  try {
    const chunk = Buffer.alloc(FLOOR_CHUNK_SAMPLES * rec.bufLen);
    const dv = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const out = new Float64Array(vars.length);
    for (let index = 0; index < rec.samples; ) {
      const n = Math.min(FLOOR_CHUNK_SAMPLES, rec.samples - index);
      const { bytesRead } = await fh.read(chunk, 0, n * rec.bufLen, rec.bufOffset + index * rec.bufLen);
      if (bytesRead < n * rec.bufLen) throw new Error(`${rec.file}: short read at sample ${index}`);
      for (let k = 0; k < n; k++, index++) {
        decodeFloorSample(dv, k * rec.bufLen, vars, out);
        each(out, index);
      }
      await afterChunk?.();
    }
  } finally {
    await fh.close();
  }
}
