/**
 * Invites that must not work: used twice, expired, with a changed secret, or naming another
 * inviter key. Each is refused with a clear message and no agreement is stored anywhere.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import type { Page } from '@playwright/test';
import { expect, test } from './fixtures.ts';
import { createIdentity } from './helpers/onboarding.ts';
import { makeInvite, openPartners, storedAgreements } from './helpers/partners.ts';

function b64urlDecode(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'base64url'));
}
function b64urlEncode(b: Uint8Array): string {
  return Buffer.from(b).toString('base64url');
}

/** Rewrites the invite in `link`: `edit` gets the 81 payload bytes (version, key 32, id 16, secret 32). */
function tamper(link: string, edit: (payload: Uint8Array) => void, expiry?: number): string {
  const m = /^(.*#invite=v1\.)([A-Za-z0-9_-]+)\.(\d+)$/.exec(link)!;
  const payload = b64urlDecode(m[2]!);
  edit(payload);
  return `${m[1]}${b64urlEncode(payload)}.${expiry ?? m[3]}`;
}

async function openInvite(page: Page, link: string, name: string): Promise<void> {
  await page.goto(link);
  await createIdentity(page, name, { landing: 'Partners' });
}

test('used, expired and tampered invites are refused with a clear message and store nothing', async ({ openPeers }) => {
  const [alice, bob, carol, dave, erin, frank] = await openPeers(6);
  await createIdentity(alice.page, 'Alice');

  // Used twice: Bob takes the invite; Carol's later attempt is refused.
  const link = await makeInvite(alice.page, 2);
  await openInvite(bob.page, link, 'Bob');
  await bob.page.getByRole('button', { name: 'Accept' }).click();
  await expect(bob.page.getByTestId('partner').filter({ hasText: 'Alice' })).toBeVisible({ timeout: 30_000 });
  await openInvite(carol.page, link, 'Carol');
  await expect(carol.page.getByRole('alert')).toContainText('already used', { timeout: 30_000 });

  // Expired: the link's expiry has passed (the server's mailbox would be gone too).
  const fresh = await makeInvite(alice.page, 2);
  await openInvite(dave.page, tamper(fresh, () => {}, Math.floor(Date.now() / 1000) - 60), 'Dave');
  await expect(dave.page.getByRole('alert')).toContainText('expired');

  // A changed secret, and a link naming someone else's key, run side by side.
  const forSecret = await makeInvite(alice.page, 2);
  const forKey = await makeInvite(alice.page, 2);
  const otherKey = ed25519.getPublicKey(ed25519.utils.randomSecretKey());
  await Promise.all([
    openInvite(erin.page, tamper(forSecret, (p) => { p[60] = p[60]! ^ 0xff; }), 'Erin'),
    openInvite(frank.page, tamper(forKey, (p) => p.set(otherKey, 1)), 'Frank'),
  ]);
  for (const page of [erin.page, frank.page]) {
    await expect(page.getByRole('alert')).toContainText('could not be confirmed', { timeout: 45_000 });
  }

  // Nothing but the one genuine agreement (Alice–Bob) exists anywhere.
  for (const p of [carol, dave, erin, frank]) {
    expect(await storedAgreements(p.page)).toEqual([]);
    await openPartners(p.page);
    await expect(p.page.getByText('No partners yet.')).toBeVisible();
  }
  expect(await storedAgreements(alice.page)).toHaveLength(1);
  expect(await storedAgreements(bob.page)).toHaveLength(1);
});
