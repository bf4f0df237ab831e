import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IbtError, IbtFile, type IbtErrorCode, type IbtVariable } from '../src-main/ibt';
import { makeAccessor } from '../src-main/ibt/decode';
import { INVALID_IBT as INVALID, LIVE_IBT as LIVE, VALID_IBT as VALID } from './helpers/fixtures';

const SIZE = 471_844;
const BUF_LEN = 1072;
const BUF_OFFSET = 53_764;
const YAML_OFFSET = 39_888;
const YAML_LEN = 13_876;
const SAMPLES = 390;

const fixture = fs.readFileSync(VALID);
let tmp: string;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ibt-test-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** A copy of the fixture with `edit` applied. */
function patched(edit: (b: Buffer) => void): Buffer {
  const b = Buffer.from(fixture);
  edit(b);
  return b;
}

/** The fixture with its session YAML replaced by `text`, padded with NULs to the same length. */
function withYaml(text: string): Buffer {
  const bytes = Buffer.from(text, 'latin1');
  if (bytes.length > YAML_LEN) throw new Error('test YAML too long');
  return patched((b) => {
    b.fill(0, YAML_OFFSET, YAML_OFFSET + YAML_LEN);
    bytes.copy(b, YAML_OFFSET);
  });
}

async function failure(p: Promise<unknown>): Promise<IbtError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(IbtError);
    expect((e as IbtError).message).not.toBe('');
    return e as IbtError;
  }
  throw new Error('expected an IbtError, but it succeeded');
}

async function openFails(data: Uint8Array, code: IbtErrorCode, options = {}): Promise<IbtError> {
  const e = await failure(IbtFile.fromBuffer(data, options));
  expect(e.code, e.message).toBe(code);
  return e;
}

async function collect(f: IbtFile, options: Parameters<IbtFile['samples']>[0] = {}) {
  const out = [];
  for await (const s of f.samples(options)) out.push(s);
  return out;
}

function section(info: unknown, key: string): Record<string, unknown> {
  const v = (info as Record<string, unknown>)[key];
  expect(v, key).toBeTypeOf('object');
  return v as Record<string, unknown>;
}

