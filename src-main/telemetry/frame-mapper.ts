// Builds the data of each stream from one sample of iRacing variables, the same way for a
// recording (.ibt) and for live telemetry: the configured variables, units kept, enums and
// bitfields named, float32 values written in the fewest digits that read back exactly.
import type { IbtValue, IbtVarType } from '../ibt/types';
import { namerForUnit, type Namer } from './named-values';

export interface VariableInfo {
  name: string;
  type: IbtVarType;
  unit: string;
  count: number;
}

export interface StreamSpec {
  name: string;
  variables: readonly string[];
}

interface Field {
  name: string;
  convert: (value: IbtValue) => unknown;
}

export interface StreamLayout {
  name: string;
  fields: Field[];
  /** Variables asked for that this source does not have ("when present"). */
  absent: string[];
  units: Record<string, string>;
}

/** Shortest decimal that reads back as the same float32: exact, and half the JSON of 17 digits. */
export function float32Text(value: number): number {
  if (!Number.isFinite(value)) return value;
  const f = Math.fround(value);
  for (let digits = 6; digits < 9; digits++) {
    const candidate = Number(f.toPrecision(digits));
    if (Math.fround(candidate) === f) return candidate;
  }
  return Number(f.toPrecision(9));
}

function converterFor(info: VariableInfo): (value: IbtValue) => unknown {
  const namer: Namer | undefined = info.type === 'int' || info.type === 'bitField' ? namerForUnit(info.unit) : undefined;
  const one = (v: unknown): unknown => {
    if (typeof v !== 'number') return v;
    if (namer) return namer(v);
    if (info.type === 'float') return float32Text(v);
    // JSON has no NaN or Infinity: say so explicitly instead of sending a silent null.
    if (!Number.isFinite(v)) return String(v);
    return v;
  };
  return (value) => (Array.isArray(value) ? value.map(one) : one(value));
}

export class FrameMapper {
  readonly layouts: StreamLayout[];
  /** Every variable any stream needs: what a reader has to fetch, and no more. */
  readonly needed: string[];

  constructor(variables: readonly VariableInfo[], streams: readonly StreamSpec[]) {
    const byName = new Map(variables.map((v) => [v.name, v]));
    this.layouts = streams.map((s) => {
      const fields: Field[] = [];
      const absent: string[] = [];
      const units: Record<string, string> = {};
      for (const name of s.variables) {
        const info = byName.get(name);
        if (!info) {
          absent.push(name);
          continue;
        }
        fields.push({ name, convert: converterFor(info) });
        if (info.unit) units[name] = info.unit;
      }
      return { name: s.name, fields, absent, units };
    });
    this.needed = [...new Set(this.layouts.flatMap((l) => l.fields.map((f) => f.name)))];
  }

  layout(stream: string): StreamLayout | undefined {
    return this.layouts.find((l) => l.name === stream);
  }

  map(stream: StreamLayout, values: Readonly<Record<string, IbtValue>>): Record<string, unknown> {
    const data: Record<string, unknown> = {};
    for (const f of stream.fields) {
      const v = values[f.name];
      if (v !== undefined) data[f.name] = f.convert(v);
    }
    return data;
  }

  /** Where each field of `stream` sits among values laid out by position in `names` order (-1: not among them). */
  positions(stream: StreamLayout, names: readonly string[]): Int32Array {
    return Int32Array.from(stream.fields, (f) => names.indexOf(f.name));
  }

  /**
   * map() for values by position (a reader's chunk, IbtFile.chunks): the same data, read at
   * `base` plus each field's position from positions().
   */
  mapAt(stream: StreamLayout, values: readonly IbtValue[], base: number, at: Int32Array): Record<string, unknown> {
    const data: Record<string, unknown> = {};
    const { fields } = stream;
    for (let i = 0; i < fields.length; i++) {
      const p = at[i] as number;
      if (p < 0) continue;
      const v = values[base + p];
      if (v === undefined) continue;
      const f = fields[i] as Field;
      data[f.name] = f.convert(v);
    }
    return data;
  }

  /** For the hello: what each stream carries, in which units, and what this source lacks. */
  describe(): Record<string, { variables: string[]; units: Record<string, string>; absent: string[] }> {
    return Object.fromEntries(this.layouts.map((l) => [l.name, { variables: l.fields.map((f) => f.name), units: l.units, absent: l.absent }]));
  }
}
