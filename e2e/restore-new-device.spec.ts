/**
 * The full round trip: an owner backs up a tree of more than 300 files — empty files, an
 * empty folder, Unicode and spaced names, compressible and random content, and one 128 MiB file —
 * to three partners; the owner's device is discarded; one partner goes offline; a new device
 * restores with the phrase. Restoring one small file fetches only the packs it uses; restoring
 * everything gives back every path with the same SHA-256. With three partners the policy
 * replicates (k = 1), so a second, smaller tree restores with two of the three offline.
 */
import { expect, test } from './fixtures.ts';
import {
  backUp, corruptHeldShards, type DebugGlobal, fileHash, generateTree, ownerWithPartners, packShardsByHolder, restoreAndSave, restoreOnNewDevice, servedByName, type TreeSpec, zipHashes,
} from './helpers/backup.ts';

const BIG = 128 * 1024 * 1024;

function tree(): TreeSpec[] {
  const spec: TreeSpec[] = [];
  for (let i = 0; i < 120; i++) spec.push({ path: `docs/notes ${String(i).padStart(3, '0')}.txt`, kind: 'file', size: 500 + i * 211, content: 'text', seed: i });
  for (let i = 0; i < 100; i++) spec.push({ path: `données/été/photo-${i}.raw`, kind: 'file', size: 1000 + i * 1733, content: 'random', seed: 1000 + i });
  for (let i = 0; i < 40; i++) spec.push({ path: `empty/file ${i}`, kind: 'file', size: 0, seed: 2000 + i });
  for (let i = 0; i < 45; i++) spec.push({ path: `mixed/日本語 ${i}/data.bin`, kind: 'file', size: 200_000 + i * 37_000, content: i % 2 ? 'random' : 'zeros', seed: 3000 + i });
  spec.push({ path: 'an empty folder', kind: 'directory' });
  spec.push({ path: 'video/big movie.bin', kind: 'file', size: BIG, content: 'random', seed: 9 });
  return spec;
}

test('a tree of 300+ files with a 128 MiB file restores on a new device with one partner offline', async ({ openPeers }) => {
  test.setTimeout(420_000);
  const [owner, ...partners] = await openPeers(4);
  const phrase = await ownerWithPartners(owner, partners, ['Ana', 'Ben', 'Cleo']);
  const spec = tree();
  expect(spec.filter((e) => e.kind === 'file').length).toBeGreaterThanOrEqual(300);
  const hashes = await generateTree(owner.page, spec);
  const backup = await backUp(owner.page);
  expect(backup.queuedBytes).toBe(0);
  await owner.context.close();
  await partners[2]!.context.close();

  const [device] = await openPeers(1);
  const [snapshot] = await restoreOnNewDevice(device.page, phrase);
  expect(snapshot).toBe(backup.snapshotId);

  // One small file: only the packs holding its chunks are fetched.
  const one = 'docs/notes 007.txt';
  const before = await device.page.evaluate(async ([sid, path]) => {
    const b = (globalThis as unknown as DebugGlobal).backpactDebug.runtime.backup!;
    const plan = (await b.restore.plan(sid as never, [path]))!;
    const all = (await b.restore.plan(sid as never, []))!;
    return { need: plan.packs.length, total: all.packs.length, fetched: b.restore.counters.packs };
  }, [snapshot!, one] as const);
  expect(before.need).toBe(1);
  expect(before.total).toBeGreaterThan(16);
  const single = await restoreAndSave(device.page, snapshot!, [one]);
  expect(single.name).toBe('notes 007.txt');
  expect(await fileHash(single.path)).toBe(hashes[one]);
  const fetched = await device.page.evaluate(() => (globalThis as unknown as DebugGlobal).backpactDebug.runtime.backup!.restore.counters.packs);
  expect(fetched - before.fetched).toBe(before.need);

  // Everything, as a zip.
  const all = await restoreAndSave(device.page, snapshot!, []);
  const restored = await zipHashes(all.path);
  expect(Object.keys(restored).length).toBe(spec.length);
  expect(restored).toEqual({ ...hashes, 'an empty folder': '' });

  // The restore spread over both partners still online (replication puts the only data shard of
  // every pack with the same partner; the least busy holder is asked first, not the data shard).
  const byHolder = await device.page.evaluate(() => (globalThis as unknown as DebugGlobal).backpactDebug.runtime.backup!.restore.counters.bytesByHolder);
  const online = await device.page.evaluate((names) => {
    const b = (globalThis as unknown as DebugGlobal).backpactDebug.runtime.backup!;
    return b.partners.all().filter((p) => names.includes(p.name)).map((p) => p.peerId as string);
  }, ['Ana', 'Ben']);
  expect(online).toHaveLength(2);
  expect(Object.keys(byHolder).sort()).toEqual([...online].sort());
  for (const id of online) expect(byHolder[id]).toBeGreaterThan(BIG / 8);
});

