/**
 * Keeping history: three backups of a changing tree, "keep the last 1" set in Settings and
 * "Clean up now" — partners drop exactly the shards only the forgotten snapshots used (a partner
 * offline then gets its deletes, queued across a reload, when it comes back), the kept snapshot
 * restores byte-identical on a new device and the list shows it alone. And orphans: a
 * backup interrupted by closing the page leaves shards no snapshot references; a clean-up with
 * the default safety age leaves them (they are young), one with the safety age set to zero
 * through the debug handle removes them and nothing else.
 */
import { expect, test } from './fixtures.ts';
import {
  backUp, cleanUpNow, corruptHeldShards, type DebugGlobal, generateTree, goOffline, goOnline, heldShards, ownerWithPartners, referencedShardsAt, restoreAndSave, restoreOnNewDevice, setKeepHistory, type TreeSpec, waitForBackupServices, waitForSnapshots, zipHashes,
} from './helpers/backup.ts';

const MiB = 1024 * 1024;
type Backups = NonNullable<DebugGlobal['backpactDebug']['runtime']['backup']>;

test('keep last 1 through Settings frees the forgotten snapshots at every partner and the kept one restores', async ({ openPeers, server }) => {
  test.setTimeout(300_000);
  const [owner, ana, ben, cleo] = await openPeers(4);
  const partners = { Ana: ana, Ben: ben, Cleo: cleo };
  const phrase = await ownerWithPartners(owner, [ana, ben, cleo], ['Ana', 'Ben', 'Cleo']);
  const file = (path: string, seed: number, size = 3 * MiB): TreeSpec => ({ path, kind: 'file', size, content: 'random', seed });

  // Three backups; between them files change and one is removed, so older packs fall out of use.
  await generateTree(owner.page, [file('docs/a.bin', 1), file('docs/b.bin', 2), file('docs/c.bin', 3), { path: 'docs/note.txt', kind: 'file', size: 30_000, content: 'text', seed: 4 }]);
  const first = await backUp(owner.page);
  await owner.page.evaluate(() => (globalThis as unknown as DebugGlobal).backpactTestFiles!.delete('docs/c.bin'));
  await generateTree(owner.page, [file('docs/a.bin', 11), file('docs/b.bin', 12)]);
  const second = await backUp(owner.page);
  await owner.page.evaluate(() => (globalThis as unknown as DebugGlobal).backpactTestFiles!.delete('docs/b.bin'));
  const v3 = await generateTree(owner.page, [file('docs/a.bin', 21), file('docs/d.bin', 22, 2 * MiB), { path: 'docs/note.txt', kind: 'file', size: 30_000, content: 'text', seed: 4 }]);
  const third = await backUp(owner.page);
  expect(await waitForSnapshots(owner.page, 3)).toEqual([third.snapshotId, second.snapshotId, first.snapshotId]);

  const before = await Promise.all(Object.values(partners).map((p) => heldShards(p.page)));
  const mustKeep = await Promise.all(Object.keys(partners).map((n) => referencedShardsAt(owner.page, n, [third.snapshotId])));
  for (const [i, held] of before.entries()) {
    expect(held.ids.length).toBeGreaterThan(mustKeep[i]!.length);
    for (const id of mustKeep[i]!) expect(held.ids).toContain(id);
  }

  // Cleo is offline during the clean-up: her deletes wait in a queue that survives a reload.
  await goOffline(cleo, owner.page, 'Cleo');

  // Settings: keep only the last backup. The preview names the two that go.
  await setKeepHistory(owner.page, { last: 1, daily: 0, weekly: 0, monthly: 0 });
  await expect(owner.page.getByTestId('keep-preview')).toContainText('2 backups would be removed');
  await expect(owner.page.getByTestId('would-remove')).toHaveCount(2);
  const message = await cleanUpNow(owner.page);
  expect(message).toContain('Removed 2 old backups.');
  await expect(owner.page.getByTestId('keep-preview')).toContainText('your only backup is kept');

  // Ana and Ben now hold exactly what the kept snapshot uses; Cleo still holds everything.
  const check = async (name: keyof typeof partners): Promise<void> => {
    const i = Object.keys(partners).indexOf(name);
    await expect.poll(async () => (await heldShards(partners[name].page)).ids.sort(), { timeout: 60_000, message: name }).toEqual(mustKeep[i]);
    expect((await heldShards(partners[name].page)).bytes).toBeLessThan(before[i]!.bytes);
  };
  await check('Ana');
  await check('Ben');
  const freed = owner.page.getByTestId('freed-partner');
  await expect(freed).toHaveCount(3);
  for (const name of ['Ana', 'Ben']) await expect(freed.filter({ hasText: name })).toContainText(/^\s*\S+: [1-9][\d.]* MB freed\s*$/);
  await expect(freed.filter({ hasText: 'Cleo' })).toContainText(/0 bytes freed; [1-9][\d.]* MB more when Cleo is online/);

  // After a reload of the owner, Cleo comes back: she gets the new root record, then the deletes.
  await owner.page.reload();
  await waitForBackupServices(owner.page);
  await goOnline(cleo, server.url);
  await check('Cleo');
  await owner.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Settings' }).click();
  await expect(freed.filter({ hasText: 'Cleo' })).toContainText(/^\s*Cleo: [1-9][\d.]* MB freed\s*$/);

  // The list shows the kept snapshot alone, here and on the Restore screen.
  expect(await owner.page.evaluate(() => (globalThis as unknown as DebugGlobal).backpactDebug.runtime.backup!.index.snapshots.map((s) => s.id))).toEqual([third.snapshotId]);
  await owner.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Restore' }).click();
  await expect(owner.page.getByTestId('snapshot')).toHaveCount(1);
  await owner.context.close();

  // A new device finds only the kept snapshot, and it restores byte for byte.
  const [device] = await openPeers(1);
  expect(await restoreOnNewDevice(device.page, phrase, 1)).toEqual([third.snapshotId]);
  const restored = await restoreAndSave(device.page, third.snapshotId, []);
  expect(await zipHashes(restored.path)).toEqual(v3);
});

