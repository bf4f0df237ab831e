// Where the Electron binary is, or why it is not there. Installs made with
// ELECTRON_SKIP_BINARY_DOWNLOAD=1, or where github.com is unreachable, have the electron
// package without its binary: the scripts that need it say so instead of failing deep inside.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);

export const MISSING_BINARY_HELP =
  'the Electron binary is not installed: its download is blocked here; run npm ci where github.com is reachable (without ELECTRON_SKIP_BINARY_DOWNLOAD).';

/** The binary's path, or undefined when the download never happened. */
export function electronBinary(): string | undefined {
  try {
    // The electron package's main is the binary's path; it throws when the download never happened.
    const binary = require('electron') as unknown;
    return typeof binary === 'string' && fs.existsSync(binary) ? binary : undefined;
  } catch {
    return undefined;
  }
}

/** The unpacked Electron that npm installed (node_modules/electron/dist), for electron-builder's electronDist. */
export function electronDistDir(): string | undefined {
  const binary = electronBinary();
  if (!binary) return undefined;
  const dist = path.join(path.dirname(require.resolve('electron/package.json')), 'dist');
  return fs.existsSync(dist) ? dist : undefined;
}
