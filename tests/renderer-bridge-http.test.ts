import { describe, expect, it } from 'vitest';
import { HTTP_ROUTES, SECRET_HEADER, type ConnectionStatus } from '../src-shared/bridge';
import { SECRET_STORAGE_KEY, createHttpBridge, takeSecret, type EventSourceLike, type HttpBridgeEnv, type ResponseLike } from '../src-renderer/bridge-http';
import { READ_ONLY_MESSAGE } from '../src-renderer/store';

interface Call {
  url: string;
  method: string;
  headers: Record<string, string>;
  body?: string;
}

class FakeEventSource implements EventSourceLike {
  static last: FakeEventSource | null = null;
  readyState = 0;
  onopen: ((ev: never) => unknown) | null = null;
  onerror: ((ev: never) => unknown) | null = null;
  listeners = new Map<string, (ev: { data: string }) => void>();
  closed = false;
  constructor(readonly url: string) {
    FakeEventSource.last = this;
  }
  addEventListener(type: string, listener: (ev: { data: string }) => void): void {
    this.listeners.set(type, listener);
  }
  close(): void {
    this.closed = true;
    this.readyState = 2;
  }
}

function response(status: number, body: unknown): ResponseLike {
  return { ok: status >= 200 && status < 300, status, statusText: '', text: async () => (typeof body === 'string' ? body : JSON.stringify(body)) };
}

function makeEnv(hash: string, stored: Record<string, string> = {}, reply: (c: Call) => ResponseLike = () => response(200, { ok: true })) {
  const calls: Call[] = [];
  const replaced: string[] = [];
  const storage = new Map(Object.entries(stored));
  const timers: { fn: () => void; ms: number }[] = [];
  const env: HttpBridgeEnv = {
    fetch: async (url, init) => {
      const call: Call = { url, method: init?.method ?? 'GET', headers: init?.headers ?? {}, ...(init?.body !== undefined ? { body: init.body } : {}) };
      calls.push(call);
      return reply(call);
    },
    EventSource: FakeEventSource,
    location: { hash, pathname: '/', search: '' },
    history: { replaceState: (_d, _u, url) => void replaced.push(url ?? '') },
    sessionStorage: {
      getItem: (k) => storage.get(k) ?? null,
      setItem: (k, v) => void storage.set(k, v),
      removeItem: (k) => void storage.delete(k),
    },
    setTimeout: (fn, ms) => timers.push({ fn, ms }),
    clearTimeout: () => undefined,
  };
  return { env, calls, replaced, storage, timers };
}

