// `npm run dist`: the installer for this platform (NSIS on Windows, AppImage on Linux, dmg on
// macOS) from the already built bundles, with the Electron that npm installed: electron-builder
// would otherwise download the same Electron again. Never publishes.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { electronDistDir, MISSING_BINARY_HELP } from './electron-binary';

const dist = electronDistDir();
if (!dist) {
  console.error(`dist: ${MISSING_BINARY_HELP}`);
  process.exit(1);
}
const require = createRequire(import.meta.url);
const cli = path.join(path.dirname(require.resolve('electron-builder/package.json')), 'cli.js');
const child = spawn(process.execPath, [cli, '--publish', 'never', `-c.electronDist=${dist}`, ...process.argv.slice(2)], { stdio: 'inherit' });
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
