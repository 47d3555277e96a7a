/**
 * The holder enforces its side of an agreement over a real link: a write past the quota and a
 * write from someone without an agreement are refused with a clear code and nothing is stored.
 */
import type { Page } from '@playwright/test';
import { expect, test } from './fixtures.ts';
import { createIdentity } from './helpers/onboarding.ts';
import { makeInvite, signalingId } from './helpers/partners.ts';

/** Sends a shard put of `size` bytes from `page` to the partner with signaling id `to`. */
async function put(page: Page, to: string, shard: string, size: number): Promise<string> {
  return page.evaluate(async ({ to, shard, size }) => {
    const dbg = (globalThis as unknown as { backpactDebug: { runtime: { network: { peers: { waitForLink(id: string, ms: number): Promise<{ request(m: unknown, o: unknown): Promise<{ message: { type: string } }> }> } } } } }).backpactDebug;
    const link = await dbg.runtime.network.peers.waitForLink(to, 30_000);
    try {
      const res = await link.request({ type: 'shard.put', shard, size }, { body: new Uint8Array(size).fill(7) });
      return res.message.type;
    } catch (err) {
      return `refused:${(err as { remoteCode?: string }).remoteCode ?? (err as Error).message}`;
    }
  }, { to, shard, size });
}

/** Shards `holder` keeps, as [owner, shard] pairs, read straight from IndexedDB. */
async function heldShards(holder: Page): Promise<[string, string][]> {
  return holder.evaluate(async () => {
    const db = await new Promise<IDBDatabase>((r) => { const q = indexedDB.open('backpact'); q.onsuccess = () => r(q.result); });
    return new Promise((r) => { const g = db.transaction('held').objectStore('held').getAllKeys(); g.onsuccess = () => r(g.result as [string, string][]); });
  });
}

test('a write over the quota and a write from a stranger are refused and store nothing', async ({ openPeers }) => {
  const [alice, bob, carol] = await openPeers(3);
  await createIdentity(alice.page, 'Alice');
  const link = await makeInvite(alice.page, 1);
  await bob.page.goto(link);
  await createIdentity(bob.page, 'Bob', { landing: 'Partners' });
  await bob.page.getByRole('button', { name: 'Accept' }).click();
  await expect(alice.page.getByTestId('partner').filter({ hasText: 'Bob' })).toBeVisible({ timeout: 30_000 });
  await expect(bob.page.getByTestId('partner').filter({ hasText: 'Alice' })).toBeVisible({ timeout: 30_000 });

  // Bob already holds almost 1 GB of Alice's data (simulated in his allowance record).
  await bob.page.evaluate(async () => {
    const db = await new Promise<IDBDatabase>((r) => { const q = indexedDB.open('backpact'); q.onsuccess = () => r(q.result); });
    const tx = db.transaction('allowance', 'readwrite');
    const store = tx.objectStore('allowance');
    const all = await new Promise<{ owner: string; allowed: number; used: number }[]>((r) => { const g = store.getAll(); g.onsuccess = () => r(g.result); });
    if (all.length !== 1) throw new Error(`expected one allowance, found ${all.length}`);
    for (const rec of all) store.put({ ...rec, used: rec.allowed - 1000 });
    await new Promise((r) => (tx.oncomplete = r));
  });
  const bobId = await signalingId(bob.page);
  expect(await put(alice.page, bobId, 'a'.repeat(64), 4000)).toBe('refused:quota-exceeded');
  expect(await heldShards(bob.page)).toEqual([]);
  expect(await put(alice.page, bobId, 'b'.repeat(64), 900)).toBe('shard.stored');
  expect((await heldShards(bob.page)).map(([, s]) => s)).toEqual(['b'.repeat(64)]);

  // Carol has no agreement with Bob: she can reach him only through an invite, and before any
  // agreement her writes are refused.
  const bobInvite = await makeInvite(bob.page, 1);
  await carol.page.goto(bobInvite);
  await createIdentity(carol.page, 'Carol', { landing: 'Partners' });
  await expect(carol.page.getByTestId('inviter-name')).toHaveText('Bob', { timeout: 30_000 });
  expect(await put(carol.page, bobId, 'c'.repeat(64), 10)).toBe('refused:no-agreement');
  expect((await heldShards(bob.page)).map(([, s]) => s)).toEqual(['b'.repeat(64)]);
});
