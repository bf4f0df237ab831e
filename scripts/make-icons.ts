// Draws the app and tray icons into assets/ (npx tsx scripts/make-icons.ts).
//
// The PNG and ICO encoders below are hand-written on node:zlib on purpose: the icons are a
// few fixed images, and no maintained pure-JS image dependency is worth adding (and
// auditing) for that; the build machines have no image tools either. Both formats are
// small: a PNG is a signature and three CRC'd chunks, an ICO a directory of PNGs.
//
// Every shape is a signed distance function on a 16 x 16 design grid, sampled 4 x 4 times
// per pixel for anti-aliasing. Stroke widths and rows sit on whole grid units so the 16,
// 24, 32 and 48 px renderings stay crisp where it matters most (the tray).
//
// The output must be byte-identical on every run (tests/desktop-icons.test.ts regenerates
// and compares): only +, -, *, / and sqrt touch the geometry (no trigonometry, whose last
// bits may differ between engines), the PNGs carry no timestamp or other ancillary chunk,
// and the deflate settings are fixed. The deflate stream is still zlib's: should a Node
// upgrade bring a zlib that compresses differently, the test says so and a regenerate fixes it.
import { deflateSync, crc32 } from 'node:zlib';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { TRAY_ICON_STATES, type TrayIconState } from '../src-shared/desktop';
import {
  APP_ICON_FILES,
  APP_ICON_PNG_SIZE,
  APP_ICO_SIZES,
  TRAY_ICO_SIZES,
  TRAY_PNG_SIZE,
  TRAY_TEMPLATE_SIZE,
  trayIcoFile,
  trayPngFile,
  trayTemplateFile,
} from '../src-main/desktop/icons';

// ---------------------------------------------------------------------------------------
// Encoders

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function pngChunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(data, crc32(head.subarray(4))), 0);
  return Buffer.concat([head, data, crc]);
}

/**
 * Each row gets the filter whose output has the smallest sum of absolute signed bytes (the
 * heuristic the PNG spec suggests): flat badge areas then deflate to almost nothing.
 */
function filterRows(rgba: Uint8Array, width: number, height: number): Buffer {
  const stride = width * 4;
  const out = Buffer.alloc(height * (stride + 1));
  const candidate = Buffer.alloc(stride);
  const best = Buffer.alloc(stride);
  for (let y = 0; y < height; y++) {
    const row = y * stride;
    const prev = y > 0 ? row - stride : -1;
    let bestFilter = 0;
    let bestCost = Infinity;
    for (let filter = 0; filter <= 4; filter++) {
      let cost = 0;
      for (let i = 0; i < stride; i++) {
        const x = rgba[row + i] ?? 0;
        const a = i >= 4 ? (rgba[row + i - 4] ?? 0) : 0;
        const b = prev >= 0 ? (rgba[prev + i] ?? 0) : 0;
        const c = i >= 4 && prev >= 0 ? (rgba[prev + i - 4] ?? 0) : 0;
        let predictor = 0;
        if (filter === 1) predictor = a;
        else if (filter === 2) predictor = b;
        else if (filter === 3) predictor = (a + b) >> 1;
        else if (filter === 4) predictor = paeth(a, b, c);
        const value = (x - predictor) & 0xff;
        candidate[i] = value;
        cost += value < 128 ? value : 256 - value;
      }
      if (cost < bestCost) {
        bestCost = cost;
        bestFilter = filter;
        candidate.copy(best);
      }
    }
    const at = y * (stride + 1);
    out[at] = bestFilter;
    best.copy(out, at + 1);
  }
  return out;
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  if (pa <= pb && pa <= pc) return a;
  return pb <= pc ? b : c;
}

/** An 8-bit RGBA, non-interlaced PNG with no ancillary chunks (nothing that could vary). */
export function encodePng(rgba: Uint8Array, width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // colour type: RGBA
  ihdr[10] = 0; // deflate
  ihdr[11] = 0; // adaptive filtering
  ihdr[12] = 0; // no interlace
  const idat = deflateSync(filterRows(rgba, width, height), { level: 9, memLevel: 9, strategy: 0, windowBits: 15 });
  return Buffer.concat([PNG_SIGNATURE, pngChunk('IHDR', ihdr), pngChunk('IDAT', idat), pngChunk('IEND', Buffer.alloc(0))]);
}

/**
 * An ICO whose entries are whole PNG files, which Windows reads since Vista; smaller than
 * the BMP form and one encoder less.
 */
