// The guided cutover, run by a real relay against real reference gateways on 127.0.0.1:
// every step waits for its confirmed effect, rollback restores the settings before a step and
// refuses to send telemetry only to a gateway that is not confirming, a step whose effect never
// comes fails and stops the procedure, and the whole record lands in the parity report.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../src-gateway/gateway';
import type { CutoverView } from '../src-shared/cutover';
import type { ParityReport } from '../src-shared/report';
import { Relay } from '../src-main/runtime/relay';
import { FAST_TUNING } from './helpers/relay-harness';
import { waitFor } from './helpers/wait';

const gateways: Gateway[] = [];
const relays: Relay[] = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const r of relays.splice(0)) await r.stop({ endTimeoutMs: 1000 });
  await Promise.all(gateways.splice(0).map((g) => g.close()));
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

async function gateway(name: string, token?: string): Promise<Gateway> {
  const g = await startGateway({ name, ...(token ? { token } : {}) });
  gateways.push(g);
  return g;
}

async function relayWith(file: Record<string, unknown>, env: Record<string, string> = {}): Promise<Relay> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-cutover-'));
  dirs.push(dir);
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ debugPort: 0, paritySampleRate: 0.2, ...file }));
  const relay = await Relay.start({ configDir: dir, env, logFile: false, tuning: FAST_TUNING, cutover: { stepTimeoutMs: 4000, tickMs: 50 } });
  relays.push(relay);
  return relay;
}

const view = (relay: Relay): CutoverView => relay.cutover.view() as CutoverView;
const statuses = (relay: Relay) => Object.fromEntries(view(relay).steps.map((s) => [s.name, s.status]));
const fileOf = (relay: Relay) => JSON.parse(fs.readFileSync(relay.store.path, 'utf8')) as Record<string, unknown>;

async function phase(relay: Relay, wanted: CutoverView['phase'], timeoutMs = 15_000): Promise<void> {
  await waitFor(`the cutover to be ${wanted} (it is ${relay.cutover.view()?.phase}: ${relay.cutover.view()?.problem ?? ''})`, () => relay.cutover.view()?.phase === wanted, timeoutMs);
}

