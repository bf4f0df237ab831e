// Fan-out over real sockets on 127.0.0.1: parity, modes, enabled flags, live changes.
import { afterEach, describe, expect, it } from 'vitest';
import { Harness, backends, expectAccounting, expectAgreement, framesIn } from './helpers/relay-harness';
import { waitFor } from './helpers/wait';

const h = new Harness();
afterEach(() => h.cleanup());

const connected = (relay: { view(): { targets: { state: string }[] } }, n: number) =>
  waitFor(`${n} connected targets`, () => relay.view().targets.filter((t) => t.state === 'connected').length === n);

describe('parallel mode', () => {
  it('delivers every frame to both gateways: equal counts, zero drift, equal acks', async () => {
    const a = await h.gateway({ name: 'A' });
    const b = await h.gateway({ name: 'B' });
    const relay = h.relay(backends(a.url, b.url), { mode: 'parallel' });
    await connected(relay, 2);
    await relay.stream(600, 2000);
    relay.publish(40, 'baseline');
    await waitFor('both gateways to count 600 controls + 40 baseline', () =>
      [a, b].every((g) => framesIn(g) === 600 && framesIn(g, 'baseline') === 40),
    );
    await waitFor('every frame confirmed', () => relay.view().targets.every((t) => t.counters.delivered === 640));
    const view = relay.view();
    expectAccounting(relay);
    for (const [i, t] of view.targets.entries()) {
      expect(t.counters).toMatchObject({ produced: 640, delivered: 640, inFlight: 0, sent: 640, failed: 0, lost: 0, dropped: 0, queued: 0 });
      expect(t.state).toBe('connected');
      expectAgreement(t, [a, b][i]!.parity('sess_test'));
    }
    for (const g of [a, b]) {
      const p = g.parity('sess_test');
      expect(p).toMatchObject({ duplicates: 0, outOfOrder: 0, missing: 0 });
    }
    // Every target was asked to ack the same frames, so the ack counts agree exactly.
    const gatewayAcks = (g: typeof a) => Object.values(g.parity('sess_test')?.streams ?? {}).reduce((n, st) => n + st.acked, 0);
    await waitFor('acks to arrive', () => relay.view().targets.every((t) => t.counters.acked > 0 && t.counters.acked === gatewayAcks(a)));
    const [ta, tb] = relay.view().targets;
    expect(ta!.counters.acked).toBe(tb!.counters.acked);
    expect(b.parity('sess_test')!.streams.controls!.acked).toBe(a.parity('sess_test')!.streams.controls!.acked);
    const parity = relay.manager.parityView('sess_test');
    expect(parity.driftPct).toBe(0);
    expect(parity.totalSent).toBe(1280);
    expect(parity.perTarget.map((p) => p.sent)).toEqual([640, 640]);
    expect(parity.ackLatency.samples).toBeGreaterThan(0);
    expect(parity.ackLatency.p50).not.toBeNull();
    expect(parity.verdict.status).toBe('healthy');
    // The 2-minute parity clock runs in the relay, so a dashboard reload does not restart it.
    const since = parity.healthySinceMs!;
    expect(since).toBeLessThanOrEqual(Date.now());
    expect(relay.manager.parityView('sess_test').healthySinceMs).toBe(since);
    relay.apply({ backends: [{ url: a.url, enabled: true }, { url: b.url, enabled: false }] });
    expect(relay.manager.parityView('sess_test').healthySinceMs).toBeNull();
  });

  it('starts the parity clock on its own once a second: no page needs to ask for parity first', async () => {
    const a = await h.gateway({ name: 'A' });
    const b = await h.gateway({ name: 'B' });
    const relay = h.relay(backends(a.url, b.url), { mode: 'parallel' });
    await connected(relay, 2);
    await relay.stream(120, 2000);
    await waitFor('every frame confirmed', () => relay.view().targets.every((t) => t.counters.delivered === 120));
    const confirmedAt = Date.now();
    // Past the sampler's next tick, and nothing asks for the parity view meanwhile.
    await new Promise((r) => setTimeout(r, 1_500));
    const askedAt = Date.now();
    const since = relay.manager.parityView('sess_test').healthySinceMs;
    expect(since).not.toBeNull();
    expect(since!).toBeGreaterThanOrEqual(confirmedAt - 1_100);
    expect(since!).toBeLessThan(askedAt - 300);
  });

  it('honours per-target enabled flags, live', async () => {
    const a = await h.gateway();
    const b = await h.gateway();
    const relay = h.relay([{ url: a.url, enabled: true }, { url: b.url, enabled: false }], { mode: 'parallel' });
    await connected(relay, 1);
    expect(relay.view().targets.map((t) => t.state)).toEqual(['connected', 'disabled']);
    relay.publish(50);
    await waitFor('A to receive 50', () => framesIn(a) === 50);
    expect(b.connections()).toBe(0);
    expect(framesIn(b)).toBe(0);

    relay.apply({ backends: [{ url: a.url, enabled: true }, { url: b.url, enabled: true }] });
    await connected(relay, 2);
    relay.publish(30);
    await waitFor('B to receive the 30 sent after enabling', () => framesIn(a) === 80 && framesIn(b) === 30);
    // B was given the first 50 too, and told they were withheld (disabled): a gap, not missing frames.
    expect(b.parity('sess_test')!.streams.controls).toMatchObject({ firstSeq: 1, framesIn: 30, missing: 0, gapped: expect.objectContaining({ disabled: 50 }) });
    expect(relay.view().targets[1]!.droppedBy.disabled).toBe(50);

    relay.apply({ backends: [{ url: a.url, enabled: false }, { url: b.url, enabled: true }] });
    await waitFor('A to close', () => a.connections() === 0);
    expect(relay.view().targets[0]!.state).toBe('disabled');
    relay.publish(10);
    await waitFor('B to receive 10 more', () => framesIn(b) === 40);
    expect(framesIn(a)).toBe(80);
    expectAccounting(relay);
  });
});

