// The dashboard store (src-renderer/store.ts) fed by a real relay: reference gateways and a
// refusing port on 127.0.0.1, the relay's snapshots and latency history through the browser's
// own bridge (src-renderer/bridge-http.ts) over the relay's HTTP routes and event stream. The
// store must show what the relay's views say. Every snapshot keeps the rules the relay's views
// keep (helpers/dashboard-state.ts): the relay's own, checked here as the store received them,
// and the made-up ones the store's unit tests feed it.
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../src-gateway/gateway';
import type { DashboardState } from '../src-shared/bridge';
import { Relay } from '../src-main/runtime/relay';
import { SyntheticSource } from '../src-main/sources/synthetic';
import { createHttpBridge, type EventSourceLike } from '../src-renderer/bridge-http';
import { createDashboardStore, selectKillSwitch, type DashboardStore } from '../src-renderer/store';
import { snapshot, snapshotProblems, target, T0, URL_A } from './helpers/dashboard-state';
import { FAST_TUNING } from './helpers/relay-harness';
import { waitFor } from './helpers/wait';

const EVENT_SOURCE_OPEN = 1;
const EVENT_SOURCE_CLOSED = 2;

/** The browser's EventSource over node:http, as much of it as the bridge uses: open, named events, closed on any error. */
class NodeEventSource implements EventSourceLike {
  readyState = 0;
  onopen: ((ev: never) => unknown) | null = null;
  onerror: ((ev: never) => unknown) | null = null;
  private readonly listeners = new Map<string, ((ev: { data: string }) => void)[]>();
  private readonly request: http.ClientRequest;

  constructor(url: string) {
    this.request = http.get(url, { headers: { accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200 || !String(res.headers['content-type']).startsWith('text/event-stream')) {
        res.resume();
        this.fail();
        return;
      }
      this.readyState = EVENT_SOURCE_OPEN;
      this.onopen?.(undefined as never);
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          this.dispatch(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
      });
      res.on('close', () => this.fail());
    });
    this.request.on('error', () => this.fail());
  }

  addEventListener(type: string, listener: (ev: { data: string }) => void): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }

  close(): void {
    this.readyState = EVENT_SOURCE_CLOSED;
    this.request.destroy();
  }

  private dispatch(message: string): void {
    let type = 'message';
    const data: string[] = [];
    for (const line of message.split('\n')) {
      if (line.startsWith('event:')) type = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
    }
    if (data.length === 0) return;
    for (const listener of this.listeners.get(type) ?? []) listener({ data: data.join('\n') });
  }

  private fail(): void {
    if (this.readyState === EVENT_SOURCE_CLOSED) return;
    this.readyState = EVENT_SOURCE_CLOSED;
    this.onerror?.(undefined as never);
  }
}

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function gateway(name: string): Promise<Gateway> {
  const g = await startGateway({ name, port: 0 });
  cleanups.push(() => g.close());
  return g;
}

/** A port with nothing listening on it. */
async function refusedUrl(): Promise<string> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return `ws://127.0.0.1:${port}/relay`;
}

async function startRelay(backends: string[]): Promise<Relay> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-store-contract-'));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ debugPort: 0, mode: 'parallel', endTimeoutMs: 1000, backends: backends.map((url) => ({ url, enabled: true })) }));
  const relay = await Relay.start({ configDir: dir, env: {}, source: new SyntheticSource({ sessionId: 'sess-contract' }), tuning: FAST_TUNING, logFile: false });
  cleanups.push(() => relay.stop());
  return relay;
}

/** The real dashboard store on the real HTTP bridge, as the page builds it, with the secret the relay printed. */
function storeFor(relay: Relay): DashboardStore {
  const bridge = createHttpBridge(
    {
      fetch: (url, init) => fetch(url, { method: init?.method, headers: init?.headers, body: init?.body }),
      EventSource: NodeEventSource,
      location: { hash: `#secret=${relay.dashboardSecret}`, pathname: '/', search: '' },
      history: { replaceState: () => undefined },
      sessionStorage: null,
      setTimeout: (fn, ms) => setTimeout(fn, ms),
      clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
    },
    { base: `http://127.0.0.1:${relay.debug.port}` },
  );
  // Every snapshot shown as it comes: the store's render throttling is its unit tests' business.
  const store = createDashboardStore(bridge, { minIngestIntervalMs: 0 });
  cleanups.push(store.getState().start());
  return store;
}

/** What the store shows now; fails if it shows nothing yet. */
function shown(store: DashboardStore): DashboardState {
  const state = store.getState().state;
  if (!state) throw new Error(`the store shows no state (status ${store.getState().status}, load error ${store.getState().loadError})`);
  return state;
}

