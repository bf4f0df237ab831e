// A gateway frozen (SIGSTOP) in the middle of a session and near the end of a replay: the
// relay must neither count as delivered what the frozen process never confirmed, nor say a
// replay was delivered before the gateway confirmed its tail. Slow by nature (a 60 s pause),
// so it has a file of its own and runs beside the others.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Relay } from '../src-main/runtime/relay';
import { IbtReplaySource } from '../src-main/sources/ibt-replay';
import { killAllGatewayProcesses, spawnGateway, type GatewayProcess } from './helpers/gateway-process';
import { VALID_IBT } from './helpers/fixtures';
import { Harness, backends, expectAccounting, expectAgreement } from './helpers/relay-harness';
import { sleep, waitFor } from './helpers/wait';
import type { TargetView } from '../src-shared/debug-api';

const h = new Harness();
const relays: Relay[] = [];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-pause-'));
afterEach(async () => {
  for (const r of relays.splice(0)) await r.stop({ endTimeoutMs: 0 });
  await h.cleanup();
  await killAllGatewayProcesses();
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const PAUSE_MS = Number(process.env.RELAY_TEST_PAUSE_MS ?? 60_000);

describe('a gateway paused for a minute', () => {
  it(`keeps the frames it did not confirm in flight or queued, drops the overflow with a reason it is told, and agrees after it wakes (${PAUSE_MS / 1000} s pause)`, async () => {
    const gw = await spawnGateway({ name: 'P', capture: path.join(tmp, 'pause.jsonl') });
    // A queue that holds about 10 s (or half the pause, if shorter) at 60 Hz, so the pause overflows it.
    const relay = h.relay(backends(gw.url), { mode: 'single', queueMaxFrames: Math.min(600, Math.floor((PAUSE_MS * 60) / 2000)) });
    await waitFor('connected', () => relay.view().targets[0]!.state === 'connected', 10_000);
    await relay.stream(120, 60);
    gw.pause();
    const pausedAt = Date.now();
    // 60 Hz for the whole pause: more than the queue holds, so the oldest are dropped and counted.
    while (Date.now() - pausedAt < PAUSE_MS) await relay.stream(60, 60);
    const during = relay.view().targets[0]!;
    expectAccounting(relay);
    expect(during.counters.delivered).toBeLessThanOrEqual(120 + 64);
    expect(during.health.status).not.toBe('healthy');
    expect(relay.manager.parityView('sess_test').verdict.status).not.toBe('healthy');
    gw.resume();
    await relay.stream(120, 60);
    await waitFor('every frame confirmed', () => relay.view().targets[0]!.queueSize === 0 && relay.view().targets[0]!.state === 'connected', 30_000);
    const t = relay.view().targets[0] as TargetView;
    expectAccounting(relay);
    expect(t.droppedBy.queueFull).toBeGreaterThan(0);
    expectAgreement(t, (await gw.parity('sess_test')) ?? undefined);
    // The capture file holds exactly the seqs the relay counts delivered: no more, no fewer.
    const captured = new Set<number>();
    for (const line of fs.readFileSync(path.join(tmp, 'pause.jsonl'), 'utf8').split('\n')) {
      if (!line.trim()) continue;
      const { msg } = JSON.parse(line) as { msg: { type: string; stream?: string; seq?: number } };
      if (msg.type === 'frame' && msg.stream === 'controls') captured.add(msg.seq as number);
    }
    expect(captured.size).toBe(t.streams.controls!.delivered);
  }, PAUSE_MS + 90_000);
});

/** Replays the recording at 4x to the gateway and freezes the gateway once most of it was sent. */
async function replayPausingNearTheEnd(gw: GatewayProcess): Promise<Relay> {
  const dir = fs.mkdtempSync(path.join(tmp, 'cfg-'));
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ debugPort: 0, backends: [{ url: gw.url, enabled: true }] }));
  const relay = await Relay.start({
    configDir: dir,
    logFile: false,
    source: (s) => new IbtReplaySource({ path: VALID_IBT, speed: 4, loop: false, controlsVars: s.controlsVars, baselineVars: s.baselineVars, baselineHz: s.baselineHz, sharePersonalData: s.sharePersonalData, sourceStaleMs: s.sourceStaleMs }),
  });
  relays.push(relay);
  await waitFor('most of the recording sent', () => relay.source.framesProduced >= 350, 20_000);
  gw.pause();
  return relay;
}

describe('the end of a replay with a gateway paused near the end', () => {
  it('waits for the gateway to wake and confirm the tail before it says delivered', async () => {
    const gw = await spawnGateway({ name: 'E' });
    const relay = await replayPausingNearTheEnd(gw);
    await relay.source.finished;
    setTimeout(() => gw.resume(), 1500);
    const results = await relay.stop({ endTimeoutMs: 15_000 });
    expect(results.map((r) => r.complete)).toEqual([true]);
    const p = await gw.parity(relay.builder.sessionId);
    expect(p!.streams.controls).toMatchObject({ framesIn: 390, missing: 0, duplicates: 0, outOfOrder: 0, upTo: 390 });
    expect(p!.streams.controls!.endedAt).toBe(390);
  }, 60_000);

  it('says what was not confirmed when the gateway stays frozen past the end timeout', async () => {
    const gw = await spawnGateway({ name: 'F' });
    const relay = await replayPausingNearTheEnd(gw);
    await relay.source.finished;
    await sleep(50);
    const [result] = await relay.stop({ endTimeoutMs: 1000 });
    expect(result!.complete).toBe(false);
    const notConfirmed = Object.values(result!.unconfirmed).reduce((a, b) => a + b, 0) + Object.values(result!.queued).reduce((a, b) => a + b, 0);
    expect(notConfirmed).toBeGreaterThan(0);
    const t = relay.manager.targetsView().targets[0]!;
    expect(t.counters.delivered).toBeLessThan(t.counters.produced);
    expect(t.counters.lost).toBe(t.lostBy.unconfirmedAtStop);
  }, 60_000);
});
