/**
 * Onboarding in the app: create an identity (phrase shown once, three words confirmed), restore
 * one from the phrase on another device, and the phrase shown again only when kept and confirmed.
 */
import { expect, test } from './fixtures.ts';
import { createIdentity, myIdentity, restoreIdentity } from './helpers/onboarding.ts';

test('the phrase confirmation refuses wrong words and accepts the right ones', async ({ openPeers }) => {
  const [{ page }] = await openPeers(1);
  await page.getByRole('button', { name: 'Create my backup identity' }).click();
  await page.getByLabel('What should your partners call you?').fill('Ada');
  await page.getByRole('button', { name: 'Continue' }).click();
  const words = await page.getByTestId('phrase-word').allTextContents();
  expect(new Set(words).size).toBeGreaterThan(12);
  const next = page.getByRole('button', { name: 'Continue' });
  await expect(next).toBeDisabled();
  await page.getByLabel('I have written down all 24 words').check();
  await next.click();

  const inputs = await page.getByLabel(/^Word #\d+$/).all();
  expect(inputs).toHaveLength(3);
  const positions = await Promise.all(inputs.map(async (i) => Number(/\d+/.exec((await i.getAttribute('id'))!)![0])));
  // Wrong: the first answer is a neighbouring word, the others are right.
  await inputs[0]!.fill(words[(positions[0]! + 1) % 24] === words[positions[0]!] ? 'zoo' : words[(positions[0]! + 1) % 24]!);
  await inputs[1]!.fill(words[positions[1]!]!);
  await inputs[2]!.fill(words[positions[2]!]!.toUpperCase());
  await page.getByRole('button', { name: 'Create my identity' }).click();
  await expect(page.getByRole('alert').filter({ hasText: 'Some words do not match' })).toBeVisible();
  await expect(page.getByText(`That is not word #${positions[0]! + 1}.`)).toBeVisible();
  await expect(inputs[0]!).toHaveAttribute('aria-invalid', 'true');
  // Still on the confirmation step, nothing created.
  await expect(page.getByRole('heading', { level: 1, name: 'Create your backup identity' })).toBeVisible();
  expect(await page.evaluate(async () => {
    const db = await new Promise<IDBDatabase>((r) => { const q = indexedDB.open('backpact'); q.onsuccess = () => r(q.result); });
    return new Promise((r) => { const g = db.transaction('kv').objectStore('kv').get('identity'); g.onsuccess = () => r(g.result ?? null); });
  })).toBeNull();

  await inputs[0]!.fill(` ${words[positions[0]!]} `);
  await page.getByRole('button', { name: 'Create my identity' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Home' })).toBeVisible();
});

test('the same phrase gives the same identity on a new device; the phrase is not kept unless asked', async ({ openPeers }) => {
  const [a, b] = await openPeers(2);
  const phrase = await createIdentity(a.page, 'Grace');
  const mine = await myIdentity(a.page);
  expect(mine.safetyCode).toMatch(/^\d{4} \d{4} \d{4}$/);

  // Survives a reload: no onboarding again.
  await a.page.reload();
  await expect(a.page.getByRole('heading', { level: 1, name: 'Settings' })).toBeVisible();
  await a.page.getByRole('button', { name: 'Show recovery phrase…' }).click();
  await a.page.getByRole('button', { name: 'Show my recovery phrase' }).click();
  await expect(a.page.getByRole('status').filter({ hasText: 'not kept on this device' })).toBeVisible();

  await restoreIdentity(b.page, phrase, 'Grace again');
  const restored = await myIdentity(b.page);
  expect(restored.peerId).toBe(mine.peerId);
  expect(restored.safetyCode).toBe(mine.safetyCode);
});

test('a restore with a mistyped word says which word is wrong', async ({ openPeers }) => {
  const [a, b] = await openPeers(2);
  const phrase = await createIdentity(a.page, 'Linus', { keepPhrase: true });
  // Kept on request: shown again after confirmation.
  await a.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Settings' }).click();
  await a.page.getByRole('button', { name: 'Show recovery phrase…' }).click();
  await a.page.getByRole('button', { name: 'Show my recovery phrase' }).click();
  await expect(a.page.getByTestId('phrase-word')).toHaveText(phrase);

  await b.page.getByRole('button', { name: 'I have a recovery phrase' }).click();
  const typo = [...phrase];
  typo[6] = 'notaword';
  await b.page.getByLabel('Your 24 words, in order, separated by spaces').fill(typo.join(' '));
  await b.page.getByRole('button', { name: 'Restore my identity' }).click();
  await expect(b.page.getByRole('alert')).toContainText('7');
  await expect(b.page.getByRole('alert')).toContainText('notaword');
  // Two valid words swapped: the checksum catches it.
  const swapped = [...phrase];
  [swapped[0], swapped[1]] = [swapped[1]!, swapped[0]!];
  if (swapped[0] !== phrase[0]) {
    await b.page.getByLabel('Your 24 words, in order, separated by spaces').fill(swapped.join(' '));
    await b.page.getByRole('button', { name: 'Restore my identity' }).click();
    await expect(b.page.getByRole('alert')).toContainText(/check/i);
  }
});
