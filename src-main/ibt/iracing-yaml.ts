// A parser for the part of YAML iRacing writes its session info in: block mappings and
// sequences indented with spaces, one scalar per line, plain or simply quoted. The general
// parser (the yaml package) took 10 to 45 ms for the 14 KB of a test drive and far longer
// for a full grid, on the live reader's thread, each time the sim updated its session info
// (every lap in a race): ticks went by unread meanwhile. This one reads the same text in a
// fraction of a millisecond.
//
// It gives exactly what the general parser gives (YAML 1.2 core schema: the same nulls,
// booleans, ints, floats and strings, resolved with the same functions), or undefined as soon
// as the text uses anything else (comments, anchors, tags, flow collections, escapes,
// multi-line scalars, odd indentation, duplicate keys, control characters, text the general
// parser reports as an error): the caller then takes the general parser, as before. Tests
// hold the two to the same results on generated documents full of such cases.

/** Thrown inside the parser when the text leaves the subset; never escapes it. */
const OUTSIDE = Symbol('outside the subset');

// Characters that are not plain text in any line iRacing writes. \x85, \u2028 and \u2029 can
// count as line breaks to YAML; the byte order mark as a document marker.
// eslint-disable-next-line no-control-regex
const UNUSUAL = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff]/;
/** `Key:` then nothing, or spaces and a value. */
const KEY_LINE = /^([A-Za-z_][A-Za-z0-9_]*):(?: +(.*))?$/;
/** Keys the core schema would read as null or a boolean rather than as their text. */
const NOT_TEXT_KEYS = new Set(['null', 'Null', 'NULL', 'true', 'True', 'TRUE', 'false', 'False', 'FALSE']);
/** YAML's limit on an implicit key, well inside. */
const MAX_KEY = 1000;

// The core schema's tests, in the order it tries them (yaml's schema/core).
const NULL = /^(?:~|[Nn]ull|NULL)$/;
const BOOL = /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/;
const INT_OCT = /^0o[0-7]+$/;
const INT = /^[-+]?[0-9]+$/;
const INT_HEX = /^0x[0-9a-fA-F]+$/;
const FLOAT_NAN = /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/;
const FLOAT_EXP = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/;
const FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/;

const SPACE = 32;

function outside(): never {
  throw OUTSIDE;
}

/** A plain scalar's value, as the core schema resolves it. */
function resolvePlain(s: string): unknown {
  const c = s.charCodeAt(0);
  // Digits, signs and dots may be numbers; ~ n N t T f F may be null or booleans; nothing else can.
  if ((c >= 48 && c <= 57) || c === 43 || c === 45 || c === 46) {
    if (INT_OCT.test(s)) return parseInt(s.substring(2), 8);
    if (INT.test(s)) return parseInt(s, 10);
    if (INT_HEX.test(s)) return parseInt(s.substring(2), 16);
    if (FLOAT_NAN.test(s)) return s.slice(-3).toLowerCase() === 'nan' ? NaN : s[0] === '-' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
    if (FLOAT_EXP.test(s) || FLOAT.test(s)) return parseFloat(s);
    return s;
  }
  if (NULL.test(s)) return null;
  if (BOOL.test(s)) return c === 116 || c === 84; // t or T
  return s;
}

/** The value written after `Key: ` or `- `, trailing spaces already gone. */
function scalar(s: string): unknown {
  const c = s[0];
  if (c === '"' || c === "'") {
    // Quoted on one line, without escapes: the text between the quotes, as it is.
    if (s.length < 2 || s[s.length - 1] !== c) outside();
    const inner = s.slice(1, -1);
    if (inner.includes(c) || (c === '"' && inner.includes('\\'))) outside();
    return inner;
  }
  // What a plain scalar may not start with (YAML's indicators; - ? : only before a space or
  // at the end), and what ends it early (a comment, or a mapping on the same line).
  if ('[]{},#&*!|>%@`'.includes(c as string)) outside();
  if ((c === '-' || c === '?' || c === ':') && (s.length === 1 || s.charCodeAt(1) === SPACE)) outside();
  if (s.includes(': ') || s.includes(' #') || s[s.length - 1] === ':') outside();
  return resolvePlain(s);
}

