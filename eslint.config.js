// Lint configuration. Besides the usual TypeScript and Svelte rules it enforces the layering in
// docs/DESIGN.md §2: src/core is pure and must run in Node and in workers, so it may not use
// browser-only globals or import adapter packages. scripts/lint-rule.test.ts proves the rule fires.
import js from '@eslint/js';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** Browser-only globals that src/core must not touch (it runs in Node and in Web Workers). */
export const CORE_FORBIDDEN_GLOBALS = [
  'window', 'document', 'navigator', 'indexedDB', 'IDBKeyRange', 'localStorage', 'sessionStorage',
  'RTCPeerConnection', 'RTCDataChannel', 'RTCSessionDescription', 'RTCIceCandidate', 'WebSocket',
  'location', 'history', 'caches', 'Notification', 'ServiceWorkerRegistration', 'alert', 'fetch',
];

/** Packages that belong to adapters, never to src/core. */
export const CORE_FORBIDDEN_PACKAGES = [
  'idb', 'simple-peer', '@thaunknown/simple-peer', 'comlink', 'svelte', 'ws', 'workbox-*', 'virtual:*',
];

const coreMessage = 'src/core must stay pure (Node and workers): move browser code to an adapter (src/store, src/p2p, src/workers, src/ui).';

export default tseslint.config(
  { ignores: ['dist/', 'dev-dist/', 'node_modules/', 'test-results/', 'playwright-report/', '.tmp/', '.bench-build/', 'scripts/fixtures/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...svelte.configs['flat/recommended'],
  {
    languageOptions: { globals: { ...globals.browser, ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: { parserOptions: { parser: tseslint.parser, extraFileExtensions: ['.svelte'] } },
  },
  {
    // App services keep private Maps and Sets on purpose and publish state by assigning `$state`
    // fields; making every internal collection reactive would only cost.
    files: ['src/app/**/*.ts'],
    rules: { 'svelte/prefer-svelte-reactivity': 'off' },
  },
  {
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-globals': ['error', ...CORE_FORBIDDEN_GLOBALS.map((name) => ({ name, message: coreMessage }))],
      'no-restricted-properties': ['error', ...['globalThis', 'self'].flatMap((object) =>
        CORE_FORBIDDEN_GLOBALS.map((property) => ({ object, property, message: coreMessage })))],
      'no-restricted-imports': ['error', {
        patterns: [
          { group: CORE_FORBIDDEN_PACKAGES, message: coreMessage },
          { group: ['**/p2p/**', '**/store/**', '**/ui/**', '**/workers/**', '**/sw/**'], message: coreMessage },
        ],
      }],
    },
  },
);
