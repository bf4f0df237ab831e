// npm's postinstall for this project: fetches the Electron binary, as `npm ci` did up to
// Electron 40 through Electron's own install script. Electron 45 has none (it downloads on
// first use), and npm 12 runs no dependency's install script unless package.json's
// allowScripts allows it; this project's own script runs either way. Skipped with
// ELECTRON_SKIP_BINARY_DOWNLOAD=1, and where Electron is not installed (--omit=dev). A failed
// download is a warning: everything but `npm start`, `npm run dist` and the Electron test
// works without the binary, and those say so.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const skip = process.env.ELECTRON_SKIP_BINARY_DOWNLOAD;
if (skip && skip !== '0' && skip.toLowerCase() !== 'false') {
  process.exit(0);
}
let installer;
try {
  installer = createRequire(import.meta.url).resolve('electron/install.js');
} catch {
  process.exit(0);
}
const result = spawnSync(process.execPath, [installer], { stdio: 'inherit' });
if (result.status !== 0) {
  console.warn(
    'relay-agent: the Electron binary could not be downloaded (is github.com reachable?). Everything but npm start, ' +
      'npm run dist and the Electron test works without it; fetch it later with: npx install-electron',
  );
}
