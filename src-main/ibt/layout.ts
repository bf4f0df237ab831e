// The fixed binary layout of an .ibt file and the checks that make every later read
// safe: nothing is allocated or read from a count or offset until it has been checked
// against the file size and against caps no real recording comes near.
import { decodeCp1252 } from './cp1252';
import { IbtError, showInt } from './errors';
import { VAR_TYPES } from './decode';
import type { IbtDiskHeader, IbtHeader, IbtVariable } from './types';

export const HEADER_SIZE = 112;
export const DISK_HEADER_SIZE = 32;
/** irsdk_header followed by irsdk_diskSubHeader. */
export const PREAMBLE_SIZE = HEADER_SIZE + DISK_HEADER_SIZE;
export const VAR_HEADER_SIZE = 144;

export const MAX_NUM_VARS = 10_000;
export const MAX_BUF_LEN = 1024 * 1024;
export const MAX_SESSION_INFO_LEN = 16 * 1024 * 1024;
export const MAX_TICK_RATE = 10_000;
export const MAX_NUM_BUF = 4;

/** Byte offsets of the fields, so that messages can say where a bad value sits. */
export const FIELD_OFFSET = {
  ver: 0,
  status: 4,
  tickRate: 8,
  sessionInfoUpdate: 12,
  sessionInfoLen: 16,
  sessionInfoOffset: 20,
  numVars: 24,
  varHeaderOffset: 28,
  numBuf: 32,
  bufLen: 36,
  'varBuf[0].bufOffset': 52,
  sessionStartDate: 112,
  startTime: 120,
  endTime: 128,
  lapCount: 136,
  recordCount: 140,
} as const;

type Field = keyof typeof FIELD_OFFSET;

function fail(code: 'bad_header' | 'bad_version', field: Field, value: number, expected: string): never {
  const offset = FIELD_OFFSET[field];
  throw new IbtError(code, `header field ${field} at byte ${offset} is ${showInt(value)}; expected ${expected}`, { offset, field });
}

function inRange(field: Field, value: number, min: number, max: number, what = `${min}..${max}`): void {
  if (value < min || value > max) fail('bad_header', field, value, what);
}

/** Parses and checks the 144-byte preamble; `preamble` must hold at least PREAMBLE_SIZE bytes. */
export function parsePreamble(preamble: Uint8Array): { header: IbtHeader; disk: IbtDiskHeader } {
  const dv = new DataView(preamble.buffer, preamble.byteOffset, PREAMBLE_SIZE);
  const i32 = (field: Field): number => dv.getInt32(FIELD_OFFSET[field], true);

  const ver = i32('ver');
  if (ver !== 1 && ver !== 2) fail('bad_version', 'ver', ver, '1 or 2 (not an iRacing .ibt file, or a corrupt one)');

  const header: IbtHeader = {
    ver,
    status: i32('status'),
    tickRate: i32('tickRate'),
    sessionInfoUpdate: i32('sessionInfoUpdate'),
    sessionInfoLen: i32('sessionInfoLen'),
    sessionInfoOffset: i32('sessionInfoOffset'),
    numVars: i32('numVars'),
    varHeaderOffset: i32('varHeaderOffset'),
    numBuf: i32('numBuf'),
    bufLen: i32('bufLen'),
    bufOffset: i32('varBuf[0].bufOffset'),
  };
  inRange('tickRate', header.tickRate, 1, MAX_TICK_RATE);
  inRange('numVars', header.numVars, 1, MAX_NUM_VARS);
  inRange('numBuf', header.numBuf, 1, MAX_NUM_BUF);
  inRange('bufLen', header.bufLen, 1, MAX_BUF_LEN);
  inRange('sessionInfoLen', header.sessionInfoLen, 0, MAX_SESSION_INFO_LEN);
  // iRacing's live memory map has the same header but no disk sub-header: its session info and
  // variable headers start right after the 112-byte header. Saved to a file it looks like an
  // .ibt and is not one; say what it is rather than which offset is too small.
  const live = [header.sessionInfoOffset, header.varHeaderOffset].some((o) => o >= HEADER_SIZE && o < PREAMBLE_SIZE);
  if (live) {
    throw new IbtError(
      'live_memory_dump',
      `this is a dump of iRacing's live memory map (what the SDK reads while the sim runs), not a disk recording: ` +
        `its session info starts at byte ${header.sessionInfoOffset} and its variable headers at byte ${header.varHeaderOffset}, ` +
        `right after the ${HEADER_SIZE}-byte header, with no disk sub-header and no samples on record; ` +
        `record an .ibt in iRacing (telemetry logging), or publish this dump with npm run wine:live -- --dump <file> --seconds <n>`,
      { offset: FIELD_OFFSET.sessionInfoOffset, field: 'sessionInfoOffset' },
    );
  }
  // Every region lies after the preamble: an offset into it is corruption, not layout.
  const afterPreamble = `at least ${PREAMBLE_SIZE} (past the header and disk sub-header)`;
  inRange('varHeaderOffset', header.varHeaderOffset, PREAMBLE_SIZE, 0x7fffffff, afterPreamble);
  inRange('sessionInfoOffset', header.sessionInfoOffset, PREAMBLE_SIZE, 0x7fffffff, afterPreamble);
  inRange('varBuf[0].bufOffset', header.bufOffset, PREAMBLE_SIZE, 0x7fffffff, afterPreamble);

  const disk: IbtDiskHeader = {
    // An int64, but seconds since 1970 fit a double exactly for any plausible date.
    sessionStartDate: Number(dv.getBigInt64(FIELD_OFFSET.sessionStartDate, true)),
    startTime: dv.getFloat64(FIELD_OFFSET.startTime, true),
    endTime: dv.getFloat64(FIELD_OFFSET.endTime, true),
    lapCount: i32('lapCount'),
    recordCount: i32('recordCount'),
  };
  inRange('recordCount', disk.recordCount, 0, 0x7fffffff, 'a count of 0 or more');
  return { header, disk };
}

