/**
 * Helpers of the audit end-to-end tests: fire the service worker's periodic sync as the browser
 * would (through CDP), with or without an app page open, make rounds due, and read what the
 * worker recorded.
 */
import { expect, type BrowserContext, type CDPSession, type Page, type Worker } from '@playwright/test';
import type { Peer } from '../fixtures.ts';
import { backUp, generateTree, ownerWithPartners } from './backup.ts';
import { openPartners } from './partners.ts';

/** Tag of the audit periodic sync (src/app/audit-bridge.ts). */
export const AUDIT_SYNC_TAG = 'backpact-audit';

/** Fires `periodicsync` for the registration of `origin` through a CDP session of a page. */
async function dispatchPeriodicSync(cdp: CDPSession, origin: string): Promise<void> {
  const registrationId = new Promise<string>((resolve) => {
    cdp.on('ServiceWorker.workerRegistrationUpdated', (e: { registrations: { registrationId: string; scopeURL: string; isDeleted: boolean }[] }) => {
      const live = e.registrations.find((r) => !r.isDeleted && r.scopeURL.startsWith(origin));
      if (live) resolve(live.registrationId);
    });
  });
  await cdp.send('ServiceWorker.enable');
  await cdp.send('ServiceWorker.dispatchPeriodicSyncEvent', { origin, registrationId: await registrationId, tag: AUDIT_SYNC_TAG });
}

/** Fires the service worker's `periodicsync` for the audit tag while `page` is open. */
export async function firePeriodicSync(page: Page): Promise<void> {
  const cdp = await page.context().newCDPSession(page);
  await dispatchPeriodicSync(cdp, new URL(page.url()).origin);
  await cdp.detach();
}

/**
 * Fires the audit `periodicsync` in `context` while none of its pages is open, as the browser does
 * for a closed app. CDP's ServiceWorker domain exists only on page targets (the browser and the
 * service-worker targets answer "'ServiceWorker.enable' wasn't found"), so this opens a blank tab
 * as a handle and closes it again: the tab never loads the app and is no client of the worker.
 */
export async function firePeriodicSyncWithNoAppOpen(context: BrowserContext, origin: string): Promise<void> {
  expect(context.pages()).toHaveLength(0);
  const tab = await context.newPage();
  try {
    expect(tab.url()).toBe('about:blank');
    const cdp = await context.newCDPSession(tab);
    await dispatchPeriodicSync(cdp, origin);
    await cdp.detach();
  } finally {
    await tab.close();
  }
}

/** The latest service worker Playwright saw in `context`, or null (it may have been stopped since). */
export function serviceWorkerOf(context: BrowserContext): Worker | null {
  return context.serviceWorkers().at(-1) ?? null;
}

/** What the worker recorded for each partner (`kv/audit/*`), read inside the worker itself. */
export async function recordedAudits(sw: Worker): Promise<{ peerId: string; results: string[] }[]> {
  return sw.evaluate(async () => {
    const db = await new Promise<IDBDatabase>((r) => {
      const q = indexedDB.open('backpact');
      q.onsuccess = () => r(q.result);
    });
    const store = db.transaction('kv').objectStore('kv');
    const all = await new Promise<{ peerId: string; history: { result: string }[] }[]>((r) => {
      const g = store.getAll(IDBKeyRange.bound('audit/', 'audit/\uffff'));
      g.onsuccess = () => r(g.result as { peerId: string; history: { result: string }[] }[]);
    });
    db.close();
    return all.map((s) => ({ peerId: s.peerId, results: s.history.map((h) => h.result) }));
  });
}

/** Pretends the audit interval has passed: every partner's next round is due now. */
export async function makeAuditsDue(page: Page): Promise<void> {
  await page.evaluate(async () => {
    const db = await new Promise<IDBDatabase>((r) => { const q = indexedDB.open('backpact'); q.onsuccess = () => r(q.result); });
    const tx = db.transaction('kv', 'readwrite');
    const store = tx.objectStore('kv');
    const keys = await new Promise<IDBValidKey[]>((r) => { const g = store.getAllKeys(); g.onsuccess = () => r(g.result); });
    for (const k of keys) {
      if (typeof k !== 'string' || !k.startsWith('audit/')) continue;
      const v = await new Promise<{ nextAt: number }>((r) => { const g = store.get(k); g.onsuccess = () => r(g.result); });
      store.put({ ...v, nextAt: 0 }, k);
    }
    await new Promise((r) => (tx.oncomplete = r));
  });
}