describe('the dashboard store, fed by a real relay', () => {
  it('shows the targets, their accounts, the verdicts and the latency lines the relay has, through a removal and the kill switch', async () => {
    const a = await gateway('a');
    const b = await gateway('b');
    const down = await refusedUrl();
    const relay = await startRelay([a.url, b.url, down]);
    const store = storeFor(relay);

    // A and B confirm, the third refuses: the relay judges that critical, and the store shows it so.
    await waitFor(
      'the store to show A and B confirming and the refused backend backing off',
      () => {
        const s = store.getState().state;
        return s && s.parity.perTarget[0]?.confirming && s.parity.perTarget[1]?.confirming && s.targets.targets[2]?.state === 'backoff';
      },
      10_000,
    );
    let s = shown(store);
    expect(store.getState()).toMatchObject({ status: 'open', loadError: null, readOnly: null, lastError: null });
    expect(snapshotProblems(s)).toEqual([]);
    const direct = relay.actions.getState();
    expect(s.targets.targets.map((t) => t.url)).toEqual(direct.targets.targets.map((t) => t.url));
    expect(s.settings).toEqual(direct.settings);
    expect(s.health).toMatchObject({ pid: process.pid, configDir: relay.store.dir, sessionId: relay.builder.sessionId });
    expect(s.parity.verdict.status).toBe('critical');
    expect(s.targets.targets[2]?.health.status).not.toBe('healthy');
    expect(selectKillSwitch(store.getState())).toBe(false);
    // One latency line per target, keyed as the relay keys its own history: the seed and the live points join up.
    await waitFor('a latency point for every target in the store', () => Object.keys(store.getState().history).length === 3, 5000);
    expect(Object.keys(store.getState().history).sort()).toEqual(Object.keys(relay.manager.latencyHistory().targets).sort());
    expect(Object.keys(store.getState().history).sort()).toEqual(s.targets.targets.map((t) => t.url).sort());

    // Removed from the page: the relay keeps its account among the removed, and A and B alone are compared.
    const removal = await store.getState().updateSettings({ backends: [{ url: a.url, enabled: true }, { url: b.url, enabled: true }] });
    expect(removal).toMatchObject({ ok: true });
    // It tries to deliver what it was given until its end timeout (its connection's state shows meanwhile), then it is removed.
    await waitFor('the store to show the refused backend removed and parity healthy', () => {
      const x = store.getState().state;
      return x && x.targets.targets.length === 2 && x.targets.removed[0]?.state === 'removed' && x.parity.verdict.status === 'healthy';
    }, 10_000);
    s = shown(store);
    expect(snapshotProblems(s)).toEqual([]);
    expect(s.targets.removed.map((t) => t.url)).toEqual(relay.manager.targetsView().removed.map((t) => t.url));
    expect(s.targets.removed[0]).toMatchObject({ url: down, state: 'removed' });
    expect(s.parity.healthySinceMs).not.toBeNull();
    expect(store.getState()).toMatchObject({ pendingSettings: false, lastError: null });

    // The kill switch from the page: the relay confirms what it closed, and the store shows everything killed.
    const killed = await store.getState().setKillSwitch(true);
    expect(killed).toMatchObject({ ok: true, confirmation: { killSwitch: { on: true, stillOpen: 0 } } });
    expect(store.getState().killConfirmation).toMatchObject({ on: true, stillOpen: 0 });
    await waitFor('the store to show the kill switch confirmed', () => store.getState().state?.targets.killSwitch === true && store.getState().pendingKillSwitch === null, 5000);
    s = shown(store);
    expect(snapshotProblems(s)).toEqual([]);
    expect(s.targets.targets.map((t) => t.state)).toEqual(['killed', 'killed']);
    expect(s.health.status).toBe('killed');
    expect(s.parity.verdict.status).toBe('no-data');
    expect(selectKillSwitch(store.getState())).toBe(true);
    expect([a.connections(), b.connections()]).toEqual([0, 0]);

    // And off again: both confirm anew.
    expect(await store.getState().setKillSwitch(false)).toMatchObject({ ok: true });
    await waitFor('the store to show A and B confirming again', () => {
      const x = store.getState().state;
      return x && !x.targets.killSwitch && x.parity.perTarget.every((p) => p.confirming);
    }, 10_000);
    expect(snapshotProblems(shown(store))).toEqual([]);
  });
});

describe('the store tests\' snapshots (helpers/dashboard-state.ts)', () => {
  const gone = target('ws://127.0.0.1:9003/relay', {
    state: 'removed',
    counters: { produced: 50, delivered: 45, inFlight: 0, queued: 0, dropped: 3, lost: 2, sent: 47, failed: 2, acked: 1, resent: 0 },
    droppedBy: { queueFull: 0, killSwitch: 0, standby: 0, disabled: 0, deactivated: 0, removed: 3 },
    lostBy: { connectionLost: 0, unconfirmedAtStop: 2 },
  });
  it.each([
    ['two connected targets', {}],
    ['the kill switch on', { killSwitch: true }],
    ['a target backing off', { states: ['connected', 'backoff'] as const }],
    ['drift past the critical bound', { drift: 6 }],
    ['nothing confirmed', { confirming: false }],
    ['parity healthy since T0', { healthySinceMs: T0 }],
    ['one target', { urls: [URL_A] }],
    ['a slow p95', { p95: 600 }],
    ['a removed target', { removed: [gone] }],
  ])('%s is a state the relay can send', (_, opts) => {
    expect(snapshotProblems(snapshot(T0, { ...opts, states: 'states' in opts ? [...opts.states] : undefined }))).toEqual([]);
  });

  it('the rules refuse what the relay never sends', () => {
    const good = snapshot(T0);
    const first = good.targets.targets[0]!;
    const variants: [string, DashboardState, RegExp][] = [
      ['a queue size beside the counters', { ...good, targets: { ...good.targets, targets: [{ ...first, queueSize: 0 }, ...good.targets.targets.slice(1)] } }, /queueSize 0 is not queued \+ inFlight/],
      ['counters without streams', { ...good, targets: { ...good.targets, targets: [{ ...first, streams: {} }, ...good.targets.targets.slice(1)] } }, /produced is not the sum over its streams/],
      ['no primary', { ...good, targets: { ...good.targets, targets: good.targets.targets.map((t) => ({ ...t, primary: false })) } }, /primary is not index 0/],
      ['health without its targets', { ...good, health: { ...good.health, targets: [] } }, /health\.targets is not the targets/],
      ['a healthy verdict under the kill switch', { ...snapshot(T0, { killSwitch: true }), parity: good.parity }, /verdict healthy while nothing is confirmed/],
    ];
    for (const [what, state, expected] of variants) expect(snapshotProblems(state).join('\n'), what).toMatch(expected);
  });
});
