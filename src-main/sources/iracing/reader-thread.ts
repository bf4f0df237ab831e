// The live reader in its own thread: irsdk's wait for data blocks, and blocking the relay's
// event loop would stall every socket. The thread loads the backend, reports `ready` (or
// `fatal`), steps the reader once `start` arrives and posts what it saw; `stop` detaches
// from the sim and ends the thread.
import { Worker, type MessagePort } from 'node:worker_threads';
import { LiveReader, type LiveEvent, type LiveReaderOptions, type LiveReaderStats } from './live-reader';
import { SourceUnavailableError } from '../source';
import type { SimBackend } from './sim-backend';

export type ToReaderThread = { type: 'start' } | { type: 'stop' };
export type FromReaderThread =
  | { type: 'ready' }
  | { type: 'fatal'; message: string; unavailable: boolean }
  | { type: 'events'; events: LiveEvent[] }
  | { type: 'stats'; stats: LiveReaderStats }
  | { type: 'stopped' };

const STATS_EVERY_MS = 1000;

/** The thread's body; `port` is its parentPort (or one end of a MessageChannel in tests). */
export async function runReaderThread(port: MessagePort, options: LiveReaderOptions, loadBackend: () => Promise<SimBackend>): Promise<void> {
  const post = (m: FromReaderThread) => port.postMessage(m);
  let reader: LiveReader | undefined;
  let started = false;
  let running = false;
  let done = false;
  let pending: { cancel: () => void } | undefined;
  let lastStatsAt = Number.NEGATIVE_INFINITY;

  const finish = () => {
    if (done) return;
    done = true;
    pending?.cancel();
    reader?.close();
    if (reader) post({ type: 'stats', stats: reader.stats() });
    post({ type: 'stopped' });
    port.close();
  };
  const schedule = (ms: number) => {
    if (ms > 0) {
      const t = setTimeout(tick, ms);
      pending = { cancel: () => clearTimeout(t) };
    } else {
      const t = setImmediate(tick);
      pending = { cancel: () => clearImmediate(t) };
    }
  };
  // Between steps the thread yields to its event loop, so `stop` is seen within one step.
  const tick = () => {
    pending = undefined;
    if (done || !reader) return;
    const now = performance.now();
    const events = reader.step(now);
    if (events.length > 0) post({ type: 'events', events });
    if (now - lastStatsAt >= STATS_EVERY_MS) {
      lastStatsAt = now;
      post({ type: 'stats', stats: reader.stats() });
    }
    schedule(reader.idleMs(performance.now()));
  };
  const begin = () => {
    if (running || done || !started || !reader) return;
    running = true;
    schedule(0);
  };

  port.on('message', (m: ToReaderThread) => {
    if (m.type === 'start') {
      started = true;
      begin();
    } else if (m.type === 'stop') {
      finish();
    }
  });

  try {
    const backend = await loadBackend();
    if (done) {
      backend.close();
      return;
    }
    reader = new LiveReader(backend, options);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    post({ type: 'fatal', message, unavailable: e instanceof SourceUnavailableError });
    done = true;
    port.close();
    return;
  }
  post({ type: 'ready' });
  begin();
}

/**
 * Starts worker.ts in a thread: the compiled worker.js next to this module, or, running
 * from source (tsx, vitest), the TypeScript through worker-from-source.mjs.
 */
export function spawnReaderThread(options: LiveReaderOptions): Worker {
  const entry = import.meta.url.endsWith('.ts') ? './worker-from-source.mjs' : './worker.js';
  const worker = new Worker(new URL(entry, import.meta.url), { workerData: options });
  running++;
  worker.once('exit', () => running--);
  return worker;
}

let running = 0;

/** Reader threads of this process that have not exited: while one runs, it owns irsdk-node's attachment. */
export function readerThreadsRunning(): number {
  return running;
}
