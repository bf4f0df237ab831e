// The generated icons: every committed file is a well-formed PNG or ICO of the sizes the
// shell and electron-builder expect, the tray states differ in shape and not only colour,
// the macOS template images are pure black with alpha, and the generator reproduces the
// committed bytes exactly (so a change to the script without a regenerate fails here).
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { TRAY_ICON_STATES, type TrayIconState } from '../src-shared/desktop';
import { ALL_ASSET_FILES, APP_ICON_FILES, trayIconFiles } from '../src-main/desktop/icons';
import { writeIcons } from '../scripts/make-icons';

const assetsDir = fileURLToPath(new URL('../assets', import.meta.url));

// Written out here rather than imported, so the test checks the sizes the platforms need
// and not merely whatever the generator was told.
const EXPECTED: ReadonlyMap<string, { png: number } | { ico: readonly number[] }> = new Map<string, { png: number } | { ico: readonly number[] }>([
  ['icon.png', { png: 512 }],
  ['icon.ico', { ico: [16, 24, 32, 48, 64, 128, 256] }],
  ...TRAY_ICON_STATES.flatMap((state): [string, { png: number } | { ico: readonly number[] }][] => [
    [`tray-${state}.png`, { png: 32 }],
    [`tray-${state}@2x.png`, { png: 64 }],
    [`tray-${state}.ico`, { ico: [16, 20, 24, 32, 40, 48] }],
    [`tray-${state}Template.png`, { png: 16 }],
    [`tray-${state}Template@2x.png`, { png: 32 }],
  ]),
]);

// An independent CRC-32 (the generator uses zlib's), so a wrong checksum cannot agree with itself.
const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of bytes) c = (CRC_TABLE[(c ^ byte) & 0xff] ?? 0) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

interface Decoded {
  width: number;
  height: number;
  rgba: Uint8Array;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Parses and checks a PNG: signature, chunk CRCs, IHDR, the inflated size, the row filters. */
function decodePng(file: Buffer, label: string): Decoded {
  expect(file.subarray(0, 8).equals(PNG_SIGNATURE), `${label}: PNG signature`).toBe(true);
  let at = 8;
  const chunks: { type: string; data: Buffer }[] = [];
  while (at < file.length) {
    expect(at + 12, `${label}: truncated chunk`).toBeLessThanOrEqual(file.length);
    const length = file.readUInt32BE(at);
    const type = file.toString('latin1', at + 4, at + 8);
    const data = file.subarray(at + 8, at + 8 + length);
    expect(data.length, `${label}: ${type} length`).toBe(length);
    expect(file.readUInt32BE(at + 8 + length), `${label}: ${type} CRC`).toBe(crc32(file.subarray(at + 4, at + 8 + length)));
    chunks.push({ type, data });
    at += 12 + length;
  }
  expect(at, `${label}: ends on a chunk boundary`).toBe(file.length);
  expect(chunks[0]?.type, `${label}: IHDR first`).toBe('IHDR');
  expect(chunks.at(-1)?.type, `${label}: IEND last`).toBe('IEND');
  const ihdr = chunks[0]?.data ?? Buffer.alloc(13);
  expect(ihdr.length).toBe(13);
  const width = ihdr.readUInt32BE(0);
  const height = ihdr.readUInt32BE(4);
  expect([...ihdr.subarray(8)], `${label}: 8-bit RGBA, deflate, adaptive filter, no interlace`).toEqual([8, 6, 0, 0, 0]);

  const raw = inflateSync(Buffer.concat(chunks.filter((chunk) => chunk.type === 'IDAT').map((chunk) => chunk.data)));
  const stride = width * 4;
  expect(raw.length, `${label}: inflated IDAT size`).toBe(height * (stride + 1));

  const rgba = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)] ?? -1;
    expect(filter, `${label}: row ${y} filter type`).toBeGreaterThanOrEqual(0);
    expect(filter).toBeLessThanOrEqual(4);
    for (let i = 0; i < stride; i++) {
      const x = raw[y * (stride + 1) + 1 + i] ?? 0;
      const a = i >= 4 ? (rgba[y * stride + i - 4] ?? 0) : 0;
      const b = y > 0 ? (rgba[(y - 1) * stride + i] ?? 0) : 0;
      const c = i >= 4 && y > 0 ? (rgba[(y - 1) * stride + i - 4] ?? 0) : 0;
      let predictor = 0;
      if (filter === 1) predictor = a;
      else if (filter === 2) predictor = b;
      else if (filter === 3) predictor = (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        predictor = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      rgba[y * stride + i] = (x + predictor) & 0xff;
    }
  }
  return { width, height, rgba };
}

/** Parses and checks an ICO of PNG entries; returns each entry decoded, in directory order. */
function decodeIco(file: Buffer, label: string): Decoded[] {
  expect(file.readUInt16LE(0), `${label}: reserved`).toBe(0);
  expect(file.readUInt16LE(2), `${label}: type icon`).toBe(1);
  const count = file.readUInt16LE(4);
  let expectedOffset = 6 + 16 * count;
  const entries: Decoded[] = [];
  for (let i = 0; i < count; i++) {
    const at = 6 + 16 * i;
    const width = file[at] === 0 ? 256 : (file[at] ?? -1);
    const height = file[at + 1] === 0 ? 256 : (file[at + 1] ?? -1);
    expect(file.readUInt16LE(at + 4), `${label}[${i}]: planes`).toBe(1);
    expect(file.readUInt16LE(at + 6), `${label}[${i}]: bits per pixel`).toBe(32);
    const length = file.readUInt32LE(at + 8);
    const offset = file.readUInt32LE(at + 12);
    expect(offset, `${label}[${i}]: entries packed in order`).toBe(expectedOffset);
    expectedOffset += length;
    expect(offset + length, `${label}[${i}]: inside the file`).toBeLessThanOrEqual(file.length);
    const png = decodePng(file.subarray(offset, offset + length), `${label}[${width}]`);
    expect([png.width, png.height], `${label}[${i}]: embedded PNG matches its directory entry`).toEqual([width, height]);
    entries.push(png);
  }
  expect(expectedOffset, `${label}: no trailing bytes`).toBe(file.length);
  return entries;
}