test('orphans of an interrupted backup are collected once older than the safety age, and nothing else is', async ({ openPeers, server }) => {
  test.setTimeout(240_000);
  const [owner, ana, ben] = await openPeers(3);
  await ownerWithPartners(owner, [ana, ben], ['Ana', 'Ben']);
  const small: TreeSpec[] = [
    { path: 'keep/a.bin', kind: 'file', size: 900_000, content: 'random', seed: 1 },
    { path: 'keep/a.txt', kind: 'file', size: 20_000, content: 'text', seed: 3 },
  ];
  const v1 = await generateTree(owner.page, small);
  const first = await backUp(owner.page);

  // A big backup, closed mid-way once two packs are journaled.
  await generateTree(owner.page, Array.from({ length: 4 }, (_, i) => ({ path: `big/${i}.bin`, kind: 'file' as const, size: 10 * MiB, content: 'random' as const, seed: 10 + i })));
  await owner.page.evaluate(() => {
    const g = globalThis as unknown as DebugGlobal;
    const items = [...g.backpactTestFiles!.entries()].map(([path, f]) => ({ path, kind: 'file' as const, file: f.file!, mtime: f.mtime }));
    void g.backpactDebug.runtime.backup!.backup.run(items).catch(() => undefined);
  });
  await expect.poll(() => owner.page.evaluate(async () => (await (globalThis as unknown as DebugGlobal).backpactDebug.runtime.backup!.index.knownForBackup()).journal.length), { intervals: [20], timeout: 60_000 }).toBeGreaterThanOrEqual(2);
  await owner.page.close();

  // Reopened, a different small tree is backed up: its commit clears the journal, so the big
  // backup's packs are referenced by nothing any more.
  const page = await owner.context.newPage();
  await page.goto(server.url);
  await waitForBackupServices(page);
  const v2 = await generateTree(page, [
    { path: 'keep/b.bin', kind: 'file', size: 500_000, content: 'random', seed: 2 },
    { path: 'keep/b.txt', kind: 'file', size: 20_000, content: 'text', seed: 4 },
  ]);
  const second = await backUp(page);
  expect(await waitForSnapshots(page, 2)).toEqual([second.snapshotId, first.snapshotId]);
  await expect.poll(() => page.evaluate(async () => (await (globalThis as unknown as DebugGlobal).backpactDebug.runtime.backup!.outbox.pending()).size)).toBe(0);
  const mustKeep = { Ana: await referencedShardsAt(page, 'Ana'), Ben: await referencedShardsAt(page, 'Ben') };
  const holders = { Ana: ana, Ben: ben };
  for (const [name, p] of Object.entries(holders)) {
    const held = await heldShards(p.page);
    expect(held.ids.length, name).toBeGreaterThanOrEqual(mustKeep[name as 'Ana'].length + 2);
  }
  const orphanCounts = await Promise.all(Object.values(holders).map(async (p) => (await heldShards(p.page)).ids.length));

  // With the default safety age (1 h) the young orphans stay: they could be a backup running on
  // another device right now.
  await setKeepHistory(page, { last: 10, daily: 7, weekly: 4, monthly: 12 });
  await expect(page.getByTestId('keep-preview')).toContainText('all 2 backups are kept');
  expect(await cleanUpNow(page)).toContain('No backup needed removing.');
  for (const [i, p] of Object.values(holders).entries()) expect((await heldShards(p.page)).ids.length).toBe(orphanCounts[i]);

  // The debug setting makes them old enough: they go, and only they.
  await page.evaluate(() => ((globalThis as unknown as DebugGlobal).backpactDebug.runtime.backup as Backups).prune.orphanMinAgeMs = 0);
  expect(await cleanUpNow(page)).toMatch(/Cleared \d+ leftover pieces\./);
  for (const [name, p] of Object.entries(holders)) {
    expect((await heldShards(p.page)).ids.sort(), name).toEqual(mustKeep[name as 'Ana']);
  }
  const report = await page.evaluate(() => ((globalThis as unknown as DebugGlobal).backpactDebug.runtime.backup as Backups).prune.report);
  expect(report!.orphans).toBe(orphanCounts.reduce((n, c) => n + c, 0) - mustKeep.Ana.length - mustKeep.Ben.length);

  // Both snapshots still restore.
  expect(await zipHashes((await restoreAndSave(page, first.snapshotId, [])).path)).toEqual(v1);
  expect(await zipHashes((await restoreAndSave(page, second.snapshotId, [])).path)).toEqual(v2);
});

