// Turning the bytes of one sample into values. Accessors are built once per selection
// so that the per-sample loop does no lookups, and they read through a DataView
// because iRacing packs variables without alignment.
import { cp1252Char } from './cp1252';
import type { IbtValue, IbtVarType, IbtVariable } from './types';

export interface VarTypeSpec {
  type: IbtVarType;
  size: number;
}

/** Indexed by irsdk type code. */
export const VAR_TYPES: readonly VarTypeSpec[] = [
  { type: 'char', size: 1 },
  { type: 'bool', size: 1 },
  { type: 'int', size: 4 },
  { type: 'bitField', size: 4 },
  { type: 'float', size: 4 },
  { type: 'double', size: 8 },
];

type ScalarReader = (dv: DataView, at: number) => number | boolean;

const SCALAR: Record<Exclude<IbtVarType, 'char'>, ScalarReader> = {
  bool: (dv, at) => dv.getUint8(at) !== 0,
  int: (dv, at) => dv.getInt32(at, true),
  bitField: (dv, at) => dv.getUint32(at, true),
  float: (dv, at) => dv.getFloat32(at, true),
  double: (dv, at) => dv.getFloat64(at, true),
};

/** Reads one variable from the sample that starts at byte `base` of the view. */
export type Accessor = (dv: DataView, base: number) => IbtValue;

export function makeAccessor(v: IbtVariable): Accessor {
  const { offset, count } = v;
  if (v.type === 'char') {
    // A char array is a fixed-size C string: its value is the text up to the first NUL.
    if (count === 1) return (dv, base) => cp1252Char(dv.getUint8(base + offset));
    return (dv, base) => {
      let s = '';
      for (let i = 0; i < count; i++) {
        const c = dv.getUint8(base + offset + i);
        if (c === 0) break;
        s += cp1252Char(c);
      }
      return s;
    };
  }
  const read = SCALAR[v.type];
  const size = VAR_TYPES[v.typeCode]?.size ?? 1;
  if (count === 1) return (dv, base) => read(dv, base + offset);
  return (dv, base) => {
    const out: (number | boolean)[] = new Array<number | boolean>(count);
    for (let i = 0; i < count; i++) out[i] = read(dv, base + offset + i * size);
    return out as number[] | boolean[];
  };
}

export interface CompiledSelection {
  names: string[];
  accessors: Accessor[];
  /**
   * Per variable, the irsdk type code of a single number or bool read inline, or -1 to call
   * its accessor (strings, arrays). Reading inline keeps the per-sample loop free of calls
   * through a list of different closures, which V8 cannot inline.
   */
  inline: Int8Array;
  offsets: Int32Array;
}

const CALL_ACCESSOR = -1;

export function compileSelection(vars: readonly IbtVariable[]): CompiledSelection {
  return {
    names: vars.map((v) => v.name),
    accessors: vars.map(makeAccessor),
    inline: Int8Array.from(vars, (v) => (v.count === 1 && v.type !== 'char' ? v.typeCode : CALL_ACCESSOR)),
    offsets: Int32Array.from(vars, (v) => v.offset),
  };
}

/**
 * One sample's values, in the selection's order, into `out` from `at` on. Positions rather
 * than named properties: building an object per sample cost six times the reads themselves.
 */
export function decodeInto(sel: CompiledSelection, dv: DataView, base: number, out: IbtValue[], at: number): void {
  const { accessors, inline, offsets } = sel;
  const n = offsets.length;
  for (let i = 0; i < n; i++) {
    const p = base + (offsets[i] as number);
    let value: IbtValue;
    switch (inline[i]) {
      case 1:
        value = dv.getUint8(p) !== 0;
        break;
      case 2:
        value = dv.getInt32(p, true);
        break;
      case 3:
        value = dv.getUint32(p, true);
        break;
      case 4:
        value = dv.getFloat32(p, true);
        break;
      case 5:
        value = dv.getFloat64(p, true);
        break;
      default:
        value = (accessors[i] as Accessor)(dv, base);
    }
    out[at + i] = value;
  }
}

/** Values laid out by position (decodeInto) as an object by name. */
export function valuesByName(names: readonly string[], values: readonly IbtValue[], at: number): Record<string, IbtValue> {
  const out: Record<string, IbtValue> = {};
  for (let i = 0; i < names.length; i++) out[names[i] as string] = values[at + i] as IbtValue;
  return out;
}

export function decodeSample(sel: CompiledSelection, dv: DataView, base: number): Record<string, IbtValue> {
  const values: IbtValue[] = new Array<IbtValue>(sel.names.length);
  decodeInto(sel, dv, base, values, 0);
  return valuesByName(sel.names, values, 0);
}
