// Starts the Electron binary with this script's arguments (`npm start` passes "."), or
// says plainly why it cannot: installs made with ELECTRON_SKIP_BINARY_DOWNLOAD=1, or where
// github.com is unreachable, have the electron package without its binary.
import { spawn } from 'node:child_process';
import { electronBinary, MISSING_BINARY_HELP } from './electron-binary';

const binary = electronBinary();
if (!binary) {
  console.error(`start-electron: ${MISSING_BINARY_HELP}`);
  process.exit(1);
}

// Inherited from a shell that ran Electron as Node, this would start a bare Node instead of the app.
const env = { ...process.env };
delete env.ELECTRON_RUN_AS_NODE;

const child = spawn(binary, process.argv.slice(2), { stdio: 'inherit', env });
child.on('error', (err) => {
  console.error(`start-electron: could not start ${binary}: ${err.message}`);
  process.exit(1);
});
// Ctrl+C reaches the whole process group already; a plain kill of this wrapper must not orphan the app.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (child.exitCode === null) child.kill(signal);
  });
}
child.on('exit', (code, signal) => {
  process.exit(code ?? (signal ? 1 : 0));
});
