// The typed bridge's contract: the one map of operations (src-shared/bridge-operations.ts)
// that the IPC handlers, the preload, the HTTP API, the browser's bridge and the relay's
// actions are typed from, and the one shape of a refusal they all share.
import vm from 'node:vm';
import * as esbuild from 'esbuild';
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import {
  BRIDGE_CHANNELS,
  BRIDGE_OPERATIONS,
  HTTP_OPERATIONS,
  HTTP_ROUTES,
  IPC_OPERATIONS,
  KillSwitchRequestSchema,
  REQUEST_SCHEMAS,
  SECRET_HEADER,
  STATE_EVENT_CHANNEL,
  SettingsUpdateSchema,
  failure,
  schemaProblems,
  type HttpOperation,
  type IpcOperation,
  type OperationName,
  type RelayBridge,
  type RequestOf,
} from '../src-shared/bridge';
import { OPERATION_NAMES } from '../src-shared/bridge-operations';
import { createDashboardApi, type RelayActions } from '../src-main/http/dashboard-api';
import { startDebugServer } from '../src-main/http/debug-server';
import { registerBridgeHandlers, type BridgeBackend } from '../src-main/desktop/ipc-handlers';
import { FakeIpc } from './helpers/desktop-ports';
import { request } from './helpers/cli';

describe('refusals', () => {
  it('failure() lists problems only when there are some', () => {
    expect(failure(503, 'the relay is stopping')).toEqual({ ok: false, status: 503, error: 'the relay is stopping' });
    expect('problems' in failure(503, 'the relay is stopping')).toBe(false);
    expect(failure(400, 'bad', ['mode: expected single or parallel'])).toEqual({ ok: false, status: 400, error: 'bad', problems: ['mode: expected single or parallel'] });
  });

  it('schemaProblems() names the field of each problem, and the value itself when the problem is the whole of it', () => {
    const field = SettingsUpdateSchema.safeParse({ mode: 'sideways', backends: [{ url: 1, enabled: true }] });
    expect(field.success).toBe(false);
    const lines = schemaProblems(field.error!, '(body)');
    expect(lines.some((l) => l.startsWith('mode: '))).toBe(true);
    expect(lines.some((l) => l.startsWith('backends.0.url: '))).toBe(true);

    const whole = KillSwitchRequestSchema.safeParse('on');
    expect(schemaProblems(whole.error!, '(argument)')).toEqual([expect.stringMatching(/^\(argument\): /)]);
    expect(schemaProblems(whole.error!, '(body)')).toEqual([expect.stringMatching(/^\(body\): /)]);
  });
});

// ---- compile-time: every surface derived from the map serves or calls every operation -------
// These lines are checked by `npm run typecheck` (tsc compiles tests/); at run time they do nothing.

/** The keys of T that can be left out: never, when every one is required. */
type Omittable<T> = { [K in keyof T]-?: Omit<T, K> extends T ? K : never }[keyof T];

describe('the map of operations, at compile time', () => {
  it('asks for a handler, an invoker and a schema of every operation', () => {
    // Each surface is keyed by the map's operations, no more and no fewer ...
    expectTypeOf<keyof BridgeBackend>().toEqualTypeOf<IpcOperation>();
    expectTypeOf<keyof RelayActions>().toEqualTypeOf<HttpOperation>();
    expectTypeOf<keyof typeof REQUEST_SCHEMAS>().toEqualTypeOf<OperationName>();
    expectTypeOf<Exclude<keyof RelayBridge, 'subscribe'>>().toEqualTypeOf<IpcOperation>();
    // ... and none of them may leave one out (the browser's bridge may skip the desktop's save dialog alone).
    expectTypeOf<Omittable<BridgeBackend>>().toBeNever();
    expectTypeOf<Omittable<RelayActions>>().toBeNever();
    expectTypeOf<Omittable<typeof REQUEST_SCHEMAS>>().toBeNever();
    expectTypeOf<Omittable<RelayBridge>>().toEqualTypeOf<'saveReport'>();

    // A map entry without its handler does not compile: here the cutover's is missing.
    // @ts-expect-error Property 'cutover' is missing
    const withoutCutover: BridgeBackend = {
      getState: () => ({}) as never,
      getHistory: () => ({ targets: {} }),
      setKillSwitch: () => ({ ok: true }),
      updateSettings: () => ({ ok: true }),
      exportReport: async () => failure(503, 'not running'),
      saveReport: async () => ({ ok: true, cancelled: true }),
    };
    // A request of the wrong shape does not compile either.
    // @ts-expect-error the kill switch takes { on }, not a bare flag
    const wrongRequest: Parameters<RelayActions['setKillSwitch']>[0] = true;
    expect([withoutCutover, wrongRequest]).toHaveLength(2);
  });
});

