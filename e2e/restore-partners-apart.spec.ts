/**
 * A restore where partners are never online together. The owner backs up to three partners with
 * k = 2 (set through the debug handle: the policy itself replicates over three partners), so no
 * single partner holds enough of any pack to rebuild it. Then every partner goes offline and the
 * owner's own device restores everything: each partner's page is opened alone, one after
 * another, and the restoring page is reloaded between them. The restore keeps the shards each
 * partner gave, says whom it waits for, carries on by itself when the next one appears, and ends
 * byte-identical.
 */
import { expect, test } from './fixtures.ts';
import {
  backUp, generateTree, goOffline, goOnline, keptShardRecords, ownerWithPartners, restoreJobs, servedByName, waitForBackupServices, zipHashes,
  type DebugGlobal, type TreeSpec,
} from './helpers/backup.ts';

function tree(): TreeSpec[] {
  const spec: TreeSpec[] = [];
  for (let i = 0; i < 30; i++) spec.push({ path: `notes/note ${i}.txt`, kind: 'file', size: 300 + i * 977, content: 'text', seed: i });
  for (let i = 0; i < 12; i++) spec.push({ path: `photos/été ${i}.raw`, kind: 'file', size: 150_000 + i * 61_000, content: 'random', seed: 100 + i });
  spec.push({ path: 'empty file', kind: 'file', size: 0, seed: 7 });
  spec.push({ path: 'an empty folder', kind: 'directory' });
  spec.push({ path: 'video/clip.bin', kind: 'file', size: 24 * 1024 * 1024, content: 'random', seed: 9 });
  return spec;
}

test('partners never online together: each alone, the restoring page reloaded between them, byte-identical', async ({ openPeers, server }) => {
  test.setTimeout(360_000);
  const [owner, ...partners] = await openPeers(4);
  const names = ['Ana', 'Ben', 'Cleo'];
  await ownerWithPartners(owner, partners, names);
  await owner.page.evaluate(() => {
    (globalThis as unknown as DebugGlobal).backpactDebug.runtime.backup!.backup.codingOverride = { k: 2, m: 1 };
  });
  const spec = tree();
  const hashes = await generateTree(owner.page, spec);
  const backup = await backUp(owner.page);
  expect(backup.queuedBytes).toBe(0);
  expect(backup.survival).toBe('Survives losing any 1 partner of your 3.');

  // Every pack needs 2 shards and its 3 shards are with 3 different partners: nobody alone can
  // rebuild any pack.
  const layout = await owner.page.evaluate(async (sid) => {
    const b = (globalThis as unknown as DebugGlobal).backpactDebug.runtime.backup!;
    const m = (await b.index.manifest(sid as never))!;
    return m.packs.map((p) => ({ k: p.dataCount, holders: p.shards.map((s) => s.holder) }));
  }, backup.snapshotId);
  expect(layout.length).toBeGreaterThan(4);
  for (const p of layout) {
    expect(p.k).toBe(2);
    expect(new Set(p.holders).size).toBe(3);
    expect(p.holders).not.toContain(null);
  }
  const packs = layout.length;

  for (const [i, p] of partners.entries()) await goOffline(p, owner.page, names[i]!);
  await owner.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Restore' }).click();
  const jobId = await owner.page.evaluate((sid) => (globalThis as unknown as DebugGlobal).backpactDebug.runtime.backup!.restore.start(sid as never, []), backup.snapshotId);
  const status = owner.page.getByTestId('restore-job').getByTestId('restore-status');
  await expect(status).toContainText('Waiting for Ana, Ben or Cleo to come online.', { timeout: 30_000 });

  const url = new URL('/', server.url).href;
  const reload = async (): Promise<void> => {
    await owner.page.reload();
    await waitForBackupServices(owner.page);
  };
  await reload();
  await expect(status).toContainText('Waiting for Ana, Ben or Cleo to come online.', { timeout: 30_000 });

  // Ana alone: the owner takes her shard of every pack and keeps it; nothing can be rebuilt yet.
  await goOnline(partners[0]!, url);
  await expect.poll(async () => (await restoreJobs(owner.page))[0]?.keptShards, { timeout: 120_000 }).toBe(packs);
  await expect(status).toContainText('Waiting for Ben or Cleo to come online.', { timeout: 30_000 });
  expect(await servedByName(owner.page)).toEqual({ Ana: packs });
  expect((await restoreJobs(owner.page))[0]).toMatchObject({ id: jobId, state: 'waiting', packsDone: 0, waitingFor: ['Ben', 'Cleo'] });
  await goOffline(partners[0]!, owner.page, 'Ana');

  // The page is reloaded: what Ana gave is still there.
  await reload();
  expect(await keptShardRecords(owner.page)).toBe(packs);
  await expect(status).toContainText('Waiting for Ben or Cleo to come online.', { timeout: 30_000 });

  // Ben alone: one shard more per pack completes every pack, with no action on the page.
  await goOnline(partners[1]!, url);
  await owner.page.evaluate((id) => (globalThis as unknown as DebugGlobal).backpactDebug.runtime.backup!.restore.whenReady(id), jobId);
  expect(await servedByName(owner.page)).toEqual({ Ben: packs });
  expect(await keptShardRecords(owner.page)).toBe(0);
  await expect(owner.page.getByTestId('restore-job')).toHaveAttribute('data-state', 'ready');

  const [download] = await Promise.all([
    owner.page.waitForEvent('download', { timeout: 120_000 }),
    owner.page.getByRole('button', { name: /^Save backpact-.*\.zip$/ }).click(),
  ]);
  const restored = await zipHashes(await download.path());
  expect(restored).toEqual({ ...hashes, 'an empty folder': '' });
});