describe('single mode', () => {
  it('sends to the primary only, and a live primary switch moves the stream without losing queued frames', async () => {
    const a = await h.gateway({ name: 'A' });
    const b = await h.gateway({ name: 'B' });
    const relay = h.relay(backends(a.url, b.url), { mode: 'single', primaryIndex: 0 });
    await connected(relay, 1);
    expect(relay.view().targets.map((t) => t.state)).toEqual(['connected', 'standby']);
    expect(b.connections()).toBe(0);
    relay.publish(100);
    relay.apply({ primaryIndex: 1 });
    relay.publish(100);
    await waitFor('A to get the first 100 and B the next 100', () => framesIn(a) === 100 && framesIn(b) === 100);
    await waitFor('A to go to standby', () => relay.view().targets[0]!.state === 'standby' && a.connections() === 0);
    await waitFor('every frame confirmed', () => relay.view().targets.every((t) => t.queueSize === 0));
    const [ta, tb] = relay.view().targets;
    // Each target is given all 200; each delivered its 100 and was deliberately not given the others.
    expect(ta!.counters).toMatchObject({ produced: 200, delivered: 100, sent: 100, dropped: 100, failed: 0, lost: 0 });
    expect(ta!.droppedBy.standby).toBe(100);
    expect(tb!.counters).toMatchObject({ produced: 200, delivered: 100, sent: 100, dropped: 100, failed: 0, lost: 0 });
    expect(tb!.droppedBy.standby).toBe(100);
    // B learns that seqs 1..100 were withheld while it stood by: nothing missing.
    expect(b.parity('sess_test')!.streams.controls).toMatchObject({ firstSeq: 1, framesIn: 100, missing: 0, gapped: expect.objectContaining({ standby: 100 }) });
    expect(relay.view().primaryIndex).toBe(1);

    // Rollback: the quick switch back to the original primary.
    relay.apply({ primaryIndex: 0 });
    relay.publish(5);
    await waitFor('A to receive again', () => framesIn(a) === 105);
    expect(framesIn(b)).toBe(100);
    expectAccounting(relay);
  });

  it('runs the whole blue/green playbook live: parallel, switch primary, disable A, remove A', async () => {
    const a = await h.gateway({ name: 'A' });
    const b = await h.gateway({ name: 'B' });
    const relay = h.relay(backends(a.url), { mode: 'single' });
    await connected(relay, 1);
    relay.publish(20);
    relay.apply({ backends: backends(a.url, b.url), mode: 'parallel' });
    await connected(relay, 2);
    relay.publish(20);
    await waitFor('parity', () => framesIn(a) === 40 && framesIn(b) === 20);
    expect(relay.manager.parityView('sess_test').driftPct).toBe(0);
    relay.apply({ primaryIndex: 1, mode: 'single' });
    relay.apply({ backends: [{ url: a.url, enabled: false }, { url: b.url, enabled: true }] });
    relay.publish(20);
    await waitFor('B alone', () => framesIn(b) === 40 && a.connections() === 0);
    relay.apply({ backends: backends(b.url), primaryIndex: 0 });
    relay.publish(20);
    await waitFor('B after A removed', () => framesIn(b) === 60);
    expect(framesIn(a)).toBe(40);
    expect(relay.view().targets).toHaveLength(1);
    expect(b.parity('sess_test')).toMatchObject({ duplicates: 0, outOfOrder: 0, missing: 0 });
  });
});

