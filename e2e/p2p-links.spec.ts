/**
 * Peer links in real Chromium through the real signaling server: two devices with different
 * identities bind and move 64 MiB each way intact; a peer presenting the wrong identity is
 * refused before any application message; a dropped link comes back by itself.
 */
import type { Page } from '@playwright/test';
import { expect, test } from './fixtures.ts';
import { device, HARNESS } from './helpers/harness-p2p.ts';

/** Two devices that are each other's partners and linked. */
async function linkedPair(openPeers: (n: 2, o: typeof HARNESS) => Promise<{ page: Page }[]>, wsUrl: string) {
  const [pa, pb] = await openPeers(2, HARNESS);
  const a = device(pa!.page);
  const b = device(pb!.page);
  const [ida, idb] = await Promise.all([a.start(wsUrl), b.start(wsUrl)]);
  await a.addPartner(idb);
  await b.addPartner(ida);
  expect(await a.waitForLink(idb)).toBe(true);
  expect(await b.waitForLink(ida)).toBe(true);
  return { a, b, ida, idb };
}

test('two devices bind their identities and move 64 MiB each way with matching SHA-256', async ({ openPeers, server }) => {
  const { a, b, ida, idb } = await linkedPair(openPeers, server.wsUrl);
  expect(ida).not.toBe(idb);
  const [ab, ba] = await Promise.all([a.sendBlob(idb, 64, 1), b.sendBlob(ida, 64, 2)]);
  for (const r of [ab, ba]) {
    expect(r.bytes).toBe(64 * 1024 * 1024);
    expect(r.remoteSha).toBe(r.localSha);
  }
  expect(ab.localSha).not.toBe(ba.localSha);
  const rate = (ms: number): string => (67.108864 / (ms / 1000)).toFixed(1);
  test.info().annotations.push({ type: 'throughput', description: `a→b ${rate(ab.ms)} MB/s and b→a ${rate(ba.ms)} MB/s at the same time` });
});

test('a peer that presents another identity is refused before any application message', async ({ openPeers, server }) => {
  const [pa, pb] = await openPeers(2, HARNESS);
  const a = device(pa.page);
  const b = device(pb.page);
  const ida = await a.start(server.wsUrl);
  // b authenticates to the server with its own key but binds links with another one.
  const idb = await b.start(server.wsUrl, true);
  await a.addPartner(idb);
  await b.addPartner(ida);
  expect(await a.waitForEvent(`failed:${idb}`)).toBe(`failed:${idb}:binding-failed:identity-mismatch`);
  expect(await a.state()).toEqual({ links: 0, served: 0, linked: [] });
  expect(await b.state()).toEqual({ links: 0, served: 0, linked: [] });
});

test('a dropped link reconnects by itself while both devices stay online', async ({ openPeers, server }) => {
  const { a, b, ida, idb } = await linkedPair(openPeers, server.wsUrl);
  expect(await a.ping(idb)).toBe('harness.pong');

  // The connection vanishes under b (no close frame): both sides see a transport loss…
  await b.simulateNetworkLoss(ida);
  expect(await a.waitForEvent(`closed:${idb}:transport`)).toBe(`closed:${idb}:transport`);
  expect(await b.waitForEvent(`closed:${ida}:transport`)).toBe(`closed:${ida}:transport`);
  // …and a new bound link replaces it without anyone asking.
  const links = async (d: ReturnType<typeof device>, id: string): Promise<number> => (await d.events()).filter((e) => e === `link:${id}`).length;
  await expect.poll(() => links(a, idb), { timeout: 30_000 }).toBe(2);
  await expect.poll(() => links(b, ida), { timeout: 30_000 }).toBe(2);
  expect(await a.ping(idb)).toBe('harness.pong');
  expect(await b.ping(ida)).toBe('harness.pong');
});

test('an invite brings two strangers together: a reply through the mailbox, then an invite-bound link', async ({ openPeers, server }) => {
  const [pa, pb] = await openPeers(2, HARNESS);
  const inviter = device(pa.page);
  const guest = device(pb.page);
  const [idInviter, idGuest] = await Promise.all([inviter.start(server.wsUrl), guest.start(server.wsUrl)]);
  const link = await inviter.createInvite();
  // The guest knows only the link: the inviter's key, the invite id and the secret.
  expect(await guest.acceptInvite(link)).toBe(idInviter);
  expect(await inviter.waitForEvent('invite-reply:')).toBe(`invite-reply:${idGuest}`);
  expect(await guest.waitForLink(idInviter)).toBe(true);
  expect(await inviter.waitForLink(idGuest)).toBe(true);
  expect(await guest.ping(idInviter)).toBe('harness.pong');
  expect(await inviter.ping(idGuest)).toBe('harness.pong');
});
