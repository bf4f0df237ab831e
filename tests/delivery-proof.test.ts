// The proof of delivery under faults, against real gateways: the relay's account of every
// frame (delivered, in flight, queued, dropped and lost, with reasons) must agree exactly
// with the gateway's own count and, where the gateway runs as a process, its capture file.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import type { AddressInfo } from 'node:net';
import { Harness, backends, expectAccounting, expectAgreement, type TestRelay } from './helpers/relay-harness';
import { sleep, waitFor } from './helpers/wait';
import { killAllGatewayProcesses, spawnGateway } from './helpers/gateway-process';
import { startFaultProxy, type FaultProxy } from './helpers/fault-proxy';
import { createNetns, destroyAllNetns, netnsAvailable } from './helpers/netns';
import type { TargetView } from '../src-shared/debug-api';

const h = new Harness();
const proxies: FaultProxy[] = [];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-proof-'));
afterEach(async () => {
  await h.cleanup();
  for (const p of proxies.splice(0)) await p.close();
  await killAllGatewayProcesses();
});
afterAll(async () => {
  await destroyAllNetns();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const SESSION = 'sess_test';
const netns = await netnsAvailable();

/** Distinct seqs per stream in a gateway's capture file, and how many frame lines it has. */
function readCapture(file: string): { seqs: Map<string, Set<number>>; lines: number } {
  const seqs = new Map<string, Set<number>>();
  let lines = 0;
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const entry = JSON.parse(line) as { msg: { type: string; stream?: string; seq?: number; sessionId?: string } };
    if (entry.msg.type !== 'frame' || entry.msg.sessionId !== SESSION) continue;
    lines++;
    const set = seqs.get(entry.msg.stream as string) ?? new Set<number>();
    set.add(entry.msg.seq as number);
    seqs.set(entry.msg.stream as string, set);
  }
  return { seqs, lines };
}

function only(relay: TestRelay, index = 0): TargetView {
  return relay.view().targets[index] as TargetView;
}

/** Targets that send nothing: once their queue is empty they are settled. */
const IDLE_STATES = new Set(['standby', 'disabled', 'killed', 'removed']);

/** Every sending target connected again with nothing queued or in flight: all it was given is confirmed or accounted for. */
async function settled(relay: TestRelay, timeoutMs = 20_000): Promise<void> {
  await waitFor('every frame confirmed', () => relay.view().targets.every((t) => t.queueSize === 0 && (t.state === 'connected' || IDLE_STATES.has(t.state))), timeoutMs);
  expectAccounting(relay);
}

describe('a gateway killed with SIGKILL and started again', () => {
  it('gets again what it had not confirmed, and the relay, the gateway and its capture file agree on every frame', async () => {
    const capture = path.join(tmp, 'kill9.jsonl');
    let gw = await spawnGateway({ name: 'K', capture });
    const relay = h.relay(backends(gw.url), { mode: 'single' });
    await waitFor('connected', () => only(relay).state === 'connected', 10_000);
    await relay.stream(300, 600);
    await gw.kill9();
    relay.publish(100); // produced while the gateway is down: queued, delivered after the restart
    gw = await gw.restartOnSamePort();
    await relay.stream(300, 600);
    await settled(relay);

    const t = only(relay);
    const c = t.streams.controls!;
    expect(c.produced).toBe(700);
    expect(c.delivered).toBe(700);
    expect(c.lost + c.dropped + c.inFlight + c.queued).toBe(0);
    const { seqs } = readCapture(capture);
    // Every seq the relay counts as delivered reached a gateway process and is in the file.
    expect(seqs.get('controls')?.size).toBe(700);
    expect(Math.max(...(seqs.get('controls') ?? []))).toBe(700);
    // The restarted process holds a contiguous run ending at 700, with nothing repeated or out of order.
    const p = await gw.parity(SESSION);
    const s = p!.streams.controls!;
    expect(s).toMatchObject({ lastSeq: 700, upTo: 700, missing: 0, duplicates: 0, outOfOrder: 0 });
    expect(s.framesIn).toBe(700 - (s.firstSeq as number) + 1);
  }, 60_000);
});

describe('the kill switch, standby and back', () => {
  it('announces the frames produced while the kill switch was on as a gap with that reason: the gateway counts none missing', async () => {
    const a = await h.gateway({ name: 'A' });
    const b = await h.gateway({ name: 'B' });
    const relay = h.relay(backends(a.url, b.url), { mode: 'parallel' });
    await waitFor('both connected', () => a.connections() === 1 && b.connections() === 1);
    await relay.stream(200, 1000);
    relay.apply({ killSwitch: true });
    relay.publish(150);
    await sleep(100);
    relay.apply({ killSwitch: false });
    await relay.stream(200, 1000);
    await settled(relay);
    for (const [i, g] of [a, b].entries()) {
      const t = relay.view().targets[i]!;
      expect(t.droppedBy.killSwitch).toBeGreaterThanOrEqual(150);
      expect(t.counters.lost).toBe(0);
      expectAgreement(t, g.parity(SESSION));
      expect(g.parity(SESSION)!.missing).toBe(0);
      expect(t.counters.produced).toBe(550);
    }
  });

  it('a standby target learns of the frames it was not given when it becomes primary, and the old primary when it comes back', async () => {
    const a = await h.gateway({ name: 'A' });
    const b = await h.gateway({ name: 'B' });
    const relay = h.relay(backends(a.url, b.url), { mode: 'single', primaryIndex: 0 });
    await waitFor('A connected', () => a.connections() === 1);
    await relay.stream(100, 1000);
    relay.apply({ primaryIndex: 1 }); // cutover step 4
    await waitFor('B connected', () => b.connections() === 1);
    await relay.stream(100, 1000);
    relay.apply({ primaryIndex: 0 }); // quick rollback
    await waitFor('A connected again', () => a.connections() === 1);
    await relay.stream(100, 1000);
    await settled(relay);
    const [ta, tb] = relay.view().targets as [TargetView, TargetView];
    expect(tb.droppedBy.standby).toBeGreaterThanOrEqual(100);
    expect(ta.droppedBy.standby).toBeGreaterThanOrEqual(100);
    expectAgreement(ta, a.parity(SESSION));
    // B's standby after the rollback is not announced until B is active again: compare what it was told.
    const gb = b.parity(SESSION)!.streams.controls!;
    expect(gb.missing).toBe(0);
    expect(gb.framesIn).toBe(tb.streams.controls!.delivered);
    expect(gb.gapped.standby).toBeLessThanOrEqual(tb.droppedBy.standby);
    expect(gb.gapped.standby).toBeGreaterThanOrEqual(100);
  });
});

describe('a backend removed (cutover step 6)', () => {
  it('delivers what it was given, ends the session at its gateway, and keeps its account among the removed targets', async () => {
    const a = await h.gateway({ name: 'A' });
    const b = await h.gateway({ name: 'B' });
    const relay = h.relay(backends(a.url, b.url), { mode: 'parallel' });
    await waitFor('both connected', () => a.connections() === 1 && b.connections() === 1);
    relay.publish(300);
    relay.apply({ backends: backends(b.url), primaryIndex: 0 });
    await waitFor('A finished and closed', () => relay.view().removed[0]?.state === 'removed' && a.connections() === 0, 10_000);
    const removed = relay.view().removed[0]!;
    expect(removed.counters).toMatchObject({ produced: 300, delivered: 300, inFlight: 0, queued: 0, lost: 0, dropped: 0 });
    expect(a.parity(SESSION)!.streams.controls).toMatchObject({ framesIn: 300, upTo: 300, endedAt: 300, missing: 0 });
    expectAgreement(removed, a.parity(SESSION));
    relay.publish(10);
    await settled(relay);
    expect(relay.view().removed).toHaveLength(1);
    expect(relay.view().removed[0]!.counters.produced).toBe(300);
    expect(relay.manager.reportSources().map((r) => [r.url, r.removed])).toEqual([
      [b.url, false],
      [a.url, true],
    ]);
  });
});

describe('the end of a replay at full speed', () => {
  it('eight runs in a row: each says delivered only when both gateways hold every frame', async () => {
    const { Relay } = await import('../src-main/runtime/relay');
    const { IbtReplaySource } = await import('../src-main/sources/ibt-replay');
    const { VALID_IBT } = await import('./helpers/fixtures');
    for (let run = 0; run < 8; run++) {
      const a = await h.gateway({ name: `A${run}` });
      const b = await h.gateway({ name: `B${run}` });
      const dir = fs.mkdtempSync(path.join(tmp, 'replay-'));
      fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ debugPort: 0, mode: 'parallel', backends: [{ url: a.url, enabled: true }, { url: b.url, enabled: true }] }));
      const relay = await Relay.start({
        configDir: dir,
        logFile: false,
        source: (s) => new IbtReplaySource({ path: VALID_IBT, speed: 'max', loop: false, controlsVars: s.controlsVars, baselineVars: s.baselineVars, baselineHz: s.baselineHz, sharePersonalData: s.sharePersonalData, sourceStaleMs: s.sourceStaleMs }),
      });
      await relay.source.finished;
      const results = await relay.stop();
      expect(results.map((r) => r.complete), `run ${run}`).toEqual([true, true]);
      for (const g of [a, b]) {
        expect(g.parity(relay.builder.sessionId)!.streams.controls, `run ${run} at ${g.name}`).toMatchObject({ framesIn: 390, upTo: 390, endedAt: 390, missing: 0 });
      }
    }
  }, 60_000);
});

