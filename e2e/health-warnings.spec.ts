/**
 * Partner health beyond audits (DESIGN §8): a holder's self-check (scrub) finds shards whose bytes
 * rotted in its IndexedDB and reports them to the owner, who records them for repair; and a
 * partner failing its audits makes both sides warned — the owner in the app and by a system
 * notification, the partner by a signed message it shows and notifies.
 */
import type { Page } from '@playwright/test';
import { expect, test } from './fixtures.ts';
import { firePeriodicSync, makeAuditsDue, readKv, setNotificationPermission, shownNotifications } from './helpers/audits.ts';
import { backUp, corruptHeldShards, deleteHeldShards, generateTree, heldShardCount, ownerWithPartners, type DebugGlobal } from './helpers/backup.ts';
import { openPartners } from './helpers/partners.ts';

/** Core PeerId of the owner's partner called `name`. */
async function partnerPeerId(page: Page, name: string): Promise<string> {
  return page.evaluate((n) => (globalThis as unknown as DebugGlobal).backpactDebug.runtime.backup!.partners.holders().find((h) => h.name === n)!.peerId, name);
}

async function openHome(page: Page): Promise<void> {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Home' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Home' })).toBeVisible();
}

test('a holder\'s self-check finds rotten shards and the owner records them for repair', async ({ openPeers, server }) => {
  const [owner, ben] = await openPeers(2);
  await ownerWithPartners(owner, [ben], ['Ben']);
  await generateTree(owner.page, [
    { path: 'a.bin', kind: 'file', size: 600_000, content: 'random', seed: 3 },
    { path: 'b.txt', kind: 'file', size: 100_000, content: 'text', seed: 4 },
  ]);
  await backUp(owner.page);
  const held = await heldShardCount(ben.page);
  expect(held).toBeGreaterThan(0);
  // Notifications are offered by a button once there is a partner, while the browser has not
  // asked yet; a choice made in the browser's settings is followed live.
  await openHome(owner.page);
  await setNotificationPermission(owner.page, 'prompt');
  const offer = owner.page.getByRole('button', { name: 'Turn on notifications' });
  await expect(offer).toBeVisible();
  await owner.context.grantPermissions(['notifications'], { origin: new URL(server.url).origin });
  await expect(offer).toHaveCount(0);

  // A clean pass first: everything checks out, nothing is reported.
  const clean = await ben.page.evaluate(() => (globalThis as unknown as DebugGlobal).backpactDebug.runtime.health!.scrubNow());
  expect(clean).toEqual({ checked: held, found: 0, passDone: true });

  // The disk rots: one byte of every shard flips behind the app's back.
  expect(await corruptHeldShards(ben.page)).toBe(held);
  const found = await ben.page.evaluate(() => (globalThis as unknown as DebugGlobal).backpactDebug.runtime.health!.scrubNow());
  expect(found).toEqual({ checked: held, found: held, passDone: true });

  // The owner gets the report over the link and keeps it for the repair.
  const benId = await partnerPeerId(owner.page, 'Ben');
  await expect.poll(async () => (await readKv<{ shards: string[]; reportedAt: number }>(owner.page, `damaged/${benId}`))?.shards.length ?? 0, { timeout: 30_000 }).toBe(held);
  const damaged = (await readKv<{ shards: string[]; reportedAt: number }>(owner.page, `damaged/${benId}`))!;
  expect(damaged.shards.every((s) => /^[0-9a-f]{64}$/.test(s))).toBe(true);
  expect(damaged.reportedAt).toBeGreaterThan(0);
  // …and Ben's queue is empty once the owner acknowledged it.
  await expect.poll(async () => (await ben.page.evaluate(async () => {
    const db = await new Promise<IDBDatabase>((r) => { const q = indexedDB.open('backpact'); q.onsuccess = () => r(q.result); });
    return new Promise<number>((r) => { const g = db.transaction('kv').objectStore('kv').count(IDBKeyRange.bound('scrub/report/', 'scrub/report/\uffff')); g.onsuccess = () => r(g.result); });
  })), { timeout: 30_000 }).toBe(0);

  await openPartners(owner.page);
  const report = owner.page.getByTestId('partner').filter({ hasText: 'Ben' }).getByTestId('partner-damage-report');
  await expect(report).toContainText(`Ben reported ${held} damaged pieces of your backup`);
  await expect(report).toContainText('will be rebuilt');

  // Ben's app says so, and no longer serves the damaged shards as good.
  await openPartners(ben.page);
  await expect(ben.page.getByTestId('partner').filter({ hasText: 'Olivia' }).getByTestId('partner-damaged-here')).toContainText(`found ${held} damaged pieces of Olivia’s backup`);
  await expect(ben.page.getByTestId('scrub-status')).toContainText(`${held} damaged and reported`);
  const served = await owner.page.evaluate(async (shard) => {
    const rt = (globalThis as unknown as DebugGlobal).backpactDebug.runtime;
    const ben = rt.backup!.partners.holders().find((h) => h.name === 'Ben')!;
    const link = rt.network!.peers.linkTo(ben.signalingId)!;
    try {
      await link.request({ type: 'shard.get', shard }, { timeoutMs: 30_000 });
      return 'served';
    } catch (err) {
      return (err as { remoteCode?: string }).remoteCode ?? String(err);
    }
  }, damaged.shards[0]!);
  expect(served).toBe('not-found');
});

