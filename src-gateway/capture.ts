// `--capture <file>`: every message relays send, one JSON line each, for support to replay
// what a gateway really saw (repeats included). Written synchronously as each message
// arrives, so the file is complete up to the last message even after kill -9.
import { closeSync, openSync, writeSync } from 'node:fs';
import type { RelayMessage } from '../src-shared/protocol';
import type { FrameOutcome } from './parity';

export class CaptureFile {
  private fd: number | null;

  private constructor(
    readonly path: string,
    fd: number,
    private readonly onError: (message: string) => void,
  ) {
    this.fd = fd;
  }

  /** Opens (appends to) the file; throws naming it when it cannot be opened. */
  static open(path: string, onError: (message: string) => void): CaptureFile {
    try {
      return new CaptureFile(path, openSync(path, 'a'), onError);
    } catch (e) {
      throw new Error(`cannot open capture file ${JSON.stringify(path)}: ${(e as Error).message}; expected a writable file path`, { cause: e });
    }
  }

  /** A frame with what became of it; anything else without an outcome. */
  write(conn: number, msg: RelayMessage, outcome?: FrameOutcome): void {
    if (this.fd === null) return;
    const line = outcome === undefined ? { at: Date.now(), conn, msg } : { at: Date.now(), conn, outcome, msg };
    try {
      writeSync(this.fd, `${JSON.stringify(line)}\n`);
    } catch (e) {
      // A full disk must not stop ingest: say so once and capture nothing more.
      this.onError(`capture to ${JSON.stringify(this.path)} stopped: ${(e as Error).message}`);
      this.close();
    }
  }

  close(): void {
    if (this.fd === null) return;
    const fd = this.fd;
    this.fd = null;
    try {
      closeSync(fd);
    } catch {
      // Already gone with the process's file table; nothing left to flush (writes are synchronous).
    }
  }
}