/**
 * Stops `context`'s service worker at once, as the browser may at any time (through a blank tab's
 * CDP session, see {@link firePeriodicSyncWithNoAppOpen}), and waits until CDP reports it stopped.
 */
export async function stopServiceWorker(context: BrowserContext): Promise<void> {
  const tab = await context.newPage();
  try {
    const cdp = await context.newCDPSession(tab);
    const status = new Map<string, string>();
    cdp.on('ServiceWorker.workerVersionUpdated', (e: { versions: { versionId: string; runningStatus: string }[] }) => {
      for (const v of e.versions) status.set(v.versionId, v.runningStatus);
    });
    await cdp.send('ServiceWorker.enable');
    await expect.poll(() => [...status.values()].includes('running'), { timeout: 10_000 }).toBe(true);
    await cdp.send('ServiceWorker.stopAllWorkers');
    await expect.poll(() => [...status.values()].every((s) => s === 'stopped'), { timeout: 30_000 }).toBe(true);
    await cdp.detach();
  } finally {
    await tab.close();
  }
}

/** Reads `kv[key]` from the page's IndexedDB (undefined when absent). */
export async function readKv<T = unknown>(page: Page, key: string): Promise<T | undefined> {
  return page.evaluate(async (k) => {
    const db = await new Promise<IDBDatabase>((r) => { const q = indexedDB.open('backpact'); q.onsuccess = () => r(q.result); });
    return new Promise<unknown>((r) => { const g = db.transaction('kv').objectStore('kv').get(k); g.onsuccess = () => r(g.result); });
  }, key) as Promise<T | undefined>;
}

/** Titles of the notifications the page's service worker registration currently shows. */
export async function shownNotifications(page: Page): Promise<{ title: string; body: string; tag: string }[]> {
  return page.evaluate(async () => {
    const reg = await navigator.serviceWorker.ready;
    return (await reg.getNotifications()).map((n) => ({ title: n.title, body: n.body, tag: n.tag }));
  });
}

/**
 * Sets the notification permission of the page's origin over CDP (`prompt` = not asked yet;
 * headless Chromium starts at `denied`). For `granted`, use Playwright's `grantPermissions`: a
 * CDP grant did not take effect in Chromium 156 here.
 */
export async function setNotificationPermission(page: Page, setting: 'granted' | 'denied' | 'prompt'): Promise<void> {
  const cdp = await page.context().newCDPSession(page);
  const { targetInfo } = (await cdp.send('Target.getTargetInfo')) as { targetInfo: { browserContextId?: string } };
  await cdp.send('Browser.setPermission', {
    permission: { name: 'notifications' }, setting, origin: new URL(page.url()).origin,
    ...(targetInfo.browserContextId ? { browserContextId: targetInfo.browserContextId } : {}),
  });
  await cdp.detach();
}

/**
 * The owner backs up a small tree to Ana and Ben and opens its Partners screen, where neither has
 * been checked yet: the start of every audit test.
 */
export async function backedUpToAnaAndBen(owner: Peer, ana: Peer, ben: Peer): Promise<void> {
  await ownerWithPartners(owner, [ana, ben], ['Ana', 'Ben']);
  await generateTree(owner.page, [
    { path: 'a.bin', kind: 'file', size: 700_000, content: 'random', seed: 1 },
    { path: 'b.txt', kind: 'file', size: 200_000, content: 'text', seed: 2 },
  ]);
  await backUp(owner.page);
  await openPartners(owner.page);
  for (const name of ['Ana', 'Ben']) {
    await expect(owner.page.getByTestId('partner').filter({ hasText: name }).getByTestId('partner-health')).toHaveAttribute('data-state', 'unchecked');
  }
}