function trimSpaces(s: string): string {
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) === SPACE) end--;
  return end === s.length ? s : s.slice(0, end);
}

class Lines {
  pos = 0;
  readonly lines: string[];

  constructor(text: string) {
    this.lines = text.split('\n');
  }

  /** Moves past blank lines; the indent of the line there, or -1 at the end. */
  next(): number {
    const { lines } = this;
    while (this.pos < lines.length) {
      const line = lines[this.pos] as string;
      let i = 0;
      while (line.charCodeAt(i) === SPACE) i++;
      if (i < line.length) return i;
      this.pos++;
    }
    return -1;
  }

  get line(): string {
    return this.lines[this.pos] as string;
  }
}

/** `- ` (or a lone `-`) at column `at`: a sequence item. */
function isItem(line: string, at: number): boolean {
  return line.charCodeAt(at) === 45 && (at + 1 === line.length || line.charCodeAt(at + 1) === SPACE);
}

/** A block whose first line is at indent `n`: a sequence or a mapping. */
function block(src: Lines, n: number): unknown {
  return isItem(src.line, n) ? sequence(src, n) : mapping(src, n);
}

/** What follows a key or item with nothing after it: a deeper block, a sequence at the key's own indent, or null. */
function nested(src: Lines, n: number, sequenceHere: boolean): unknown {
  const ind = src.next();
  if (ind > n) return block(src, ind);
  if (sequenceHere && ind === n && isItem(src.line, n)) return sequence(src, n);
  return null;
}

function mapping(src: Lines, n: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (;;) {
    const ind = src.next();
    if (ind < n) break;
    if (ind > n) outside();
    const line = src.line;
    const content = n === 0 ? line : line.slice(n);
    // The document's end, or another document: the caller decides.
    if (n === 0 && (content === '...' || content === '---')) break;
    const m = KEY_LINE.exec(content);
    if (m === null) outside();
    const key = m[1] as string;
    if (key.length > MAX_KEY || NOT_TEXT_KEYS.has(key) || key === '__proto__' || Object.hasOwn(out, key)) outside();
    const rest = m[2] === undefined ? '' : trimSpaces(m[2]);
    src.pos++;
    out[key] = rest === '' ? nested(src, n, true) : scalar(rest);
  }
  return out;
}

function sequence(src: Lines, n: number): unknown[] {
  const out: unknown[] = [];
  for (;;) {
    const ind = src.next();
    if (ind < n) break;
    if (ind > n) outside();
    const line = src.line;
    // At the indent of a mapping's keys, a line that is not an item ends a compact sequence.
    if (!isItem(line, n)) break;
    let j = n + 1;
    while (line.charCodeAt(j) === SPACE) j++;
    if (j >= line.length) {
      src.pos++;
      out.push(nested(src, n, false));
      continue;
    }
    if (isItem(line, j)) outside();
    if (KEY_LINE.test(line.slice(j))) {
      // A mapping whose first key shares the item's line: its keys line up at column j.
      src.lines[src.pos] = `${line.slice(0, n)} ${line.slice(n + 1)}`;
      out.push(mapping(src, j));
      continue;
    }
    src.pos++;
    out.push(scalar(trimSpaces(line.slice(j))));
  }
  return out;
}

/**
 * The session info as the general parser would give it, or undefined when the text goes
 * beyond what iRacing writes (the caller then uses the general parser). Only a mapping with
 * at least one key is returned.
 */
export function parseIracingYaml(text: string): Record<string, unknown> | undefined {
  if (UNUSUAL.test(text)) return undefined;
  const src = new Lines(text);
  try {
    if (src.next() === 0 && src.line === '---') src.pos++;
    if (src.next() !== 0) return undefined;
    const doc = mapping(src, 0);
    if (Object.keys(doc).length === 0) return undefined;
    // Only the end marker, then blank lines, may follow.
    if (src.next() === 0 && src.line === '...') src.pos++;
    if (src.next() !== -1) return undefined;
    return doc;
  } catch (e) {
    if (e === OUTSIDE) return undefined;
    throw e;
  }
}
