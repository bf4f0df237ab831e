// Reader for iRacing disk telemetry (.ibt). open() reads only the header, the variable
// headers and the session YAML; samples stream from the file in fixed-size chunks, so
// replaying an hour-long recording needs the memory of a few dozen samples, not of the file.
import { compileSelection, decodeInto, decodeSample, valuesByName, type CompiledSelection } from './decode';
import { IbtError } from './errors';
import {
  checkBeforeSamples,
  checkRegion,
  FIELD_OFFSET,
  parsePreamble,
  parseVarHeaders,
  PREAMBLE_SIZE,
  VAR_HEADER_SIZE,
} from './layout';
import { decodeSessionInfo, parseSessionInfo } from './session-yaml';
import { bufferSource, openFileSource, readExactly, type ByteSource } from './byte-source';
import type { IbtChunk, IbtDiskHeader, IbtHeader, IbtOpenOptions, IbtSample, IbtSamplesOptions, IbtValue, IbtVariable } from './types';

/** Samples per read: enough to amortise the syscall, small enough to stay a few hundred KB. */
const CHUNK_SAMPLES = 64;
const MAX_CHUNK_BYTES = 4 * 1024 * 1024;

function prefixed(name: string, e: unknown): IbtError {
  if (e instanceof IbtError) {
    if (e.message.startsWith(`${name}: `)) return e;
    return new IbtError(e.code, `${name}: ${e.message}`, { offset: e.offset, field: e.field, cause: e.cause });
  }
  // Anything else is a bug in the reader or a failure below it; callers still get one error type.
  return new IbtError('io', `${name}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
}

/** Up to `max` names closest to `wanted`: shared substrings first, then edit distance. */
function closeNames(wanted: string, names: Iterable<string>, max = 5): string[] {
  const w = wanted.toLowerCase();
  const scored: [number, string][] = [];
  for (const name of names) {
    const n = name.toLowerCase();
    const score = n === w ? 0 : n.includes(w) || w.includes(n) ? 1 : 2 + editDistance(w, n);
    scored.push([score, name]);
  }
  scored.sort((a, b) => a[0] - b[0] || a[1].localeCompare(b[1]));
  return scored.slice(0, max).map(([, name]) => name);
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const sub = (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      cur.push(Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, sub));
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}

export class IbtFile {
  readonly path: string;
  readonly size: number;
  readonly header: IbtHeader;
  readonly disk: IbtDiskHeader;
  readonly variables: IbtVariable[];
  readonly sessionInfoText: string;
  readonly sessionInfo: unknown;
  readonly sampleCount: number;

  readonly #src: ByteSource;
  readonly #byName: Map<string, IbtVariable>;
  #all: CompiledSelection | undefined;
  #closed = false;

  private constructor(init: {
    src: ByteSource;
    header: IbtHeader;
    disk: IbtDiskHeader;
    variables: IbtVariable[];
    sessionInfoText: string;
    sessionInfo: unknown;
    sampleCount: number;
  }) {
    this.#src = init.src;
    this.path = init.src.name;
    this.size = init.src.size;
    this.header = init.header;
    this.disk = init.disk;
    this.variables = init.variables;
    this.sessionInfoText = init.sessionInfoText;
    this.sessionInfo = init.sessionInfo;
    this.sampleCount = init.sampleCount;
    this.#byName = new Map(init.variables.map((v) => [v.name, v]));
  }

  static async open(path: string, options: IbtOpenOptions = {}): Promise<IbtFile> {
    let src: ByteSource;
    try {
      src = await openFileSource(path);
    } catch (e) {
      throw prefixed(path, e);
    }
    return IbtFile.#load(src, options);
  }

  /** Reads an .ibt image already in memory; `name` stands in for the path in messages. */
  static fromBuffer(data: Uint8Array, options: IbtOpenOptions & { name?: string } = {}): Promise<IbtFile> {
    return IbtFile.#load(bufferSource(data, options.name ?? '<buffer>'), options);
  }

  static async #load(src: ByteSource, options: IbtOpenOptions): Promise<IbtFile> {
    try {
      return await IbtFile.#parse(src, options);
    } catch (e) {
      await src.close();
      throw prefixed(src.name, e);
    }
  }

  static async #parse(src: ByteSource, options: IbtOpenOptions): Promise<IbtFile> {
    const { size } = src;
    if (size === 0) throw new IbtError('empty', 'file is empty (0 bytes)', { offset: 0 });
    if (size < PREAMBLE_SIZE) {
      throw new IbtError(
        'too_small',
        `file is ${size} bytes; an .ibt needs at least ${PREAMBLE_SIZE} (112-byte header + 32-byte disk sub-header)`,
        { offset: size },
      );
    }
    const preamble = new Uint8Array(PREAMBLE_SIZE);
    await readExactly(src, preamble, PREAMBLE_SIZE, 0, 'header');
    const { header, disk } = parsePreamble(preamble);

    const varBytes = header.numVars * VAR_HEADER_SIZE;
    checkRegion(size, `${header.numVars} variable headers`, 'varHeaderOffset', header.varHeaderOffset, varBytes);
    checkRegion(size, 'session info', 'sessionInfoOffset', header.sessionInfoOffset, header.sessionInfoLen);
    checkRegion(size, 'samples', 'varBuf[0].bufOffset', header.bufOffset, 0);
    checkBeforeSamples(header);

    const available = Math.floor((size - header.bufOffset) / header.bufLen);
    if (disk.recordCount > available && !options.allowTruncated) {
      const spare = (size - header.bufOffset) % header.bufLen;
      throw new IbtError(
        'truncated',
        `recordCount (at byte ${FIELD_OFFSET.recordCount}) says ${disk.recordCount} samples of ${header.bufLen} bytes from byte ${header.bufOffset}, ` +
          `but the file ends at byte ${size} after ${available} complete samples` +
          `${spare > 0 ? ` and ${spare} bytes of a partial one` : ''}; open with { allowTruncated: true } to read those ${available}`,
        { offset: size, field: 'recordCount' },
      );
    }
    const sampleCount = Math.min(disk.recordCount, available);

    const varHeaderBytes = new Uint8Array(varBytes);
    await readExactly(src, varHeaderBytes, varBytes, header.varHeaderOffset, 'variable headers');
    const variables = parseVarHeaders(varHeaderBytes, header.varHeaderOffset, header.numVars, header.bufLen);

    const yamlBytes = new Uint8Array(header.sessionInfoLen);
    await readExactly(src, yamlBytes, header.sessionInfoLen, header.sessionInfoOffset, 'session info');
    const sessionInfoText = decodeSessionInfo(yamlBytes);
    const sessionInfo = parseSessionInfo(sessionInfoText, header.sessionInfoOffset);

    return new IbtFile({ src, header, disk, variables, sessionInfoText, sessionInfo, sampleCount });
  }

  variable(name: string): IbtVariable | undefined {
    return this.#byName.get(name);
  }

  #select(names: string[] | undefined): CompiledSelection {
    if (names === undefined) return (this.#all ??= compileSelection(this.variables));
    if (!Array.isArray(names)) throw new IbtError('unknown_variable', `${this.path}: variables must be an array of names`);
    const picked: IbtVariable[] = [];
    const seen = new Set<string>();
    for (const name of names) {
      const v = typeof name === 'string' ? this.#byName.get(name) : undefined;
      if (v === undefined) {
        const near = closeNames(String(name), this.#byName.keys());
        throw new IbtError(
          'unknown_variable',
          `${this.path}: no variable named ${JSON.stringify(name)} among the ${this.variables.length}; closest: ${near.join(', ')}`,
          { field: String(name) },
        );
      }
      if (!seen.has(name)) picked.push(v);
      seen.add(name);
    }
    return compileSelection(picked);
  }

  #checkIndex(what: string, value: number, max: number): void {
    if (!Number.isInteger(value) || value < 0 || value > max) {
      throw new IbtError('out_of_range', `${this.path}: ${what} ${value} is not an integer in 0..${max} (the file has ${this.sampleCount} samples)`);
    }
  }

  #checkOpen(): void {
    if (this.#closed) throw new IbtError('closed', `${this.path}: the file has been closed`);
  }

  /**
   * Streams samples [start, end). Arguments are checked now, so a bad variable name
   * fails at the call, not at the first await of the loop.
   */
  samples(options: IbtSamplesOptions = {}): AsyncIterableIterator<IbtSample> {
    const chunks = this.chunks(options);
    return (async function* () {
      for await (const chunk of chunks) {
        const width = chunk.names.length;
        for (let k = 0; k < chunk.count; k++) yield { index: chunk.start + k, values: valuesByName(chunk.names, chunk.values, k * width) };
      }
    })();
  }

  /**
   * The same samples in the groups the file is read in (up to 64 at a time), their values
   * by position: one await per group instead of one per sample and no object per sample, for
   * callers that go through many samples at once (a replay at full speed). Arguments are
   * checked at the call, as for samples().
   */
  chunks(options: IbtSamplesOptions = {}): AsyncIterableIterator<IbtChunk> {
    this.#checkOpen();
    const sel = this.#select(options.variables);
    const start = options.start ?? 0;
    const end = options.end ?? this.sampleCount;
    this.#checkIndex('end', end, this.sampleCount);
    this.#checkIndex('start', start, end);
    return this.#stream(sel, start, end);
  }

  async *#stream(sel: CompiledSelection, start: number, end: number): AsyncGenerator<IbtChunk, void, undefined> {
    const { bufLen, bufOffset } = this.header;
    const perChunk = Math.max(1, Math.min(CHUNK_SAMPLES, Math.floor(MAX_CHUNK_BYTES / bufLen), end - start));
    // One buffer per iteration, reused for every chunk; each iterator owns its own so two can run at once.
    const chunk = new Uint8Array(perChunk * bufLen);
    const dv = new DataView(chunk.buffer);
    const width = sel.names.length;
    for (let index = start; index < end; ) {
      const n = Math.min(perChunk, end - index);
      try {
        await readExactly(this.#src, chunk, n * bufLen, bufOffset + index * bufLen, `samples ${index}..${index + n - 1}`);
      } catch (e) {
        throw prefixed(this.path, e);
      }
      const values = new Array<IbtValue>(n * width);
      try {
        for (let k = 0; k < n; k++) decodeInto(sel, dv, k * bufLen, values, k * width);
      } catch (e) {
        throw prefixed(this.path, e);
      }
      const out: IbtChunk = { start: index, count: n, names: sel.names, values };
      index += n;
      yield out;
    }
  }

  async readSample(index: number, variables?: string[]): Promise<IbtSample> {
    this.#checkOpen();
    const sel = this.#select(variables);
    if (!Number.isInteger(index) || index < 0 || index >= this.sampleCount) {
      throw new IbtError('out_of_range', `${this.path}: sample index ${index} is out of range: the file has ${this.sampleCount} samples, 0..${this.sampleCount - 1}`);
    }
    const { bufLen, bufOffset } = this.header;
    const bytes = new Uint8Array(bufLen);
    try {
      await readExactly(this.#src, bytes, bufLen, bufOffset + index * bufLen, `sample ${index}`);
    } catch (e) {
      throw prefixed(this.path, e);
    }
    return { index, values: decodeSample(sel, new DataView(bytes.buffer), 0) };
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#src.close();
  }
}