describe('valid_test_file.ibt', () => {
  let f: IbtFile;
  beforeAll(async () => {
    f = await IbtFile.open(VALID);
  });
  afterAll(async () => {
    await f.close();
  });

  it('reads the header and disk sub-header', () => {
    expect(f.path).toBe(VALID);
    expect(f.size).toBe(SIZE);
    expect(f.header).toEqual({
      ver: 2,
      status: 1,
      tickRate: 60,
      sessionInfoUpdate: 0,
      sessionInfoLen: YAML_LEN,
      sessionInfoOffset: YAML_OFFSET,
      numVars: 276,
      varHeaderOffset: 144,
      numBuf: 1,
      bufLen: BUF_LEN,
      bufOffset: BUF_OFFSET,
    });
    expect(f.disk.recordCount).toBe(SAMPLES);
    expect((f.size - f.header.bufOffset) / f.header.bufLen).toBe(SAMPLES);
    expect(f.sampleCount).toBe(SAMPLES);
    expect(f.disk.startTime).toBeCloseTo(932.0, 3);
    expect(f.disk.endTime).toBeCloseTo(938.483, 3);
    expect(f.disk.lapCount).toBe(1);
    // 2024-06-24, a plausible recording date in unix seconds.
    expect(f.disk.sessionStartDate).toBe(1_719_258_336);
  });

  it('reads every variable header', () => {
    expect(f.variables).toHaveLength(276);
    expect(new Set(f.variables.map((v) => v.name)).size).toBe(276);
    expect(f.variable('SessionTime')).toEqual({
      name: 'SessionTime',
      description: 'Seconds since session start',
      unit: 's',
      type: 'double',
      typeCode: 5,
      offset: 0,
      count: 1,
      countAsTime: false,
    });
    expect(f.variable('Throttle')).toMatchObject({ type: 'float', unit: '%', count: 1 });
    expect(f.variable('Gear')).toMatchObject({ type: 'int', typeCode: 2 });
    expect(f.variable('SessionFlags')).toMatchObject({ type: 'bitField', unit: 'irsdk_Flags' });
    expect(f.variable('OnPitRoad')).toMatchObject({ type: 'bool' });
    expect(f.variable('SteeringWheelTorque_ST')).toMatchObject({ type: 'float', count: 6, countAsTime: true });
    expect(f.variable('NoSuchThing')).toBeUndefined();
    for (const v of f.variables) {
      expect(v.offset + { char: 1, bool: 1, int: 4, bitField: 4, float: 4, double: 8 }[v.type] * v.count).toBeLessThanOrEqual(BUF_LEN);
    }
  });

  it('parses the session YAML: track and car', () => {
    expect(f.sessionInfoText.length).toBe(YAML_LEN);
    expect(f.sessionInfoText.startsWith('---\nWeekendInfo:')).toBe(true);
    const weekend = section(f.sessionInfo, 'WeekendInfo');
    expect(weekend.TrackDisplayName).toBe('Red Bull Ring');
    expect(weekend.TrackName).toBe('spielberg gp');
    expect(weekend.SessionID).toBe(0);
    expect(weekend.SubSessionID).toBe(0);
    const driverInfo = section(f.sessionInfo, 'DriverInfo');
    const drivers = driverInfo.Drivers as Record<string, unknown>[];
    const me = drivers.find((d) => d.CarIdx === driverInfo.DriverCarIdx);
    expect(me?.CarScreenName).toBe('Mercedes-AMG W13 E Performance');
    // Personal fields exist, but their values stay out of the test.
    expect(me?.UserName).toBeTypeOf('string');
    expect(me?.UserID).toBeTypeOf('number');
    expect(driverInfo.DriverUserID).toBeTypeOf('number');
  });

  it('streams all 390 samples, SessionTime 932.000 to 938.483 at 60 Hz', async () => {
    const all = await collect(f, { variables: ['SessionTime'] });
    expect(all.map((s) => s.index)).toEqual([...Array(SAMPLES).keys()]);
    const t = all.map((s) => s.values.SessionTime as number);
    expect(t[0]).toBeCloseTo(932.0, 3);
    expect(t[SAMPLES - 1]).toBeCloseTo(938.483, 3);
    for (let i = 1; i < t.length; i++) {
      expect(t[i]! - t[i - 1]!).toBeCloseTo(1 / 60, 4);
    }
    expect((SAMPLES - 1) / (t[SAMPLES - 1]! - t[0]!)).toBeCloseTo(60, 2);
  });

  it('decodes sample 0 and sample 195', async () => {
    const s0 = await f.readSample(0);
    expect(s0.index).toBe(0);
    expect(s0.values.SessionTime as number).toBeCloseTo(932.0, 3);
    expect(s0.values.Lap).toBe(9);
    expect(s0.values.Speed as number).toBeCloseTo(0.048, 3);
    expect(s0.values.RPM as number).toBeCloseTo(300.0, 3);
    expect(s0.values.Gear).toBe(0);
    expect(s0.values.Throttle as number).toBeCloseTo(0, 6);
    expect(s0.values.Brake as number).toBeCloseTo(1.0, 6);
    expect(s0.values.FuelLevel as number).toBeCloseTo(60.0, 3);

    const s195 = await f.readSample(195, ['SessionTime', 'RPM', 'Gear', 'Brake']);
    expect(s195.values.SessionTime as number).toBeCloseTo(935.25, 3);
    expect(s195.values.RPM as number).toBeCloseTo(4058.952, 3);
    expect(s195.values.Gear).toBe(1);
    expect(s195.values.Brake as number).toBeCloseTo(0.11, 3);

    // The stream and random access agree.
    const streamed = await collect(f, { start: 195, end: 196 });
    expect(streamed[0]).toEqual(await f.readSample(195));
  });

  it('decodes every variable to a value of its type and shape', async () => {
    const { values } = await f.readSample(100);
    expect(Object.keys(values)).toHaveLength(276);
    for (const v of f.variables) {
      const value = values[v.name];
      const scalar = v.type === 'bool' ? 'boolean' : v.type === 'char' ? 'string' : 'number';
      if (v.count > 1 && v.type !== 'char') {
        expect(Array.isArray(value), v.name).toBe(true);
        expect(value as unknown[], v.name).toHaveLength(v.count);
        for (const el of value as unknown[]) expect(typeof el, v.name).toBe(scalar);
      } else {
        expect(typeof value, v.name).toBe(scalar);
      }
    }
    const torque = values.SteeringWheelTorque_ST as number[];
    expect(torque).toHaveLength(6);
    expect(torque.every(Number.isFinite)).toBe(true);
    expect(values.OnPitRoad).toBeTypeOf('boolean');
    expect(Number.isInteger(values.SessionFlags) && (values.SessionFlags as number) >= 0).toBe(true);
  });

  it('decodes only the selected variables', async () => {
    const picked = ['Throttle', 'Brake', 'SteeringWheelTorque_ST'];
    const all = await collect(f, { variables: picked });
    expect(all).toHaveLength(SAMPLES);
    for (const s of all) expect(Object.keys(s.values)).toEqual(picked);
    expect((all[0]!.values.SteeringWheelTorque_ST as number[]).length).toBe(6);
    const none = await collect(f, { variables: [], start: 0, end: 3 });
    expect(none.map((s) => s.values)).toEqual([{}, {}, {}]);
  });

  it('honours start and end', async () => {
    const part = await collect(f, { start: 10, end: 20, variables: ['SessionTime', 'RPM'] });
    expect(part.map((s) => s.index)).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
    for (const s of part) expect(s).toEqual(await f.readSample(s.index, ['SessionTime', 'RPM']));
    expect(await collect(f, { start: 385 })).toHaveLength(5);
    expect(await collect(f, { start: 7, end: 7 })).toHaveLength(0);
    // Chunk boundaries (64 samples) fall inside the range without changing the values.
    const across = await collect(f, { start: 60, end: 140, variables: ['SessionTick'] });
    const ticks = across.map((s) => s.values.SessionTick as number);
    for (let i = 1; i < ticks.length; i++) expect(ticks[i]! - ticks[i - 1]!).toBe(1);
  });

  it('gives the same values in chunks, by position, as sample by sample', async () => {
    const variables = ['SessionTime', 'OnPitRoad', 'Gear', 'SessionFlags', 'SteeringWheelTorque_ST', 'RPM'];
    const bySample = await collect(f, { variables, start: 5, end: 200 });
    const seen: number[] = [];
    for await (const chunk of f.chunks({ variables, start: 5, end: 200 })) {
      expect(chunk.names).toEqual(variables);
      expect(chunk.count).toBeLessThanOrEqual(64);
      expect(chunk.values).toHaveLength(chunk.count * variables.length);
      for (let k = 0; k < chunk.count; k++) {
        seen.push(chunk.start + k);
        const expected = bySample[chunk.start + k - 5]!;
        expect(Object.fromEntries(variables.map((name, i) => [name, chunk.values[k * variables.length + i]]))).toEqual(expected.values);
      }
    }
    expect(seen).toEqual(bySample.map((s) => s.index));
    expect(() => f.chunks({ variables: ['NoSuchVariable'] })).toThrow(IbtError);
  });

  it('rejects bad arguments with IbtError', () => {
    const catchSync = (fn: () => unknown): IbtError => {
      try {
        fn();
      } catch (e) {
        expect(e).toBeInstanceOf(IbtError);
        return e as IbtError;
      }
      throw new Error('expected a throw');
    };
    const unknown = catchSync(() => f.samples({ variables: ['Throtle'] }));
    expect(unknown.code).toBe('unknown_variable');
    expect(unknown.message).toContain('"Throtle"');
    expect(unknown.message).toContain('Throttle');
    expect(catchSync(() => f.samples({ start: -1 })).code).toBe('out_of_range');
    expect(catchSync(() => f.samples({ end: SAMPLES + 1 })).code).toBe('out_of_range');
    expect(catchSync(() => f.samples({ start: 20, end: 10 })).code).toBe('out_of_range');
    expect(catchSync(() => f.samples({ start: 1.5 })).code).toBe('out_of_range');
  });

  it('rejects a bad readSample with IbtError', async () => {
    expect((await failure(f.readSample(SAMPLES))).code).toBe('out_of_range');
    expect((await failure(f.readSample(-1))).code).toBe('out_of_range');
    expect((await failure(f.readSample(0, ['Nope']))).code).toBe('unknown_variable');
  });
});

