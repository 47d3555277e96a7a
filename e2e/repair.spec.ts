/**
 * Repair end to end (issue #7, item 4): an owner backs up to three partners, then a fourth joins.
 * One original partner wipes its copy of the owner's shards; an audit round fired in the service
 * worker (CDP `ServiceWorker.dispatchPeriodicSyncEvent`) marks it failing; the owner's page
 * rebuilds every shard it held from the others, places them with the fourth partner, rewrites the
 * manifests, publishes a new root record and tells the failing partner it may delete. Then, with
 * another original partner offline, a fresh device restores byte-identical files — and still does
 * with only the new partner left holding data.
 */
import type { Page } from '@playwright/test';
import { expect, test } from './fixtures.ts';
import { firePeriodicSync, makeAuditsDue } from './helpers/audits.ts';
import {
  backUp, deleteHeldShards, generateTree, heldShardCount, invitePartner, ownerWithPartners, restoreAndSave, waitForBackupServices,
  waitForLinkedHolders, waitForSnapshots, zipHashes, type DebugGlobal, type TreeSpec,
} from './helpers/backup.ts';
import { restoreIdentity } from './helpers/onboarding.ts';
import { openPartners } from './helpers/partners.ts';

const TREE: TreeSpec[] = [
  { path: 'photos/a.raw', kind: 'file', size: 6_500_000, content: 'random', seed: 1 },
  { path: 'photos/b.raw', kind: 'file', size: 5_200_000, content: 'random', seed: 2 },
  { path: 'notes.txt', kind: 'file', size: 300_000, content: 'text', seed: 3 },
  { path: 'empty folder', kind: 'directory' },
];

/** The PeerId of the owner's partner called `name`. */
function peerIdOf(page: Page, name: string): Promise<string> {
  return page.evaluate((n) => (globalThis as unknown as DebugGlobal).backpactDebug.runtime.backup!.partners.all().find((p) => p.name === n)!.peerId, name);
}

/** Holders named by every pack placement of the snapshot's manifest, and by the manifest's own placement. */
function holdersIn(page: Page, snapshotId: string): Promise<{ packs: (string | null)[]; manifest: (string | null)[] }> {
  return page.evaluate(async (sid) => {
    const index = (globalThis as unknown as DebugGlobal).backpactDebug.runtime.backup!.index;
    const m = (await index.manifest(sid as never))!;
    return { packs: m.packs.flatMap((p) => p.shards.map((s) => s.holder)), manifest: index.refs().find((r) => r.id === sid)!.manifest.shards.map((s) => s.holder) };
  }, snapshotId);
}

test('a partner that lost its shards is caught by an audit and its shards move to the fourth partner', async ({ openPeers }) => {
  test.setTimeout(360_000);
  const [owner, ana, ben, cleo, dana, device] = await openPeers(6);
  const phrase = await ownerWithPartners(owner, [ana, ben, cleo], ['Ana', 'Ben', 'Cleo']);
  const hashes = await generateTree(owner.page, TREE);
  const backup = await backUp(owner.page);
  expect(backup.queuedBytes).toBe(0);
  // Dana joins after the backup: its stripes use Ana, Ben and Cleo only.
  await invitePartner(owner, dana, 'Dana');
  await waitForLinkedHolders(owner.page, 4);
  expect(await heldShardCount(dana.page)).toBe(0);
  const [benId, danaId] = [await peerIdOf(owner.page, 'Ben'), await peerIdOf(owner.page, 'Dana')];
  const before = await holdersIn(owner.page, backup.snapshotId);
  const benShards = before.packs.filter((h) => h === benId).length;
  expect(benShards).toBeGreaterThan(0);
  expect(await owner.page.evaluate(() => (globalThis as unknown as DebugGlobal).backpactDebug.runtime.backup!.index.seq)).toBe(1);

  // Ben wipes his copy; the next audit round, fired in the service worker, catches him.
  expect(await deleteHeldShards(ben.page)).toBe(benShards + 1);
  await makeAuditsDue(owner.page);
  await firePeriodicSync(owner.page);
  await openPartners(owner.page);
  await expect(owner.page.getByTestId('partner').filter({ hasText: 'Ben' }).getByTestId('partner-health')).toHaveAttribute('data-state', 'failing', { timeout: 60_000 });

  // The repair runs in the page and the dashboard says what moved where.
  await owner.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Home' }).click();
  const status = owner.page.getByTestId('repair-status');
  await expect(status).toHaveAttribute('data-phase', 'done', { timeout: 120_000 });
  await expect(status).toHaveText(`Repair finished: ${benShards} ${benShards === 1 ? 'piece' : 'pieces'} moved from Ben to Dana. Your backup is fully protected again.`);

  // Dana holds every moved shard plus a shard of the rewritten manifest; no placement names Ben.
  expect(await heldShardCount(dana.page)).toBe(benShards + 1);
  const seq = await owner.page.evaluate(() => (globalThis as unknown as DebugGlobal).backpactDebug.runtime.backup!.index.seq);
  expect(seq).toBe(2);
  const [repaired] = await waitForSnapshots(owner.page);
  expect(repaired).not.toBe(backup.snapshotId);
  const after = await holdersIn(owner.page, repaired!);
  expect(after.packs).not.toContain(benId);
  expect(after.manifest).not.toContain(benId);
  expect(after.packs.filter((h) => h === danaId)).toHaveLength(benShards);
  // Ben was told to delete the moved shards and the old manifest's shard.
  await expect.poll(() => ben.page.evaluate(() => (globalThis as unknown as DebugGlobal).backpactDebug.runtime.holder!.counters.deleteRequests), { timeout: 30_000 }).toBe(benShards + 1);
  await expect.poll(() => owner.page.evaluate(() => (globalThis as unknown as DebugGlobal).backpactDebug.runtime.backup!.repair.counters.deletesSent), { timeout: 30_000 }).toMatchObject({ [benId]: benShards + 1 });

  // Dana's copies are sound: the next audit round checks her against the rewritten manifest and she passes.
  await makeAuditsDue(owner.page);
  await firePeriodicSync(owner.page);
  await openPartners(owner.page);
  await expect(owner.page.getByTestId('partner').filter({ hasText: 'Dana' }).getByTestId('partner-health')).toHaveAttribute('data-state', 'healthy', { timeout: 60_000 });
  await expect(owner.page.getByRole('img', { name: /Checks of Dana: 1 passed, 0 failed/ })).toBeVisible();

  // The owner's device is gone and Cleo is offline: a fresh device restores from the phrase.
  await owner.context.close();
  await cleo.context.close();
  await restoreIdentity(device.page, phrase, 'Olivia');
  await waitForBackupServices(device.page);
  const [found] = await waitForSnapshots(device.page);
  expect(found).toBe(repaired);
  expect(await device.page.evaluate(() => (globalThis as unknown as DebugGlobal).backpactDebug.runtime.backup!.index.seq)).toBe(2);
  const expected = { ...hashes, 'empty folder': '' };
  expect(await zipHashes((await restoreAndSave(device.page, found!, [])).path)).toEqual(expected);

  // With Ana gone too, only Dana (and Ben, who holds nothing) are left: the moved copies alone restore everything.
  await ana.context.close();
  await device.page.waitForFunction(() => {
    const rt = (globalThis as unknown as DebugGlobal).backpactDebug.runtime;
    return rt.backup!.partners.all().filter((p) => rt.network!.peers.linkTo(p.signalingId)).map((p) => p.name).sort().join() === 'Ben,Dana';
  }, null, { timeout: 30_000 });
  expect(await zipHashes((await restoreAndSave(device.page, found!, [])).path)).toEqual(expected);
});
