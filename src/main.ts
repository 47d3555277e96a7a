/**
 * The composition root: the one place that builds adapters (service worker registration, and
 * later storage, peer links and workers), wires them into services, and mounts the UI.
 */
import { mount } from 'svelte';
import { registerSW } from 'virtual:pwa-register';
import { IdentityService } from './app/identity.ts';
import { Runtime, takeInviteFragment } from './app/runtime.svelte.ts';
import { openBackpactDB } from './store/db.ts';
import App from './ui/App.svelte';
import { servicesContext, type Services } from './ui/services.ts';
import { IdentityState } from './ui/state/identity.svelte.ts';
import { PwaState } from './ui/state/pwa.svelte.ts';
import { Router } from './ui/state/router.svelte.ts';
import './ui/app.css';

// Before anything else: an invite's secret must not stay in the address bar.
const inviteFragment = takeInviteFragment();
const pwa = new PwaState();
const router = new Router('welcome');

if ('serviceWorker' in navigator) {
  const updateSW = registerSW({
    immediate: true,
    onNeedRefresh() {
      pwa.setUpdateHandler(async () => {
        // workbox-window reloads only when this page was already controlled at registration;
        // after a first visit it would not, so reload ourselves once the new worker takes over.
        navigator.serviceWorker.addEventListener('controllerchange', () => location.reload(), { once: true });
        await updateSW(true);
      });
    },
    onOfflineReady() {
      pwa.offlineReady = true;
    },
  });
}

// A newer version of the app opened in another tab needs to upgrade the database: this tab's
// connection is closed so the upgrade can run, and the tab reloads into the new version.
const db = await openBackpactDB(undefined, () => location.reload());
const identityService = new IdentityService(db);
const identity = new IdentityState(identityService);
const runtime = new Runtime(db);
runtime.pendingInvite = inviteFragment;
if (inviteFragment) router.go('partners');
identityService.onReady((local) => void runtime.startFor(local));
// An invite link opened in a tab where the app already runs arrives as a hash change.
addEventListener('hashchange', () => {
  const fragment = takeInviteFragment();
  if (!fragment) return;
  runtime.pendingInvite = fragment;
  router.go(identity.current ? 'partners' : 'welcome');
});
void identity.load();

const services: Services = { router, pwa, identity, runtime };
// A handle for the browser's developer tools and for end-to-end tests. It grants nothing that
// same-origin script could not already reach (IndexedDB, the service worker).
Object.defineProperty(globalThis, 'backpactDebug', { value: { runtime, identity: identityService } });
const target = document.getElementById('app');
if (!target) throw new Error('index.html has no #app element');
mount(App, { target, context: servicesContext(services) });
