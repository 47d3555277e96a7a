/** Drives the onboarding UI like a person: create an identity, or restore one from a phrase. */
import { expect, type Page } from '@playwright/test';

/** Creates an identity through the UI; returns the phrase the app showed. */
export async function createIdentity(page: Page, name: string, opts: { keepPhrase?: boolean; landing?: string } = {}): Promise<string[]> {
  await page.getByRole('button', { name: 'Create my backup identity' }).click();
  await page.getByLabel('What should your partners call you?').fill(name);
  await page.getByRole('button', { name: 'Continue' }).click();
  const words = await page.getByTestId('phrase-word').allTextContents();
  expect(words).toHaveLength(24);
  if (opts.keepPhrase) await page.getByLabel('Also keep the phrase on this device (less safe)').check();
  await page.getByLabel('I have written down all 24 words').check();
  await page.getByRole('button', { name: 'Continue' }).click();
  for (const label of await page.getByLabel(/^Word #\d+$/).all()) {
    const n = Number(/\d+/.exec((await label.getAttribute('id')) ?? '')?.[0]);
    await label.fill(words[n]!);
  }
  await page.getByRole('button', { name: 'Create my identity' }).click();
  await expect(page.getByRole('heading', { level: 1, name: opts.landing ?? 'Home' })).toBeVisible();
  return words;
}

/** Restores an identity from `phrase` through the UI. */
export async function restoreIdentity(page: Page, phrase: string[], name: string, landing = 'Home'): Promise<void> {
  await page.getByRole('button', { name: 'I have a recovery phrase' }).click();
  await page.getByLabel('Your 24 words, in order, separated by spaces').fill(phrase.join(' '));
  await page.getByLabel('Your name for partners').fill(name);
  await page.getByRole('button', { name: 'Restore my identity' }).click();
  await expect(page.getByRole('heading', { level: 1, name: landing })).toBeVisible();
}

/** The safety code and peer id shown in Settings. */
export async function myIdentity(page: Page): Promise<{ peerId: string; safetyCode: string; name: string }> {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Settings' }).click();
  return {
    peerId: (await page.getByTestId('my-peer-id').textContent())!.trim(),
    safetyCode: (await page.getByTestId('my-safety-code').textContent())!.trim(),
    name: (await page.getByTestId('my-name').textContent())!.trim(),
  };
}
