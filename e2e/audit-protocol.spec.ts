/**
 * The audit protocol over a real link: the owner asks for random leaves of a shard it stored with
 * a partner; the partner answers with leaves and Merkle paths, signed; the owner verifies them
 * against the root it kept. Deleted or altered data is caught.
 */
import type { Page } from '@playwright/test';
import { drawChallenge, cryptoRandomInt, verifyAnswer } from '../src/core/audit/index.ts';
import { leafCount, merkleRoot } from '../src/core/merkle/index.ts';
import { expect, test } from './fixtures.ts';
import { createIdentity } from './helpers/onboarding.ts';
import { makeInvite, signalingId } from './helpers/partners.ts';

type Debug = { backpactDebug: { runtime: { network: { signaling: { self: { id: string } } ; peers: { waitForLink(id: string, ms: number): Promise<{ request(m: unknown, o?: unknown): Promise<{ message: Record<string, unknown>; body: { bytes(max?: number): Promise<Uint8Array> } | null }> }> } } } } };

/** Sends one request from `page` to partner `to`; returns the header and the body bytes. */
async function request(page: Page, to: string, message: unknown, body?: number[]): Promise<{ message: Record<string, unknown>; body: number[] | null }> {
  return page.evaluate(async ({ to, message, body }) => {
    const link = await (globalThis as unknown as Debug).backpactDebug.runtime.network.peers.waitForLink(to, 30_000);
    const res = await link.request(message, body ? { body: new Uint8Array(body) } : {});
    return { message: res.message, body: res.body ? [...(await res.body.bytes())] : null };
  }, { to, message, body });
}

test('a partner proves it holds a shard, and is caught once the shard is altered or gone', async ({ openPeers }) => {
  const [alice, bob] = await openPeers(2);
  await createIdentity(alice.page, 'Alice');
  const link = await makeInvite(alice.page, 1);
  await bob.page.goto(link);
  await createIdentity(bob.page, 'Bob', { landing: 'Partners' });
  await bob.page.getByRole('button', { name: 'Accept' }).click();
  await expect(bob.page.getByTestId('partner').filter({ hasText: 'Alice' })).toBeVisible({ timeout: 30_000 });
  const bobId = await signalingId(bob.page);
  const bobKey = new Uint8Array(Buffer.from(bobId, 'base64url'));

  // Alice stores a 300 KiB shard with Bob and keeps only its Merkle root.
  const shard = Uint8Array.from({ length: 300 * 1024 }, (_, i) => (i * 2654435761) >>> 24);
  const shardId = 'e'.repeat(64);
  const root = merkleRoot(shard);
  expect((await request(alice.page, bobId, { type: 'shard.put', shard: shardId, size: shard.length }, [...shard])).message.type).toBe('shard.stored');
  const known = (id: string) => (id === shardId ? { root, leaves: leafCount(shard.length) } : undefined);

  async function round(): Promise<ReturnType<typeof verifyAnswer> & { wireBytes: number }> {
    const challenge = drawChallenge([{ shard: shardId, leaves: leafCount(shard.length) }], cryptoRandomInt, 16);
    const nonce = crypto.getRandomValues(new Uint8Array(16));
    const res = await request(alice.page, bobId, { type: 'audit.challenge', nonce: Buffer.from(nonce).toString('base64url'), items: challenge });
    expect(res.message.type).toBe('audit.answer');
    const answer = new Uint8Array(res.body!);
    return { ...verifyAnswer(answer, bobKey, nonce, challenge, known), wireBytes: answer.length };
  }

  const good = await round();
  expect(good.ok).toBe(true);
  expect(good.wireBytes).toBeLessThan(32 * 1024);

  // Bob's copy rots: every leaf changes by one byte. The next audit fails.
  await bob.page.evaluate(async () => {
    const db = await new Promise<IDBDatabase>((r) => { const q = indexedDB.open('backpact'); q.onsuccess = () => r(q.result); });
    const tx = db.transaction('held', 'readwrite');
    const store = tx.objectStore('held');
    const all = await new Promise<{ bytes: ArrayBuffer }[]>((r) => { const g = store.getAll(); g.onsuccess = () => r(g.result); });
    for (const rec of all) {
      const b = new Uint8Array(rec.bytes);
      for (let i = 0; i < b.length; i += 1024) b[i] = b[i]! ^ 0x5a;
      store.put(rec);
    }
    await new Promise((r) => (tx.oncomplete = r));
  });
  expect(await round()).toMatchObject({ ok: false, reason: 'wrong-leaf' });

  // Bob deletes it: the answer has no leaves for it.
  await bob.page.evaluate(async () => {
    const db = await new Promise<IDBDatabase>((r) => { const q = indexedDB.open('backpact'); q.onsuccess = () => r(q.result); });
    const tx = db.transaction('held', 'readwrite');
    tx.objectStore('held').clear();
    await new Promise((r) => (tx.oncomplete = r));
  });
  expect(await round()).toMatchObject({ ok: false, reason: 'missing-leaf' });
});
