// Builds the dashboard (src-renderer) into dist/renderer, which the relay serves on its
// debug port and the desktop shell loads from disk: relative URLs (base './'), no inline
// script (the relay's CSP is script-src 'self'), no external resources.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));
const relayPort = process.env.RELAY_DEBUG_PORT ?? '8765';

export default defineConfig({
  root: here('./src-renderer'),
  base: './',
  // No React plugin: esbuild's own automatic JSX runtime is all the build needs (no fast refresh).
  esbuild: { jsx: 'automatic' },
  build: {
    outDir: here('./dist/renderer'),
    emptyOutDir: true,
    target: 'es2022',
    // Every asset a file of its own: a data: URL could fall foul of the relay's CSP.
    assetsInlineLimit: 0,
    // Chromium and Electron preload modules natively; the polyfill would only add bytes.
    modulePreload: { polyfill: false },
    rollupOptions: {
      onwarn(warning, warn) {
        // zod's comments confuse Rollup's annotation parser; harmless, and not ours to fix.
        if (warning.code === 'INVALID_ANNOTATION' && warning.id?.includes('node_modules')) return;
        warn(warning);
      },
      output: {
        // Libraries change less than the app: their own cacheable files.
        manualChunks(id) {
          if (!id.includes('node_modules')) return undefined;
          if (/node_modules\/(react|react-dom|scheduler)\//.test(id)) return 'react';
          return 'vendor';
        },
      },
    },
  },
  // `npx vite` during development: the API is the relay's, on its debug port.
  server: {
    host: '127.0.0.1',
    proxy: { '/api': { target: `http://127.0.0.1:${relayPort}`, changeOrigin: true } },
  },
});
