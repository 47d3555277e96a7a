/**
 * Audits with the owner's app closed: the browser fires the service worker's periodic sync while
 * no page of the owner is open, so no data channel exists. The worker signs its challenges and
 * sends them through the signaling server's relay; the partners' open pages check them and answer
 * in signed parts; the worker verifies the answers and records the verdicts, which the app shows
 * when it is opened again. A partner whose copy was damaged is caught the same way.
 */
import type { Page } from '@playwright/test';
import type { Peer } from './fixtures.ts';
import { expect, test } from './fixtures.ts';
import { backedUpToAnaAndBen, firePeriodicSyncWithNoAppOpen, makeAuditsDue, recordedAudits, serviceWorkerOf, stopServiceWorker } from './helpers/audits.ts';
import { corruptHeldShards, type DebugGlobal } from './helpers/backup.ts';
import { openPartners } from './helpers/partners.ts';

/** What a partner's page did: relayed audits answered, and audits answered by the holder overall. */
async function partnerCounters(page: Page): Promise<{ relayed: number; refused: number; invalid: number; holderAudits: number }> {
  return page.evaluate(() => {
    const rt = (globalThis as unknown as DebugGlobal).backpactDebug.runtime;
    const c = rt.auditRelay!.counters;
    return { relayed: c.answered, refused: c.refused, invalid: c.invalid, holderAudits: rt.holder!.counters.audits };
  });
}

/** Closes every page of the owner's browser context; its service worker stays registered. */
async function closeApp(owner: Peer): Promise<void> {
  for (const p of owner.context.pages()) await p.close();
  expect(owner.context.pages()).toHaveLength(0);
}

/** Waits until the worker has recorded `n` results for every one of `partners` partners. */
async function waitForRecorded(owner: Peer, partners: number, n: number): Promise<string[][]> {
  let last: string[][] = [];
  await expect.poll(async () => {
    const sw = serviceWorkerOf(owner.context);
    if (!sw) return 'no worker';
    const all = await recordedAudits(sw).catch(() => null);
    if (!all) return 'worker went away';
    last = all.map((a) => a.results);
    return all.length === partners && all.every((a) => a.results.length === n) ? 'recorded' : JSON.stringify(last);
  }, { timeout: 60_000 }).toBe('recorded');
  return last;
}

/** An owner with partners Ana and Ben, a backup done, no audit run yet. */
async function backedUp(openPeers: (n: 3) => Promise<[Peer, Peer, Peer]>): Promise<[Peer, Peer, Peer]> {
  const [owner, ana, ben] = await openPeers(3);
  await backedUpToAnaAndBen(owner, ana, ben);
  for (const p of [ana, ben]) expect(await partnerCounters(p.page)).toEqual({ relayed: 0, refused: 0, invalid: 0, holderAudits: 0 });
  return [owner, ana, ben];
}

