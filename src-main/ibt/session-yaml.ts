// The session info block: cp1252 YAML that iRacing writes without quoting free text,
// so a team or user name with a colon or a leading '@' breaks a strict parser.
import { parseDocument, type YAMLError } from 'yaml';
import { decodeCp1252 } from './cp1252';
import { IbtError } from './errors';
import { parseIracingYaml } from './iracing-yaml';

export function decodeSessionInfo(bytes: Uint8Array): string {
  let end = bytes.length;
  while (end > 0 && bytes[end - 1] === 0) end--;
  return decodeCp1252(bytes.subarray(0, end));
}

type Parsed = { ok: true; value: unknown } | { ok: false; error: YAMLError | Error };

function tryParse(text: string): Parsed {
  try {
    const doc = parseDocument(text, { strict: false, uniqueKeys: false, prettyErrors: false });
    const first = doc.errors[0];
    if (first !== undefined) return { ok: false, error: first };
    // The alias cap keeps a hostile file from expanding into an enormous object.
    return { ok: true, value: doc.toJS({ maxAliasCount: 100 }) };
  } catch (e) {
    return { ok: false, error: e instanceof Error ? e : new Error(String(e)) };
  }
}

// Fields iRacing fills with whatever a user typed.
const FREE_TEXT_KEYS = new Set([
  'UserName', 'TeamName', 'AbbrevName', 'Initials', 'DriverSetupName', 'CarScreenName', 'CarScreenNameShort',
  'CarClassShortName', 'TrackDisplayName', 'TrackDisplayShortName', 'TrackConfigName', 'TrackCity', 'TrackCountry',
  'SessionName', 'ClubName', 'DivisionName', 'LeagueName', 'SeriesName', 'EventName',
]);
const KEY_LINE = /^(\s*(?:-\s+)?)([A-Za-z0-9_]+):[ \t]+(.*?)\s*$/;
// Where a plain scalar may not begin, or what it may not contain, in YAML 1.2.
// ('-' only before a space: "-1" is a number and must stay one.)
const RISKY_START = /^(?:[@`%&*!|>'"{}[\],?#]|- )/;
const RISKY_INSIDE = /: |\s#/;

function quote(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

function isQuoted(value: string): boolean {
  return value.length >= 2 && ((value.startsWith('"') && value.endsWith('"')) || (value.startsWith("'") && value.endsWith("'")));
}

/** Rewrites the known ways iRacing's YAML goes wrong; the text keeps its line structure. */
export function sanitiseSessionYaml(text: string): string {
  return text
    // eslint-disable-next-line no-control-regex
    .replace(/[\x00-\x09\x0b-\x1f\x7f]/g, ' ')
    .split('\n')
    .map((line) => {
      const m = KEY_LINE.exec(line);
      if (m === null) return line;
      const [, lead = '', key = '', value = ''] = m;
      if (value === '' || isQuoted(value)) return line;
      if (FREE_TEXT_KEYS.has(key) || RISKY_START.test(value) || RISKY_INSIDE.test(value)) return `${lead}${key}: ${quote(value)}`;
      return line;
    })
    .join('\n');
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Parses the session info text found at byte `offset`. Returns null for an empty block.
 * Errors name the byte offset and the key of the offending line, never its value: the
 * lines that break are the ones holding user names.
 *
 * Text in the subset of YAML iRacing writes goes through its own parser (iracing-yaml.ts,
 * a fraction of a millisecond); anything else through the general one, with the same result.
 */
export function parseSessionInfo(text: string, offset: number): unknown {
  if (text.trim() === '') return null;
  return parseIracingYaml(text) ?? parseSessionInfoGeneral(text, offset);
}

/** parseSessionInfo with the general YAML parser alone (the yaml package), for any text. */
export function parseSessionInfoGeneral(text: string, offset: number): unknown {
  if (text.trim() === '') return null;
  const first = tryParse(text);
  let result = first;
  if (!result.ok) result = tryParse(sanitiseSessionYaml(text));
  if (result.ok) {
    if (isMapping(result.value)) return result.value;
    throw new IbtError(
      'bad_yaml',
      `session info at byte ${offset} (${text.length} bytes) parsed to ${result.value === null ? 'null' : typeof result.value}, not a mapping of sections such as WeekendInfo`,
      { offset, field: 'sessionInfo' },
    );
  }
  // Report the first parse: its positions map one-to-one onto the file's bytes (cp1252 is one byte a character).
  const err = first.ok ? result.error : first.error;
  const pos = 'pos' in err && Array.isArray(err.pos) && typeof err.pos[0] === 'number' ? err.pos[0] : undefined;
  let where = `session info at byte ${offset}`;
  if (pos !== undefined) {
    const lineStart = text.lastIndexOf('\n', pos - 1) + 1;
    const lineEnd = text.indexOf('\n', pos);
    const line = text.slice(0, pos).split('\n').length;
    const key = KEY_LINE.exec(text.slice(lineStart, lineEnd === -1 ? undefined : lineEnd))?.[2];
    where += `, error at byte ${offset + pos} (YAML line ${line}${key === undefined ? '' : `, key ${key}`})`;
  }
  const reason = 'code' in err && typeof err.code === 'string' ? err.code : err.name;
  throw new IbtError('bad_yaml', `${where}: not parseable as YAML even after sanitising (${reason})`, {
    offset: pos === undefined ? offset : offset + pos,
    field: 'sessionInfo',
  });
}
