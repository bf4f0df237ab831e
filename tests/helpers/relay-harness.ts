// Real pieces on 127.0.0.1 for relay tests: reference gateways, a BackendManager with
// short timings, and waits that poll real state instead of sleeping a guessed time.
import net from 'node:net';
import { expect } from 'vitest';
import { startStalledTcp, startStalledWs, type StalledPeer } from './stalled-peers';
import { sleep } from './wait';
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
  /** Frames of each stream this harness handed to the manager. */
  private readonly published = new Map<string, number>();
  /** Per current target URL, `published` when it was added: a target is given only what comes after. */
  private readonly addedAt = new Map<string, Map<string, number>>();
  /** What each removed target was given while it existed, in the manager's order of removal. */
  private readonly givenToRemoved: Map<string, number>[] = [];

  constructor(
    readonly manager: BackendManager,
    readonly builder: FrameBuilder,
  ) {
    for (const b of manager.settings.backends) this.addedAt.set(b.url, new Map());
  }

  publish(count: number, stream = 'controls'): void {
    for (let i = 0; i < count; i++) this.publishFrame(stream, { Throttle: (i % 100) / 100, Gear: 3, RPM: 7000 + i }, i + 1);
  }

  publishFrame(stream: string, data: Record<string, unknown>, tick?: number): void {
    this.manager.publish(this.builder.build(stream, data, tick));
    this.published.set(stream, (this.published.get(stream) ?? 0) + 1);
  }

  /** Publishes at a steady rate (frames per second) for a duration, checking the accounting identity as it goes. */
  async stream(count: number, perSecond = 600, stream = 'controls'): Promise<void> {
    const interval = 1000 / perSecond;
    const start = performance.now();
    for (let i = 0; i < count; i++) {
      this.publish(1, stream);
      if (i % 25 === 0) expectAccounting(this);
      const due = start + (i + 1) * interval - performance.now();
      if (due > 0) await sleep(due);
    }
  }

  /** Applies a change as the relay does (targets matched by URL), noting which targets it adds and removes. */
  apply(change: Partial<Settings>): void {
    const next = { ...this.manager.settings, ...change };
    const after = new Set(next.backends.map((b) => b.url));
    for (const b of this.manager.settings.backends) {
      if (after.has(b.url)) continue;
      this.givenToRemoved.push(this.givenSince(this.addedAt.get(b.url)));
      this.addedAt.delete(b.url);
    }
    for (const url of after) if (!this.addedAt.has(url)) this.addedAt.set(url, new Map(this.published));
    this.manager.apply(next);
  }

  view(): TargetsResponse {
    return this.manager.targetsView();
  }

  /** What every target was given, by stream, in targetsView order (current targets, then removed ones). */
  given(): Map<string, number>[] {
    return [...this.manager.settings.backends.map((b) => this.givenSince(this.addedAt.get(b.url))), ...this.givenToRemoved];
  }

  /** Per stream, the frames published since `from`: what a target added then was given. */
  private givenSince(from: Map<string, number> | undefined): Map<string, number> {
    return new Map([...this.published].map(([stream, n]) => [stream, n - (from?.get(stream) ?? 0)]));
  }
}

const sum = (values: Iterable<number>): number => [...values].reduce((a, b) => a + b, 0);

/**
 * The delivery identity, produced = delivered + inFlight + queued + dropped + lost, for every
 * target, with each term read on its own: produced from what the harness published, queued
 * and inFlight from the target's queue and unconfirmed frames (holdingsView), delivered,
 * dropped and lost from the account (the one record of confirmations, drops and losses).
 * The account's own produced, queued and inFlight must match those readings, per stream too
 * for produced, and its reasons and streams must add up. Everything is read in one
 * synchronous step, so all of it describes the same instant.
 */
export function expectAccounting(relay: TestRelay): void {
  const view = relay.view();
  const holdings = relay.manager.holdingsView();
  const given = relay.given();
  const all = [...view.targets, ...view.removed];
  expect(holdings.map((x) => x.url), 'holdings and targets in the same order').toEqual(all.map((t) => t.url));
  expect(given, 'one record of what was given per target').toHaveLength(all.length);
  all.forEach((t, i) => {
    const c = t.counters;
    const held = holdings[i]!;
    const gave = given[i]!;
    const where = `${t.url}: account ${JSON.stringify(c)}, holdings ${JSON.stringify(held)}, given ${JSON.stringify(Object.fromEntries(gave))}`;
    const produced = sum(gave.values());
    expect(c.delivered + held.inFlight + held.queued + c.dropped + c.lost, `delivered + inFlight + queued + dropped + lost = frames given, at ${where}`).toBe(produced);
    expect(c.produced, `produced = frames given, at ${where}`).toBe(produced);
    expect(c.queued, `queued = frames in the queue, at ${where}`).toBe(held.queued);
    expect(c.inFlight, `inFlight = frames written and unconfirmed, at ${where}`).toBe(held.inFlight);
    expect(c.sent, `sent = delivered + inFlight + lost, at ${where}`).toBe(c.delivered + c.inFlight + c.lost);
    expect(sum(Object.values(t.droppedBy)), `dropped by reason, at ${where}`).toBe(c.dropped);
    expect(sum(Object.values(t.lostBy)), `lost by reason, at ${where}`).toBe(c.lost);
    const streams = Object.values(t.streams);
    for (const key of ['produced', 'delivered', 'inFlight', 'queued', 'dropped', 'lost', 'sent'] as const) {
      expect(sum(streams.map((s) => s[key])), `${key} over the streams, at ${where}`).toBe(c[key]);
    }
    for (const name of new Set([...gave.keys(), ...Object.keys(t.streams)])) {
      const s = t.streams[name];
      expect(s?.produced ?? 0, `${name} frames given, at ${where}`).toBe(gave.get(name) ?? 0);
      if (!s) continue;
      expect(s.delivered + s.inFlight + s.queued + s.dropped + s.lost, `${name} identity, at ${where}`).toBe(s.produced);
      expect(s.inFlight, `${name} inFlight, at ${where}`).toBeGreaterThanOrEqual(0);
      expect(s.queued, `${name} queued, at ${where}`).toBeGreaterThanOrEqual(0);
    }
  });
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

export function framesIn(g: Gateway, stream = 'controls', session = 'sess_test'): number {
  return g.parity(session)?.streams[stream]?.framesIn ?? 0;
}

export function backends(...urls: string[]): Backend[] {
  return urls.map((url) => ({ url, enabled: true }));
}