describe('errors', () => {
  it('invalid_test_file.ibt: bad version at offset 0', async () => {
    const e = await failure(IbtFile.open(INVALID));
    expect(e.code).toBe('bad_version');
    expect(e.offset).toBe(0);
    expect(e.field).toBe('ver');
    expect(e.message).toContain('1635021600');
    expect(e.message).toContain('byte 0');
    expect(e.message).toContain(INVALID);
  });

  it('live_test_file.ibt, a dump of the live memory map, is refused with words that say what it is', async () => {
    const e = await failure(IbtFile.open(LIVE));
    expect(e.code).toBe('live_memory_dump');
    expect(e.message).toContain(LIVE);
    expect(e.message).toContain("a dump of iRacing's live memory map");
    expect(e.message).toContain('not a disk recording');
    expect(e.message).toContain('session info starts at byte 112');
    expect(e.message).toContain('npm run wine:live -- --dump');
    expect(e.message).not.toContain('expected at least 144');
  });

  it('a missing file, a directory, an empty file', async () => {
    expect((await failure(IbtFile.open(path.join(tmp, 'nope.ibt')))).code).toBe('not_found');
    expect((await failure(IbtFile.open(path.join(tmp, 'no-dir', 'x.ibt')))).code).toBe('not_found');
    const dir = await failure(IbtFile.open(tmp));
    expect(dir.code).toBe('is_directory');
    expect(dir.message).toContain(tmp);
    const empty = path.join(tmp, 'empty.ibt');
    fs.writeFileSync(empty, '');
    expect((await failure(IbtFile.open(empty))).code).toBe('empty');
    await openFails(new Uint8Array(0), 'empty');
  });

  it.skipIf(process.platform === 'win32')('a FIFO is refused without blocking on it', async () => {
    const fifo = path.join(tmp, 'pipe.ibt');
    execFileSync('mkfifo', [fifo]);
    expect((await failure(IbtFile.open(fifo))).code).toBe('not_a_file');
  });

  it('truncation in the header, variable headers, YAML and samples', async () => {
    for (const n of [1, 4, 111, 112, 143]) {
      const e = await openFails(fixture.subarray(0, n), 'too_small');
      expect(e.message).toContain(`${n} bytes`);
    }
    const inVars = await openFails(fixture.subarray(0, 144), 'truncated');
    expect(inVars.message).toMatch(/variable headers.*144\.\.39888/);
    expect((await openFails(fixture.subarray(0, 20_000), 'truncated')).message).toContain('byte 20000');
    const inYaml = await openFails(fixture.subarray(0, 45_000), 'truncated');
    expect(inYaml.message).toMatch(/session info.*39888\.\.53764/);
    await openFails(fixture.subarray(0, BUF_OFFSET - 1), 'truncated');

    const mid = await openFails(fixture.subarray(0, 400_000), 'truncated');
    expect(mid.message).toContain('322 complete samples');
    expect(mid.message).toContain('says 390');
    const none = await openFails(fixture.subarray(0, BUF_OFFSET + 10), 'truncated');
    expect(none.message).toContain('0 complete samples');
    await openFails(fixture.subarray(0, SIZE - 1), 'truncated');
  });

  it('allowTruncated reads the complete samples', async () => {
    const file = path.join(tmp, 'cut.ibt');
    fs.writeFileSync(file, fixture.subarray(0, 400_000));
    const e = await failure(IbtFile.open(file));
    expect(e.code).toBe('truncated');
    expect(e.message).toContain(file);
    const f = await IbtFile.open(file, { allowTruncated: true });
    expect(f.sampleCount).toBe(322);
    const all = await collect(f, { variables: ['SessionTime'] });
    expect(all).toHaveLength(322);
    expect(all[321]!.values.SessionTime as number).toBeCloseTo(932 + 321 / 60, 3);
    await f.close();
    // A whole file is unaffected by the option.
    const whole = await IbtFile.fromBuffer(fixture, { allowTruncated: true });
    expect(whole.sampleCount).toBe(SAMPLES);
  });

  it('a file that shrinks after open fails as truncated while streaming', async () => {
    const file = path.join(tmp, 'shrinks.ibt');
    fs.writeFileSync(file, fixture);
    const f = await IbtFile.open(file);
    fs.truncateSync(file, BUF_OFFSET + 100 * BUF_LEN);
    let seen = 0;
    const e = await failure(
      (async () => {
        for await (const _ of f.samples({ variables: ['Gear'] })) seen++;
      })(),
    );
    expect(e.code).toBe('truncated');
    expect(e.message).toContain(`byte ${BUF_OFFSET + 100 * BUF_LEN}`);
    // Samples before the cut arrive intact; the error comes before anything past it.
    expect(seen).toBeGreaterThan(0);
    expect(seen).toBeLessThanOrEqual(100);
    await f.close();
  });

  it('offsets and counts outside the file', async () => {
    const int32At = (at: number, v: number) => patched((b) => b.writeInt32LE(v, at));
    const farYaml = await openFails(int32At(20, 10_000_000), 'out_of_bounds');
    expect(farYaml.message).toContain('sessionInfoOffset');
    expect(farYaml.offset).toBe(20);
    expect((await openFails(int32At(28, 1 << 30), 'out_of_bounds')).message).toContain('varHeaderOffset');
    expect((await openFails(int32At(52, SIZE + 1), 'out_of_bounds')).message).toContain('bufOffset');
    expect((await openFails(int32At(16, 0x7fffffff), 'bad_header')).message).toContain('sessionInfoLen');
    expect((await openFails(int32At(24, 0x7fffffff), 'bad_header')).message).toContain('numVars');
    expect((await openFails(int32At(24, -1), 'bad_header')).message).toContain('numVars');
    expect((await openFails(int32At(36, 0), 'bad_header')).message).toContain('bufLen');
    expect((await openFails(int32At(8, 0), 'bad_header')).message).toContain('tickRate');
    expect((await openFails(int32At(32, 5), 'bad_header')).message).toContain('numBuf');
    expect((await openFails(int32At(140, -5), 'bad_header')).message).toContain('recordCount');
    expect((await openFails(int32At(0, 3), 'bad_version')).message).toContain('3 (0x00000003)');
    // More samples promised than present is truncation, with the counts in the message.
    expect((await openFails(int32At(140, 391), 'truncated')).message).toContain('390 complete samples');
    // A session info block that runs into the samples.
    expect((await openFails(int32At(16, YAML_LEN + 10), 'bad_header')).message).toContain('overlap');
  });

  it('bad variable headers name the header and byte', async () => {
    const varField = (i: number, field: number, v: number) => patched((b) => b.writeInt32LE(v, 144 + i * 144 + field));
    const type = await openFails(varField(3, 0, 9), 'bad_var_header');
    expect(type.message).toContain('variable header #3');
    expect(type.offset).toBe(144 + 3 * 144);
    expect(type.field).toBe('varHeaders[3].type');
    const off = await openFails(varField(0, 4, BUF_LEN - 4), 'bad_var_header');
    expect(off.message).toMatch(/offset.*1068.*bufLen 1072/);
    await openFails(varField(0, 4, -1), 'bad_var_header');
    await openFails(varField(7, 8, 0), 'bad_var_header');
    await openFails(varField(7, 8, 0x7fffffff), 'bad_var_header');
    const dup = patched((b) => b.write('SessionTime\0', 144 + 144 + 16, 'latin1'));
    expect((await openFails(dup, 'bad_var_header')).message).toContain('repeats');
    await openFails(
      patched((b) => b.fill(0, 144 + 16, 144 + 48)),
      'bad_var_header',
    );
  });

  it('a closed file refuses to read', async () => {
    const f = await IbtFile.open(VALID);
    await f.close();
    await f.close();
    expect((await failure(f.readSample(0))).code).toBe('closed');
    expect(() => f.samples()).toThrow(IbtError);
  });
});

