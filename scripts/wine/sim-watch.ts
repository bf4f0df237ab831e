// Runs on Windows (Node for Windows under Wine in the tests): the desktop app's "start with
// iRacing" watch, the real SimWatcher over the real SDK probe, without the Electron shell.
// Each answer it reports is appended to the file named by the first argument as a JSON line,
// since Node for Windows cannot write to a pipe under Wine.
//
//   node sim-watch.js <out-file> [<interval-ms>]
import fs from 'node:fs';
import { SimWatcher } from '../../src-main/desktop/sim-watcher';
import { SdkSimProbe } from '../../src-main/sources/iracing/sim-probe';

const [out, intervalText] = process.argv.slice(2);
if (!out) {
  process.stderr.write('usage: node sim-watch.js <out-file> [<interval-ms>]\n');
  process.exit(2);
}
const write = (entry: Record<string, unknown>) => fs.appendFileSync(out, `${JSON.stringify({ at: Date.now(), ...entry })}\n`);
const sdkProbe = new SdkSimProbe();
const verbose = process.env.SIM_WATCH_VERBOSE === '1';
const watcher = new SimWatcher({
  probe: {
    isRunning: async () => {
      const running = await sdkProbe.isRunning();
      if (verbose) write({ probed: running });
      return running;
    },
  },
  intervalMs: Number(intervalText ?? 250),
  onChange: (running) => write({ running }),
  log: (message) => write({ log: message }),
});
watcher.start();
write({ started: true });
process.once('SIGINT', () => {
  watcher.stop();
  write({ stopped: true });
  process.exit(0);
});