describe('HTTP bridge: the per-run secret', () => {
  it('takes the secret from the hash, keeps it for the tab and removes it from the address bar', () => {
    const { env, replaced, storage } = makeEnv('#secret=s3cr3t');
    expect(takeSecret(env)).toBe('s3cr3t');
    expect(storage.get(SECRET_STORAGE_KEY)).toBe('s3cr3t');
    expect(replaced).toEqual(['/']);
  });

  it('keeps other hash parameters, and reads the stored secret after a reload', () => {
    const { env, replaced } = makeEnv('#view=parity&secret=abc');
    expect(takeSecret(env)).toBe('abc');
    expect(replaced).toEqual(['/#view=parity']);
    const reload = makeEnv('', { [SECRET_STORAGE_KEY]: 'abc' });
    expect(takeSecret(reload.env)).toBe('abc');
    expect(reload.replaced).toEqual([]);
  });

  it('sends the secret in its header with JSON on every action', async () => {
    const { env, calls } = makeEnv('#secret=abc');
    const bridge = createHttpBridge(env);
    expect(bridge.readOnly).toBe(false);
    expect(await bridge.setKillSwitch({ on: true })).toEqual({ ok: true });
    expect(await bridge.updateSettings({ mode: 'single' })).toEqual({ ok: true });
    expect(calls.map((c) => [c.method, c.url])).toEqual([
      ['POST', HTTP_ROUTES.setKillSwitch],
      ['POST', HTTP_ROUTES.updateSettings],
    ]);
    for (const c of calls) {
      expect(c.headers[SECRET_HEADER]).toBe('abc');
      expect(c.headers['content-type']).toBe('application/json');
    }
    expect(JSON.parse(calls[0]?.body ?? '')).toEqual({ on: true });
    expect(JSON.parse(calls[1]?.body ?? '')).toEqual({ mode: 'single' });
  });

  it('without a secret is read-only: actions are refused with 403 and nothing is sent', async () => {
    const { env, calls } = makeEnv('');
    const bridge = createHttpBridge(env);
    expect(bridge.readOnly).toBe(true);
    expect(await bridge.setKillSwitch({ on: true })).toEqual({ ok: false, status: 403, error: READ_ONLY_MESSAGE });
    expect(calls).toEqual([]);
  });

  it('reports the relay’s refusal and problems as they came', async () => {
    const { env } = makeEnv('#secret=old', {}, (c) =>
      c.url === HTTP_ROUTES.setKillSwitch
        ? response(403, 'forbidden: wrong secret')
        : response(400, { ok: false, status: 400, error: 'invalid settings', problems: ['backend 1: the URL is empty'] }),
    );
    const bridge = createHttpBridge(env);
    const refused = await bridge.setKillSwitch({ on: true });
    expect(refused).toMatchObject({ ok: false, status: 403 });
    expect(refused.ok === false && refused.error).toContain('forbidden: wrong secret');
    expect(await bridge.updateSettings({ backends: [] })).toEqual({ ok: false, status: 400, error: 'invalid settings', problems: ['backend 1: the URL is empty'] });
  });

  it('turns a network failure into a 503 result', async () => {
    const { env } = makeEnv('#secret=abc');
    env.fetch = () => Promise.reject(new TypeError('Failed to fetch'));
    expect(await createHttpBridge(env).setKillSwitch({ on: false })).toMatchObject({ ok: false, status: 503, error: expect.stringContaining('Failed to fetch') });
  });
});

describe('HTTP bridge: reads and the event stream', () => {
  it('GETs state, history and the report without needing a secret', async () => {
    const report = { ok: true, fileBase: 'relay-parity-report-x', json: '{}', html: '<!doctype html>' };
    const { env, calls } = makeEnv('', {}, (c) =>
      response(200, c.url === HTTP_ROUTES.exportReport ? report : c.url === HTTP_ROUTES.getHistory ? { targets: {} } : { at: 1 }),
    );
    const bridge = createHttpBridge(env);
    expect(await bridge.getState()).toEqual({ at: 1 });
    expect(await bridge.getHistory()).toEqual({ targets: {} });
    expect(await bridge.exportReport()).toEqual(report);
    expect(calls.every((c) => c.method === 'GET' && !(SECRET_HEADER in c.headers))).toBe(true);
  });

  it('reports connecting, open, reconnecting; parses state events; reopens a stream the browser gave up on', () => {
    const { env, timers } = makeEnv('');
    const statuses: ConnectionStatus[] = [];
    const states: unknown[] = [];
    const stop = createHttpBridge(env).subscribe((s) => states.push(s), (s) => statuses.push(s));
    const first = FakeEventSource.last as FakeEventSource;
    expect(first.url).toBe(HTTP_ROUTES.events);
    first.readyState = 1;
    first.onopen?.(undefined as never);
    first.listeners.get('state')?.({ data: '{"at":5}' });
    first.listeners.get('state')?.({ data: 'not json' });
    expect(states).toEqual([{ at: 5 }]);
    first.readyState = 0; // the browser retries by itself
    first.onerror?.(undefined as never);
    first.readyState = 2; // now it gave up
    first.onerror?.(undefined as never);
    expect(first.closed).toBe(true);
    expect(statuses).toEqual(['connecting', 'open', 'reconnecting']);
    const retry = timers.filter((t) => t.ms === 1000).pop();
    retry?.fn();
    const second = FakeEventSource.last as FakeEventSource;
    expect(second).not.toBe(first);
    second.onopen?.(undefined as never);
    expect(statuses.at(-1)).toBe('open');
    stop();
    expect(second.closed).toBe(true);
  });
});
