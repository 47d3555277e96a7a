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

test('partners amend the amount (both sign the new version) and end with notice', async ({ openPeers }) => {
  const [alice, bob] = await openPeers(2);
  await createIdentity(alice.page, 'Alice');
  const link = await makeInvite(alice.page, 2);
  await bob.page.goto(link);
  await createIdentity(bob.page, 'Bob', { landing: 'Partners' });
  await bob.page.getByRole('button', { name: 'Accept' }).click();
  const aliceCard = alice.page.getByTestId('partner').filter({ hasText: 'Bob' });
  const bobCard = bob.page.getByTestId('partner').filter({ hasText: 'Alice' });
  await expect(aliceCard.getByTestId('partner-online')).toHaveText('Connected', { timeout: 30_000 });
  await expect(bobCard.getByTestId('partner-online')).toHaveText('Connected', { timeout: 30_000 });

  // Alice proposes 10 GB; Bob sees the proposal and accepts; both show version 2.
  await aliceCard.getByLabel('Change amount').selectOption('10');
  await aliceCard.getByRole('button', { name: 'Propose' }).click();
  await expect(bob.page.getByRole('heading', { name: 'New terms proposed' })).toBeVisible({ timeout: 30_000 });
  await expect(bob.page.getByTestId('offer-quota')).toHaveText('10 GB');
  await bob.page.getByRole('button', { name: 'Accept' }).click();
  await expect(aliceCard.getByTestId('partner-quota')).toHaveText('10 GB', { timeout: 30_000 });
  await expect(bobCard.getByTestId('partner-quota')).toHaveText('10 GB', { timeout: 30_000 });
  const [a2] = await storedAgreements(alice.page);
  expect(parseSignedAgreement(a2).terms).toMatchObject({ revision: 2, endsAt: null });
  expect(await storedAgreements(bob.page)).toEqual([a2]);

  // Bob ends it: notice cannot be refused; both keep the other's data until the notice ends.
  await bobCard.getByRole('button', { name: 'End partnership…' }).click();
  await bobCard.getByRole('button', { name: 'Yes, end it' }).click();
  await expect(aliceCard.getByRole('status')).toContainText('Ending', { timeout: 30_000 });
  await expect(bobCard.getByRole('status')).toContainText('Ending');
  const [a3] = await storedAgreements(alice.page);
  const ended = parseSignedAgreement(a3).terms;
  expect(ended.revision).toBe(3);
  expect(ended.endsAt! - ended.updatedAt).toBe(14 * 86400 * 1000);
  expect(await storedAgreements(bob.page)).toEqual([a3]);
});

test('a friend can counter the amount or decline; only agreed terms are stored', async ({ openPeers }) => {
  const [alice, bob, carol] = await openPeers(3);
  await createIdentity(alice.page, 'Alice');

  // Bob suggests 10 GB instead of 2 GB; Alice accepts the suggestion.
  const link = await makeInvite(alice.page, 2);
  await bob.page.goto(link);
  await createIdentity(bob.page, 'Bob', { landing: 'Partners' });
  await expect(bob.page.getByTestId('offer-quota')).toHaveText('2 GB', { timeout: 30_000 });
  await bob.page.getByText('Suggest a different amount').click();
  await bob.page.getByLabel('Space to give and get').first().selectOption('10');
  await bob.page.getByRole('button', { name: 'Suggest 10 GB' }).click();
  await expect(alice.page.getByText('Bob suggests 10 GB each way.')).toBeVisible({ timeout: 30_000 });
  await alice.page.getByRole('button', { name: 'Accept 10 GB' }).click();
  await expect(alice.page.getByTestId('partner').filter({ hasText: 'Bob' }).getByTestId('partner-quota')).toHaveText('10 GB', { timeout: 30_000 });
  await expect(bob.page.getByTestId('partner').filter({ hasText: 'Alice' }).getByTestId('partner-quota')).toHaveText('10 GB', { timeout: 30_000 });
  expect(parseSignedAgreement((await storedAgreements(bob.page))[0]).terms.b.holdsBytes).toBe(10e9);

  // Carol declines: Alice is told, and nobody stores anything new.
  const second = await makeInvite(alice.page, 5);
  await carol.page.goto(second);
  await createIdentity(carol.page, 'Carol', { landing: 'Partners' });
  await expect(carol.page.getByTestId('offer-quota')).toHaveText('5 GB', { timeout: 30_000 });
  await carol.page.getByRole('button', { name: 'Decline' }).click();
  await expect(alice.page.getByTestId('invite-status').first()).toContainText('Not accepted', { timeout: 30_000 });
  expect(await storedAgreements(carol.page)).toEqual([]);
  expect(await storedAgreements(alice.page)).toHaveLength(1);
});