describe('session YAML', () => {
  const yaml = fixture.toString('latin1', YAML_OFFSET, YAML_OFFSET + YAML_LEN);

  it('decodes as cp1252', async () => {
    // 0x80 is the euro sign in cp1252 (and a control character in latin1).
    const text = yaml.replace('TrackCity: Spielberg', 'TrackCity: Sp\x80elberg');
    const f = await IbtFile.fromBuffer(withYaml(text));
    expect(section(f.sessionInfo, 'WeekendInfo').TrackCity).toBe('Sp€elberg');
  });

  it('sanitises the unquoted values iRacing writes', async () => {
    const text = yaml
      .replace('TrackDisplayName: Red Bull Ring', 'TrackDisplayName: @Red: Bull "Ring"')
      .replace('TrackCountry: Austria', 'TrackCountry: Aus\ttria')
      // Room for the longer values: the block keeps its length.
      .replace(' TrackLengthOfficial: 4.32 km\n', '');
    const f = await IbtFile.fromBuffer(withYaml(text));
    const weekend = section(f.sessionInfo, 'WeekendInfo');
    expect(weekend.TrackDisplayName).toBe('@Red: Bull "Ring"');
    expect(weekend.TrackCountry).toBe('Aus tria');
    // Values that parsed fine keep their types through the sanitising pass.
    expect(weekend.TrackID).toBe(403);
    expect(section(f.sessionInfo, 'DriverInfo').PaceCarIdx).toBe(-1);
  });

  it('unparseable YAML is bad_yaml with the byte offset, without quoting the text', async () => {
    const at = yaml.indexOf('SessionInfo:');
    const text = `${yaml.slice(0, at)}SessionInfo: SecretValue\n- item\n${yaml.slice(at + 'SessionInfo:'.length)}`;
    const e = await openFails(withYaml(text.slice(0, YAML_LEN)), 'bad_yaml');
    expect(e.offset).toBeGreaterThanOrEqual(YAML_OFFSET + at);
    expect(e.offset).toBeLessThan(YAML_OFFSET + YAML_LEN);
    expect(e.message).toContain(`session info at byte ${YAML_OFFSET}`);
    expect(e.message).toContain(`error at byte ${e.offset}`);
    expect(e.message).not.toContain('SecretValue');
  });

  it('YAML that is not a mapping is bad_yaml', async () => {
    expect((await openFails(withYaml('just a string\n'), 'bad_yaml')).message).toContain('not a mapping');
    expect((await openFails(withYaml('- a\n- b\n'), 'bad_yaml')).message).toContain('not a mapping');
  });

  it('an empty session info block gives null', async () => {
    const f = await IbtFile.fromBuffer(withYaml(''));
    expect(f.sessionInfoText).toBe('');
    expect(f.sessionInfo).toBeNull();
  });
});