describe('a peer that never confirms', () => {
  it('upgraded but never reading: nothing counts as delivered, and neither health nor the parity verdict say healthy', async () => {
    const stalled = await h.stallAfterUpgrade();
    const good = await h.gateway({ name: 'good' });
    const relay = h.relay(backends(good.url, stalled.url), { mode: 'parallel', targetTimeoutMs: 300 });
    await waitFor('good connected', () => good.connections() === 1);
    await relay.stream(600, 600);
    await sleep(500);
    const view = relay.view();
    expectAccounting(relay);
    const bad = view.targets[1]!;
    expect(bad.counters.delivered).toBe(0);
    expect(bad.counters.produced).toBe(600);
    expect(bad.health.status).not.toBe('healthy');
    const parity = relay.manager.parityView(SESSION);
    expect(parity.verdict.status).toBe('critical');
    expect(parity.perTarget[1]!.confirming).toBe(false);
    expect(parity.perTarget[1]!.driftPct).toBeGreaterThan(5);
    expect(parity.healthySinceMs).toBeNull();
  });

  it('welcomes but never confirms: frames stay in flight, health says so, and at the end they are counted lost and named', async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    h.closers.push(() => new Promise<void>((r) => wss.close(() => r())));
    for (const c of [wss]) c.on('connection', (ws) => ws.on('message', (m) => {
      const msg = JSON.parse(m.toString()) as { type: string; sessionId: string };
      if (msg.type === 'hello') ws.send(JSON.stringify({ type: 'welcome', protocol: 2, gateway: 'mute', sessionId: msg.sessionId, holds: {} }));
    }));
    await new Promise<void>((r) => wss.on('listening', () => r()));
    const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/relay`;
    const relay = h.relay(backends(url), { mode: 'single' }, { tuning: { backoffBaseMs: 20, backoffCapMs: 200, stableAfterMs: 500, heartbeatIntervalMs: 300 } });
    await waitFor('connected', () => only(relay).state === 'connected');
    // Few enough that the queue-size rule stays quiet: only the missing confirmations can raise health.
    relay.publish(50);
    await waitFor('written', () => only(relay).counters.inFlight === 50);
    expect(only(relay).counters.delivered).toBe(0);
    expect(only(relay).counters.sent).toBe(50);
    expect(only(relay).health.status).toBe('healthy');
    await waitFor('warning after 2 s unconfirmed', () => only(relay).health.status === 'warning', 5_000);
    expect(only(relay).health.reasons.join()).toMatch(/50 frame\(s\) written but not confirmed by the gateway/);
    expect(relay.manager.parityView(SESSION).verdict.status).toBe('no-data');
    const [result] = await relay.manager.finishAll(300);
    expect(result!.complete).toBe(false);
    expect(result!.unconfirmed).toEqual({ controls: 50 });
    const t = only(relay);
    expect(t.counters).toMatchObject({ produced: 50, delivered: 0, inFlight: 0, lost: 50 });
    expect(t.lostBy.unconfirmedAtStop).toBe(50);
    expectAccounting(relay);
  }, 30_000);
});

describe('the kill switch during the end of a run', () => {
  it('still cuts every backend off while the relay waits for a gateway that does not confirm', async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    h.closers.push(() => new Promise<void>((r) => { for (const c of wss.clients) c.terminate(); wss.close(() => r()); }));
    wss.on('connection', (ws) => ws.on('message', (m) => {
      const msg = JSON.parse(m.toString()) as { type: string; sessionId: string };
      if (msg.type === 'hello') ws.send(JSON.stringify({ type: 'welcome', protocol: 2, gateway: 'mute', sessionId: msg.sessionId, holds: {} }));
    }));
    await new Promise<void>((r) => wss.on('listening', () => r()));
    const relay = h.relay(backends(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}/relay`), { mode: 'single' });
    await waitFor('connected', () => only(relay).state === 'connected');
    relay.publish(20);
    await waitFor('written', () => only(relay).counters.inFlight === 20);
    const t0 = performance.now();
    const finishing = relay.manager.finishAll(20_000);
    await sleep(50);
    relay.apply({ killSwitch: true });
    const [result] = await finishing;
    expect(performance.now() - t0).toBeLessThan(5_000);
    expect(relay.manager.liveSockets()).toBe(0);
    await waitFor('the gateway side to see the close', () => wss.clients.size === 0, 2000);
    // What was written and never confirmed is named and counted, not forgotten.
    expect(result!.complete).toBe(false);
    expect(result!.unconfirmed).toEqual({ controls: 20 });
    expect(only(relay).lostBy.unconfirmedAtStop).toBe(20);
  });
});

