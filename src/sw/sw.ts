/// <reference lib="webworker" />
/**
 * Backpact's service worker. It serves the app shell offline from a precache whose file list is
 * generated at build time (vite-plugin-pwa `injectManifest` fills `self.__WB_MANIFEST`), and it
 * will own the audit schedule. A new version waits until the user accepts the update prompt.
 */
import { cleanupOutdatedCaches, createHandlerBoundToURL, precacheAndRoute } from 'workbox-precaching';
import { NavigationRoute, registerRoute } from 'workbox-routing';

declare const self: ServiceWorkerGlobalScope;

precacheAndRoute(self.__WB_MANIFEST);
cleanupOutdatedCaches();

// Any navigation inside the app gets the cached shell, so a reload works offline. Server
// endpoints and the test harness page are never answered from the cache.
registerRoute(
  new NavigationRoute(createHandlerBoundToURL('index.html'), {
    denylist: [/^\/ws/, /^\/healthz/, /^\/metrics/, /^\/config/, /^\/e2e-harness/],
  }),
);

self.addEventListener('message', (event: ExtendableMessageEvent) => {
  const data: unknown = event.data;
  if (typeof data === 'object' && data !== null && (data as { type?: unknown }).type === 'SKIP_WAITING') {
    void self.skipWaiting();
  }
});

// The first version takes control of open pages at once, so the shell is cached and served
// offline from the very first visit; later versions wait for the user (see SKIP_WAITING).
self.addEventListener('activate', (event: ExtendableEvent) => {
  event.waitUntil(self.clients.claim());
});
