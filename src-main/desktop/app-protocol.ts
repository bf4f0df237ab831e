// The window's pages come from the app's own files through the app:// scheme, never from a
// server or remote content. This decides the answer to each request; the shell only turns
// it into a Response (protocol.handle), so the rules are tested without Electron.
import { APP_HOST, APP_SCHEME, DESKTOP_CSP } from '../../src-shared/desktop';
import { resolveStaticFile } from '../http/static-files';

export type AppProtocolAnswer =
  | { status: 200; file: string; headers: Record<string, string> }
  | { status: 400 | 403 | 404 | 405; body: string; headers: Record<string, string> };

const COMMON_HEADERS = { 'x-content-type-options': 'nosniff', 'cache-control': 'no-store' };

export function answerAppRequest(root: string, requestUrl: string, method: string): AppProtocolAnswer {
  const refuse = (status: 400 | 403 | 404 | 405, body: string): AppProtocolAnswer => ({ status, body, headers: { 'content-type': 'text/plain; charset=utf-8', ...COMMON_HEADERS } });
  let url: URL;
  try {
    url = new URL(requestUrl);
  } catch {
    return refuse(400, `not a URL: ${requestUrl}`);
  }
  if (url.protocol !== `${APP_SCHEME}:` || url.host !== APP_HOST) return refuse(403, `only ${APP_SCHEME}://${APP_HOST}/ is served here`);
  if (method !== 'GET' && method !== 'HEAD') return refuse(405, `method ${method} not allowed; expected GET`);
  const found = resolveStaticFile(root, url.pathname);
  if (!found) return refuse(404, `no such file in the dashboard: ${url.pathname}`);
  const html = found.contentType.startsWith('text/html');
  return {
    status: 200,
    file: found.file,
    headers: {
      'content-type': found.contentType,
      ...COMMON_HEADERS,
      ...(html ? { 'content-security-policy': DESKTOP_CSP, 'referrer-policy': 'no-referrer' } : {}),
    },
  };
}
