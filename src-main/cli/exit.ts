// The CLI's exit codes and its one way to print, shared by the command modules.

export const EXIT_OK = 0;
/** The relay did not confirm (or could not be reached), or the run ended with frames not confirmed. */
export const EXIT_RUNTIME = 1;
/** Bad input, bad settings, or a change the relay refused. */
export const EXIT_USAGE = 2;
/** No relay runs for that config folder: a setting was saved for its next start. */
export const EXIT_NOT_RUNNING = 3;

export interface Out {
  /** To stdout; returns EXIT_OK. */
  print(text: string): number;
  /** To stderr; returns the code. */
  fail(code: number, text: string): number;
}

/** A command line that cannot be run: the usage (of the command, when known) follows the message. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}
