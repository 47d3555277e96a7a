/**
 * Partnerships in the app, two browser contexts as two devices: invite by link, agree terms,
 * both keep the same doubly-signed agreement, and the partnership reconnects after reloads.
 */
import { parseSignedAgreement } from '../src/core/agreement/index.ts';
import { expect, test } from './fixtures.ts';
import { createIdentity } from './helpers/onboarding.ts';
import { makeInvite, openPartners, storedAgreements } from './helpers/partners.ts';

test('a friend opens an invite link, accepts, and both keep the same signed agreement across reloads', async ({ openPeers }) => {
  const [alice, bob] = await openPeers(2);
  await createIdentity(alice.page, 'Alice');
  const link = await makeInvite(alice.page, 5);

  await bob.page.goto(link);
  // The secret leaves the address bar at once.
  await expect.poll(() => bob.page.url()).not.toContain('#invite');
  await expect(bob.page.getByRole('status').filter({ hasText: 'A friend invited you' })).toBeVisible();
  await createIdentity(bob.page, 'Bob', { landing: 'Partners' });

  await expect(bob.page.getByTestId('inviter-name')).toHaveText('Alice', { timeout: 30_000 });
  await expect(bob.page.getByTestId('offer-quota')).toHaveText('5 GB');
  const bobSees = (await bob.page.getByTestId('join-safety-code').textContent())!.trim();
  await expect(alice.page.getByTestId('invite-safety-code')).toHaveText(bobSees);
  await bob.page.getByRole('button', { name: 'Accept' }).click();

  for (const [page, other] of [[alice.page, 'Bob'], [bob.page, 'Alice']] as const) {
    const card = page.getByTestId('partner').filter({ hasText: other });
    await expect(card).toBeVisible({ timeout: 30_000 });
    await expect(card.getByTestId('partner-quota')).toHaveText('5 GB');
    await expect(card.getByTestId('partner-safety-code')).toHaveText(bobSees);
  }
  await expect(alice.page.getByTestId('invite-status')).toContainText('You are now partners.');

  const [a] = await storedAgreements(alice.page);
  const [b] = await storedAgreements(bob.page);
  expect(a).toEqual(b);
  const signed = parseSignedAgreement(a); // both signatures verify
  expect(signed.terms).toMatchObject({ revision: 1, auditIntervalS: 86400, graceS: 14 * 86400, endsAt: null });
  expect(signed.terms.a.name).toBe('Alice');
  expect(signed.terms.b.name).toBe('Bob');
  expect(signed.terms.a.holdsBytes).toBe(5e9);

  await Promise.all([alice.page.reload(), bob.page.reload()]);
  for (const [page, other] of [[alice.page, 'Bob'], [bob.page, 'Alice']] as const) {
    await openPartners(page);
    const card = page.getByTestId('partner').filter({ hasText: other });
    await expect(card.getByTestId('partner-online')).toHaveText('Connected', { timeout: 30_000 });
  }
});