function readAsset(name: string): Buffer {
  return readFileSync(path.join(assetsDir, name));
}

function alpha(image: Decoded): Uint8Array {
  return image.rgba.filter((_, i) => i % 4 === 3);
}

describe('generated icon assets', () => {
  it('lists exactly the files the platforms need', () => {
    expect([...ALL_ASSET_FILES].sort()).toEqual([...EXPECTED.keys()].sort());
    expect(new Set(ALL_ASSET_FILES).size).toBe(ALL_ASSET_FILES.length);
    expect(APP_ICON_FILES).toEqual({ png: 'icon.png', ico: 'icon.ico' });
  });

  it.each([...EXPECTED])('%s is well formed at the expected size', (name, expected) => {
    const file = readAsset(name);
    if ('png' in expected) {
      const png = decodePng(file, name);
      expect([png.width, png.height]).toEqual([expected.png, expected.png]);
      // Not blank and not a full square: a badge with a transparent surround or corners.
      expect(alpha(png).some((a) => a === 0)).toBe(true);
      expect(alpha(png).some((a) => a === 255)).toBe(true);
    } else {
      const entries = decodeIco(file, name);
      expect(entries.map((entry) => entry.width)).toEqual(expected.ico);
    }
  });

  it.each([...TRAY_ICON_STATES])('the %s template images are black with varying alpha only', (state) => {
    for (const name of [`tray-${state}Template.png`, `tray-${state}Template@2x.png`]) {
      const png = decodePng(readAsset(name), name);
      const colours = png.rgba.filter((_, i) => i % 4 !== 3);
      expect(colours.every((value) => value === 0), `${name}: r = g = b = 0 everywhere`).toBe(true);
      // Anti-aliased edges, not a hard 1-bit mask.
      const levels = new Set(alpha(png));
      expect(levels.has(0) && levels.has(255)).toBe(true);
      expect(levels.size, `${name}: distinct alpha levels`).toBeGreaterThan(8);
    }
  });

  it('tells the four states apart by shape (alpha), not only by colour', () => {
    for (const name of [
      (state: TrayIconState) => `tray-${state}.png`,
      (state: TrayIconState) => `tray-${state}@2x.png`,
      (state: TrayIconState) => `tray-${state}Template.png`,
      (state: TrayIconState) => `tray-${state}Template@2x.png`,
    ]) {
      const shapes = TRAY_ICON_STATES.map((state) => Buffer.from(alpha(decodePng(readAsset(name(state)), name(state)))).toString('base64'));
      expect(new Set(shapes).size, `${name('<state>' as TrayIconState)}: distinct alpha masks`).toBe(TRAY_ICON_STATES.length);
    }
    // The Windows tray too, at its 100 % size.
    const ico16 = TRAY_ICON_STATES.map((state) => {
      const entry = decodeIco(readAsset(`tray-${state}.ico`), state)[0];
      return entry ? Buffer.from(alpha(entry)).toString('base64') : '';
    });
    expect(new Set(ico16).size).toBe(TRAY_ICON_STATES.length);
  });
});

describe('trayIconFiles', () => {
  it.each([...TRAY_ICON_STATES])('picks the platform format for %s', (state) => {
    expect(trayIconFiles('win32', state)).toBe(`tray-${state}.ico`);
    expect(trayIconFiles('darwin', state)).toBe(`tray-${state}Template.png`);
    expect(trayIconFiles('linux', state)).toBe(`tray-${state}.png`);
    expect(trayIconFiles('freebsd', state)).toBe(`tray-${state}.png`);
  });

  it('names files that exist, each PNG with the @2x sibling Electron looks for', () => {
    for (const state of TRAY_ICON_STATES) {
      for (const platform of ['win32', 'darwin', 'linux'] as const) {
        const name = trayIconFiles(platform, state);
        expect(ALL_ASSET_FILES).toContain(name);
        if (name.endsWith('.png')) expect(ALL_ASSET_FILES).toContain(name.replace(/\.png$/, '@2x.png'));
      }
      // macOS only treats it as a template when the base name ends in "Template".
      expect(path.basename(trayIconFiles('darwin', state), '.png')).toMatch(/Template$/);
    }
  });
});

describe('the icon generator', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'relay-icons-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reproduces the committed assets byte for byte', () => {
    const written = writeIcons(dir);
    expect([...written].sort()).toEqual([...ALL_ASSET_FILES].sort());
    expect(readdirSync(dir).sort()).toEqual([...ALL_ASSET_FILES].sort());
    const stale = ALL_ASSET_FILES.filter((name) => !readFileSync(path.join(dir, name)).equals(readAsset(name)));
    expect(stale, 'stale assets: run npx tsx scripts/make-icons.ts and commit assets/').toEqual([]);
  });
});