test('with k = 1 over three partners, a new device restores everything with two partners offline', async ({ openPeers }) => {
  test.setTimeout(300_000);
  const [owner, ...partners] = await openPeers(4);
  const phrase = await ownerWithPartners(owner, partners, ['Ana', 'Ben', 'Cleo']);
  const spec: TreeSpec[] = [];
  for (let i = 0; i < 40; i++) spec.push({ path: `docs/nöte ${i}.txt`, kind: 'file', size: 400 + i * 313, content: 'text', seed: i });
  for (let i = 0; i < 20; i++) spec.push({ path: `raw/${i}.bin`, kind: 'file', size: 100_000 + i * 45_000, content: i % 3 ? 'random' : 'zeros', seed: 500 + i });
  spec.push({ path: 'empty', kind: 'file', size: 0, seed: 1 });
  spec.push({ path: 'an empty folder', kind: 'directory' });
  spec.push({ path: 'big/archive.bin', kind: 'file', size: 24 * 1024 * 1024, content: 'random', seed: 77 });
  const hashes = await generateTree(owner.page, spec);
  const backup = await backUp(owner.page);
  expect(backup.survival).toBe('Survives losing any 2 partners of your 3.');
  await owner.context.close();
  await partners[1]!.context.close();
  await partners[2]!.context.close();

  const [device] = await openPeers(1);
  const [snapshot] = await restoreOnNewDevice(device.page, phrase);
  expect(snapshot).toBe(backup.snapshotId);
  const all = await restoreAndSave(device.page, snapshot!, []);
  expect(await zipHashes(all.path)).toEqual({ ...hashes, 'an empty folder': '' });
  const served = await servedByName(device.page);
  expect(Object.keys(served)).toEqual(['Ana']);
  expect(served.Ana).toBeGreaterThan(4);
});

test('pack shards taken without their Merkle check: a partner lying about them is found when a pack fails to decode, counted, and the restore is intact', async ({ openPeers }) => {
  test.setTimeout(300_000);
  const [owner, ...partners] = await openPeers(4);
  const names = ['Ana', 'Ben', 'Cleo'];
  const phrase = await ownerWithPartners(owner, partners, names);
  const spec: TreeSpec[] = Array.from({ length: 6 }, (_, i) => ({ path: `set/${i}.bin`, kind: 'file' as const, size: 6 * 1024 * 1024, content: 'random' as const, seed: 40 + i }));
  const hashes = await generateTree(owner.page, spec);
  const backup = await backUp(owner.page);
  // The partner holding every pack's data shard (asked first when all are equally busy) corrupts
  // those shards only: the manifest still comes intact (checked), so the restore reaches the
  // packs trusting that partner, and only decoding can catch it.
  const liarName = await owner.page.evaluate(async (sid) => {
    const b = (globalThis as unknown as DebugGlobal).backpactDebug.runtime.backup!;
    const plan = (await b.restore.plan(sid as never, []))!;
    return b.partners.nameOf(plan.packs[0]!.placement.shards[0]!.holder);
  }, backup.snapshotId);
  const shards = await packShardsByHolder(owner.page, backup.snapshotId);
  const liar = partners[names.indexOf(liarName)]!;
  expect(shards[liarName]!.length).toBeGreaterThan(3);
  expect(await corruptHeldShards(liar.page, shards[liarName])).toBe(shards[liarName]!.length);
  await owner.context.close();

  const [device] = await openPeers(1);
  const [snapshot] = await restoreOnNewDevice(device.page, phrase);
  expect(snapshot).toBe(backup.snapshotId);
  const all = await restoreAndSave(device.page, snapshot!, []);
  expect(await zipHashes(all.path)).toEqual(hashes);
  const counters = await device.page.evaluate(() => {
    const b = (globalThis as unknown as DebugGlobal).backpactDebug.runtime.backup!;
    const byName = (r: Record<string, number>): Record<string, number> => Object.fromEntries(Object.entries(r).map(([k, v]) => [b.partners.nameOf(k as never), v]));
    return { corrupt: byName(b.restore.counters.corrupt), served: byName(b.restore.counters.served) };
  });
  expect(Object.keys(counters.corrupt)).toEqual([liarName]);
  expect(counters.corrupt[liarName]).toBeGreaterThan(0);
  // Its manifest shard was checked and served; none of its pack shards counted as served.
  expect(counters.served[liarName] ?? 0).toBeLessThanOrEqual(1);
  // Every pack came from the two honest partners.
  const honest = names.filter((n) => n !== liarName);
  const packs = Object.values(shards)[0]!.length;
  expect(honest.reduce((n, h) => n + (counters.served[h] ?? 0), 0)).toBeGreaterThanOrEqual(packs);
});

