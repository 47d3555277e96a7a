/**
 * A restore where partners are never online together. The owner backs up to four partners with
 * k = 3 (set through the debug handle: the policy would pick (2, 2) or replication), so no one or
 * two partners hold enough of any pack to rebuild it. Then every partner goes offline and the
 * owner's own device restores everything: three partners' pages are opened alone, one after
 * another, and the restoring page is reloaded between them. The restore keeps the shards each
 * partner gave, says whom it waits for, carries on by itself when the next one appears, and ends
 * byte-identical.
 */
import { expect, test } from './fixtures.ts';
import {
  backUp, generateTree, goOffline, goOnline, keptShardRecords, ownerWithPartners, presenceByName, restoreJobs, servedByName, waitForBackupServices, zipHashes,
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
  test.setTimeout(420_000);
  const [owner, ...partners] = await openPeers(5);
  const names = ['Ana', 'Ben', 'Cleo', 'Dan'];
  await ownerWithPartners(owner, partners, names);
  await owner.page.evaluate(() => {
    (globalThis as unknown as DebugGlobal).backpactDebug.runtime.backup!.backup.codingOverride = { k: 3, m: 1 };
  });
  const spec = tree();
  const hashes = await generateTree(owner.page, spec);
  const backup = await backUp(owner.page);
  expect(backup.queuedBytes).toBe(0);
  expect(backup.survival).toBe('Survives losing any 1 partner of your 4.');

  // Every pack needs 3 shards and its 4 shards are with 4 different partners: no one or two
  // partners can rebuild any pack.
  const layout = await owner.page.evaluate(async (sid) => {
    const b = (globalThis as unknown as DebugGlobal).backpactDebug.runtime.backup!;
    const m = (await b.index.manifest(sid as never))!;
    return m.packs.map((p) => ({ k: p.dataCount, holders: p.shards.map((s) => s.holder) }));
  }, backup.snapshotId);
  expect(layout.length).toBeGreaterThan(4);
  for (const p of layout) {
    expect(p.k).toBe(3);
    expect(new Set(p.holders).size).toBe(4);
    expect(p.holders).not.toContain(null);
  }
  const packs = layout.length;

  for (const [i, p] of partners.entries()) await goOffline(p, owner.page, names[i]!);
  await owner.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Restore' }).click();
  const jobId = await owner.page.evaluate((sid) => (globalThis as unknown as DebugGlobal).backpactDebug.runtime.backup!.restore.start(sid as never, []), backup.snapshotId);
  const status = owner.page.getByTestId('restore-job').getByTestId('restore-status');
  await expect(status).toContainText('Waiting for Ana, Ben, Cleo or Dan to come online.', { timeout: 30_000 });

  const url = new URL('/', server.url).href;
  const reload = async (): Promise<void> => {
    await owner.page.reload();
    await waitForBackupServices(owner.page);
  };
  await reload();
  await expect(status).toContainText('Waiting for Ana, Ben, Cleo or Dan to come online.', { timeout: 30_000 });

  // Ana alone, then Ben alone: each time the owner takes that partner's shard of every pack and
  // keeps it; nothing can be rebuilt yet. The page is reloaded after each, and what they gave
  // is still there.
  const waits = ['Ben, Cleo or Dan', 'Cleo or Dan'];
  for (const [i, name] of ['Ana', 'Ben'].entries()) {
    const before = await presenceByName(owner.page);
    await goOnline(partners[i]!, url);
    await expect.poll(async () => (await restoreJobs(owner.page))[0]?.keptShards, { timeout: 120_000 }).toBe(packs * (i + 1));
    await expect(status).toContainText(`Waiting for ${waits[i]!} to come online. (0 of ${packs} pieces; ${packs} partly gathered)`, { timeout: 30_000 });
    expect(await servedByName(owner.page)).toEqual({ [name]: packs });
    expect((await restoreJobs(owner.page))[0]).toMatchObject({ id: jobId, state: 'waiting', packsDone: 0 });
    await goOffline(partners[i]!, owner.page, name);

    // The owner's device recorded that this partner was online meanwhile and the others were
    // not, and stored it (all were online during the backup, before).
    const others = names.filter((n) => n !== name);
    const seen = async (stored: boolean): Promise<boolean> => {
      const p = await presenceByName(owner.page, stored);
      const more = (n: string, key: 'online' | 'observed'): number => (p[n]?.[key] ?? 0) - (before[n]?.[key] ?? 0);
      return more(name, 'online') >= 1 && others.every((o) => more(o, 'online') === 0 && more(o, 'observed') >= more(name, 'online'));
    };
    await expect.poll(() => seen(true), { timeout: 30_000 }).toBe(true);

    await reload();
    expect(await keptShardRecords(owner.page)).toBe(packs * (i + 1));
    expect(await seen(false)).toBe(true);
    await expect(status).toContainText(`Waiting for ${waits[i]!} to come online.`, { timeout: 30_000 });
  }

  // Cleo alone: one shard more per pack completes every pack, with no action on the page.
  await goOnline(partners[2]!, url);
  await owner.page.evaluate((id) => (globalThis as unknown as DebugGlobal).backpactDebug.runtime.backup!.restore.whenReady(id), jobId);
  expect(await servedByName(owner.page)).toEqual({ Cleo: packs });
  expect(await keptShardRecords(owner.page)).toBe(0);
  await expect(owner.page.getByTestId('restore-job')).toHaveAttribute('data-state', 'ready');

  const [download] = await Promise.all([
    owner.page.waitForEvent('download', { timeout: 120_000 }),
    owner.page.getByRole('button', { name: /^Save backpact-.*\.zip$/ }).click(),
  ]);
  const restored = await zipHashes(await download.path());
  expect(restored).toEqual({ ...hashes, 'an empty folder': '' });
});
