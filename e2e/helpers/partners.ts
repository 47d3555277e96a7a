/** Drives the Partners screen like a person: make an invite, open one, accept it. */
import { expect, type Page } from '@playwright/test';

/** Opens the Partners screen from the main navigation. */
export async function openPartners(page: Page): Promise<void> {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Partners' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Partners' })).toBeVisible();
}

/** Creates an invite with `quotaGb` and returns the link text. */
export async function makeInvite(page: Page, quotaGb = 5): Promise<string> {
  await openPartners(page);
  await page.getByLabel('Space to give and get').first().selectOption(String(quotaGb));
  await page.getByRole('button', { name: 'Create invite link' }).click();
  const link = page.getByTestId('invite-link').first();
  await expect(link).toHaveValue(/#invite=v1\./);
  return link.inputValue();
}

/** Reads the signed agreements stored in this device's IndexedDB. */
export async function storedAgreements(page: Page): Promise<unknown[]> {
  return page.evaluate(async () => {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const q = indexedDB.open('backpact');
      q.onsuccess = () => resolve(q.result);
      q.onerror = () => reject(q.error);
    });
    return new Promise<unknown[]>((resolve, reject) => {
      const r = db.transaction('agreements').objectStore('agreements').getAll();
      r.onsuccess = () => resolve((r.result as { signed: unknown }[]).map((x) => x.signed));
      r.onerror = () => reject(r.error);
    });
  });
}

/** The signaling id (base64url public key) of the identity running on `page`. */
export async function signalingId(page: Page): Promise<string> {
  return page.evaluate(() => (globalThis as unknown as { backpactDebug: { runtime: { network: { signaling: { self: { id: string } } } } } }).backpactDebug.runtime.network.signaling.self.id);
}
