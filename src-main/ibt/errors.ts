// The reader's one error type: callers (the replay source, the CLI) branch on `code`
// and show `message`, so every failure, whatever its cause, surfaces as an IbtError.

export type IbtErrorCode =
  | 'not_found'
  | 'is_directory'
  | 'not_a_file'
  | 'empty'
  | 'too_small'
  | 'bad_version'
  | 'bad_header'
  /** iRacing's live shared memory saved to a file: the same header, but not a disk recording. */
  | 'live_memory_dump'
  | 'out_of_bounds'
  | 'bad_var_header'
  | 'truncated'
  | 'bad_yaml'
  | 'unknown_variable'
  | 'out_of_range'
  | 'closed'
  | 'io';

export interface IbtErrorDetails {
  /** Absolute byte offset in the file that the problem concerns, where there is one. */
  offset?: number;
  /** The header field or region concerned, e.g. 'ver', 'varHeaders[3].offset', 'sessionInfo'. */
  field?: string;
  cause?: unknown;
}

export class IbtError extends Error {
  readonly code: IbtErrorCode;
  readonly offset: number | undefined;
  readonly field: string | undefined;

  constructor(code: IbtErrorCode, message: string, details: IbtErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'IbtError';
    this.code = code;
    this.offset = details.offset;
    this.field = details.field;
  }
}

/** Formats a number both ways: corrupt fields are easier to recognise in hex. */
export function showInt(n: number): string {
  const hex = (n >>> 0).toString(16).padStart(8, '0');
  return `${n} (0x${hex})`;
}