/**
 * Checks that [start, start + length) lies inside the file. A region that starts inside
 * but runs past the end is reported as truncation, the usual cause; one that starts
 * past the end means the offset itself is wrong.
 */
export function checkRegion(size: number, what: string, field: Field, start: number, length: number): void {
  const end = start + length;
  if (start > size) {
    throw new IbtError(
      'out_of_bounds',
      `${what} starts at byte ${start} (header field ${field} at byte ${FIELD_OFFSET[field]}), past the end of the ${size}-byte file`,
      { offset: FIELD_OFFSET[field], field },
    );
  }
  if (end > size) {
    throw new IbtError(
      'truncated',
      `file ends at byte ${size}, inside the ${what} (bytes ${start}..${end}, from header field ${field} at byte ${FIELD_OFFSET[field]})`,
      { offset: size, field },
    );
  }
}

/** Regions must come before the samples: overlapping them means a length or offset is wrong. */
export function checkBeforeSamples(header: IbtHeader): void {
  const regions: [string, Field, number, number][] = [
    ['variable headers', 'numVars', header.varHeaderOffset, header.numVars * VAR_HEADER_SIZE],
    ['session info', 'sessionInfoLen', header.sessionInfoOffset, header.sessionInfoLen],
  ];
  for (const [what, field, start, length] of regions) {
    if (start + length > header.bufOffset) {
      throw new IbtError(
        'bad_header',
        `the ${what} (bytes ${start}..${start + length}) overlap the samples, which start at byte ${header.bufOffset} (varBuf[0].bufOffset at byte 52); header field ${field} or an offset is wrong`,
        { offset: FIELD_OFFSET[field], field },
      );
    }
  }
}

function cString(bytes: Uint8Array, start: number, length: number): string {
  let end = start;
  const limit = start + length;
  while (end < limit && bytes[end] !== 0) end++;
  return decodeCp1252(bytes.subarray(start, end));
}

// Control characters never appear in iRacing's names; one there means the header is garbage.
// eslint-disable-next-line no-control-regex
const BAD_NAME = /[\x00-\x1f\x7f]/;

/** Parses numVars headers from `bytes`, which starts at absolute file offset `base`. */
export function parseVarHeaders(bytes: Uint8Array, base: number, numVars: number, bufLen: number): IbtVariable[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const vars: IbtVariable[] = [];
  const seen = new Map<string, number>();
  for (let i = 0; i < numVars; i++) {
    const o = i * VAR_HEADER_SIZE;
    const at = base + o;
    const bad = (field: string, fieldOffset: number, what: string): IbtError =>
      new IbtError('bad_var_header', `variable header #${i} (at byte ${at}): ${field} at byte ${at + fieldOffset} ${what}`, {
        offset: at + fieldOffset,
        field: `varHeaders[${i}].${field}`,
      });
    const typeCode = dv.getInt32(o, true);
    const offset = dv.getInt32(o + 4, true);
    const count = dv.getInt32(o + 8, true);
    const spec = VAR_TYPES[typeCode];
    if (spec === undefined) throw bad('type', 0, `is ${showInt(typeCode)}; expected 0..5 (char, bool, int, bitField, float, double)`);
    if (count < 1 || count > bufLen) throw bad('count', 8, `is ${showInt(count)}; expected 1..${bufLen} (bufLen)`);
    if (offset < 0 || offset + spec.size * count > bufLen) {
      throw bad('offset', 4, `is ${showInt(offset)}; ${count} x ${spec.size}-byte ${spec.type} from there must fit in bufLen ${bufLen}`);
    }
    const name = cString(bytes, o + 16, 32);
    if (name === '') throw bad('name', 16, 'is empty');
    if (BAD_NAME.test(name) || name === '__proto__') throw bad('name', 16, `is not a variable name (${JSON.stringify(name)})`);
    const dup = seen.get(name);
    if (dup !== undefined) throw bad('name', 16, `repeats the name ${JSON.stringify(name)} of variable header #${dup}`);
    seen.set(name, i);
    vars.push({
      name,
      description: cString(bytes, o + 48, 64),
      unit: cString(bytes, o + 112, 32),
      type: spec.type,
      typeCode,
      offset,
      count,
      countAsTime: bytes[o + 12] !== 0,
    });
  }
  return vars;
}
