// iRacing writes its strings in Windows-1252. Node 20's TextDecoder('windows-1252')
// takes a latin1 fast path and leaves 0x80..0x9F as C1 control characters, so those
// 32 code points are mapped here; on a runtime that decodes correctly this is a no-op.

// cp1252 0x80..0x9F; the five bytes cp1252 leaves undefined keep their latin1 meaning.
const HIGH = '\u20ac\u0081\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\u008d\u017d\u008f' +
  '\u0090\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u009d\u017e\u0178';

const decoder = new TextDecoder('windows-1252');

export function decodeCp1252(bytes: Uint8Array): string {
  const text = decoder.decode(bytes);
  return /[\x80-\x9f]/.test(text) ? text.replace(/[\x80-\x9f]/g, (c) => HIGH[c.charCodeAt(0) - 0x80] ?? c) : text;
}

/** One cp1252 byte as a character, for char variables. */
export function cp1252Char(byte: number): string {
  return byte >= 0x80 && byte <= 0x9f ? (HIGH[byte - 0x80] ?? '') : String.fromCharCode(byte);
}
