/** Helpers of the audit and health tests: drive the service worker's schedule and read `kv`. */
import type { Page } from '@playwright/test';

/** Fires the service worker's `periodicsync` for the audit tag, as the browser would. */
export async function firePeriodicSync(page: Page): Promise<void> {
  const cdp = await page.context().newCDPSession(page);
  const registrationId = new Promise<string>((resolve) => {
    cdp.on('ServiceWorker.workerRegistrationUpdated', (e: { registrations: { registrationId: string; isDeleted: boolean }[] }) => {
      const live = e.registrations.find((r) => !r.isDeleted);
      if (live) resolve(live.registrationId);
    });
  });
  await cdp.send('ServiceWorker.enable');
  const origin = new URL(page.url()).origin;
  await cdp.send('ServiceWorker.dispatchPeriodicSyncEvent', { origin, registrationId: await registrationId, tag: 'backpact-audit' });
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

/** Reads `kv[key]` from the page's IndexedDB (undefined when absent). */
export async function readKv<T = unknown>(page: Page, key: string): Promise<T | undefined> {
  return page.evaluate(async (k) => {
    const db = await new Promise<IDBDatabase>((r) => { const q = indexedDB.open('backpact'); q.onsuccess = () => r(q.result); });
    return new Promise<unknown>((r) => { const g = db.transaction('kv').objectStore('kv').get(k); g.onsuccess = () => r(g.result); });
  }, key) as Promise<T | undefined>;
}

/** Deletes every shard `holder` keeps (a partner that lost or threw away the data). */
export async function deleteHeldShards(holder: Page): Promise<number> {
  return holder.evaluate(async () => {
    const db = await new Promise<IDBDatabase>((r) => { const q = indexedDB.open('backpact'); q.onsuccess = () => r(q.result); });
    const tx = db.transaction('held', 'readwrite');
    const store = tx.objectStore('held');
    const n = await new Promise<number>((r) => { const g = store.count(); g.onsuccess = () => r(g.result); });
    store.clear();
    await new Promise((r) => (tx.oncomplete = r));
    return n;
  });
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
