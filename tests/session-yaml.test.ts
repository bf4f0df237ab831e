// The session info parser for the YAML iRacing writes (src-main/ibt/iracing-yaml.ts) against
// the general one (the yaml package, as parseSessionInfo used it alone before): on the real
// session info of both fixtures, on a full grid, and on generated documents full of what the
// subset leaves out, it gives the same result or hands the text over; never another one.
import fs from 'node:fs';
import { inspect, isDeepStrictEqual } from 'node:util';
import { parseDocument } from 'yaml';
import { describe, expect, it } from 'vitest';
import { IbtFile } from '../src-main/ibt';
import { parseIracingYaml } from '../src-main/ibt/iracing-yaml';
import { parseSessionInfo, parseSessionInfoGeneral } from '../src-main/ibt/session-yaml';
import { VALID_IBT } from './helpers/fixtures';
import { loadLiveDump } from './helpers/live-dump';
import { mulberry32 } from './helpers/random';

async function recordedYaml(): Promise<string> {
  const f = await IbtFile.open(VALID_IBT);
  try {
    return f.sessionInfoText;
  } finally {
    await f.close();
  }
}

/** What the general parser makes of `text`, or the error it throws. */
function general(text: string): { value: unknown } | { error: unknown } {
  try {
    return { value: parseSessionInfoGeneral(text, 0) };
  } catch (error) {
    return { error };
  }
}

/**
 * Node's deep strict equality: prototypes, NaN and -0 as they are. (vitest's toStrictEqual
 * compares .constructor, which a document with a key named constructor has of its own.)
 */
function expectSame(actual: unknown, expected: unknown, what: string): void {
  if (!isDeepStrictEqual(actual, expected)) expect.fail(`${what}\n${inspect(actual, { depth: 8 })}\n  differs from\n${inspect(expected, { depth: 8 })}`);
}

/** Whether the yaml package reads `text` without an error (before any sanitising). */
function cleanYaml(text: string): boolean {
  return parseDocument(text, { strict: false, uniqueKeys: false, prettyErrors: false }).errors.length === 0;
}

/**
 * The fixture's session info as a 60-car race: 60 drivers, and practice, qualifying and race
 * sessions each with 60 results, about 130 KB, as iRacing writes it during a full race.
 */
function fullGrid(yaml: string): string {
  const driverAt = yaml.indexOf(' - CarIdx: 0\n   UserName:');
  const driverEnd = yaml.indexOf('\n\n', driverAt);
  const driver = yaml.slice(driverAt, driverEnd + 1);
  const drivers = Array.from({ length: 60 }, (_, i) =>
    driver
      .replace('CarIdx: 0', `CarIdx: ${i}`)
      .replace(/UserName: .*/, `UserName: Driver ${i} Name`)
      .replace(/UserID: .*/, `UserID: ${100000 + i}`)
      .replace(/CarNumber: .*/, `CarNumber: "${i + 1}"`)
      .replace(/TeamName: .*/, `TeamName: Team ${i % 20}`),
  ).join('');
  const resultAt = yaml.indexOf('   - Position: 1\n');
  const resultEnd = yaml.indexOf('   ResultsFastestLap:', resultAt);
  const result = yaml.slice(resultAt, resultEnd);
  const results = Array.from({ length: 60 }, (_, i) => result.replace('Position: 1', `Position: ${i + 1}`).replace('CarIdx: 0', `CarIdx: ${i}`)).join('');
  const sessionAt = yaml.indexOf(' - SessionNum: 0\n');
  const sessionEnd = yaml.indexOf('\n\n', sessionAt);
  const session = yaml.slice(sessionAt, sessionEnd + 1).replace(yaml.slice(resultAt, resultEnd), results);
  const sessions = ['Practice', 'Lone Qualify', 'Race'].map((type, i) => session.replace('SessionNum: 0', `SessionNum: ${i}`).replace('SessionType: Offline Testing', `SessionType: ${type}`)).join('');
  return yaml.slice(0, sessionAt) + sessions + yaml.slice(sessionEnd + 1, driverAt) + drivers + yaml.slice(driverEnd + 1);
}