export function encodeIco(images: readonly { size: number; png: Buffer }[]): Buffer {
  const header = Buffer.alloc(6);
  header.writeUInt16LE(0, 0);
  header.writeUInt16LE(1, 2); // 1 = icon (2 would be a cursor)
  header.writeUInt16LE(images.length, 4);
  const directory = Buffer.alloc(16 * images.length);
  let offset = header.length + directory.length;
  images.forEach(({ size, png }, i) => {
    const at = i * 16;
    directory[at] = size >= 256 ? 0 : size; // 0 means 256
    directory[at + 1] = size >= 256 ? 0 : size;
    directory[at + 2] = 0; // no palette
    directory[at + 3] = 0;
    directory.writeUInt16LE(1, at + 4); // colour planes
    directory.writeUInt16LE(32, at + 6); // bits per pixel
    directory.writeUInt32LE(png.length, at + 8);
    directory.writeUInt32LE(offset, at + 12);
    offset += png.length;
  });
  return Buffer.concat([header, directory, ...images.map((image) => image.png)]);
}

// ---------------------------------------------------------------------------------------
// Shapes: signed distances in design-grid units (16 per icon edge), negative inside.

type Sdf = (x: number, y: number) => number;

function len(x: number, y: number): number {
  return Math.sqrt(x * x + y * y);
}

function circle(cx: number, cy: number, r: number): Sdf {
  return (x, y) => len(x - cx, y - cy) - r;
}

function roundRect(x0: number, y0: number, x1: number, y1: number, r: number): Sdf {
  const cx = (x0 + x1) / 2;
  const cy = (y0 + y1) / 2;
  const hx = (x1 - x0) / 2 - r;
  const hy = (y1 - y0) / 2 - r;
  return (x, y) => {
    const qx = Math.abs(x - cx) - hx;
    const qy = Math.abs(y - cy) - hy;
    return len(Math.max(qx, 0), Math.max(qy, 0)) + Math.min(Math.max(qx, qy), 0) - r;
  };
}

/** A stroke of radius r from a to b with round caps. */
function capsule(ax: number, ay: number, bx: number, by: number, r: number): Sdf {
  const dx = bx - ax;
  const dy = by - ay;
  const dd = dx * dx + dy * dy;
  return (x, y) => {
    const px = x - ax;
    const py = y - ay;
    const t = Math.min(1, Math.max(0, (px * dx + py * dy) / dd));
    return len(px - dx * t, py - dy * t) - r;
  };
}

/**
 * A quarter-circle stroke of radius r around (cx, cy) with centre-line radius R, in the
 * quadrant given by the signs sx, sy (y grows downwards); outside the quadrant the nearest
 * end cap counts.
 */
function quarterArc(cx: number, cy: number, R: number, sx: 1 | -1, sy: 1 | -1, r: number): Sdf {
  return (x, y) => {
    const dx = x - cx;
    const dy = y - cy;
    if (dx * sx >= 0 && dy * sy >= 0) return Math.abs(len(dx, dy) - R) - r;
    return Math.min(len(dx - sx * R, dy), len(dx, dy - sy * R)) - r;
  };
}

/** A convex or concave polygon, exact distance (even-odd inside test), rounded by r. */
function polygon(points: readonly (readonly [number, number])[], r = 0): Sdf {
  return (x, y) => {
    let best = Infinity;
    let inside = false;
    for (let i = 0, j = points.length - 1; i < points.length; j = i++) {
      const [ax, ay] = points[i] ?? [0, 0];
      const [bx, by] = points[j] ?? [0, 0];
      const ex = bx - ax;
      const ey = by - ay;
      const wx = x - ax;
      const wy = y - ay;
      const t = Math.min(1, Math.max(0, (wx * ex + wy * ey) / (ex * ex + ey * ey)));
      best = Math.min(best, len(wx - ex * t, wy - ey * t));
      if (ay > y !== by > y && x < ((bx - ax) * (y - ay)) / (by - ay) + ax) inside = !inside;
    }
    return (inside ? -best : best) - r;
  };
}

function union(...shapes: Sdf[]): Sdf {
  return (x, y) => {
    let d = Infinity;
    for (const shape of shapes) d = Math.min(d, shape(x, y));
    return d;
  };
}

function grow(shape: Sdf, by: number): Sdf {
  return (x, y) => shape(x, y) - by;
}

/** The shape scaled by k about the grid's centre. */
function scaled(shape: Sdf, k: number): Sdf {
  return (x, y) => shape(8 + (x - 8) / k, 8 + (y - 8) / k) * k;
}

// ---------------------------------------------------------------------------------------
// The design

/** 0-255 sRGB, alpha 0-1. */
type Rgba = readonly [number, number, number, number];
type Paint = Rgba | ((x: number, y: number) => Rgba) | 'erase';
interface Layer {
  shape: Sdf;
  paint: Paint;
}

