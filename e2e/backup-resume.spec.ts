/**
 * A page closed in the middle of a backup: the previous snapshot is still the latest and
 * restores intact, the Backup screen says a backup was interrupted, a cancelled attempt commits
 * nothing, and the backup run again on the same files completes without sending again the packs
 * that were already placed.
 */
import { expect, test } from './fixtures.ts';
import { backUp, generateTree, ownerWithPartners, restoreAndSave, waitForBackupServices, waitForSnapshots, zipHashes, type DebugGlobal, type TreeSpec } from './helpers/backup.ts';

const MiB = 1024 * 1024;

test('a backup interrupted by closing the page leaves the previous snapshot, and the next run resumes', async ({ openPeers, server }) => {
  test.setTimeout(180_000);
  const [owner, ana, ben] = await openPeers(3);
  await ownerWithPartners(owner, [ana, ben], ['Ana', 'Ben']);
  const small: TreeSpec[] = [
    { path: 'keep/a.txt', kind: 'file', size: 40_000, content: 'text', seed: 1 },
    { path: 'keep/b.bin', kind: 'file', size: 900_000, content: 'random', seed: 2 },
  ];
  const big: TreeSpec[] = Array.from({ length: 5 }, (_, i) => ({ path: `big/part ${i}.bin`, kind: 'file' as const, size: 10 * MiB, content: 'random' as const, seed: 10 + i }));
  const v1 = await generateTree(owner.page, small);
  const first = await backUp(owner.page);

  // Start the second backup and close the page once two packs are placed.
  await generateTree(owner.page, big);
  await owner.page.evaluate(() => {
    const g = globalThis as unknown as DebugGlobal;
    const items = [...g.backpactTestFiles!.entries()].map(([path, f]) => ({ path, kind: 'file' as const, file: f.file!, mtime: f.mtime }));
    void g.backpactDebug.runtime.backup!.backup.run(items).catch(() => undefined);
  });
  const journalCount = (): Promise<number> => owner.page.evaluate(async () => {
    const db = await new Promise<IDBDatabase>((r) => { const q = indexedDB.open('backpact'); q.onsuccess = () => r(q.result); });
    const n = await new Promise<number>((r) => { const g = db.transaction('journal').objectStore('journal').count(); g.onsuccess = () => r(g.result); });
    db.close();
    return n;
  });
  await expect.poll(journalCount, { intervals: [20], timeout: 60_000 }).toBeGreaterThanOrEqual(2);
  await owner.page.close();

  const page = await owner.context.newPage();
  await page.goto(server.url);
  await waitForBackupServices(page);
  const journaled = await page.evaluate(async () => (await (globalThis as unknown as DebugGlobal).backpactDebug.runtime.backup!.index.knownForBackup()).journal.length);
  expect(journaled).toBeGreaterThanOrEqual(2);
  expect(await waitForSnapshots(page)).toEqual([first.snapshotId]);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Back up' }).click();
  await expect(page.getByTestId('backup-interrupted')).toContainText('A backup was interrupted. Choose the same files again to finish it');
  const previous = await restoreAndSave(page, first.snapshotId, []);
  expect(await zipHashes(previous.path)).toEqual(v1);

  // The same files again: packs placed before the crash are reused, not sent again. A first
  // attempt is cancelled once it placed one more pack: nothing is committed, the pack is kept.
  const v2 = { ...(await generateTree(page, small)), ...(await generateTree(page, big)) };
  const cancelled = await page.evaluate(async (already) => {
    const g = globalThis as unknown as DebugGlobal;
    const b = g.backpactDebug.runtime.backup!;
    const items = [...g.backpactTestFiles!.entries()].map(([path, f]) => ({ path, kind: 'file' as const, file: f.file!, mtime: f.mtime }));
    const run = b.backup.run(items).then(() => 'committed', (err: Error) => err.name);
    while ((await b.index.knownForBackup()).journal.length <= already) await new Promise((r) => setTimeout(r, 20));
    b.backup.cancel();
    return { outcome: await run, phase: b.backup.progress.phase, journal: (await b.index.knownForBackup()).journal.length, snapshots: b.index.snapshots.length };
  }, journaled);
  expect(cancelled).toMatchObject({ outcome: 'AbortError', phase: 'cancelled', snapshots: 1 });
  expect(cancelled.journal).toBeGreaterThan(journaled);
  const resumed = await backUp(page);
  const bigBytes = big.reduce((n, e) => n + e.size!, 0);
  expect(resumed.newBytes).toBeLessThan(bigBytes - 4 * MiB);
  expect(await waitForSnapshots(page, 2)).toEqual([resumed.snapshotId, first.snapshotId]);
  await expect(page.getByTestId('backup-interrupted')).toHaveCount(0);
  const latest = await restoreAndSave(page, resumed.snapshotId, []);
  expect(await zipHashes(latest.path)).toEqual(v2);
});
