/**
 * Audits run by the service worker: after a backup, a periodic sync fired through CDP makes the
 * worker challenge every partner (over the page's links), verify the answers against the Merkle
 * roots in the manifest, and record the verdicts, which the Partners screen shows. A partner whose
 * copy was damaged is marked failing at its next round.
 */
import { expect, test } from './fixtures.ts';
import { backedUpToAnaAndBen, firePeriodicSync, makeAuditsDue } from './helpers/audits.ts';
import { corruptHeldShards } from './helpers/backup.ts';
import { openPartners } from './helpers/partners.ts';

test('the service worker audits partners after a backup and catches a damaged copy', async ({ openPeers }) => {
  const [owner, ana, ben] = await openPeers(3);
  await backedUpToAnaAndBen(owner, ana, ben);

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
