// Entry point of the live reader's thread (see reader-thread.ts): the only module that
// brings in irsdk-node, and only once it is running on Windows.
import { parentPort, workerData } from 'node:worker_threads';
import { IrsdkBackend } from './irsdk-backend';
import type { LiveReaderOptions } from './live-reader';
import { runReaderThread } from './reader-thread';

if (!parentPort) throw new Error('worker.ts runs only as the live iRacing reader thread, started by IRacingSource');
await runReaderThread(parentPort, workerData as LiveReaderOptions, () => IrsdkBackend.load());
