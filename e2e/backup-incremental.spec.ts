/**
 * Later backups and damaged partners: a backup with one partner offline commits once enough
 * partners hold each pack and the offline partner's shards wait in the outbox until it comes
 * back; a second backup after changing three files sends only their new chunks; on a new device a
 * partner holding corrupted shards is detected and the restore still succeeds, and a restore
 * waiting for partners survives a reload and finishes when one comes online.
 */
import { expect, test } from './fixtures.ts';
import {
  backUp, corruptHeldShards, type DebugGlobal, generateTree, goOffline, goOnline, heldShardCount, ownerWithPartners, restoreAndSave, restoreOnNewDevice, type TreeSpec, waitForBackupServices, zipHashes,
} from './helpers/backup.ts';

const MiB = 1024 * 1024;

test('offline partner, incremental backup, corrupted partner and a restore that survives a reload', async ({ openPeers, server }) => {
  test.setTimeout(240_000);
  const [owner, ana, ben, cleo] = await openPeers(4);
  const phrase = await ownerWithPartners(owner, [ana, ben, cleo], ['Ana', 'Ben', 'Cleo']);
  const spec: TreeSpec[] = Array.from({ length: 12 }, (_, i) => ({ path: `set/file ${i}.bin`, kind: 'file', size: 1 * MiB + i * 97_000, content: 'random', seed: i + 1 }));
  spec.push({ path: 'set/readme.txt', kind: 'file', size: 20_000, content: 'text', seed: 50 });

  // Backup 1 with Cleo offline: it commits on Ana and Ben; Cleo's shards wait in the outbox.
  await goOffline(cleo, owner.page, 'Cleo');
  const v1 = await generateTree(owner.page, spec);
  const first = await backUp(owner.page);
  expect(first.queuedBytes).toBeGreaterThan(0);
  expect(first.sentBytes).toBe(2 * first.queuedBytes);
  const anaHeld = await heldShardCount(ana.page);
  await goOnline(cleo, server.url);
  await expect.poll(() => heldShardCount(cleo.page), { timeout: 60_000 }).toBe(anaHeld);
  await expect.poll(() => owner.page.evaluate(async () => (await (globalThis as unknown as DebugGlobal).backpactDebug.runtime.backup!.outbox.pending()).size)).toBe(0);

  // Backup 2 after changing three files: only their chunks are new.
  const changed = ['set/file 2.bin', 'set/file 7.bin', 'set/readme.txt'];
  const v2 = { ...v1, ...(await generateTree(owner.page, spec.filter((e) => changed.includes(e.path)).map((e) => ({ ...e, seed: (e.seed ?? 0) + 100 })))) };
  const second = await backUp(owner.page);
  const changedBytes = spec.filter((e) => changed.includes(e.path)).reduce((n, e) => n + (e.size ?? 0), 0);
  expect(second.newBytes).toBe(changedBytes);
  const total = spec.reduce((n, e) => n + (e.size ?? 0), 0);
  // Three copies of the new chunks plus the manifest; far less than the tree.
  expect(second.sentBytes).toBeLessThan(3 * (changedBytes + 64 * 1024) + 3 * 32 * 1024);
  expect(second.sentBytes).toBeLessThan(total);
  expect(second.queuedBytes).toBe(0);

  // The partner that holds the data shards corrupts everything it holds.
  const corruptName = await owner.page.evaluate(() => {
    const b = (globalThis as unknown as DebugGlobal).backpactDebug.runtime.backup!;
    return [...b.partners.holders()].sort((x, y) => (x.peerId < y.peerId ? -1 : 1))[0]!.name;
  });
  const corrupt = { Ana: ana, Ben: ben, Cleo: cleo }[corruptName]!;
  const healthy = [ana, ben, cleo].filter((p) => p !== corrupt);
  expect(await corruptHeldShards(corrupt.page)).toBeGreaterThan(0);
  await owner.context.close();

  const [device] = await openPeers(1);
  const snapshots = await restoreOnNewDevice(device.page, phrase, 2);
  expect(snapshots[0]).toBe(second.snapshotId);
  expect(snapshots[1]).toBe(first.snapshotId);
  const latest = await restoreAndSave(device.page, second.snapshotId, []);
  expect(await zipHashes(latest.path)).toEqual(v2);
  const counters = await device.page.evaluate(() => (globalThis as unknown as DebugGlobal).backpactDebug.runtime.backup!.restore.counters);
  const corruptPeer = await device.page.evaluate((n) => (globalThis as unknown as DebugGlobal).backpactDebug.runtime.backup!.partners.all().find((p) => p.name === n)!.peerId, corruptName);
  expect(counters.corrupt[corruptPeer]).toBeGreaterThan(0);
  expect(Object.keys(counters.corrupt)).toEqual([corruptPeer]);

  // The first snapshot, with only the corrupted partner online: the restore waits, survives a
  // reload, and finishes when a healthy partner comes back.
  await device.page.evaluate((sid) => (globalThis as unknown as DebugGlobal).backpactDebug.runtime.backup!.restore.plan(sid as never, []), first.snapshotId);
  for (const p of healthy) await goOffline(p, null, '');
  const job = await device.page.evaluate((sid) => (globalThis as unknown as DebugGlobal).backpactDebug.runtime.backup!.restore.start(sid as never, ['set']), first.snapshotId);
  await expect.poll(() => device.page.evaluate((id) => (globalThis as unknown as DebugGlobal).backpactDebug.runtime.backup!.restore.jobs.find((j) => j.id === id)?.state, job), { timeout: 30_000 }).toBe('waiting');
  await device.page.reload();
  await waitForBackupServices(device.page);
  // After the reload the job is still there, not finished, and resumes on its own.
  expect(await device.page.evaluate((id) => (globalThis as unknown as DebugGlobal).backpactDebug.runtime.backup!.restore.jobs.find((j) => j.id === id)?.state, job)).toMatch(/^(fetching|waiting)$/);
  await goOnline(healthy[0]!, server.url);
  await device.page.evaluate((id) => (globalThis as unknown as DebugGlobal).backpactDebug.runtime.backup!.restore.whenReady(id), job);
  const [download] = await Promise.all([
    device.page.waitForEvent('download'),
    device.page.evaluate((id) => (globalThis as unknown as DebugGlobal).backpactDebug.runtime.backup!.restore.save(id), job),
  ]);
  expect(download.suggestedFilename()).toBe('set.zip');
  expect(await zipHashes(await download.path())).toEqual(v1);
});
