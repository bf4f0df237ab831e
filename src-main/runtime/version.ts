import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// The package.json sits two levels up from the sources (src-main/runtime/version.ts), two
// from the bundles (dist/main/main.js, also inside the asar) and three from dist/cli/chunks/*.mjs,
// so walk up and take the first package.json that is ours rather than hard-coding a depth.
function readOwnPackageJson(): { name: string; version: string; dir: string } {
  const start = path.dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = path.dirname(dir)) {
    let pkg: { name?: unknown; version?: unknown } | undefined;
    try {
      pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as typeof pkg;
    } catch {
      // None here (or not JSON): keep climbing.
      pkg = undefined;
    }
    if (pkg?.name === 'relay-agent' && typeof pkg.version === 'string') return { name: pkg.name, version: pkg.version, dir };
    if (path.dirname(dir) === dir) throw new Error(`version: no package.json named relay-agent above ${start}`);
  }
}

const pkg = readOwnPackageJson();

export const APP_VERSION: string = pkg.version;
export const APP_NAME: string = pkg.name;
/** The folder of the package.json: the repository root when run from the sources or the built CLI (dist/cli/). */
export const PACKAGE_DIR: string = pkg.dir;
