/** Drives the service worker's audits from a test: fire the periodic sync, make rounds due. */
import type { Page } from '@playwright/test';

/** Fires the service worker's `periodicsync` for the audit tag, as the browser would (CDP). */
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