describe('the guided cutover', () => {
  it('runs the playbook from A to B: each step confirmed, parity held for the window on the relay\'s clock, A removed, nothing lost, all of it in the report', async () => {
    // B asks for a token: the cutover brings it, and it never shows in the record or the report.
    const [a, b] = [await gateway('A'), await gateway('B', 's3cret-b-token')];
    const relay = await relayWith({ backends: [{ url: a.url, enabled: true, name: 'Gateway A' }], mode: 'single' });
    await waitFor('A confirming', () => relay.manager.parityView(null).perTarget[0]?.confirming === true, 5000);

    const started = relay.actions.cutover({ action: 'start', to: b.url, name: 'Gateway B', token: 's3cret-b-token', windowMs: 1500, removeOld: true });
    expect(started.ok).toBe(true);
    await phase(relay, 'completed', 20_000);

    const v = view(relay);
    expect(v.steps.map((s) => [s.name, s.status])).toEqual([
      ['add', 'done'],
      ['parallel', 'done'],
      ['hold', 'done'],
      ['primary', 'done'],
      ['single', 'done'],
      ['disable', 'done'],
      ['remove', 'done'],
    ]);
    expect(v.steps.find((s) => s.name === 'hold')?.detail).toMatch(/^the relay's parity verdict has been healthy for [\d.]+ s \(window 1\.5 s\), drift [\d.]+%$/);
    // Each step is recorded with the relay's verdict at that moment; the hold ends on a healthy one.
    const confirmedHold = v.events.find((e) => e.step === 'hold' && e.kind === 'confirmed');
    expect(confirmedHold?.parity.verdict).toBe('healthy');
    expect(confirmedHold?.parity.healthyForMs).toBeGreaterThanOrEqual(1500);
    expect(confirmedHold?.parity.targets.map((t) => t.name)).toEqual(['Gateway A', 'Gateway B']);

    // Where it leaves the relay: B alone, the primary, in single mode; A removed with its account kept.
    expect(fileOf(relay)).toMatchObject({ mode: 'single', primaryIndex: 0, backends: [{ url: b.url, enabled: true, name: 'Gateway B', token: 's3cret-b-token' }] });
    expect(JSON.stringify(relay.actions.getState())).not.toContain('s3cret-b-token');
    const targets = relay.manager.targetsView();
    expect(targets.targets.map((t) => [t.url, t.state, t.primary])).toEqual([[b.url, 'connected', true]]);
    expect(targets.removed.map((t) => t.url)).toEqual([a.url]);
    await waitFor('A closed', () => a.connections() === 0, 5000);
    for (const g of [a, b]) expect(g.parity(relay.builder.sessionId)).toMatchObject({ missing: 0, duplicates: 0, outOfOrder: 0 });

    const exported = await relay.actions.exportReport();
    expect(exported.ok).toBe(true);
    if (!exported.ok) return;
    const report = JSON.parse(exported.json) as ParityReport;
    expect(report.cutovers).toHaveLength(1);
    expect(report.cutovers[0]).toMatchObject({ phase: 'completed', from: { url: a.url, name: 'Gateway A' }, to: { url: b.url, name: 'Gateway B' } });
    expect(report.cutovers[0]?.events.every((e) => typeof e.parity.verdict === 'string')).toBe(true);
    expect(exported.html).toContain('<h2>Cutovers</h2>');
    expect(exported.json + exported.html).not.toContain('s3cret-b-token');
    expect(exported.html).toContain('Hold until the parity verdict has been healthy for the whole window');
  });

  it('pauses, rolls back step by step to the settings before each, and refuses a rollback that would send only to a gateway not confirming', async () => {
    const [a, b] = [await gateway('A'), await gateway('B')];
    const relay = await relayWith({ backends: [{ url: a.url, enabled: true }], mode: 'single' });
    const before = fileOf(relay);
    await waitFor('A confirming', () => relay.manager.parityView(null).perTarget[0]?.confirming === true, 5000);
    relay.actions.cutover({ action: 'start', to: b.url, windowMs: 1000, removeOld: false });
    await phase(relay, 'completed', 20_000);
    expect(statuses(relay).remove).toBe('skipped');
    expect(fileOf(relay)).toMatchObject({ mode: 'single', primaryIndex: 1, backends: [{ url: a.url, enabled: false }, { url: b.url, enabled: true }] });

    // Undo "disable": A enabled again, B still the primary in single mode.
    expect(relay.actions.cutover({ action: 'rollback' }).ok).toBe(true);
    await phase(relay, 'paused');
    expect(statuses(relay).disable).toBe('undone');
    expect(fileOf(relay)).toMatchObject({ mode: 'single', primaryIndex: 1, backends: [{ url: a.url, enabled: true }, { url: b.url, enabled: true }] });
    // Undo "single": both again.
    expect(relay.actions.cutover({ action: 'rollback' }).ok).toBe(true);
    await phase(relay, 'paused');
    expect(fileOf(relay)).toMatchObject({ mode: 'parallel', primaryIndex: 1 });
    // Undo "primary": A the primary again (the file had no primary before: the default, #0), still parallel.
    expect(relay.actions.cutover({ action: 'rollback' }).ok).toBe(true);
    await phase(relay, 'paused');
    expect(fileOf(relay)).toMatchObject({ mode: 'parallel' });
    expect(fileOf(relay)).not.toHaveProperty('primaryIndex');
    expect(relay.settings).toMatchObject({ mode: 'parallel', primaryIndex: 0 });

    // Gateway A goes away: going back to single mode on A would send only to a dead gateway.
    await a.close();
    gateways.splice(gateways.indexOf(a), 1);
    await waitFor('A no longer confirming', () => relay.manager.parityView(null).perTarget[0]?.confirming === false, 10_000);
    const refused = relay.actions.cutover({ action: 'rollback' });
    expect(refused).toMatchObject({ ok: false, status: 409 });
    expect(!refused.ok && refused.error).toMatch(/would send telemetry only to ws:\/\/127\.0\.0\.1:\d+\/relay, whose gateway is not confirming deliveries now; nothing was changed/);
    expect(relay.settings).toMatchObject({ mode: 'parallel', primaryIndex: 0 });
    expect(view(relay).events.some((e) => e.kind === 'refused')).toBe(true);
    // Resume goes forward again from where it stands: primary B, single, disable A.
    expect(relay.actions.cutover({ action: 'resume' }).ok).toBe(true);
    await phase(relay, 'completed', 20_000);
    expect(fileOf(relay)).toMatchObject({ mode: 'single', primaryIndex: 1 });
    expect(before).toMatchObject({ mode: 'single', backends: [{ url: a.url, enabled: true }] });
  });

  it('fails a step whose effect never comes (a gateway nobody answers), stops there, and rolls it back to the settings before it', async () => {
    const a = await gateway('A');
    const relay = await relayWith({ backends: [{ url: a.url, enabled: true }], mode: 'single' });
    await waitFor('A confirming', () => relay.manager.parityView(null).perTarget[0]?.confirming === true, 5000);
    const nobody = 'ws://127.0.0.1:9/relay';
    relay.actions.cutover({ action: 'start', to: nobody, windowMs: 1000, removeOld: false });
    await phase(relay, 'failed', 15_000);
    const v = view(relay);
    expect(v.current).toBe('parallel');
    expect(statuses(relay)).toMatchObject({ add: 'done', parallel: 'failed', hold: 'pending' });
    expect(v.problem).toMatch(/^"Parallel mode: send to both" failed: not confirmed within 4 s: waiting for ws:\/\/127\.0\.0\.1:9\/relay to confirm a delivery/);
    // The procedure stopped there: A keeps receiving, nothing else was changed.
    expect(fileOf(relay)).toMatchObject({ mode: 'parallel' });
    expect(relay.actions.cutover({ action: 'rollback' }).ok).toBe(true);
    await phase(relay, 'paused');
    expect(fileOf(relay)).toMatchObject({ mode: 'single' });
    expect(relay.settings).toMatchObject({ mode: 'single', primaryIndex: 0 });
    expect(relay.actions.cutover({ action: 'rollback' }).ok).toBe(true);
    await phase(relay, 'paused');
    expect(fileOf(relay).backends).toEqual([{ url: a.url, enabled: true }]);
    const nothingLeft = relay.actions.cutover({ action: 'rollback' });
    expect(!nothingLeft.ok && nothingLeft.error).toMatch(/no step of this cutover is left to roll back/);
    expect(relay.actions.cutover({ action: 'abort' }).ok).toBe(true);
    expect(view(relay).phase).toBe('aborted');
  });

  it('refuses to start when the environment pins what it changes, when the kill switch is on, with a bad URL, or while one runs', async () => {
    const [a, b] = [await gateway('A'), await gateway('B')];
    const pinned = await relayWith({ backends: [{ url: a.url, enabled: true }] }, { RELAY_BACKEND_MODE: 'single' });
    const r1 = pinned.actions.cutover({ action: 'start', to: b.url, windowMs: 1000, removeOld: false });
    expect(r1).toMatchObject({ ok: false, status: 409 });
    expect(!r1.ok && r1.error).toMatch(/^RELAY_BACKEND_MODE is set in the environment of the running relay/);

    const relay = await relayWith({ backends: [{ url: a.url, enabled: true }], killSwitch: true });
    expect(relay.actions.cutover({ action: 'start', to: b.url, windowMs: 1000, removeOld: false })).toMatchObject({ ok: false, status: 409, error: expect.stringMatching(/^the kill switch is on/) });
    relay.actions.applyKillSwitch({ on: false });
    expect(relay.actions.cutover({ action: 'start', to: 'http://b.example/relay', windowMs: 1000, removeOld: false })).toMatchObject({ ok: false, status: 400 });
    expect(relay.actions.cutover({ action: 'start', to: a.url, windowMs: 1000, removeOld: false })).toMatchObject({ ok: false, status: 409 });
    expect(relay.actions.cutover({ action: 'start', to: b.url, windowMs: 60_000, removeOld: false }).ok).toBe(true);
    expect(relay.actions.cutover({ action: 'start', to: b.url, windowMs: 1000, removeOld: false })).toMatchObject({ ok: false, status: 409, error: expect.stringMatching(/is in progress/) });
    // Paused during the hold and aborted: the steps done stay, nothing is undone behind the operator's back.
    await waitFor('the hold', () => view(relay).current === 'hold', 10_000);
    expect(relay.actions.cutover({ action: 'pause' }).ok).toBe(true);
    expect(relay.actions.cutover({ action: 'abort' }).ok).toBe(true);
    expect(view(relay)).toMatchObject({ phase: 'aborted', current: null });
    expect(fileOf(relay)).toMatchObject({ mode: 'parallel', backends: [{ url: a.url }, { url: b.url }] });
  });
});
