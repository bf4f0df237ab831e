export type IbtVarType = 'char' | 'bool' | 'int' | 'bitField' | 'float' | 'double';

export interface IbtVariable {
  name: string;
  description: string;
  unit: string;
  type: IbtVarType;
  typeCode: number;
  /** Byte offset of the value inside one sample (not aligned). */
  offset: number;
  /** Number of elements; more than 1 makes the value an array (a string for char). */
  count: number;
  countAsTime: boolean;
}

export interface IbtHeader {
  ver: number;
  status: number;
  tickRate: number;
  sessionInfoUpdate: number;
  sessionInfoLen: number;
  sessionInfoOffset: number;
  numVars: number;
  varHeaderOffset: number;
  numBuf: number;
  bufLen: number;
  /** varBuf[0].bufOffset: where the samples start in a disk file. */
  bufOffset: number;
}

export interface IbtDiskHeader {
  /** Unix seconds. */
  sessionStartDate: number;
  startTime: number;
  endTime: number;
  lapCount: number;
  recordCount: number;
}

export type IbtValue = number | boolean | string | number[] | boolean[];

export interface IbtSample {
  /** Position of the sample in the file, from 0. */
  index: number;
  values: Record<string, IbtValue>;
}

/**
 * Consecutive samples as the reader reads them (IbtFile.chunks): their values by position,
 * one flat list for the whole chunk, so that going through many samples allocates next to
 * nothing per sample. Value `i` of the chunk's sample `k` is `values[k * names.length + i]`.
 */
export interface IbtChunk {
  /** Index in the file of the chunk's first sample. */
  start: number;
  count: number;
  /** The variables asked for, in the order of each sample's values. */
  names: readonly string[];
  values: IbtValue[];
}

export interface IbtOpenOptions {
  /**
   * Read the complete samples of a file whose recordCount promises more than it holds
   * (a recording cut short), instead of failing with 'truncated'.
   */
  allowTruncated?: boolean;
}

export interface IbtSamplesOptions {
  /** Names of the variables to decode; all of them when absent. */
  variables?: string[];
  /** First sample index, inclusive (default 0). */
  start?: number;
  /** Last sample index, exclusive (default sampleCount). */
  end?: number;
}
