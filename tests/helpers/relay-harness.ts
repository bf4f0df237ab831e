// Real pieces on 127.0.0.1 for relay tests: reference gateways, a BackendManager with
// short timings, and waits that poll real state instead of sleeping a guessed time.
import net from 'node:net';
import { expect } from 'vitest';
import { startStalledTcp, startStalledWs, type StalledPeer } from './stalled-peers';
import { startGateway, type Gateway, type GatewayOptions } from '../../src-gateway/gateway';
import { BackendManager, type ManagerOptions } from '../../src-main/relay/backend-manager';
import { FrameBuilder } from '../../src-main/relay/frame-builder';
import { DEFAULT_SETTINGS, type Backend, type Settings } from '../../src-shared/settings';
import type { TargetsResponse } from '../../src-shared/debug-api';

export const FAST_TUNING: ManagerOptions['tuning'] = {
  backoffBaseMs: 20,
  backoffCapMs: 200,
  stableAfterMs: 500,
  heartbeatIntervalMs: 300,
};

export class Harness {
  readonly gateways: Gateway[] = [];
  readonly managers: BackendManager[] = [];
  readonly closers: (() => Promise<void> | void)[] = [];

  async gateway(options: GatewayOptions = {}): Promise<Gateway> {
    const g = await startGateway({ name: `gw${this.gateways.length}`, ...options });
    this.gateways.push(g);
    return g;
  }

  relay(backends: Backend[], overrides: Partial<Settings> = {}, options: ManagerOptions = {}): TestRelay {
    const settings: Settings = { ...DEFAULT_SETTINGS, debugPort: 0, paritySampleRate: 0.1, ...overrides, backends };
    const builder = new FrameBuilder('sess_test', { track: 'test' }, ['controls', 'baseline'], settings.paritySampleRate, '0.0.0-test');
    const manager = new BackendManager(settings, () => builder.hello(), { tuning: FAST_TUNING, ...options });
    this.managers.push(manager);
    return new TestRelay(manager, builder);
  }

  /** A TCP server that accepts connections and never reads a byte: the stalled gateway. */
  async stalledServer(): Promise<StalledPeer> {
    const peer = await startStalledTcp();
    this.closers.push(() => peer.close());
    return peer;
  }

  /** A WebSocket server that completes the upgrade, then stops reading: stalled after the handshake. */
  async stallAfterUpgrade(): Promise<StalledPeer> {
    const peer = await startStalledWs();
    this.closers.push(() => peer.close());
    return peer;
  }

  /** A port with nothing listening on it. */
  async refusedUrl(): Promise<string> {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise<void>((r) => server.close(() => r()));
    return `ws://127.0.0.1:${port}/relay`;
  }

  async cleanup(): Promise<void> {
    for (const m of this.managers.splice(0)) await m.close();
    for (const c of this.closers.splice(0).reverse()) await c();
    for (const g of this.gateways.splice(0)) await g.close();
  }
}

export class TestRelay {
  constructor(
    readonly manager: BackendManager,
    readonly builder: FrameBuilder,
  ) {}

  publish(count: number, stream = 'controls'): void {
    for (let i = 0; i < count; i++) {
      this.manager.publish(this.builder.build(stream, { Throttle: (i % 100) / 100, Gear: 3, RPM: 7000 + i }, i + 1));
    }
  }

  /** Publishes at a steady rate (frames per second) for a duration, checking the accounting identity as it goes. */
  async stream(count: number, perSecond = 600, stream = 'controls'): Promise<void> {
    const interval = 1000 / perSecond;
    const start = performance.now();
    for (let i = 0; i < count; i++) {
      this.publish(1, stream);
      if (i % 25 === 0) expectAccounting(this.manager.targetsView());
      const due = start + (i + 1) * interval - performance.now();
      if (due > 0) await sleep(due);
    }
  }

  apply(change: Partial<Settings>): void {
    this.manager.apply({ ...this.manager.settings, ...change });
  }

  view(): TargetsResponse {
    return this.manager.targetsView();
  }
}

/** The accounting identity: produced = sent + failed + dropped + queued, for every target. */
export function expectAccounting(view: TargetsResponse): void {
  for (const t of view.targets) {
    const c = t.counters;
    expect(c.sent + c.failed + c.dropped + c.queued, `accounting of ${t.url}: ${JSON.stringify(c)}`).toBe(c.produced);
    expect(Object.values(t.droppedBy).reduce((a, b) => a + b, 0)).toBe(c.dropped);
    expect(Object.values(t.failedBy).reduce((a, b) => a + b, 0)).toBe(c.failed);
    const streams = Object.values(t.streams);
    for (const key of ['produced', 'sent', 'failed', 'dropped', 'queued'] as const) {
      expect(streams.reduce((a, s) => a + s[key], 0), `${key} over the streams of ${t.url}`).toBe(c[key]);
    }
    for (const s of streams) expect(s.sent + s.failed + s.dropped + s.queued).toBe(s.produced);
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function waitFor<T>(what: string, probe: () => T | undefined | false | null, timeoutMs = 5000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

export function framesIn(g: Gateway, stream = 'controls', session = 'sess_test'): number {
  return g.parity(session)?.streams[stream]?.framesIn ?? 0;
}

export function backends(...urls: string[]): Backend[] {
  return urls.map((url) => ({ url, enabled: true }));
}
