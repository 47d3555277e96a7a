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
  backUp, corruptHeldShards, type DebugGlobal, deleteHeldShards, generateTree, heldShardCount, heldShards, invitePartner, ownerWithPartners, restoreAndSave, restoreOnNewDevice, type TreeSpec, waitForLinkedHolders, waitForSnapshots, zipHashes,
} from './helpers/backup.ts';
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
  // A restore started here before the repair names the old id: it leads to the repaired manifest.
  expect(await owner.page.evaluate(async (sid) => {
    const m = (await (globalThis as unknown as DebugGlobal).backpactDebug.runtime.backup!.index.manifest(sid as never))!;
    return m.packs.flatMap((p) => p.shards.map((s) => s.holder));
  }, backup.snapshotId)).toEqual(after.packs);
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
  const [found] = await restoreOnNewDevice(device.page, phrase);
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

/** SHA-256 (hex) of the shard `id` that `holder` keeps, or null when it has none. */
function heldShardHash(holder: Page, id: string): Promise<string | null> {
  return holder.evaluate(async (shard) => {
    const db = await new Promise<IDBDatabase>((r) => { const q = indexedDB.open('backpact'); q.onsuccess = () => r(q.result); });
    const all = await new Promise<{ shard: string; bytes: ArrayBuffer }[]>((r) => { const g = db.transaction('held').objectStore('held').getAll(); g.onsuccess = () => r(g.result); });
    const rec = all.find((x) => x.shard === shard);
    if (!rec) return null;
    return [...new Uint8Array(await crypto.subtle.digest('SHA-256', rec.bytes))].map((b) => b.toString(16).padStart(2, '0')).join('');
  }, id);
}

test('a shard a holder reports damaged is rebuilt and given back to it, and the report is cleared', async ({ openPeers }) => {
  test.setTimeout(240_000);
  const [owner, ana, ben, cleo] = await openPeers(4);
  await ownerWithPartners(owner, [ana, ben, cleo], ['Ana', 'Ben', 'Cleo']);
  await generateTree(owner.page, TREE.slice(1));
  const backup = await backUp(owner.page);
  const anaId = await peerIdOf(owner.page, 'Ana');
  const shard = await owner.page.evaluate(async ([sid, ana]) => {
    const m = (await (globalThis as unknown as DebugGlobal).backpactDebug.runtime.backup!.index.manifest(sid as never))!;
    return m.packs[0]!.shards.find((s) => s.holder === ana)!.id;
  }, [backup.snapshotId, anaId] as const);
  const good = await heldShardHash(ana.page, shard);
  expect(good).not.toBeNull();
  const before = await holdersIn(owner.page, backup.snapshotId);

  // Ana's copy of that one shard rots, and her scrub reports it (the record a holder scrub writes on the owner's device).
  await ana.page.evaluate(async (id) => {
    const db = await new Promise<IDBDatabase>((r) => { const q = indexedDB.open('backpact'); q.onsuccess = () => r(q.result); });
    const tx = db.transaction('held', 'readwrite');
    const store = tx.objectStore('held');
    const all = await new Promise<{ shard: string; bytes: ArrayBuffer }[]>((r) => { const g = store.getAll(); g.onsuccess = () => r(g.result); });
    const rec = all.find((x) => x.shard === id)!;
    const bytes = new Uint8Array(rec.bytes.slice(0));
    bytes[7]! ^= 0xff;
    store.put({ ...rec, bytes: bytes.buffer });
    await new Promise((r) => (tx.oncomplete = r));
  }, shard);
  expect(await heldShardHash(ana.page, shard)).not.toBe(good);
  await owner.page.evaluate(async ([ana, id]) => {
    const db = await new Promise<IDBDatabase>((r) => { const q = indexedDB.open('backpact'); q.onsuccess = () => r(q.result); });
    const tx = db.transaction('kv', 'readwrite');
    tx.objectStore('kv').put({ shards: [id], reportedAt: Date.now() }, `damaged/${ana}`);
    await new Promise((r) => (tx.oncomplete = r));
    await (globalThis as unknown as DebugGlobal).backpactDebug.runtime.backup!.repair.check();
  }, [anaId, shard] as const);

  // Ben and Cleo already hold a shard of that pack: the rebuilt one goes back to Ana, who keeps it.
  await owner.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Home' }).click();
  const status = owner.page.getByTestId('repair-status');
  await expect(status).toHaveAttribute('data-phase', 'done', { timeout: 60_000 });
  await expect(status).toHaveText('Repair finished: 1 piece rebuilt and given back to Ana. Your backup is fully protected again.');
  expect(await heldShardHash(ana.page, shard)).toBe(good);
  expect(await owner.page.evaluate((ana) => new Promise((resolve) => {
    const q = indexedDB.open('backpact');
    q.onsuccess = () => { const g = q.result.transaction('kv').objectStore('kv').get(`damaged/${ana}`); g.onsuccess = () => resolve(g.result ?? null); };
  }), anaId)).toBeNull();
  // No placement changed: no manifest is rewritten, no root record published, nothing deleted at Ana.
  expect(await owner.page.evaluate(() => (globalThis as unknown as DebugGlobal).backpactDebug.runtime.backup!.index.seq)).toBe(1);
  expect(await waitForSnapshots(owner.page)).toEqual([backup.snapshotId]);
  expect((await holdersIn(owner.page, backup.snapshotId)).packs).toEqual(before.packs);
  expect(await ana.page.evaluate(() => (globalThis as unknown as DebugGlobal).backpactDebug.runtime.holder!.counters.deleteRequests)).toBe(0);
  expect(await owner.page.evaluate(() => (globalThis as unknown as DebugGlobal).backpactDebug.runtime.backup!.repair.counters)).toMatchObject({ rebuilt: 1, placed: 1, published: 0 });
});

