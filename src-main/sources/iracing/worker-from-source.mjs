// Runs worker.ts without a build (under tsx or vitest). Node 20 ignores `--import tsx` in a
// worker's execArgv, so the thread registers tsx itself before loading the TypeScript.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
