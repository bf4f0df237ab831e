// iRacing's enum and bitfield variables name their type in the unit field
// (irsdk_SessionState, irsdk_Flags, ...). Frames carry the names, not bare numbers, so a
// gateway or a support engineer reads "Racing" and ["Green"], not 4 and 0x4. The name
// tables come from @irsdk-node/types, which tracks iRacing's irsdk_defines.h.
import {
  CameraState,
  CarLeftRight,
  EngineWarnings,
  GlobalFlags,
  PaceFlags,
  PaceMode,
  PitSvFlags,
  PitSvStatus,
  SessionState,
  TrackLocation,
  TrackSurface,
  TrackWetness,
} from '@irsdk-node/types';

type NameTable = Record<string | number, string | number>;

const ENUMS: Record<string, NameTable> = {
  irsdk_SessionState: SessionState as unknown as NameTable,
  irsdk_TrkLoc: TrackLocation as unknown as NameTable,
  irsdk_TrkSurf: TrackSurface as unknown as NameTable,
  irsdk_CarLeftRight: CarLeftRight as unknown as NameTable,
  irsdk_PitSvStatus: PitSvStatus as unknown as NameTable,
  irsdk_PaceMode: PaceMode as unknown as NameTable,
  irsdk_TrackWetness: TrackWetness as unknown as NameTable,
};

const BITFIELDS: Record<string, NameTable> = {
  irsdk_Flags: GlobalFlags as unknown as NameTable,
  irsdk_EngineWarnings: EngineWarnings as unknown as NameTable,
  irsdk_PitSvFlags: PitSvFlags as unknown as NameTable,
  irsdk_PaceFlags: PaceFlags as unknown as NameTable,
  irsdk_CameraState: CameraState as unknown as NameTable,
};

export type Namer = (value: number) => string | number | string[];

/** A function naming values of a variable with this unit, or undefined when its values are plain numbers. */
export function namerForUnit(unit: string): Namer | undefined {
  const table = ENUMS[unit];
  if (table) {
    // Unknown values (a newer sim) stay numbers rather than being lost.
    return (value) => {
      const name = table[value];
      return typeof name === 'string' ? name : value;
    };
  }
  const bits = BITFIELDS[unit];
  if (bits) {
    const known = Object.entries(bits)
      .filter(([, v]) => typeof v === 'number')
      .map(([name, v]) => [name, v as number] as const);
    return (value) => {
      const flags: string[] = [];
      let rest = value >>> 0;
      for (const [name, bit] of known) {
        if ((rest & bit) >>> 0 === bit >>> 0 && bit !== 0) {
          flags.push(name);
          rest = (rest & ~bit) >>> 0;
        }
      }
      if (rest !== 0) flags.push(`0x${rest.toString(16)}`);
      return flags;
    };
  }
  return undefined;
}
