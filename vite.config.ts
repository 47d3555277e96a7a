import { svelte } from '@sveltejs/vite-plugin-svelte';
import { resolve } from 'node:path';
import { defineConfig } from 'vite';
import { VitePWA } from 'vite-plugin-pwa';

/** Theme colour shared by the manifest and index.html. */
const THEME = '#0f4c5c';

export default defineConfig({
  plugins: [
    svelte(),
    VitePWA({
      // The service worker is ours (src/sw/sw.ts): audits live there later. vite-plugin-pwa only
      // injects the generated precache list into it, so the list is never kept by hand.
      strategies: 'injectManifest',
      srcDir: 'src/sw',
      filename: 'sw.ts',
      registerType: 'prompt',
      includeManifestIcons: false,
      injectRegister: false,
      injectManifest: {
        globPatterns: ['**/*.{js,css,html,svg,png,webmanifest}'],
        // The e2e harness page is a test entry point, not part of the offline shell.
        globIgnores: ['e2e-harness.html', 'assets/e2e-harness-*'],
      },
      manifest: {
        name: 'Backpact — backup with friends',
        short_name: 'Backpact',
        description: 'Back up your files to your friends’ devices, encrypted. Restore anywhere with your recovery phrase.',
        start_url: '/',
        scope: '/',
        display: 'standalone',
        background_color: '#f5f0e1',
        theme_color: THEME,
        icons: [
          { src: '/icons/icon-192.png', sizes: '192x192', type: 'image/png', purpose: 'any' },
          { src: '/icons/icon-512.png', sizes: '512x512', type: 'image/png', purpose: 'any' },
          { src: '/icons/maskable-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
        ],
      },
      devOptions: { enabled: true, type: 'module' },
    }),
  ],
  build: {
    target: 'es2022',
    sourcemap: true,
    rollupOptions: {
      input: {
        index: resolve(import.meta.dirname, 'index.html'),
        'e2e-harness': resolve(import.meta.dirname, 'e2e-harness.html'),
      },
    },
  },
  worker: { format: 'es' },
  server: {
    // `npm run dev` proxies the signaling socket to the server started beside Vite.
    proxy: { '/ws': { target: 'ws://127.0.0.1:8788', ws: true }, '/healthz': 'http://127.0.0.1:8788', '/config': 'http://127.0.0.1:8788' },
  },
});