function hex(value: string): Rgba {
  const n = Number.parseInt(value.slice(1), 16);
  return [(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff, 1];
}

/** Top to bottom, lighter to darker: a hint of depth that survives 16 px. */
function verticalGradient(top: string, bottom: string): (x: number, y: number) => Rgba {
  const a = hex(top);
  const b = hex(bottom);
  return (_x, y) => {
    const t = Math.min(1, Math.max(0, y / 16));
    return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t, 1];
  };
}

const STROKE = 1; // half the glyph's line width: 2 grid units

/**
 * One line splitting into two arrows: the relay fanning out to its gateways. The stem runs
 * along row 8 into a crossbar on column 7 whose ends bend (quarter arcs) into arrows on
 * rows 4 and 12. Nothing in it lies on a diagonal the killed bar could hide in, and the
 * fork meets at right angles, which stays clean from 16 px to 512.
 */
function fanOutGlyph(): Sdf {
  const parts: Sdf[] = [capsule(2.5, 8, 7, 8, STROKE), capsule(7, 6, 7, 10, STROKE)];
  for (const side of [-1, 1] as const) {
    const row = 8 + side * 4;
    parts.push(
      quarterArc(9, 8 + side * 2, 2, -1, side, STROKE),
      capsule(9, row, 10.5, row, STROKE),
      polygon([[9.5, row - 2.75], [14.25, row], [9.5, row + 2.75]], 0.25),
    );
  }
  return union(...parts);
}

const BADGE_RADIUS = 3.5;

/**
 * The state marks fill the bottom-left corner, which the glyph leaves free: warning an
 * upward triangle, critical a disc, each with a "!" knocked out and a transparent ring
 * around it. They reach past the badge's rounded corner, so even the silhouette changes
 * (the cue a monochrome template image keeps).
 */
const MARK_X = 3.5;
/** The transparent ring that separates a mark or the bar from what lies under it. */
const GAP = 1;

function exclamation(barTop: number, barBottom: number, dotY: number, half: number): Sdf {
  return union(capsule(MARK_X, barTop + half, MARK_X, barBottom - half, half), circle(MARK_X, dotY, half * 1.1));
}

const WARNING_TRIANGLE = polygon([[MARK_X, 10.1], [MARK_X + 3.55, 16.2], [MARK_X - 3.55, 16.2]]);
const WARNING_SYMBOL = exclamation(11.9, 14.1, 15.05, 0.5);
const CRITICAL_DISC = circle(MARK_X, 13, 3);
const CRITICAL_SYMBOL = exclamation(10.7, 13.6, 14.7, 0.55);
/** Below this many pixels a "!" in the triangle is a smudge; the triangle alone still reads. */
const WARNING_SYMBOL_MIN_PX = 24;

/** Corner to corner, its round ends just past the badge's rounded corners. */
const KILL_BAR = capsule(1.9, 1.9, 14.1, 14.1, 1.25);

interface Palette {
  badgeTop: string;
  badgeBottom: string;
  glyph: string;
  /** The mark's or the bar's fill, and the "!" knocked out of a mark. */
  accent: string;
  accentInk: string;
}

const PALETTES: Record<TrayIconState, Palette> = {
  normal: { badgeTop: '#22b89c', badgeBottom: '#0c8a78', glyph: '#ffffff', accent: '#ffffff', accentInk: '#0c8a78' },
  // Dark ink on amber: white on amber is too faint to read at 16 px.
  warning: { badgeTop: '#f7b733', badgeBottom: '#e08e0b', glyph: '#3b2a00', accent: '#ffc940', accentInk: '#3b2a00' },
  critical: { badgeTop: '#ea4b3c', badgeBottom: '#c0281d', glyph: '#ffffff', accent: '#9e160c', accentInk: '#ffffff' },
  // A dimmed glyph under a red bar: the relay is there but stopped.
  killed: { badgeTop: '#62666d', badgeBottom: '#44474c', glyph: '#a9aeb5', accent: '#e53935', accentInk: '#ffffff' },
};

export type IconVariant = 'app' | 'tray' | 'template';

/**
 * The layers of one icon, bottom first. The template variant is the same geometry in black
 * with the glyph and the separating gaps cut out, because a macOS template image carries
 * only alpha: there the shapes alone must tell the states apart, which the marks and the
 * bar do in colour too.
 */