describe('session info: the parser for what iRacing writes', () => {
  it('reads the recording fixture, the live dump and a full grid as the general parser does', async () => {
    const recorded = await recordedYaml();
    const texts = { recorded, live: loadLiveDump().yaml, grid: fullGrid(recorded) };
    expect(texts.grid.length).toBeGreaterThan(120_000);
    for (const [name, text] of Object.entries(texts)) {
      const fast = parseIracingYaml(text);
      expect(fast, name).toBeDefined();
      expectSame({ value: fast }, general(text), name);
      // And what the reader returns is that.
      expectSame(parseSessionInfo(text, 0), fast, name);
    }
    const grid = parseIracingYaml(texts.grid) as { DriverInfo: { Drivers: unknown[] }; SessionInfo: { Sessions: { ResultsPositions: unknown[] }[] } };
    expect(grid.DriverInfo.Drivers).toHaveLength(60);
    expect(grid.SessionInfo.Sessions.map((s) => s.ResultsPositions.length)).toEqual([60, 60, 60]);
  });

  it('resolves scalars by the YAML 1.2 core schema, as the general parser does', () => {
    const values = [
      '~', 'null', 'Null', 'NULL', 'nULL', 'true', 'True', 'TRUE', 'tRUE', 'false', 'FALSE', 'yes', 'off',
      '0', '-0', '+5', '007', '0o17', '0o18', '0x1F', '0xffffff', '0xundefined', '12345678901234567890', '1.', '.5', '-.5', '1.0000', '-1.0000',
      '1e3', '1.5E-3', '.inf', '-.Inf', '+.INF', '.nan', '.NaN', 'NaN', 'Infinity', '1_000', '1.2.3', '4.28 km', '12:00 pm', '2024-04-01',
      '2024.05.22.01', '+0.05 deg', '4.501:1', '10,ff00bf,ff00bf', '52.5% (BBAL)', '"64"', '""', "'x'", "''", '"a b "', 'a"b', "it's", 'Car#5', 'a\\b',
    ];
    const text = `---\nWeekendInfo:\n${values.map((v, i) => ` K${i}: ${v}\n`).join('')}...\n`;
    const fast = parseIracingYaml(text) as { WeekendInfo: Record<string, unknown> };
    expectSame({ value: fast }, general(text), text);
    const of = (v: string): unknown => fast.WeekendInfo[`K${values.indexOf(v)}`];
    expect([of('NULL'), of('nULL'), of('True'), of('tRUE'), of('+5'), of('007'), of('0o17'), of('0xffffff'), of('0xundefined')]).toEqual([null, 'nULL', true, 'tRUE', 5, 7, 15, 0xffffff, '0xundefined']);
    expect([of('-1.0000'), of('1.5E-3'), of('-.Inf'), of('12:00 pm'), of('2024-04-01'), of('"64"'), of('""'), of("'x'"), of('a"b')]).toEqual([-1, 0.0015, -Infinity, '12:00 pm', '2024-04-01', '64', '', 'x', 'a"b']);
    expect(Object.is(of('-0'), -0)).toBe(true);
    expect(of('.NaN')).toBeNaN();
  });

  it('hands over what it does not read: comments, anchors, tags, flow, escapes, multi-line text, odd indentation, duplicate keys, broken names', async () => {
    const recorded = await recordedYaml();
    const cases = {
      comment: recorded.replace('TrackCity: Spielberg', 'TrackCity: Spielberg # the town'),
      commentLine: recorded.replace('WeekendInfo:\n', 'WeekendInfo:\n # a comment\n'),
      anchor: recorded.replace('TrackCity: Spielberg', 'TrackCity: &town Spielberg'),
      alias: recorded.replace('TrackCountry: Austria', 'TrackCountry: *town'),
      tag: recorded.replace('TrackID: 403', 'TrackID: !!str 403'),
      flow: recorded.replace('TrackNumTurns: 9', 'TrackNumTurns: [9, 10]'),
      escape: recorded.replace('TelemetryDiskFile: ""', 'TelemetryDiskFile: "C:\\\\x"'),
      multiLine: recorded.replace('TrackCity: Spielberg', 'TrackCity: Spiel\n  berg'),
      deeper: recorded.replace(' TrackCity: Spielberg', '  TrackCity: Spielberg'),
      duplicate: recorded.replace(' TrackCity: Spielberg', ' TrackCity: Spielberg\n TrackCity: Graz'),
      colonInName: recorded.replace('UserName: George v Rensburg', 'UserName: George: v Rensburg'),
      atName: recorded.replace('TeamName: George v Rensburg', 'TeamName: @George'),
      hashName: recorded.replace('TeamName: George v Rensburg', 'TeamName: #1 Racing'),
      tab: recorded.replace('TrackCity: Spielberg', 'TrackCity:\tSpielberg'),
      booleanKey: recorded.replace(' TrackCity: Spielberg', ' True: Spielberg'),
      twoDocuments: `${recorded}---\nMore: 1\n`,
    };
    for (const [name, text] of Object.entries(cases)) {
      expect(text, name).not.toBe(recorded);
      expect(parseIracingYaml(text), name).toBeUndefined();
      const g = general(text);
      if ('value' in g) expectSame(parseSessionInfo(text, 0), g.value, name);
      else expect(() => parseSessionInfo(text, 0), name).toThrow();
    }
    // A name the general parser cannot read is still read, as before: sanitised, then parsed.
    expect((parseSessionInfo(cases.atName, 0) as { DriverInfo: { Drivers: { TeamName: string }[] } }).DriverInfo.Drivers[0]?.TeamName).toBe('@George');
  });

  it('on generated documents, gives the general parser result or hands over, never anything else', () => {
    const rand = mulberry32(0x5e55_10);
    const int = (lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo));
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
    // What iRacing writes, mostly; now and then what it does not.
    const SAFE = ['1', '-1', '0.000', '-1.0000', '1e3', '0x1F', '0o7', '.inf', '.nan', '~', 'null', 'True', 'false', 'yes', '12:00 pm', '4.501:1', 'a b', 'a#b', '-a', '?a', ':a', '"a"', "'a'", '"@TEAM"', '""', 'Café', '€5', 'a\\b', 'a  b', 'x '];
    const RISKY = ['', ' ', 'a: b', 'a #b', '#a', '@a', '&a', '*a', '!a', '|', '>', '%a', '`a', '[a]', '{a}', ',a', '- a', '-', '? a', ': a', 'a:', '"a', '"a\\"b"', '"a"b"', "'a''b'", '\ta', 'a\tb'];
    const KEYS = ['Key', 'TrackName', 'CarIdx', 'UserName', 'TeamName', 'Sessions', 'x_1', '_a', 'constructor', 'toString'];
    const ODD_KEYS = ['True', 'null', '__proto__', '1a', 'a-b', 'a b', '"a"'];
    const text = (): string => {
      let out = '';
      for (let n = int(1, 3); n > 0; n--) out += rand() < 0.97 ? pick(SAFE) : pick(RISKY);
      return out;
    };
    const lines: string[] = [];
    const keysAt = (indent: number, depth: number): void => {
      const used: string[] = [];
      for (let n = int(1, 5); n > 0; n--) {
        const r0 = rand();
        const key = r0 < 0.01 ? pick(ODD_KEYS) : r0 < 0.03 && used.length > 0 ? pick(used) : r0 < 0.1 ? pick(KEYS) : `${pick(KEYS)}${used.length}`;
        used.push(key);
        const pad = ' '.repeat(indent);
        const r = rand();
        if (depth < 3 && r < 0.25) {
          lines.push(`${pad}${key}:${rand() < 0.2 ? ' ' : ''}`);
          keysAt(indent + int(1, 3), depth + 1);
        } else if (depth < 3 && r < 0.45) {
          lines.push(`${pad}${key}:`);
          items(rand() < 0.7 ? indent : indent + int(1, 3), depth + 1);
        } else if (r < 0.5) {
          lines.push(`${pad}${key}:`);
        } else {
          lines.push(`${pad}${key}:${pick([' ', ' ', ' ', '  ', ''])}${text()}${rand() < 0.1 ? '  ' : ''}`);
        }
        if (rand() < 0.05) lines.push(pick(['', '   ', `${pad}# note`, `${pad} continued`]));
      }
    };
    const items = (indent: number, depth: number): void => {
      for (let n = int(1, 4); n > 0; n--) {
        const pad = ' '.repeat(indent);
        const r = rand();
        if (r < 0.6) {
          const gap = pick([' ', ' ', '  ']);
          const first = lines.length;
          keysAt(indent + 1 + gap.length, depth + 1);
          const line = lines[first] as string;
          lines[first] = `${pad}-${gap}${line.slice(indent + 1 + gap.length)}`;
        } else if (r < 0.9) {
          lines.push(`${pad}- ${text()}`);
        } else {
          lines.push(`${pad}-`);
        }
      }
    };
    let fastCount = 0;
    let handedOver = 0;
    for (let doc = 0; doc < 1500; doc++) {
      lines.length = 0;
      keysAt(0, 0);
      // Now and then a line out of place, as a corrupt or unusual file would have it.
      if (rand() < 0.15) {
        const i = int(0, lines.length);
        lines[i] = rand() < 0.5 ? ` ${lines[i]}` : (lines[i] as string).replace(/^ /, '');
      }
      const body = `${rand() < 0.8 ? '---\n' : ''}${lines.join('\n')}\n${rand() < 0.8 ? '...\n' : ''}`;
      const fast = parseIracingYaml(body);
      if (fast === undefined) {
        handedOver++;
        continue;
      }
      fastCount++;
      expect(cleanYaml(body), body).toBe(true);
      expectSame({ value: fast }, general(body), body);
    }
    fs.writeSync(1, `    generated: ${fastCount} read, ${handedOver} handed over\n`);
    // Both ways are exercised, not one of them alone.
    expect(fastCount).toBeGreaterThan(200);
    expect(handedOver).toBeGreaterThan(200);
  });

  it('is fast enough to sit between two 60 Hz ticks on a full grid, where the general parser is not', async () => {
    const grid = fullGrid(await recordedYaml());
    // Warm both, then time the median of a few runs each.
    const time = (fn: () => unknown): number => {
      const runs: number[] = [];
      for (let i = 0; i < 7; i++) {
        const t = performance.now();
        fn();
        runs.push(performance.now() - t);
      }
      return runs.sort((a, b) => a - b)[3] as number;
    };
    const fast = time(() => parseIracingYaml(grid));
    const slow = time(() => parseSessionInfoGeneral(grid, 0));
    fs.writeSync(1, `    full grid (${grid.length} bytes): ${fast.toFixed(2)} ms, general parser ${slow.toFixed(2)} ms\n`);
    expect(fast).toBeLessThan(slow / 5);
  });
});
