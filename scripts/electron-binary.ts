// Where the Electron binary is, or why it is not there. Installs made with
// ELECTRON_SKIP_BINARY_DOWNLOAD=1, or where github.com is unreachable, have the electron
// package without its binary: the scripts that need it say so instead of failing deep inside.
//
// Read from the package's files rather than by require('electron'): since Electron 45 that
// require downloads the binary when it is missing (printing a stack trace where github.com is
// unreachable), and finding out whether it is there must not have that side effect.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);

export const MISSING_BINARY_HELP =
  'the Electron binary is not installed: its download is blocked here; run npm ci where github.com is reachable (without ELECTRON_SKIP_BINARY_DOWNLOAD), or npx install-electron.';

function electronPackageDir(): string | undefined {
  try {
    return path.dirname(require.resolve('electron/package.json'));
  } catch {
    return undefined;
  }
}

/** The binary's path, or undefined when the download never happened. */
export function electronBinary(): string | undefined {
  const dir = electronPackageDir();
  if (!dir) return undefined;
  try {
    // path.txt names the executable inside dist/; the download writes both.
    const binary = path.join(dir, 'dist', fs.readFileSync(path.join(dir, 'path.txt'), 'utf8').trim());
    return fs.existsSync(binary) ? binary : undefined;
  } catch {
    return undefined;
  }
}

/** The unpacked Electron that npm installed (node_modules/electron/dist), for electron-builder's electronDist. */
export function electronDistDir(): string | undefined {
  const binary = electronBinary();
  if (!binary) return undefined;
  const dist = path.join(electronPackageDir() as string, 'dist');
  return fs.existsSync(dist) ? dist : undefined;
}