describe('value decoding', () => {
  const variable = (over: Partial<IbtVariable>): IbtVariable => ({
    name: 'X', description: '', unit: '', type: 'int', typeCode: 2, offset: 0, count: 1, countAsTime: false, ...over,
  });

  it('reads unaligned values of every type, scalars and arrays', () => {
    const bytes = new Uint8Array(64);
    const dv = new DataView(bytes.buffer);
    // Everything starts at odd offsets, as iRacing packs them.
    bytes.set([0x41, 0x80, 0x42, 0, 0x43], 1);
    bytes.set([1, 0, 7], 7);
    dv.setInt32(11, -5, true);
    dv.setInt32(15, 7, true);
    dv.setUint32(19, 0x80000001, true);
    dv.setFloat32(23, 1.5, true);
    dv.setFloat32(27, -2.25, true);
    dv.setFloat64(31, Math.PI, true);
    const read = (over: Partial<IbtVariable>) => makeAccessor(variable(over))(dv, 0);
    expect(read({ type: 'char', typeCode: 0, offset: 1 })).toBe('A');
    expect(read({ type: 'char', typeCode: 0, offset: 2 })).toBe('€');
    expect(read({ type: 'char', typeCode: 0, offset: 1, count: 5 })).toBe('A€B');
    expect(read({ type: 'bool', typeCode: 1, offset: 7, count: 3 })).toEqual([true, false, true]);
    expect(read({ type: 'bool', typeCode: 1, offset: 8 })).toBe(false);
    expect(read({ type: 'int', typeCode: 2, offset: 11, count: 2 })).toEqual([-5, 7]);
    expect(read({ type: 'bitField', typeCode: 3, offset: 19 })).toBe(0x80000001);
    expect(read({ type: 'float', typeCode: 4, offset: 23, count: 2 })).toEqual([1.5, -2.25]);
    expect(read({ type: 'double', typeCode: 5, offset: 31 })).toBe(Math.PI);
    // The base moves the whole sample.
    expect(makeAccessor(variable({ type: 'int', offset: 1 }))(dv, 10)).toBe(-5);
  });
});

