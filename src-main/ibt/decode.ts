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
}

export function compileSelection(vars: readonly IbtVariable[]): CompiledSelection {
  return { names: vars.map((v) => v.name), accessors: vars.map(makeAccessor) };
}

export function decodeSample(sel: CompiledSelection, dv: DataView, base: number): Record<string, IbtValue> {
  const values: Record<string, IbtValue> = {};
  const { names, accessors } = sel;
  for (let i = 0; i < names.length; i++) values[names[i] as string] = (accessors[i] as Accessor)(dv, base);
  return values;
}
