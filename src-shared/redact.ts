// Free text (log lines, error messages) made safe to store or show: whatever a caller forgot
// to mask is masked here, so a log file or a report attached to a support ticket never
// carries a credential.
import { isSecretQueryKey, maskUrl } from './settings';

const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>`]+/gi;
const BEARER = /\b(Bearer)\s+[^\s"',;]+/gi;
const SECRET_ASSIGNMENT = /\b((?:access_|api[_-]?|auth[_-]?)?(?:token|key|secret|password|passwd|signature|sig))=("?)[^\s&"',;]+/gi;
// tokenSealed: the desktop app's sealed token, useless without that user's safe storage, yet still kept out of logs and reports.
const SECRET_JSON_FIELD = /("(?:token|tokenSealed|access_token|api[_-]?key|secret|password)"\s*:\s*")(?:[^"\\]|\\.)*(")/gi;
const PLACEHOLDERS = new Set(['***', '(redacted)']);

/** Replaces credentials in URLs, `Bearer <x>`, `token=<x>` and every given secret (at least 4 characters) with ***. */
export function redactText(text: string, secrets: readonly string[] = []): string {
  let out = text.replace(URL_IN_TEXT, (url) => maskUrl(url));
  out = out.replace(BEARER, '$1 ***');
  out = out.replace(SECRET_ASSIGNMENT, (m, key: string, quote: string) => (PLACEHOLDERS.has(m.slice(key.length + 1 + quote.length)) ? m : `${key}=${quote}***`));
  out = out.replace(SECRET_JSON_FIELD, (m, head: string, tail: string) => (m.endsWith('"(redacted)"') ? m : `${head}***${tail}`));
  for (const secret of secrets) {
    // A very short "secret" would turn ordinary words into ***; the masks above cover those.
    if (secret.length >= 4) out = out.split(secret).join('***');
  }
  return out;
}

/** The secrets hidden in a URL (user, password, secret query values), to scrub wherever they were copied. */
export function secretsOfUrl(url: string): string[] {
  try {
    const u = new URL(url);
    const out: string[] = [];
    for (const part of [u.username, u.password]) {
      if (part) out.push(part, safeDecode(part));
    }
    for (const [key, value] of u.searchParams) {
      if (isSecretQueryKey(key) && value) out.push(value, encodeURIComponent(value));
    }
    return [...new Set(out)];
  } catch {
    return [];
  }
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
