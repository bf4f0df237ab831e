// Kill switch: from manager.apply({killSwitch: true}) to no backend socket open on either
// side, and no frame reaching a gateway afterwards while the source keeps producing.
import { startGateway } from '../src-gateway/gateway';
import { relayPipeline } from './pipeline';
import { round, sleep, until, waitConnected, yieldTurn } from './util';

export async function measureKillSwitch(opts: { rounds: number; afterMs: number }) {
  const gws = [await startGateway({ name: 'A' }), await startGateway({ name: 'B' })];
  const urls = gws.map((g) => g.url);
  const producedAt = new Map<string, bigint>();
  const p = relayPipeline(urls, (frame, ns) => {
    producedAt.set(`${frame.stream}:${frame.seq}`, ns);
  });
  const received = gws.map(() => 0);
  let killedAt: bigint | null = null;
  // Any frame a gateway takes in after the switch was thrown counts against "zero frames
  // after", even one the relay had written just before it. Each is kept with its timing so
  // a leak (built, or sent from a queue, after the switch) can be told from a frame already
  // in the gateway's socket buffer when the switch was thrown.
  const late: Array<{ builtBeforeMs: number; receivedAfterMs: number }> = [];
  gws.forEach((g, i) =>
    g.on('frame', (frame, receivedAtNs) => {
      received[i] = (received[i] as number) + 1;
      if (killedAt === null || receivedAtNs < killedAt) return;
      const built = producedAt.get(`${frame.stream}:${frame.seq}`) ?? receivedAtNs;
      late.push({ builtBeforeMs: round(Number(killedAt - built) / 1e6, 3), receivedAfterMs: round(Number(receivedAtNs - killedAt) / 1e6, 3) });
    }),
  );
  const timesMs: number[] = [];
  let publishedWhileKilled = 0;
  try {
    p.start();
    for (let r = 0; r < opts.rounds; r++) {
      await waitConnected(p.manager, urls);
      await until(() => gws.every((g) => g.connections() === 1), 2_000, 'both gateways to hold one connection');
      const base = [...received];
      await until(() => received.every((n, i) => n >= (base[i] as number) + 5), 2_000, 'frames to flow to both gateways');
      // Off the source's tick, so the switch does not always land at the same phase of a frame.
      await sleep(Math.random() * 16);
      const t0 = process.hrtime.bigint();
      killedAt = t0;
      p.manager.apply({ ...p.settings, killSwitch: true });
      // Polled every turn of the event loop: a timer would add its own millisecond.
      while (!(p.manager.liveSockets() === 0 && gws.every((g) => g.connections() === 0))) {
        if (process.hrtime.bigint() - t0 > 2_000_000_000n) throw new Error('kill switch: sockets still open after 2 s');
        await yieldTurn();
      }
      timesMs.push(Number(process.hrtime.bigint() - t0) / 1e6);
      const before = p.source.framesProduced;
      await sleep(opts.afterMs);
      publishedWhileKilled += p.source.framesProduced - before;
      killedAt = null;
      producedAt.clear();
      p.manager.apply({ ...p.settings, killSwitch: false });
    }
    return {
      worstMs: round(Math.max(...timesMs), 3),
      runsMs: timesMs.map((t) => round(t, 3)),
      framesAfterKill: late.length,
      builtAfterKill: late.filter((f) => f.builtBeforeMs < 0).length,
      late,
      publishedWhileKilled,
    };
  } finally {
    await p.stop();
    await Promise.all(gws.map((g) => g.close()));
  }
}