test('a holder reporting more damage than honest storage would is treated as failing: its shards move to another partner', async ({ openPeers }) => {
  test.setTimeout(300_000);
  const [owner, ana, ben, cleo, dana] = await openPeers(5);
  await ownerWithPartners(owner, [ana, ben, cleo], ['Ana', 'Ben', 'Cleo']);
  // Five packs: with the manifest's, each partner keeps six shards, more than the four always tolerated.
  await generateTree(owner.page, Array.from({ length: 5 }, (_, i) => ({ path: `big/${i}.bin`, kind: 'file' as const, size: 7_500_000, content: 'random' as const, seed: 40 + i })));
  const backup = await backUp(owner.page);
  await invitePartner(owner, dana, 'Dana');
  await waitForLinkedHolders(owner.page, 4);
  const [anaId, danaId] = [await peerIdOf(owner.page, 'Ana'), await peerIdOf(owner.page, 'Dana')];
  const anaShards = (await holdersIn(owner.page, backup.snapshotId)).packs.filter((h) => h === anaId).length;
  expect(anaShards).toBeGreaterThanOrEqual(5);

  // Every shard Ana keeps "rots", and her own scrub reports them all to the owner.
  const held = await corruptHeldShards(ana.page);
  expect(held).toBe(anaShards + 1);
  expect(await ana.page.evaluate(() => (globalThis as unknown as DebugGlobal).backpactDebug.runtime.health!.scrubNow())).toMatchObject({ found: held });
  await expect.poll(() => owner.page.evaluate(async (ana) => {
    const db = await new Promise<IDBDatabase>((r) => { const q = indexedDB.open('backpact'); q.onsuccess = () => r(q.result); });
    return new Promise<number>((r) => { const g = db.transaction('kv').objectStore('kv').get(`damaged/${ana}`); g.onsuccess = () => r((g.result as { shards: string[] } | undefined)?.shards.length ?? 0); });
  }, anaId), { timeout: 30_000 }).toBe(held);

  // Not given back to Ana: everything she kept is rebuilt at Dana, and Ana is told to delete it.
  await owner.page.evaluate(() => (globalThis as unknown as DebugGlobal).backpactDebug.runtime.backup!.repair.check());
  await owner.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Home' }).click();
  const status = owner.page.getByTestId('repair-status');
  await expect(status).toHaveAttribute('data-phase', 'done', { timeout: 120_000 });
  await expect(status).toHaveText(`Repair finished: ${anaShards} pieces moved from Ana to Dana. Your backup is fully protected again.`);
  const [repaired] = await waitForSnapshots(owner.page);
  const after = await holdersIn(owner.page, repaired!);
  expect(after.packs).not.toContain(anaId);
  expect(after.manifest).not.toContain(anaId);
  expect(after.packs.filter((h) => h === danaId)).toHaveLength(anaShards);
  expect(await heldShardCount(dana.page)).toBe(anaShards + 1);
  await expect.poll(() => ana.page.evaluate(() => (globalThis as unknown as DebugGlobal).backpactDebug.runtime.holder!.counters.deleteRequests), { timeout: 30_000 }).toBe(anaShards + 1);
});

