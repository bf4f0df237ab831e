// What the dashboard window may do, decided without Electron: which IPC senders are
// trusted, where the page may navigate, which links open in the browser, which permission
// requests are granted (none).
import { APP_HOST, APP_SCHEME, isAllowedExternalUrl } from '../../src-shared/desktop';
import type { IpcSender } from './ports';

export function isAppUrl(text: string | null): boolean {
  if (!text) return false;
  try {
    const url = new URL(text);
    // Custom schemes have an opaque origin ("null"): compare scheme and host instead.
    return url.protocol === `${APP_SCHEME}:` && url.host === APP_HOST && !url.username && !url.password;
  } catch {
    return false;
  }
}

/** Only the dashboard's own main frame, in the app's one window, may call the relay. */
export function isTrustedSender(sender: IpcSender, windowWebContentsId: number | null): boolean {
  return windowWebContentsId !== null && sender.webContentsId === windowWebContentsId && sender.isMainFrame && isAppUrl(sender.frameUrl);
}

/** In-page navigation stays inside the app's own pages; anything else is refused. */
export function mayNavigate(url: string): boolean {
  return isAppUrl(url);
}

/** window.open and target=_blank: never a new window; an allow-listed https page opens in the browser. */
export function windowOpenDecision(url: string): { openExternal: boolean } {
  return { openExternal: isAllowedExternalUrl(url) };
}

/** The dashboard needs no camera, microphone, notifications from the page, clipboard or anything else. */
export function mayGrantPermission(_permission: string): boolean {
  return false;
}