describe('streaming in bounded memory', () => {
  it('replays a ~53 MB recording without holding it', async () => {
    const repeats = 128;
    const count = SAMPLES * repeats;
    const file = path.join(tmp, 'long.ibt');
    const head = Buffer.from(fixture.subarray(0, BUF_OFFSET));
    head.writeInt32LE(count, 140);
    const block = fixture.subarray(BUF_OFFSET);
    const fd = fs.openSync(file, 'w');
    try {
      fs.writeSync(fd, head);
      for (let i = 0; i < repeats; i++) fs.writeSync(fd, block);
    } finally {
      fs.closeSync(fd);
    }
    const size = fs.statSync(file).size;
    expect(size).toBe(BUF_OFFSET + count * BUF_LEN);

    const f = await IbtFile.open(file);
    expect(f.sampleCount).toBe(count);
    const names = ['SessionTime', 'SessionTick', 'Lap', 'Speed', 'RPM', 'Gear', 'Throttle', 'Brake', 'Clutch', 'SteeringWheelAngle'];
    const first = (await f.readSample(0, names)).values;
    const before = process.memoryUsage();
    let peakRss = before.rss;
    let peakBuffers = before.arrayBuffers;
    let n = 0;
    for await (const s of f.samples({ variables: names })) {
      if (s.index % SAMPLES === 0) expect(s.values).toEqual(first);
      if (n % 2000 === 0) {
        const m = process.memoryUsage();
        peakRss = Math.max(peakRss, m.rss);
        peakBuffers = Math.max(peakBuffers, m.arrayBuffers);
      }
      n++;
    }
    await f.close();
    expect(n).toBe(count);
    // The chunk buffer is 64 x 1072 bytes; reading the file whole would add 53 MB to both.
    expect(peakBuffers - before.arrayBuffers).toBeLessThan(1024 * 1024);
    expect(peakRss - before.rss).toBeLessThan(size / 4);
  });
});
