// The baseline of the CPU and latency phases, run as its own process (`node plain-sender.mjs
// <json>`): the least a program must do to send the relay's frames. The same synthetic
// source on the same clock, the same frames byte for byte but the session id (same fields in
// the same order, the same frames asking for an ack), a hello, then JSON.stringify and
// ws.send to each gateway. It keeps no queue, waits for no welcome and reads no receipt: the
// gateways' answers arrive and are dropped. What the relay costs beyond this is the cost of
// its promise (queues, proof of delivery, resends, the debug server and the settings watcher).
import { SyntheticSource } from '../src-main/sources/synthetic';
import { PROTOCOL_VERSION, shouldAck } from '../src-shared/protocol';
import { openClient } from './ws-client';

interface Args {
  urls: string[];
  sessionId: string;
  sampleRate: number;
  phaseMs?: number;
}

const args = JSON.parse(process.argv[2] ?? '{}') as Args;

async function main(): Promise<void> {
  const clients = await Promise.all(args.urls.map(openClient));
  for (const c of clients) c.on('error', () => {});
  const source = new SyntheticSource({ sessionId: args.sessionId, phaseMs: args.phaseMs });
  const { sessionId, meta, tickStrides } = source.session;
  const hello = JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, agent: 'plain-sender/1', sessionId, streams: source.streams, meta, tickStrides });
  for (const c of clients) c.send(hello);
  const seqs = new Map<string, number>();
  source.start({
    session: () => {},
    state: () => {},
    sample: (s) => {
      const seq = (seqs.get(s.stream) ?? 0) + 1;
      seqs.set(s.stream, seq);
      const ts = Date.now();
      const payload = JSON.stringify(
        shouldAck(s.stream, seq, args.sampleRate)
          ? { type: 'frame', sessionId, stream: s.stream, seq, ts, ack: true, tick: s.tick, data: s.data }
          : { type: 'frame', sessionId, stream: s.stream, seq, ts, tick: s.tick, data: s.data },
      );
      for (const c of clients) c.send(payload);
    },
  });
  process.send?.('ready');
  const stop = (): void => {
    void source.stop();
    for (const c of clients) c.terminate();
    process.exit(0);
  };
  process.on('disconnect', stop);
  process.on('SIGTERM', stop);
}

main().catch((e: unknown) => {
  process.stderr.write(`plain sender: ${(e as Error).message}\n`);
  process.exit(1);
});