/** Makes `holder`'s allowance for every owner look used up (a partner whose promised room is full). */
function fillAllowances(holder: Page): Promise<number> {
  return holder.evaluate(async () => {
    const db = await new Promise<IDBDatabase>((r) => { const q = indexedDB.open('backpact'); q.onsuccess = () => r(q.result); });
    const tx = db.transaction('allowance', 'readwrite');
    const store = tx.objectStore('allowance');
    const all = await new Promise<{ owner: string; allowed: number | null; used: number }[]>((r) => { const g = store.getAll(); g.onsuccess = () => r(g.result); });
    for (const a of all) if (a.allowed !== null) store.put({ ...a, used: a.allowed });
    await new Promise((r) => (tx.oncomplete = r));
    db.close();
    return all.length;
  });
}

test('with no partner left with room, the repair waits, says so, and carries on once a new partner joins', async ({ openPeers }) => {
  test.setTimeout(300_000);
  const [owner, ana, ben, dana] = await openPeers(4);
  await ownerWithPartners(owner, [ana, ben], ['Ana', 'Ben']);
  await generateTree(owner.page, TREE.slice(1));
  const backup = await backUp(owner.page);
  expect(backup.queuedBytes).toBe(0);
  const benId = await peerIdOf(owner.page, 'Ben');
  const benShards = (await holdersIn(owner.page, backup.snapshotId)).packs.filter((h) => h === benId).length;
  expect(benShards).toBeGreaterThan(0);

  // Ana's promised room is used up, and Ben loses his copy: nobody can take Ben's pieces.
  expect(await fillAllowances(ana.page)).toBe(1);
  await deleteHeldShards(ben.page);
  await makeAuditsDue(owner.page);
  await firePeriodicSync(owner.page);
  await owner.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Home' }).click();
  const status = owner.page.getByTestId('repair-status');
  await expect(status).toHaveAttribute('data-phase', 'waiting', { timeout: 120_000 });
  await expect(owner.page.getByTestId('repair-message')).toHaveText(/^Waiting for a partner with room: /);
  const anaBefore = (await heldShards(ana.page)).ids;

  // The card offers the way out; the Partners screen is where a new partner is invited.
  await status.getByRole('button', { name: 'Find another partner' }).click();
  await expect(owner.page.getByRole('heading', { level: 1, name: 'Partners' })).toBeVisible();
  await invitePartner(owner, dana, 'Dana');

  // With Dana linked the next round moves Ben's pieces to her, by itself.
  await owner.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Home' }).click();
  await expect(status).toHaveAttribute('data-phase', 'done', { timeout: 120_000 });
  await expect(status).toHaveText(`Repair finished: ${benShards} ${benShards === 1 ? 'piece' : 'pieces'} moved from Ben to Dana. Your backup is fully protected again.`);
  // Ana, who is full, was given nothing new (she only lost the replaced file list's piece).
  const anaAfter = (await heldShards(ana.page)).ids;
  expect(anaAfter.filter((id) => !anaBefore.includes(id))).toEqual([]);
  const [repaired] = await waitForSnapshots(owner.page);
  const danaId = await peerIdOf(owner.page, 'Dana');
  const after = await holdersIn(owner.page, repaired!);
  expect(after.packs).not.toContain(benId);
  expect(after.packs.filter((h) => h === danaId)).toHaveLength(benShards);
});
