// Real pieces on 127.0.0.1 for relay tests: reference gateways, a BackendManager with
// short timings, and waits that poll real state instead of sleeping a guessed time.
import net from 'node:net';
import { expect } from 'vitest';
import { startStalledTcp, startStalledWs, type StalledPeer } from './stalled-peers';
import { startGateway, type Gateway, type GatewayOptions } from '../../src-gateway/gateway';
import { BackendManager, type ManagerOptions } from '../../src-main/relay/backend-manager';
import { FrameBuilder } from '../../src-main/relay/frame-builder';
import { DEFAULT_SETTINGS, type Backend, type Settings } from '../../src-shared/settings';
import type { TargetView, TargetsResponse } from '../../src-shared/debug-api';
import type { GatewayParity } from '../../src-shared/gateway-api';

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
    const manager = new BackendManager(settings, () => builder.current(), { tuning: FAST_TUNING, ...options });
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

/** The delivery identity: produced = delivered + inFlight + queued + dropped + lost, for every target and stream, with the reasons adding up. */
export function expectAccounting(view: TargetsResponse): void {
  for (const t of [...view.targets, ...view.removed]) {
    const c = t.counters;
    expect(c.delivered + c.inFlight + c.queued + c.dropped + c.lost, `accounting of ${t.url}: ${JSON.stringify(c)}`).toBe(c.produced);
    expect(c.sent, `sent = delivered + inFlight + lost at ${t.url}`).toBe(c.delivered + c.inFlight + c.lost);
    expect(Object.values(t.droppedBy).reduce((a, b) => a + b, 0)).toBe(c.dropped);
    expect(Object.values(t.lostBy).reduce((a, b) => a + b, 0)).toBe(c.lost);
    const streams = Object.values(t.streams);
    for (const key of ['produced', 'delivered', 'inFlight', 'queued', 'dropped', 'lost', 'sent'] as const) {
      expect(streams.reduce((a, s) => a + s[key], 0), `${key} over the streams of ${t.url}`).toBe(c[key]);
    }
    for (const s of streams) {
      expect(s.delivered + s.inFlight + s.queued + s.dropped + s.lost).toBe(s.produced);
      expect(s.inFlight).toBeGreaterThanOrEqual(0);
      expect(s.queued).toBeGreaterThanOrEqual(0);
    }
  }
}

/**
 * The relay's account of one target against its gateway's own count, once nothing is queued
 * or in flight and the gaps were announced: every figure must agree exactly.
 */
export function expectAgreement(target: TargetView, parity: GatewayParity | undefined, options: { streams?: string[] } = {}): void {
  expect(parity, `the gateway has a record of the session for ${target.url}`).toBeDefined();
  for (const [name, s] of Object.entries(target.streams)) {
    if (options.streams && !options.streams.includes(name)) continue;
    const g = parity?.streams[name];
    const where = `${target.url} ${name}: relay ${JSON.stringify({ delivered: s.delivered, lost: s.lost, droppedBy: s.droppedBy })}, gateway ${JSON.stringify(g)}`;
    expect(s.inFlight, `nothing in flight: ${where}`).toBe(0);
    expect(s.queued, `nothing queued: ${where}`).toBe(0);
    expect(g?.framesIn ?? 0, `delivered = framesIn: ${where}`).toBe(s.delivered);
    expect(g?.missing ?? 0, `lost = missing: ${where}`).toBe(s.lost);
    for (const reason of Object.keys(s.droppedBy) as (keyof typeof s.droppedBy)[]) {
      expect(g?.gapped[reason] ?? 0, `dropped ${reason} = gapped ${reason}: ${where}`).toBe(s.droppedBy[reason]);
    }
    expect(g?.duplicates ?? 0, `no duplicates: ${where}`).toBe(0);
    expect(g?.outOfOrder ?? 0, `nothing out of order: ${where}`).toBe(0);
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
