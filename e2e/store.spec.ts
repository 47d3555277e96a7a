/** The IndexedDB adapters pass the same contract suites as their in-memory doubles, in Chromium. */
import { expect, test } from './fixtures.ts';

test('the IndexedDB holder store passes the holder-store contract', async ({ harnessPage }) => {
  const results = await harnessPage.evaluate(() => (globalThis.backpactHarness.store as { runHolderContract(): Promise<{ name: string; ok: boolean; error?: string }[]> }).runHolderContract());
  expect(results.length).toBeGreaterThanOrEqual(7);
  for (const r of results) expect(r, r.name).toEqual({ name: r.name, ok: true });
});

test('a version-2 database upgrades: shards already held are listed, deleted and replaced through the new indexes', async ({ harnessPage }) => {
  const r = await harnessPage.evaluate(() => (globalThis.backpactHarness.store as { upgradeCheck(): Promise<unknown> }).upgradeCheck());
  expect(r).toEqual({
    listed: [
      { shard: 'a'.repeat(64), size: 1000, storedAt: 10 },
      { shard: 'b'.repeat(64), size: 3000, storedAt: 20, damagedAt: 25 },
    ],
    served: 1000,
    damagedServed: false,
    scrubbed: { shard: 'b'.repeat(64), damagedAt: 25, rootSource: 'baseline' },
    deleted: true,
    usedAfterDelete: 1000,
    usedAfterPut: 1500,
    listedAfter: [{ shard: 'a'.repeat(64), size: 1500, storedAt: expect.any(Number) }],
  });
});