// ---- at run time: the map's channels and routes are served by the real handlers -----------------

/** A valid request of each HTTP action (the compiler asks for one per POST operation of the map). */
const SAMPLE_REQUESTS: { [N in HttpOperation]: RequestOf<N> } = {
  getState: undefined,
  getHistory: undefined,
  exportReport: undefined,
  cutoverView: undefined,
  setKillSwitch: { on: true },
  updateSettings: { mode: 'single' },
  cutover: { action: 'pause' },
  assignSettings: { assignments: [{ name: 'RELAY_BACKEND_MODE', value: 'single' }] },
};

/** Answers every operation with its own name, and records what it was asked. */
function echoBackend(calls: [string, unknown][]): RelayActions & BridgeBackend {
  const echo = (name: OperationName) => (request?: unknown) => {
    calls.push([name, request]);
    return { ok: true, answeredBy: name } as never;
  };
  return Object.fromEntries(OPERATION_NAMES.map((n) => [n, echo(n)])) as unknown as RelayActions & BridgeBackend;
}

const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

describe('the map of operations, at run time', () => {
  it('gives every operation an IPC channel and an HTTP route, except where its entry says it is for one side alone', () => {
    // The exceptions, each for a reason: the desktop's save dialog has no browser counterpart; the CLI's
    // `relay set` and the cutover's state (which the dashboard reads from each snapshot) have no window to serve.
    const ipcOnly = OPERATION_NAMES.filter((n) => BRIDGE_OPERATIONS[n].http === null);
    const httpOnly = OPERATION_NAMES.filter((n) => BRIDGE_OPERATIONS[n].channel === null);
    expect(ipcOnly).toEqual(['saveReport']);
    expect(httpOnly.sort()).toEqual(['assignSettings', 'cutoverView']);
    for (const name of OPERATION_NAMES.filter((n) => !ipcOnly.includes(n) && !httpOnly.includes(n))) {
      expect(BRIDGE_OPERATIONS[name].channel, name).toMatch(/^relay:[a-z-]+$/);
      expect(BRIDGE_OPERATIONS[name].http?.path, name).toMatch(/^\/api\/[a-z/-]+$/);
    }
    // A read (GET) takes no request; an action (POST) takes one, checked by its schema over IPC and HTTP alike.
    for (const name of OPERATION_NAMES) expect([name, REQUEST_SCHEMAS[name] === null]).toEqual([name, BRIDGE_OPERATIONS[name].http?.method !== 'POST']);
    // No two operations share a channel, or a method and path.
    expect(new Set(BRIDGE_CHANNELS).size).toBe(IPC_OPERATIONS.length);
    expect(BRIDGE_CHANNELS).not.toContain(STATE_EVENT_CHANNEL);
    const routes = HTTP_OPERATIONS.map((n) => `${BRIDGE_OPERATIONS[n].http.method} ${BRIDGE_OPERATIONS[n].http.path}`);
    expect(new Set(routes).size).toBe(routes.length);
    expect(Object.values(HTTP_ROUTES).filter((p) => p === HTTP_ROUTES.events)).toHaveLength(1);
  });

  it('registers a handler for every IPC channel, each reaching its operation with its argument checked', async () => {
    const ipc = new FakeIpc();
    const calls: [string, unknown][] = [];
    const sender = { webContentsId: 1, frameUrl: 'app://dashboard/index.html', isMainFrame: true };
    const unregister = registerBridgeHandlers(ipc, echoBackend(calls), { isTrusted: (s) => s.webContentsId === 1, log: () => {} });
    expect([...ipc.handlers.keys()].sort()).toEqual([...BRIDGE_CHANNELS].sort());
    for (const name of IPC_OPERATIONS) {
      const arg = name in SAMPLE_REQUESTS ? SAMPLE_REQUESTS[name as HttpOperation] : undefined;
      expect(await ipc.invoke(BRIDGE_OPERATIONS[name].channel, sender, arg)).toEqual({ ok: true, answeredBy: name });
    }
    expect(calls.map(([n]) => n)).toEqual([...IPC_OPERATIONS]);
    unregister();
    expect(ipc.handlers.size).toBe(0);
  });

  it('serves every HTTP route with its method, a POST only with the secret, and says which methods a path takes', async () => {
    const calls: [string, unknown][] = [];
    const secret = 'bridge-test-secret';
    let port = 0;
    const api = createDashboardApi(echoBackend(calls), { secret, staticRoot: '/nonexistent', origins: () => [`http://127.0.0.1:${port}`] });
    const server = await startDebugServer(0, {}, (req, res, pathname) => api.handle(req, res, pathname));
    port = server.port;
    closers.push(() => server.close(), () => api.close());

    for (const name of HTTP_OPERATIONS) {
      const { method, path } = BRIDGE_OPERATIONS[name].http;
      const body = method === 'POST' ? JSON.stringify(SAMPLE_REQUESTS[name]) : undefined;
      const headers = { 'content-type': 'application/json', ...(method === 'POST' ? { [SECRET_HEADER]: secret } : {}) };
      const res = await request(port, path, { method, headers, ...(body ? { body } : {}) });
      expect([name, res.status, res.json]).toEqual([name, 200, { ok: true, answeredBy: name }]);
      expect(calls.at(-1)).toEqual([name, SAMPLE_REQUESTS[name]]);
      if (method === 'POST') {
        const refused = await request(port, path, { method, headers: { 'content-type': 'application/json' }, body: body ?? '' });
        expect([name, refused.status]).toEqual([name, 403]);
      }
    }
    expect(calls).toHaveLength(HTTP_OPERATIONS.length);

    const wrong = await request(port, HTTP_ROUTES.cutover, { method: 'PUT' });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.allow).toBe('GET, POST');
    expect((wrong.json as { error: string }).error).toContain('expected GET or POST');
    const wrongState = await request(port, HTTP_ROUTES.getState, { method: 'POST', body: '{}' });
    expect([wrongState.status, wrongState.headers.allow]).toEqual([405, 'GET']);
  });

  it('the preload, bundled as the desktop build bundles it, exposes an invoker of every IPC operation and nothing of zod', async () => {
    const built = await esbuild.build({
      entryPoints: ['src-main/shell/preload.ts'],
      bundle: true,
      platform: 'browser',
      format: 'cjs',
      external: ['electron'],
      write: false,
      metafile: true,
    });
    expect(Object.keys(built.metafile.inputs).filter((f) => f.includes('node_modules'))).toEqual([]);
    const invoked: [string, unknown][] = [];
    const exposed: Record<string, unknown> = {};
    const electron = {
      contextBridge: { exposeInMainWorld: (key: string, value: unknown) => (exposed[key] = value) },
      ipcRenderer: {
        invoke: async (channel: string, arg: unknown) => {
          invoked.push([channel, arg]);
          return { channel };
        },
        on: () => {},
        removeListener: () => {},
      },
    };
    const module = { exports: {} };
    const require = (id: string) => {
      if (id === 'electron') return electron;
      throw new Error(`a sandboxed preload can require only electron, not ${id}`);
    };
    vm.runInNewContext(built.outputFiles[0]!.text, { module, exports: module.exports, require });
    const bridge = exposed.relayBridge as Record<string, (arg?: unknown) => Promise<unknown>>;
    expect(Object.keys(bridge).sort()).toEqual([...IPC_OPERATIONS, 'subscribe'].sort());
    for (const name of IPC_OPERATIONS) {
      const arg = name in SAMPLE_REQUESTS ? SAMPLE_REQUESTS[name as HttpOperation] : undefined;
      expect(await bridge[name]!(arg)).toEqual({ channel: BRIDGE_OPERATIONS[name].channel });
      expect(invoked.at(-1)).toEqual([BRIDGE_OPERATIONS[name].channel, arg]);
    }
  });
});