test('a clean-up that cannot read a kept snapshot\'s file list refuses and removes nothing', async ({ openPeers }) => {
  test.setTimeout(180_000);
  const [owner, ana, ben] = await openPeers(3);
  const phrase = await ownerWithPartners(owner, [ana, ben], ['Ana', 'Ben']);
  const tree = (seed: number): TreeSpec[] => [
    { path: 'x/a.bin', kind: 'file', size: 600_000, content: 'random', seed },
    { path: 'x/b.txt', kind: 'file', size: 10_000, content: 'text', seed: 1 },
  ];
  await generateTree(owner.page, tree(1));
  const first = await backUp(owner.page);
  await generateTree(owner.page, tree(2));
  const second = await backUp(owner.page);
  await owner.context.close();

  // A new device knows the two snapshots from the root record but has no file list yet, and
  // both partners' copies are damaged: which pieces the kept snapshot needs cannot be known.
  const [device] = await openPeers(1);
  expect(await restoreOnNewDevice(device.page, phrase, 2)).toEqual([second.snapshotId, first.snapshotId]);
  for (const p of [ana, ben]) expect(await corruptHeldShards(p.page)).toBeGreaterThan(0);
  const held = await Promise.all([ana, ben].map(async (p) => (await heldShards(p.page)).ids.length));

  await setKeepHistory(device.page, { last: 1, daily: 0, weekly: 0, monthly: 0 });
  await expect(device.page.getByTestId('keep-preview')).toContainText('1 backup would be removed');
  const message = await cleanUpNow(device.page);
  expect(message).toContain('cannot tell which pieces it still needs. Nothing was removed.');
  await expect(device.page.getByTestId('prune-status')).toHaveAttribute('data-phase', 'failed');
  expect(await waitForSnapshots(device.page, 2)).toEqual([second.snapshotId, first.snapshotId]);
  for (const [i, p] of [ana, ben].entries()) expect((await heldShards(p.page)).ids.length).toBe(held[i]);
  // Partners still hold the root record listing both snapshots.
  expect(await device.page.evaluate(() => (globalThis as unknown as DebugGlobal).backpactDebug.runtime.backup!.index.seq)).toBe(2);
});
