// A SimBackend on a dump of iRacing's live memory map (tests/fixtures/ibt/live_test_file.ibt):
// the layout the live reader meets in the sim, which disk recordings lack: 323 variables with
// CarIdx arrays of 64, per-car enums and bitfields, three rotating buffers. It serves the
// dump's buffers in tick order, then moves its clock on one tick per buffer as the sim does,
// and lets a test write a value into the next buffer the way the sim would (a car going on
// track, a flag per car). Decoding goes through the .ibt reader's own header and value code.
import fs from 'node:fs';
import { makeAccessor, VAR_TYPES } from '../../src-main/ibt/decode';
import { HEADER_SIZE, VAR_HEADER_SIZE, parseVarHeaders } from '../../src-main/ibt/layout';
import type { IbtValue, IbtVariable } from '../../src-main/ibt/types';
import type { SimBackend } from '../../src-main/sources/iracing/sim-backend';
import type { VariableInfo } from '../../src-main/telemetry/frame-mapper';
import { LIVE_IBT } from './fixtures';

export interface LiveDump {
  tickRate: number;
  sessionInfoUpdate: number;
  yaml: string;
  variables: IbtVariable[];
  /** The rotating buffers, oldest tick first. */
  buffers: { tickCount: number; bytes: Uint8Array }[];
}

export function loadLiveDump(file = LIVE_IBT): LiveDump {
  const bytes = new Uint8Array(fs.readFileSync(file));
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const i32 = (at: number) => dv.getInt32(at, true);
  const [tickRate, sessionInfoUpdate, sessionInfoLen, sessionInfoOffset, numVars, varHeaderOffset, numBuf, bufLen] = [8, 12, 16, 20, 24, 28, 32, 36].map(i32) as number[] as [
    number, number, number, number, number, number, number, number,
  ];
  if (sessionInfoOffset !== HEADER_SIZE) throw new Error(`${file} is not a dump of the live memory map (session info at ${sessionInfoOffset})`);
  const variables = parseVarHeaders(bytes.subarray(varHeaderOffset, varHeaderOffset + numVars * VAR_HEADER_SIZE), varHeaderOffset, numVars, bufLen);
  const text = bytes.subarray(sessionInfoOffset, sessionInfoOffset + sessionInfoLen);
  const end = text.indexOf(0);
  const buffers = Array.from({ length: numBuf }, (_, b) => {
    const offset = i32(52 + b * 16);
    return { tickCount: i32(48 + b * 16), bytes: bytes.slice(offset, offset + bufLen) };
  }).sort((a, b) => a.tickCount - b.tickCount);
  return { tickRate, sessionInfoUpdate, yaml: new TextDecoder('latin1').decode(end < 0 ? text : text.subarray(0, end)), variables, buffers };
}

export class DumpBackend implements SimBackend {
  running = false;
  opens = 0;
  closes = 0;
  private attached = false;
  private queued = 0;
  private next = 0;
  private current: Uint8Array | null = null;
  private pending = new Map<string, { index: number; value: number | boolean }[]>();
  private readonly byName: Map<string, IbtVariable>;

  constructor(readonly dump: LiveDump = loadLiveDump()) {
    this.byName = new Map(dump.variables.map((v) => [v.name, v]));
  }

  /** Queues n buffers: the dump's own first, then the clock moving on one tick each. */
  deliver(n: number): void {
    this.queued += n;
  }

  /** Writes `value` into element `index` of `name` in the next buffer and every one after it, as the sim would. */
  set(name: string, index: number, value: number | boolean): void {
    const v = this.byName.get(name);
    if (!v || index < 0 || index >= v.count) throw new Error(`the dump has no ${name}[${index}]`);
    this.pending.set(name, [...(this.pending.get(name) ?? []), { index, value }]);
  }

  get left(): number {
    return this.queued;
  }

  open(): boolean {
    this.opens++;
    this.attached = this.running;
    return this.running;
  }

  isConnected(): boolean {
    return this.attached && this.running;
  }

  waitForData(): boolean {
    if (!this.isConnected() || this.queued === 0) return false;
    this.queued--;
    const own = this.dump.buffers[this.next];
    this.current = own ? own.bytes.slice() : this.advance(this.current ?? (this.dump.buffers.at(-1) as { bytes: Uint8Array }).bytes);
    this.next++;
    this.applyPending(this.current);
    return true;
  }

  sessionInfoVersion(): number {
    return this.dump.sessionInfoUpdate;
  }

  sessionInfoYaml(): string | null {
    return this.attached ? this.dump.yaml : null;
  }

  variables(): VariableInfo[] {
    return this.dump.variables.map((v) => ({ name: v.name, type: v.type, unit: v.unit, count: v.count }));
  }

  read(names: readonly string[]): Record<string, IbtValue> {
    if (!this.current) throw new Error('read() before any data');
    const dv = new DataView(this.current.buffer, this.current.byteOffset, this.current.byteLength);
    const out: Record<string, IbtValue> = {};
    for (const name of names) {
      const v = this.byName.get(name);
      if (v) out[name] = makeAccessor(v)(dv, 0);
    }
    return out;
  }

  tickRate(): number {
    return this.dump.tickRate;
  }

  close(): void {
    this.closes++;
    this.attached = false;
  }

  private advance(last: Uint8Array): Uint8Array {
    const bytes = last.slice();
    const dv = new DataView(bytes.buffer);
    const tick = this.byName.get('SessionTick') as IbtVariable;
    const time = this.byName.get('SessionTime') as IbtVariable;
    dv.setInt32(tick.offset, dv.getInt32(tick.offset, true) + 1, true);
    dv.setFloat64(time.offset, dv.getFloat64(time.offset, true) + 1 / this.dump.tickRate, true);
    return bytes;
  }

  private applyPending(bytes: Uint8Array): void {
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (const [name, writes] of this.pending) {
      const v = this.byName.get(name) as IbtVariable;
      const size = (VAR_TYPES[v.typeCode] as { size: number }).size;
      for (const { index, value } of writes) {
        const at = v.offset + index * size;
        if (v.type === 'bool') dv.setUint8(at, value ? 1 : 0);
        else if (v.type === 'float') dv.setFloat32(at, Number(value), true);
        else if (v.type === 'double') dv.setFloat64(at, Number(value), true);
        else dv.setInt32(at, Number(value), true);
      }
    }
  }
}
