// Where the bytes come from: a file read through a descriptor (the real case), or a
// buffer already in memory (tests and callers that have the bytes anyway).
import { open, stat, type FileHandle } from 'node:fs/promises';
import { IbtError } from './errors';

export interface ByteSource {
  readonly name: string;
  readonly size: number;
  /** Reads up to `length` bytes at `position` into `into` from index 0; returns how many were read. */
  read(into: Uint8Array, length: number, position: number): Promise<number>;
  close(): Promise<void>;
}

function ioError(name: string, action: string, e: unknown): IbtError {
  const sys = (e as NodeJS.ErrnoException | undefined)?.code;
  return new IbtError('io', `${name}: cannot ${action}${sys ? ` (${sys})` : ''}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
}

export async function openFileSource(path: string): Promise<ByteSource> {
  // stat first: opening a FIFO or device for reading can block forever.
  let st;
  try {
    st = await stat(path);
  } catch (e) {
    const sys = (e as NodeJS.ErrnoException).code;
    if (sys === 'ENOENT' || sys === 'ENOTDIR') throw new IbtError('not_found', `${path}: no such file`, { cause: e });
    throw ioError(path, 'stat the file', e);
  }
  if (st.isDirectory()) throw new IbtError('is_directory', `${path}: is a directory, not an .ibt file`);
  if (!st.isFile()) throw new IbtError('not_a_file', `${path}: is not a regular file (a device, socket or pipe)`);

  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    const sys = (e as NodeJS.ErrnoException).code;
    if (sys === 'ENOENT') throw new IbtError('not_found', `${path}: no such file`, { cause: e });
    if (sys === 'EISDIR') throw new IbtError('is_directory', `${path}: is a directory, not an .ibt file`, { cause: e });
    throw ioError(path, 'open the file', e);
  }
  let size: number;
  try {
    // The size of what was opened, in case the path was replaced since the stat.
    const fst = await fh.stat();
    if (!fst.isFile()) throw new IbtError('not_a_file', `${path}: is not a regular file`);
    size = fst.size;
  } catch (e) {
    await fh.close().catch(() => undefined);
    throw e instanceof IbtError ? e : ioError(path, 'stat the open file', e);
  }

  let closed = false;
  return {
    name: path,
    size,
    async read(into, length, position) {
      if (closed) throw new IbtError('closed', `${path}: the file has been closed`);
      try {
        const { bytesRead } = await fh.read(into, 0, length, position);
        return bytesRead;
      } catch (e) {
        if (closed) throw new IbtError('closed', `${path}: the file was closed during a read`, { cause: e });
        throw ioError(path, `read ${length} bytes at byte ${position}`, e);
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await fh.close().catch(() => undefined);
    },
  };
}

export function bufferSource(data: Uint8Array, name: string): ByteSource {
  let closed = false;
  return {
    name,
    size: data.byteLength,
    read(into, length, position) {
      if (closed) return Promise.reject(new IbtError('closed', `${name}: the file has been closed`));
      const n = Math.max(0, Math.min(length, data.byteLength - position));
      into.set(data.subarray(position, position + n), 0);
      return Promise.resolve(n);
    },
    close() {
      closed = true;
      return Promise.resolve();
    },
  };
}

/**
 * Fills `into[0..length)` from `position`. A short read means the file shrank after
 * it was opened and checked, which is truncation at that point.
 */
export async function readExactly(src: ByteSource, into: Uint8Array, length: number, position: number, what: string): Promise<void> {
  let done = 0;
  while (done < length) {
    const n = await src.read(into.subarray(done), length - done, position + done);
    if (n <= 0) {
      throw new IbtError(
        'truncated',
        `${src.name}: file ends at byte ${position + done} while reading the ${what} (bytes ${position}..${position + length}); it was ${src.size} bytes when opened`,
        { offset: position + done },
      );
    }
    done += n;
  }
}