test('the service worker audits through the relay with the app closed, and the app shows the results when reopened', async ({ openPeers, server }) => {
  test.setTimeout(240_000);
  const [owner, ana, ben] = await backedUp(openPeers);

  // The owner closes the app. With no page there is no data channel: only the relay can carry.
  const appUrl = owner.page.url();
  const origin = new URL(appUrl).origin;
  await closeApp(owner);
  await firePeriodicSyncWithNoAppOpen(owner.context, origin);
  for (const p of [ana, ben]) {
    await expect.poll(() => partnerCounters(p.page), { timeout: 60_000 }).toMatchObject({ relayed: 1, holderAudits: 1, refused: 0, invalid: 0 });
  }
  expect(await waitForRecorded(owner, 2, 1)).toEqual([['pass'], ['pass']]);
  // The worker saw no window of the app while it worked.
  expect(await serviceWorkerOf(owner.context)!.evaluate(async () => (await (self as unknown as { clients: { matchAll(o: object): Promise<unknown[]> } }).clients.matchAll({ type: 'window', includeUncontrolled: true })).length)).toBe(0);

  // Opened again, the app shows what was verified while it was closed.
  const page = await owner.context.newPage();
  await page.goto(appUrl.replace(/#.*$/, ''));
  await expect(page.getByTestId('last-verified')).toHaveText(/^Last verified (just now|\d+ minutes? ago)\.$/);
  await openPartners(page);
  for (const name of ['Ana', 'Ben']) {
    const health = page.getByTestId('partner').filter({ hasText: name }).getByTestId('partner-health');
    await expect(health).toHaveAttribute('data-state', 'healthy');
    await expect(health).toContainText('last checked');
    await expect(page.getByRole('img', { name: new RegExp(`Checks of ${name}: 1 passed, 0 failed`) })).toBeVisible();
  }

  // Ben's copy rots. The next round, again with the app closed, catches him; Ana still passes.
  expect(await corruptHeldShards(ben.page)).toBeGreaterThan(0);
  await makeAuditsDue(page);
  await closeApp(owner);
  await firePeriodicSyncWithNoAppOpen(owner.context, origin);
  for (const p of [ana, ben]) {
    await expect.poll(() => partnerCounters(p.page), { timeout: 60_000 }).toMatchObject({ relayed: 2, holderAudits: 2 });
  }
  const results = await waitForRecorded(owner, 2, 2);
  expect(results.map((r) => r.join()).sort()).toEqual(['pass,fail', 'pass,pass']);

  const again = await owner.context.newPage();
  await again.goto(new URL('/', server.url).href);
  await openPartners(again);
  await expect(again.getByTestId('partner').filter({ hasText: 'Ben' }).getByTestId('partner-health')).toHaveAttribute('data-state', 'failing');
  await expect(again.getByRole('img', { name: /Checks of Ben: 1 passed, 1 failed/ })).toBeVisible();
  await expect(again.getByTestId('partner').filter({ hasText: 'Ana' }).getByTestId('partner-health')).toHaveAttribute('data-state', 'healthy');
  await expect(again.getByRole('img', { name: /Checks of Ana: 2 passed, 0 failed/ })).toBeVisible();
});

test('a round cut short by the browser stopping the worker is run again later, never counted against the partner', async ({ openPeers }) => {
  test.setTimeout(240_000);
  const [owner, ana] = await backedUp(openPeers);
  const origin = new URL(owner.page.url()).origin;
  // Ana's page holds its answer back until the test lets it go.
  await ana.page.evaluate(() => {
    const g = globalThis as unknown as DebugGlobal & { arrived?: number; release?: () => void };
    const holder = g.backpactDebug.runtime.holder!;
    const answer = holder.answerAudit.bind(holder);
    const gate = new Promise<void>((r) => (g.release = r));
    holder.answerAudit = async (owner, req) => {
      g.arrived = (g.arrived ?? 0) + 1;
      await gate;
      return answer(owner, req);
    };
  });
  await closeApp(owner);
  await firePeriodicSyncWithNoAppOpen(owner.context, origin);
  await expect.poll(() => ana.page.evaluate(() => (globalThis as unknown as { arrived?: number }).arrived ?? 0), { timeout: 60_000 }).toBe(1);

  // Mid-round, the browser stops the worker. Ana's late answer finds nobody to take it.
  await stopServiceWorker(owner.context);
  await ana.page.evaluate(() => (globalThis as unknown as { release: () => void }).release());
  await expect.poll(() => ana.page.evaluate(() => (globalThis as unknown as DebugGlobal).backpactDebug.runtime.holder!.counters.audits), { timeout: 30_000 }).toBe(1);

  // The next sync starts a fresh worker, which runs the round again: one result per partner, a pass.
  await firePeriodicSyncWithNoAppOpen(owner.context, origin);
  expect(await waitForRecorded(owner, 2, 1)).toEqual([['pass'], ['pass']]);
  expect((await partnerCounters(ana.page)).holderAudits).toBe(2);
});