describe('live settings', () => {
  it('keeps the queue of a target that stays when backends are added, removed and reordered', async () => {
    const a = await h.gateway();
    const refused = await h.refusedUrl();
    const relay = h.relay(backends(refused, a.url), { mode: 'parallel' });
    relay.publish(30);
    await waitFor('A to get 30', () => framesIn(a) === 30);
    const queuedBefore = relay.view().targets[0]!.counters.queued;
    expect(queuedBefore).toBe(30);
    const c = await h.gateway();
    relay.apply({ backends: backends(c.url, refused) });
    const view = relay.view();
    expect(view.targets.map((t) => t.url)).toEqual([c.url, refused]);
    // The refused target kept its 30 frames through the reorder; A's removal is counted.
    expect(view.targets[1]!.counters.queued).toBe(30);
    expectAccounting(relay);
    await waitFor('A to be disconnected', () => a.connections() === 0);
  });

  it('applies a new sample rate and a new session live', async () => {
    const a = await h.gateway();
    const relay = h.relay(backends(a.url), { paritySampleRate: 0 });
    await connected(relay, 1);
    relay.publish(100);
    await waitFor('100 frames', () => framesIn(a) === 100);
    expect(a.parity('sess_test')!.streams.controls!.acked).toBe(0);
    relay.apply({ paritySampleRate: 1 });
    relay.builder.setSampleRate(1);
    relay.publish(10);
    await waitFor('acks for all 10', () => relay.view().targets[0]!.counters.acked === 10);
    relay.builder.setSession('sess_next', { track: 'other' });
    relay.publish(5);
    await waitFor('the new session at the gateway', () => a.parity('sess_next')?.streams.controls?.framesIn === 5);
    expect(a.parity('sess_next')!.streams.controls!.firstSeq).toBe(1);
    expect(a.parity('sess_test')!.lastError).toBeNull();
  });

  it('keeps frames of the old session queued across a session change valid at the gateway', async () => {
    const probe = await h.gateway();
    const port = probe.port;
    await probe.close();
    h.gateways.length = 0;
    const relay = h.relay(backends(`ws://127.0.0.1:${port}/relay`));
    relay.publish(10);
    relay.builder.setSession('sess_next', {});
    relay.publish(7);
    const g = await h.gateway({ port });
    await waitFor('both sessions delivered', () => framesIn(g) === 10 && framesIn(g, 'controls', 'sess_next') === 7, 10_000);
    expect(g.parity('sess_test')).toMatchObject({ duplicates: 0, outOfOrder: 0, missing: 0, lastError: null });
    expect(g.parity('sess_next')).toMatchObject({ duplicates: 0, outOfOrder: 0, missing: 0, lastError: null });
  });
});