test('a partner failing its checks is warned, and so is the owner, in the app and by notification', async ({ openPeers, server }) => {
  const [owner, ana] = await openPeers(2);
  for (const p of [owner, ana]) await p.context.grantPermissions(['notifications'], { origin: new URL(server.url).origin });
  await ownerWithPartners(owner, [ana], ['Ana']);
  await generateTree(owner.page, [{ path: 'c.bin', kind: 'file', size: 500_000, content: 'random', seed: 5 }]);
  await backUp(owner.page);

  // A first round passes: no warning anywhere.
  await firePeriodicSync(owner.page);
  await openPartners(owner.page);
  const health = owner.page.getByTestId('partner').filter({ hasText: 'Ana' }).getByTestId('partner-health');
  await expect(health).toHaveAttribute('data-state', 'healthy', { timeout: 30_000 });
  await openHome(owner.page);
  await expect(owner.page.getByTestId('health-warning')).toHaveCount(0);

  // Ana throws the data away; the next round catches it.
  expect(await deleteHeldShards(ana.page)).toBeGreaterThan(0);
  await makeAuditsDue(owner.page);
  await firePeriodicSync(owner.page);

  // Owner: a banner on the home screen with the date it will stop using Ana, and a notification.
  const banner = owner.page.getByTestId('health-warning');
  await expect(banner).toHaveAttribute('data-level', 'failing', { timeout: 30_000 });
  await expect(banner).toContainText('Ana’s copy of your backup failed a check on');
  await expect(banner).toContainText('Backpact is rebuilding the pieces Ana kept with another partner');
  await expect(banner).toContainText('Backpact will stop using Ana.');
  await expect.poll(async () => (await shownNotifications(owner.page)).map((n) => n.title), { timeout: 30_000 }).toContain('Ana failed a check');
  await openPartners(owner.page);
  await expect(owner.page.getByTestId('partner').filter({ hasText: 'Ana' }).getByTestId('partner-warning')).toHaveAttribute('data-level', 'failing');

  // Ana: the signed notice arrives over the link, is shown, and notified.
  await openPartners(ana.page);
  const notice = ana.page.getByTestId('partner').filter({ hasText: 'Olivia' }).getByTestId('partner-received-warning');
  await expect(notice).toHaveAttribute('data-level', 'failing', { timeout: 30_000 });
  await expect(notice).toContainText('Olivia’s checks of the data you keep for them are failing on this device');
  await expect.poll(async () => (await shownNotifications(ana.page)).map((n) => n.title), { timeout: 30_000 }).toContain('Olivia’s checks are failing');
  await openHome(ana.page);
  await expect(ana.page.getByTestId('received-warning')).toHaveAttribute('data-level', 'failing');
  const oliviaId = await ana.page.evaluate(() => (globalThis as unknown as DebugGlobal).backpactDebug.runtime.partnerships!.partners.find((p) => p.name === 'Olivia')!.peerId);
  const stored = await readKv<{ level: string; sig: string; dropAt: number }>(ana.page, `warn/in/${oliviaId}`);
  expect(stored?.level).toBe('failing');
  expect(stored?.sig).toMatch(/^[0-9a-f]{128}$/);
  expect(stored?.dropAt).toBeGreaterThan(Date.now());

  // Once per state change: another failed round notifies nobody again.
  const before = (await shownNotifications(owner.page)).length;
  const memo = await readKv<{ memo: { level: string }; outgoing: unknown }>(owner.page, `warn/state/${await partnerPeerId(owner.page, 'Ana')}`);
  expect(memo?.memo.level).toBe('failing');
  expect(memo?.outgoing).toBeNull();
  await owner.page.evaluate(async () => {
    const reg = await navigator.serviceWorker.ready;
    for (const n of await reg.getNotifications()) n.close();
  });
  await makeAuditsDue(owner.page);
  await firePeriodicSync(owner.page);
  // The page redraws the timeline only after the worker's run (verdicts, then warnings) ended.
  await openPartners(owner.page);
  await expect(owner.page.getByRole('img', { name: /Checks of Ana: 1 passed, 2 failed/ })).toBeVisible({ timeout: 30_000 });
  expect(before).toBeGreaterThan(0);
  expect(await shownNotifications(owner.page)).toEqual([]);

  // At phone width the warning, the chart and its table fit without sideways scrolling.
  await owner.page.setViewportSize({ width: 360, height: 740 });
  const noSideways = () => owner.page.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth);
  await expect(owner.page.getByRole('img', { name: /Checks of Ana/ })).toBeVisible();
  await owner.page.getByText('Show the checks as a table').first().click();
  const table = owner.page.getByRole('table', { name: 'Checks of Ana, newest first' });
  await expect(table.getByRole('row')).toHaveCount(4);
  await expect(table.getByRole('row').nth(1)).toContainText('Failed');
  expect(await noSideways()).toBe(true);
  await openHome(owner.page);
  await expect(owner.page.getByTestId('health-warning')).toBeVisible();
  expect(await noSideways()).toBe(true);
});
