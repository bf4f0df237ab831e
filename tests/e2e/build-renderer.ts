// Vitest global setup for the end-to-end tests: builds the dashboard once, as
// `npm run build:renderer` does, so the relay serves the current sources.
import { build } from 'vite';

export default async function setup(): Promise<void> {
  await build({ configFile: new URL('../../vite.config.ts', import.meta.url).pathname, logLevel: 'warn' });
}
