// A small leveled logger. Callers pass masked URLs and never tokens: secrets stay out of logs.
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

const ORDER: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export function createLogger(write: (line: string) => void = (l) => process.stderr.write(l + '\n'), minLevel: LogLevel = 'info'): Logger {
  const at = (level: LogLevel) => (message: string) => {
    if (ORDER[level] >= ORDER[minLevel]) write(`${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${message}`);
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
