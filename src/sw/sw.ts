/// <reference lib="webworker" />
/**
 * Backpact's service worker. It serves the app shell offline from a precache whose file list is
 * generated at build time (vite-plugin-pwa `injectManifest` fills `self.__WB_MANIFEST`), and it
 * owns the audit schedule and verdicts. A new version waits until the user accepts the update prompt.
 */
import { cleanupOutdatedCaches, createHandlerBoundToURL, precacheAndRoute } from 'workbox-precaching';
import { NavigationRoute, registerRoute } from 'workbox-routing';
import { RelayAuditTransport, signalingUrlFor } from '../app/audit-relay.ts';
import { AuditRunner, type AuditTransport } from '../app/audits.ts';
import { storedLinkIdentity } from '../app/identity-signer.ts';
import { ownerNotificationText, runScrub, updateWarnings } from '../app/health-worker.ts';
import { openBackpactDB } from '../store/db.ts';

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

// ---------------------------------------------------------------------------------------------
// Audits: this worker owns the schedule and the verdicts (docs/DESIGN.md §8). It runs due rounds
// on `periodicsync` where the browser has it, and on a tick from any open page otherwise.
// Challenges travel over an open page's data channel (workers have no RTCPeerConnection), or,
// when no page can carry them, as signed relayed messages through the signaling server.
// ---------------------------------------------------------------------------------------------

/** Tag of the periodic background sync that runs audits. */
const AUDIT_SYNC_TAG = 'backpact-audit';
/** How long a page may take to carry one challenge and its answer. */
const DELIVERY_TIMEOUT_MS = 60_000;

interface PeriodicSyncEvent extends ExtendableEvent {
  readonly tag: string;
}

type Challenge = Parameters<AuditTransport>[1];

/** Asks open pages, one after another, to carry a challenge to the partner; null if none can. */
async function deliverThroughPage(partnerKey: Uint8Array, challenge: Challenge): Promise<Uint8Array | null> {
  const windows = await self.clients.matchAll({ type: 'window' });
  for (const client of windows) {
    const channel = new MessageChannel();
    const reply = new Promise<Uint8Array | null>((resolve) => {
      const timer = setTimeout(() => resolve(null), DELIVERY_TIMEOUT_MS);
      channel.port1.onmessage = (e: MessageEvent) => {
        clearTimeout(timer);
        const answer = (e.data as { answer?: unknown } | null)?.answer;
        resolve(answer instanceof Uint8Array ? answer : null);
      };
    });
    client.postMessage({ type: 'audit-deliver', partnerKey, challenge }, [channel.port2]);
    const answer = await reply;
    if (answer) return answer;
  }
  return null;
}

let auditsRunning: Promise<void> | null = null;

/** Runs the due rounds once at a time, then tells open pages to show the new results. */
function runAudits(): Promise<void> {
  auditsRunning ??= (async () => {
    const db = await openBackpactDB();
    let relay: RelayAuditTransport | null = null;
    try {
      const identity = await storedLinkIdentity(db);
      relay = identity ? new RelayAuditTransport({ url: signalingUrlFor(self.location.href), identity }) : null;
      const viaRelay = relay?.transport;
      const transport: AuditTransport = async (partnerKey, challenge) =>
        (await deliverThroughPage(partnerKey, challenge)) ?? (viaRelay ? await viaRelay(partnerKey, challenge) : null);
      const results = await new AuditRunner(db, transport).runDue();
      // Warnings before a drop: decided here, where the verdicts are (DESIGN §8).
      for (const n of await updateWarnings(db)) {
        const { title, body } = ownerNotificationText(n);
        await notify(title, body, `backpact-warn-${n.peerId}`);
      }
      const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
      for (const c of windows) c.postMessage({ type: 'audit-results', count: results.length });
    } finally {
      relay?.close();
      db.close();
      auditsRunning = null;
    }
  })();
  return auditsRunning;
}

/** Shows a system notification where the person allowed them; `tag` replaces an older one. */
async function notify(title: string, body: string, tag: string): Promise<void> {
  try {
    if (Notification.permission !== 'granted') return;
    await self.registration.showNotification(title, { body, tag, icon: '/icons/icon-192.png' });
  } catch {
    // Notifications unsupported or refused: the warning is shown in the app all the same.
  }
}

self.addEventListener('notificationclick', (event: NotificationEvent) => {
  event.notification.close();
  event.waitUntil((async () => {
    const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
    const open = windows[0];
    if (open) await open.focus();
    else await self.clients.openWindow('/');
  })());
});

// ---------------------------------------------------------------------------------------------
// Holder self-check (DESIGN §8): one bounded batch on every tick and periodic sync; a page (the
// person, or a test) may ask for a whole pass at once. Findings are queued for an open page to
// report to the owners over the links.
// ---------------------------------------------------------------------------------------------

let scrubRunning: Promise<void> | null = null;

function scrub(opts: { force?: boolean; untilPassDone?: boolean }, id?: string): Promise<void> {
  // Ticks from every open tab must not pile up batches: a plain one joins the scrub already queued.
  if (scrubRunning && !opts.force && !opts.untilPassDone && id === undefined) return scrubRunning;
  const run = async () => {
    const db = await openBackpactDB();
    try {
      const r = await runScrub(db, opts);
      const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
      for (const c of windows) c.postMessage({ type: 'scrub-results', id, checked: r.checked, found: r.found.length, passDone: r.passDone });
    } finally {
      db.close();
    }
  };
  const p: Promise<void> = (scrubRunning ?? Promise.resolve()).then(run, run).finally(() => {
    if (scrubRunning === p) scrubRunning = null;
  });
  scrubRunning = p;
  return p;
}

self.addEventListener('periodicsync', ((event: PeriodicSyncEvent) => {
  if (event.tag === AUDIT_SYNC_TAG) event.waitUntil(Promise.all([runAudits(), scrub({})]));
}) as EventListener);

self.addEventListener('message', (event: ExtendableMessageEvent) => {
  const data = event.data as { type?: unknown; id?: unknown; force?: unknown; untilPassDone?: unknown } | null;
  if (typeof data !== 'object' || data === null) return;
  if (data.type === 'audit-tick') event.waitUntil(Promise.all([runAudits(), scrub({})]));
  if (data.type === 'scrub-now') {
    event.waitUntil(scrub({ force: data.force === true, untilPassDone: data.untilPassDone === true }, typeof data.id === 'string' ? data.id : undefined));
  }
});
