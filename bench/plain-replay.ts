// The baseline of the replay phase, run as its own process (`node plain-replay.mjs <json>`):
// a bare loop that sends a recording's frames to the gateways as fast as their sockets take
// them. It reads the samples with the decode floor (bench/ibt-floor.ts), makes the same
// frames as the relay (the same stream data through the same FrameMapper, the same fields in
// the same order, the same frames asking for an ack), and writes each with ws.send, waiting
// only while a socket holds more than 1 MiB unsent. No queue, no receipts, no accounting: the
// gateways' answers arrive and are dropped.
import type { WebSocket } from 'ws';
import { IbtFile } from '../src-main/ibt/ibt-file';
import { FrameMapper } from '../src-main/telemetry/frame-mapper';
import { PROTOCOL_VERSION, shouldAck } from '../src-shared/protocol';
import { floorPass, floorVariables } from './ibt-floor';
import { openClient } from './ws-client';

interface Args {
  urls: string[];
  file: string;
  sessionId: string;
  sampleRate: number;
  controlsVars: string[];
  baselineVars: string[];
  baselineHz: number;
}

const args = JSON.parse(process.argv[2] ?? '{}') as Args;
const HIGH_WATER_BYTES = 1024 * 1024;

async function main(): Promise<void> {
  // What the frames hold is decided before the loop: variable types and units, the stream layouts.
  const ibt = await IbtFile.open(args.file);
  const mapper = new FrameMapper(ibt.variables, [
    { name: 'controls', variables: args.controlsVars },
    { name: 'baseline', variables: args.baselineVars },
  ]);
  const controls = mapper.layout('controls');
  const baseline = mapper.layout('baseline');
  if (!controls || !baseline) throw new Error('no stream layouts');
  const wanted = [...new Set([...mapper.needed, 'SessionTime', 'SessionTick'])].filter((n) => ibt.variable(n));
  const isBool = wanted.map((n) => ibt.variable(n)?.type === 'bool');
  const controlsAt = mapper.positions(controls, wanted);
  const baselineAt = mapper.positions(baseline, wanted);
  const tickAt = wanted.indexOf('SessionTick');
  const stride = Math.max(1, Math.round(ibt.header.tickRate / args.baselineHz));
  const rec = { file: args.file, samples: ibt.sampleCount, bufOffset: ibt.header.bufOffset, bufLen: ibt.header.bufLen };
  await ibt.close();
  const vars = floorVariables(args.file, wanted);

  const clients = await Promise.all(args.urls.map(openClient));
  for (const c of clients) c.on('error', () => {});
  const sessionId = args.sessionId;
  const hello = JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, agent: 'plain-replay/1', sessionId, streams: ['controls', 'baseline'], meta: {} });
  for (const c of clients) c.send(hello);
  const seqs = { controls: 0, baseline: 0 };
  const row: Array<number | boolean> = new Array<number | boolean>(wanted.length);
  let lastBaselineTick: number | null = null;
  // Backpressure without a poll: a socket past the high-water mark is waited for, and the
  // write callbacks (one function per socket, made once) say when it is below half of it.
  const waiting: Array<(() => void) | null> = clients.map(() => null);
  const written = clients.map((c, i) => () => {
    const wake = waiting[i];
    if (wake && c.bufferedAmount <= HIGH_WATER_BYTES / 2) {
      waiting[i] = null;
      wake();
    }
  });
  const send = (stream: 'controls' | 'baseline', tick: number, data: Record<string, unknown>): void => {
    const seq = ++seqs[stream];
    const ts = Date.now();
    const payload = JSON.stringify(
      shouldAck(stream, seq, args.sampleRate) ? { type: 'frame', sessionId, stream, seq, ts, ack: true, tick, data } : { type: 'frame', sessionId, stream, seq, ts, tick, data },
    );
    for (let i = 0; i < clients.length; i++) (clients[i] as WebSocket).send(payload, written[i]);
  };
  await floorPass(
    rec,
    vars,
    (values) => {
      for (let i = 0; i < row.length; i++) row[i] = isBool[i] ? values[i] !== 0 : (values[i] as number);
      const tick = tickAt >= 0 ? (row[tickAt] as number) : 0;
      send('controls', tick, mapper.mapAt(controls, row, 0, controlsAt));
      if (lastBaselineTick === null || tick - lastBaselineTick >= stride || tick < lastBaselineTick) {
        lastBaselineTick = tick;
        send('baseline', tick, mapper.mapAt(baseline, row, 0, baselineAt));
      }
    },
    async () => {
      for (let i = 0; i < clients.length; i++) {
        if ((clients[i] as WebSocket).bufferedAmount > HIGH_WATER_BYTES) await new Promise<void>((resolve) => (waiting[i] = resolve));
      }
    },
  );
  process.send?.({ frames: seqs.controls + seqs.baseline });
  process.on('disconnect', () => {
    for (const c of clients) c.terminate();
    process.exit(0);
  });
}

main().catch((e: unknown) => {
  process.stderr.write(`plain replay: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
