export { IbtFile } from './ibt-file';
export { IbtError, type IbtErrorCode } from './errors';
export type {
  IbtChunk,
  IbtDiskHeader,
  IbtHeader,
  IbtOpenOptions,
  IbtSample,
  IbtSamplesOptions,
  IbtValue,
  IbtVarType,
  IbtVariable,
} from './types';
