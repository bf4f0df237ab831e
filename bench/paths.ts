// Where the project is, found from this file whether it runs from bench/ (tsx) or from a
// bundle in dist/bench/: the first folder above with the project's package.json.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function findProjectDir(): string {
  const start = path.dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = path.dirname(dir)) {
    try {
      if ((JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string }).name === 'relay-agent') return dir;
    } catch {
      /* none here: keep climbing */
    }
    if (path.dirname(dir) === dir) throw new Error(`bench: no package.json named relay-agent above ${start}`);
  }
}

export const PROJECT_DIR = findProjectDir();
/** The recording kept in this repository (tests/fixtures/ibt/README.md says where it comes from). */
export const FIXTURE_IBT = path.join(PROJECT_DIR, 'tests', 'fixtures', 'ibt', 'valid_test_file.ibt');
