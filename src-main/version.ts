import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const pkg = require('../package.json') as { version: string; name: string };

export const APP_VERSION: string = pkg.version;
export const APP_NAME: string = pkg.name;