export function iconLayers(state: TrayIconState, variant: IconVariant, size: number): Layer[] {
  const palette = PALETTES[state];
  const template = variant === 'template';
  const ink: Rgba = [0, 0, 0, 1];
  const fill = (colour: string): Paint => (template ? ink : hex(colour));
  const inset = variant === 'app' ? 0.5 : 0;
  const glyphScale = variant === 'app' ? 0.92 : 1;

  const layers: Layer[] = [
    { shape: roundRect(inset, inset, 16 - inset, 16 - inset, BADGE_RADIUS - inset / 2), paint: template ? ink : verticalGradient(palette.badgeTop, palette.badgeBottom) },
    { shape: scaled(fanOutGlyph(), glyphScale), paint: template ? 'erase' : hex(palette.glyph) },
  ];
  if (state === 'warning' || state === 'critical') {
    const body = state === 'warning' ? WARNING_TRIANGLE : CRITICAL_DISC;
    layers.push({ shape: grow(body, GAP), paint: 'erase' }, { shape: body, paint: fill(palette.accent) });
    if (state === 'critical' || size >= WARNING_SYMBOL_MIN_PX) {
      layers.push({ shape: state === 'warning' ? WARNING_SYMBOL : CRITICAL_SYMBOL, paint: template ? 'erase' : hex(palette.accentInk) });
    }
  }
  if (state === 'killed') {
    layers.push({ shape: grow(KILL_BAR, GAP), paint: 'erase' }, { shape: KILL_BAR, paint: fill(palette.accent) });
  }
  return layers;
}

const SUPERSAMPLE = 4;

/** RGBA pixels, straight (not premultiplied) alpha as PNG wants. */
export function renderIcon(layers: readonly Layer[], size: number): Uint8Array {
  const out = new Uint8Array(size * size * 4);
  const samples = SUPERSAMPLE * SUPERSAMPLE;
  const unit = 16 / size;
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      // Premultiplied sums over the subsamples, so edges blend without dark fringes.
      let sr = 0;
      let sg = 0;
      let sb = 0;
      let sa = 0;
      for (let j = 0; j < SUPERSAMPLE; j++) {
        const y = (py + (j + 0.5) / SUPERSAMPLE) * unit;
        for (let i = 0; i < SUPERSAMPLE; i++) {
          const x = (px + (i + 0.5) / SUPERSAMPLE) * unit;
          let r = 0;
          let g = 0;
          let b = 0;
          let a = 0;
          for (const layer of layers) {
            if (layer.shape(x, y) > 0) continue;
            if (layer.paint === 'erase') {
              r = g = b = a = 0;
              continue;
            }
            const [cr, cg, cb, ca] = typeof layer.paint === 'function' ? layer.paint(x, y) : layer.paint;
            r = cr * ca + r * (1 - ca);
            g = cg * ca + g * (1 - ca);
            b = cb * ca + b * (1 - ca);
            a = ca + a * (1 - ca);
          }
          sr += r;
          sg += g;
          sb += b;
          sa += a;
        }
      }
      const at = (py * size + px) * 4;
      const alpha = Math.round((sa / samples) * 255);
      if (alpha === 0) continue;
      out[at] = Math.round(sr / sa);
      out[at + 1] = Math.round(sg / sa);
      out[at + 2] = Math.round(sb / sa);
      out[at + 3] = alpha;
    }
  }
  return out;
}

function png(state: TrayIconState, variant: IconVariant, size: number): Buffer {
  return encodePng(renderIcon(iconLayers(state, variant, size), size), size, size);
}

function ico(state: TrayIconState, variant: IconVariant, sizes: readonly number[]): Buffer {
  return encodeIco(sizes.map((size) => ({ size, png: png(state, variant, size) })));
}

/** Renders every icon into dir; returns the file names written. */
export function writeIcons(dir: string): string[] {
  const files = new Map<string, Buffer>();
  files.set(APP_ICON_FILES.png, png('normal', 'app', APP_ICON_PNG_SIZE));
  files.set(APP_ICON_FILES.ico, ico('normal', 'app', APP_ICO_SIZES));
  for (const state of TRAY_ICON_STATES) {
    files.set(trayPngFile(state), png(state, 'tray', TRAY_PNG_SIZE));
    files.set(trayPngFile(state, 2), png(state, 'tray', TRAY_PNG_SIZE * 2));
    files.set(trayIcoFile(state), ico(state, 'tray', TRAY_ICO_SIZES));
    files.set(trayTemplateFile(state), png(state, 'template', TRAY_TEMPLATE_SIZE));
    files.set(trayTemplateFile(state, 2), png(state, 'template', TRAY_TEMPLATE_SIZE * 2));
  }
  mkdirSync(dir, { recursive: true });
  for (const [name, data] of files) writeFileSync(path.join(dir, name), data);
  return [...files.keys()];
}

// Imported by the test, which writes into a temporary directory; only a direct run
// touches the committed assets.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'assets');
  const written = writeIcons(dir);
  console.log(`wrote ${written.length} files into ${path.relative(process.cwd(), dir) || '.'}`);
}
