/**
 * Audits run by the service worker: after a backup, a periodic sync fired through CDP makes the
 * worker challenge every partner (over the page's links), verify the answers against the Merkle
 * roots in the manifest, and record the verdicts, which the Partners screen shows. A partner whose
 * copy was damaged is marked failing at its next round.
 */
import type { Page } from '@playwright/test';
import { expect, test } from './fixtures.ts';
import { backUp, corruptHeldShards, generateTree, ownerWithPartners } from './helpers/backup.ts';
import { openPartners } from './helpers/partners.ts';

/** Fires the service worker's `periodicsync` for the audit tag, as the browser would. */
async function firePeriodicSync(page: Page): Promise<void> {
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
async function makeAuditsDue(page: Page): Promise<void> {
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

test('the service worker audits partners after a backup and catches a damaged copy', async ({ openPeers }) => {
  const [owner, ana, ben] = await openPeers(3);
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

  await firePeriodicSync(owner.page);
  for (const name of ['Ana', 'Ben']) {
    const health = owner.page.getByTestId('partner').filter({ hasText: name }).getByTestId('partner-health');
    await expect(health).toHaveAttribute('data-state', 'healthy', { timeout: 30_000 });
    await expect(health).toContainText('last checked');
  }
  await expect(owner.page.getByRole('img', { name: /Checks of Ana: 1 passed, 0 failed/ })).toBeVisible();
  await owner.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Home' }).click();
  await expect(owner.page.getByTestId('last-verified')).toHaveText('Last verified just now.');
  await openPartners(owner.page);

  // Ben's copy rots; at the next round he is caught, Ana still passes.
  expect(await corruptHeldShards(ben.page)).toBeGreaterThan(0);
  await makeAuditsDue(owner.page);
  await firePeriodicSync(owner.page);
  const benHealth = owner.page.getByTestId('partner').filter({ hasText: 'Ben' }).getByTestId('partner-health');
  await expect(benHealth).toHaveAttribute('data-state', 'failing', { timeout: 30_000 });
  await expect(owner.page.getByRole('img', { name: /Checks of Ben: 1 passed, 1 failed/ })).toBeVisible();
  await expect(owner.page.getByTestId('partner').filter({ hasText: 'Ana' }).getByTestId('partner-health')).toHaveAttribute('data-state', 'healthy');
  await expect(owner.page.getByRole('img', { name: /Checks of Ana: 2 passed, 0 failed/ })).toBeVisible();
});
