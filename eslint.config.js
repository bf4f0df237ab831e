import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

// The import rules below hold the layering of DESIGN.md: src-shared is the contract
// and imports from nowhere else; the renderer never reaches into the main process;
// the relay core stays free of electron so it runs headless and under test.
const noElectron = { name: 'electron', message: 'The relay core must not import electron: keep it in the thin shell.' };

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'out/**', 'coverage/**', 'test-results/**', '.tmp/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node }, ecmaVersion: 2022, sourceType: 'module' },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
    },
  },
  {
    files: ['src-shared/**'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ group: ['../src-*', '../../src-*', '**/src-main/**', '**/src-gateway/**', '**/src-renderer/**'], message: 'src-shared imports from nowhere else.' }],
        paths: [noElectron],
      }],
    },
  },
  {
    files: ['src-renderer/**'],
    // The dashboard runs in a browser or Electron's renderer. A stray Node global in its .ts/.tsx
    // is caught by tsconfig.renderer.json (DOM types, no Node types), not by no-undef.
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ group: ['**/src-main/**', '**/src-gateway/**'], message: 'The renderer talks to the main process only through the typed bridge in src-shared.' }],
        paths: [noElectron],
      }],
    },
  },
  {
    files: ['src-main/**', 'src-gateway/**'],
    ignores: ['src-main/shell/**'],
    rules: { 'no-restricted-imports': ['error', { paths: [noElectron], patterns: [{ group: ['**/src-renderer/**'], message: 'The main process does not import the renderer.' }] }] },
  },
);
