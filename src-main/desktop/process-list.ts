// The Windows process list from tasklist, run directly (no shell) with a timeout.
import { execFile } from 'node:child_process';
import type { ProcessLister } from './ports';

export const TASKLIST_TIMEOUT_MS = 5000;

/** Runs a program and resolves with its stdout; the seam the tests replace. */
export type RunFile = (file: string, args: readonly string[], timeoutMs: number) => Promise<string>;

const runFile: RunFile = (file, args, timeoutMs) =>
  new Promise((resolve, reject) => {
    execFile(file, [...args], { timeout: timeoutMs, windowsHide: true, encoding: 'utf8', maxBuffer: 8 * 1024 * 1024 }, (error, stdout) => {
      if (error) reject(error);
      else resolve(stdout);
    });
  });

/**
 * The image names (first column) of `tasklist /FO CSV /NH` output, as printed. tasklist
 * quotes every field, and the lines it prints instead of a table ("INFO: No tasks are
 * running...", in whatever language Windows speaks) are unquoted prose, so only lines that
 * open with a quote are records.
 */
export function parseTasklistCsv(text: string): string[] {
  const names: string[] = [];
  for (const raw of text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/)) {
    const line = raw.trim();
    if (!line.startsWith('"')) continue;
    const name = firstCsvField(line);
    if (name) names.push(name);
  }
  return names;
}

/** The first field of a quoted CSV line ("" is an escaped quote); null when the quote never closes. */
function firstCsvField(line: string): string | null {
  let value = '';
  for (let i = 1; i < line.length; i++) {
    const ch = line[i];
    if (ch !== '"') {
      value += ch;
      continue;
    }
    if (line[i + 1] === '"') {
      value += '"';
      i++;
      continue;
    }
    return value.trim();
  }
  return null;
}

export interface WindowsProcessListerOptions {
  timeoutMs?: number;
  run?: RunFile;
}

export class WindowsProcessLister implements ProcessLister {
  private readonly timeoutMs: number;
  private readonly run: RunFile;

  constructor(options: WindowsProcessListerOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? TASKLIST_TIMEOUT_MS;
    this.run = options.run ?? runFile;
  }

  async isRunning(imageNames: readonly string[]): Promise<boolean> {
    // Windows file names are case-insensitive, and tasklist prints them as the file is named on disk.
    const wanted = new Set(imageNames.map((n) => n.toLowerCase()));
    if (wanted.size === 0) return false;
    const out = await this.run('tasklist', ['/FO', 'CSV', '/NH'], this.timeoutMs);
    return parseTasklistCsv(out).some((name) => wanted.has(name.toLowerCase()));
  }
}