describe('a network squeeze and a partition (userspace proxy)', () => {
  it('after a bandwidth squeeze, a stall and a cut, every frame is delivered once, dropped with a reason the gateway shares, or nothing', async () => {
    const g = await h.gateway({ name: 'G' });
    const proxy = await startFaultProxy(g.port);
    proxies.push(proxy);
    const relay = h.relay(backends(proxy.url()), { mode: 'single', queueMaxFrames: 400 });
    await waitFor('connected', () => g.connections() === 1);
    proxy.throttle(16 * 1024);
    await relay.stream(600, 600);
    proxy.throttle(null);
    proxy.stall();
    await relay.stream(600, 600);
    proxy.cut();
    proxy.resume();
    await relay.stream(300, 600);
    await settled(relay, 30_000);
    const t = only(relay);
    expect(t.counters.produced).toBe(1500);
    expect(t.droppedBy.queueFull).toBeGreaterThan(0);
    expectAgreement(t, g.parity(SESSION));
  }, 60_000);
});

describe.skipIf(!netns.ok)(`a network squeeze and a partition (network namespace, tc tbf)${netns.ok ? '' : `: skipped, ${netns.why}`}`, () => {
  it('the relay and a gateway behind a real squeezed and partitioned link agree on every frame', async () => {
    const ns = await createNetns();
    try {
      const gw = await ns.spawnGateway({ name: 'NS', capture: path.join(tmp, 'netns.jsonl') });
      const relay = h.relay(backends(gw.url), { mode: 'single', queueMaxFrames: 400 });
      await waitFor('connected', () => only(relay).state === 'connected', 10_000);
      await ns.squeeze(64);
      await relay.stream(600, 600);
      await ns.unsqueeze();
      await ns.partition();
      await relay.stream(600, 600);
      await ns.heal();
      await relay.stream(300, 600);
      await settled(relay, 40_000);
      const t = only(relay);
      expect(t.counters.produced).toBe(1500);
      expectAgreement(t, (await gw.parity(SESSION)) ?? undefined);
      expect(readCapture(path.join(tmp, 'netns.jsonl')).seqs.get('controls')?.size).toBe(t.streams.controls!.delivered);
    } finally {
      await ns.destroy();
    }
  }, 90_000);
});
