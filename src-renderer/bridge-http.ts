// The browser implementation of RelayBridge: plain fetch for reads and actions, and
// server-sent events for the live snapshots. The page's globals come in through `env`
// (main.tsx passes the real ones) so this file runs under test in Node with stubs, and
// typechecks without DOM types.
import {
  HTTP_ROUTES,
  SECRET_HEADER,
  SNAPSHOT_INTERVAL_MS,
  failure,
  type ActionFailure,
  type ActionResult,
  type ChangeConfirmation,
  type ConnectionStatus,
  type CutoverResult,
  type DashboardState,
  type LatencyHistory,
  type ReportExport,
} from '../src-shared/bridge';
import type { CutoverRequest, CutoverView } from '../src-shared/cutover';
import { READ_ONLY_MESSAGE, type DashboardBridge } from './store';

export interface ResponseLike {
  ok: boolean;
  status: number;
  statusText: string;
  text(): Promise<string>;
}

export interface EventSourceLike {
  readonly readyState: number;
  onopen: ((ev: never) => unknown) | null;
  onerror: ((ev: never) => unknown) | null;
  addEventListener(type: string, listener: (ev: { data: string }) => void): void;
  close(): void;
}

export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export interface HttpBridgeEnv {
  fetch(url: string, init?: { method?: string; headers?: Record<string, string>; body?: string; cache?: 'no-store' }): Promise<ResponseLike>;
  EventSource: new (url: string) => EventSourceLike;
  location: { hash: string; pathname: string; search: string };
  history: { replaceState(data: unknown, unused: string, url?: string): void };
  /** Absent or throwing (storage disabled): the secret then lives for this page only. */
  sessionStorage?: StorageLike | null;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface HttpBridgeOptions {
  /** Prefix of every route; '' for the page's own origin (the relay serves the dashboard). */
  base?: string;
  /** No snapshot for this long on an open stream: assume it is dead and reopen it. */
  staleAfterMs?: number;
}

export type HttpBridge = DashboardBridge & { readonly readOnly: boolean };

export const SECRET_STORAGE_KEY = 'relay-dashboard-secret';
const EVENT_SOURCE_CLOSED = 2;

/**
 * Takes the per-run secret from `#secret=...`, keeps it for the tab in sessionStorage and
 * removes it from the address bar, so it is not left in history, bookmarks or screenshots.
 */
export function takeSecret(env: Pick<HttpBridgeEnv, 'location' | 'history' | 'sessionStorage'>): string | null {
  const hash = env.location.hash.replace(/^#/, '');
  const params = new URLSearchParams(hash);
  const fromHash = params.get('secret');
  if (fromHash) {
    params.delete('secret');
    try {
      env.sessionStorage?.setItem(SECRET_STORAGE_KEY, fromHash);
    } catch {
      /* storage disabled: the secret still serves this page */
    }
    const rest = params.toString();
    env.history.replaceState(null, '', `${env.location.pathname}${env.location.search}${rest ? `#${rest}` : ''}`);
    return fromHash;
  }
  try {
    return env.sessionStorage?.getItem(SECRET_STORAGE_KEY) || null;
  } catch {
    return null;
  }
}

export function createHttpBridge(env: HttpBridgeEnv, options: HttpBridgeOptions = {}): HttpBridge {
  const base = options.base ?? '';
  const staleAfterMs = options.staleAfterMs ?? Math.max(5000, SNAPSHOT_INTERVAL_MS * 10);
  const secret = takeSecret(env);

  async function getJson<T>(route: string): Promise<T> {
    const res = await env.fetch(base + route, { headers: { accept: 'application/json' }, cache: 'no-store' });
    const body = await res.text();
    if (!res.ok) throw new Error(`GET ${route}: HTTP ${res.status} ${firstLine(body) || res.statusText}`.trim());
    return JSON.parse(body) as T;
  }

  async function post(route: string, payload: unknown): Promise<ActionResult> {
    const answer = await postRaw(route, payload);
    return 'failure' in answer ? answer.failure : toResult(answer.res, answer.body);
  }

  async function postRaw(route: string, payload: unknown): Promise<{ res: ResponseLike; body: string } | { failure: ActionFailure }> {
    if (!secret) return { failure: failure(403, READ_ONLY_MESSAGE) };
    let res: ResponseLike;
    try {
      res = await env.fetch(base + route, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', [SECRET_HEADER]: secret },
        body: JSON.stringify(payload),
      });
    } catch (e) {
      return { failure: unreachable(e) };
    }
    return { res, body: await res.text().catch(() => '') };
  }

  return {
    readOnly: secret === null,

    getState: () => getJson<DashboardState>(HTTP_ROUTES.getState),
    getHistory: () => getJson<LatencyHistory>(HTTP_ROUTES.getHistory),

    setKillSwitch: (request) => post(HTTP_ROUTES.setKillSwitch, request),
    updateSettings: (update) => post(HTTP_ROUTES.updateSettings, update),

    async cutover(request: CutoverRequest): Promise<CutoverResult> {
      const answer = await postRaw(HTTP_ROUTES.cutover, request);
      if ('failure' in answer) return answer.failure;
      const result = toResult(answer.res, answer.body);
      if (!result.ok) return result;
      const parsed = parseJson(answer.body) as { cutover?: CutoverView } | undefined;
      if (parsed?.cutover && typeof parsed.cutover === 'object') return { ok: true, cutover: parsed.cutover };
      return failure(500, 'The relay answered the cutover request without its state');
    },

    async exportReport(): Promise<ReportExport | ActionFailure> {
      // A report is redacted and changes nothing, so it needs no secret; sent when we have one anyway.
      const headers: Record<string, string> = { accept: 'application/json' };
      if (secret) headers[SECRET_HEADER] = secret;
      let res: ResponseLike;
      try {
        res = await env.fetch(base + HTTP_ROUTES.exportReport, { headers, cache: 'no-store' });
      } catch (e) {
        return unreachable(e);
      }
      const body = await res.text().catch(() => '');
      if (!res.ok) return toResult(res, body) as ActionFailure;
      const parsed = parseJson(body);
      if (isReport(parsed)) return parsed;
      return failure(500, 'The relay answered the report request with something that is not a report');
    },

    subscribe(onState: (state: DashboardState) => void, onStatus?: (status: ConnectionStatus) => void): () => void {
      let source: EventSourceLike | null = null;
      let stopped = false;
      let everOpen = false;
      let retryDelay = 1000;
      let retryTimer: unknown;
      let staleTimer: unknown;
      let status: ConnectionStatus | null = null;

      const report = (next: ConnectionStatus): void => {
        if (next === status) return;
        status = next;
        onStatus?.(next);
      };

      const armStale = (): void => {
        env.clearTimeout(staleTimer);
        staleTimer = env.setTimeout(() => reopen(), staleAfterMs);
      };

      const reopen = (): void => {
        if (stopped) return;
        source?.close();
        source = null;
        env.clearTimeout(staleTimer);
        report(everOpen ? 'reconnecting' : 'connecting');
        env.clearTimeout(retryTimer);
        retryTimer = env.setTimeout(open, retryDelay);
        retryDelay = Math.min(retryDelay * 2, 10_000);
      };

      function open(): void {
        if (stopped) return;
        const es = new env.EventSource(base + HTTP_ROUTES.events);
        source = es;
        es.onopen = () => {
          if (source !== es) return;
          everOpen = true;
          retryDelay = 1000;
          report('open');
          armStale();
        };
        es.addEventListener('state', (ev) => {
          if (source !== es) return;
          armStale();
          let state: DashboardState;
          try {
            state = JSON.parse(ev.data) as DashboardState;
          } catch {
            return; // one garbled message; the next snapshot follows within a second
          }
          if (status !== 'open') {
            everOpen = true;
            report('open');
          }
          onState(state);
        });
        es.onerror = () => {
          if (source !== es) return;
          // CONNECTING: the browser retries by itself. CLOSED (an HTTP error, a wrong content
          // type): it has given up, so we reopen with our own backoff.
          if (es.readyState === EVENT_SOURCE_CLOSED) reopen();
          else report(everOpen ? 'reconnecting' : 'connecting');
        };
      }

      report('connecting');
      open();
      return () => {
        stopped = true;
        env.clearTimeout(retryTimer);
        env.clearTimeout(staleTimer);
        source?.close();
        source = null;
      };
    },
  };
}

function toResult(res: ResponseLike, body: string): ActionResult {
  const parsed = parseJson(body);
  if (res.ok) {
    if (parsed && typeof parsed === 'object' && 'ok' in parsed && parsed.ok === false) return failureFrom(parsed, res.status);
    const confirmation = parsed && typeof parsed === 'object' && 'confirmation' in parsed ? (parsed as { confirmation?: unknown }).confirmation : undefined;
    return confirmation && typeof confirmation === 'object' ? { ok: true, confirmation: confirmation as ChangeConfirmation } : { ok: true };
  }
  if (parsed && typeof parsed === 'object') return failureFrom(parsed, res.status);
  const text = firstLine(body) || res.statusText || 'no explanation given';
  return failure(res.status, res.status === 403 ? `${text}. ${READ_ONLY_MESSAGE}` : text);
}

function failureFrom(parsed: object, httpStatus: number): ActionFailure {
  const p = parsed as { status?: unknown; error?: unknown; problems?: unknown };
  const status = typeof p.status === 'number' ? p.status : httpStatus;
  const error = typeof p.error === 'string' && p.error ? p.error : `HTTP ${httpStatus}`;
  const problems = Array.isArray(p.problems) ? p.problems.filter((x): x is string => typeof x === 'string') : [];
  return failure(status, error, problems.length > 0 ? problems : undefined);
}

function unreachable(e: unknown): ActionFailure {
  return failure(503, `The relay did not answer: ${e instanceof Error ? e.message : String(e)}`);
}

function isReport(v: unknown): v is ReportExport {
  if (!v || typeof v !== 'object') return false;
  const r = v as Record<string, unknown>;
  return r.ok === true && typeof r.fileBase === 'string' && typeof r.json === 'string' && typeof r.html === 'string';
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0]?.trim().slice(0, 300) ?? '';
}
