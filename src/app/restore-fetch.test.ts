import { describe, expect, it } from 'vitest';
import type { PackId, PeerId, ShardId } from '../core/ids.ts';
import type { PackPlacement } from '../core/manifest/placement.ts';
import { merkleRoot } from '../core/merkle/index.ts';
import type { PeerLink } from '../p2p/link.ts';
import type { BackupPartners } from './backup-partners.ts';
import { ShardFetcher, shardMatches } from './restore-fetch.ts';

const hex = (c: string): string => c.repeat(64);
const holders = ['ana', 'ben', 'cleo'].map((n) => n.toUpperCase().padEnd(32, 'A') as PeerId);

function stripe(k: number, n: number): { placement: PackPlacement; shards: Uint8Array[] } {
  const shards = Array.from({ length: n }, (_, i) => new Uint8Array(4096).fill(i + 1));
  const placement: PackPlacement = {
    packId: hex('a') as PackId, length: 4096 * k, dataCount: k, parityCount: n - k, shardLength: 4096,
    shards: shards.map((s, i) => ({ id: hex(String(i + 1)) as ShardId, holder: holders[i]!, merkleRoot: merkleRoot(s) })),
  };
  return { placement, shards };
}

/** Partners of whom `online` are linked; each serves its shard (or `bad` bytes). */
function partners(placement: PackPlacement, shards: Uint8Array[], online: Set<PeerId>, bad = new Set<PeerId>()): { partners: BackupPartners; asked: PeerId[] } {
  const asked: PeerId[] = [];
  const linkOf = (peerId: PeerId): PeerLink => ({
    request: (msg: { shard: ShardId }) => {
      asked.push(peerId);
      const i = placement.shards.findIndex((s) => s.id === msg.shard);
      const bytes = bad.has(peerId) ? new Uint8Array(4096).fill(99) : shards[i]!;
      return Promise.resolve({ message: { type: 'shard.data', size: bytes.length }, body: { bytes: () => Promise.resolve(bytes) } });
    },
  }) as unknown as PeerLink;
  return { partners: { link: (p: PeerId) => (online.has(p) ? linkOf(p) : undefined) } as unknown as BackupPartners, asked };
}

describe('gathering a stripe over time', () => {
  it('takes what one partner has, keeps waiting for the others, and completes later from kept shards', async () => {
    const { placement, shards } = stripe(2, 3);
    const first = partners(placement, shards, new Set([holders[0]!]));
    const f1 = new ShardFetcher(first.partners);
    const a = await f1.gather(placement, new Map());
    expect(a.complete).toBe(false);
    expect(a.fetched).toEqual([0]);
    expect(f1.counters.served).toEqual({ [holders[0]!]: 1 });
    expect(f1.counters.packs).toBe(0);
    expect(f1.waitingFor(placement, new Set(a.fetched))).toEqual([holders[1], holders[2]]);
    // Nothing is fetched without `partial` when the stripe cannot be completed.
    const strict = partners(placement, shards, new Set([holders[0]!]));
    expect(await new ShardFetcher(strict.partners).fetch(placement)).toBeNull();
    expect(strict.asked).toEqual([]);

    // Later, a new page (new fetcher) with only Cleo online and Ana's shard kept.
    const second = partners(placement, shards, new Set([holders[2]!]));
    const f2 = new ShardFetcher(second.partners);
    const b = await f2.gather(placement, new Map([[0, a.shards[0]!]]));
    expect(b.complete).toBe(true);
    expect(b.fetched).toEqual([2]);
    expect(second.asked).toEqual([holders[2]]);
    expect(b.shards[0]).toEqual(shards[0]);
    expect(b.shards[2]).toEqual(shards[2]);
    expect(f2.counters.packs).toBe(1);
  });

  it('does not keep a shard that fails its Merkle root, and stops waiting for its holder', async () => {
    const { placement, shards } = stripe(2, 3);
    const p = partners(placement, shards, new Set([holders[0]!, holders[1]!]), new Set([holders[1]!]));
    const f = new ShardFetcher(p.partners);
    const got = await f.gather(placement, new Map());
    expect(got.complete).toBe(false);
    expect(got.fetched).toEqual([0]);
    expect(f.counters.corrupt).toEqual({ [holders[1]!]: 1 });
    expect(f.waitingFor(placement, new Set([0]))).toEqual([holders[2]]);
  });

  it('asks only for what is missing up to k, data shards first', async () => {
    const { placement, shards } = stripe(1, 3);
    const p = partners(placement, shards, new Set(holders));
    const got = await new ShardFetcher(p.partners).gather(placement, new Map());
    expect(got).toMatchObject({ complete: true, fetched: [0] });
    expect(p.asked).toEqual([holders[0]]);
    expect(shardMatches(placement, 1, shards[1]!)).toBe(true);
    expect(shardMatches(placement, 1, shards[0]!)).toBe(false);
    expect(shardMatches(placement, 7, shards[0]!)).toBe(false);
  });

  it('lazy: hands over shards that complete a stripe unchecked; a re-check of the same shards finds and counts the liar', async () => {
    const { placement, shards } = stripe(1, 3);
    const p = partners(placement, shards, new Set(holders), new Set([holders[0]!]));
    const f = new ShardFetcher(p.partners);
    let roots = 0;
    f.rootOf = (bytes) => {
      roots++;
      return Promise.resolve({ bytes, root: merkleRoot(bytes) });
    };
    const lazy = await f.gather(placement, new Map(), undefined, true, { lazy: true });
    expect(lazy).toMatchObject({ complete: true, fetched: [0], unchecked: [0] });
    expect(roots).toBe(0);
    expect(f.counters.served).toEqual({});
    expect(f.counters.corrupt).toEqual({});
    // The caller's decode failed: fetch again, checked, the same shard first.
    const again = await f.gather(placement, new Map(), undefined, true, { prefer: new Set(lazy.unchecked) });
    expect(again).toMatchObject({ complete: true, fetched: [1], unchecked: [] });
    expect(again.shards[1]).toEqual(shards[1]);
    expect(p.asked).toEqual([holders[0], holders[0], holders[1]]);
    expect(f.counters.corrupt).toEqual({ [holders[0]!]: 1 });
    expect(f.counters.served).toEqual({ [holders[1]!]: 1 });
    // From now on the liar's shards are checked even when fetched lazily (another pack); the
    // others' still are not.
    const other = { ...placement, packId: hex('b') as PackId };
    roots = 0;
    const next = await f.gather(other, new Map(), undefined, true, { lazy: true });
    expect(next).toMatchObject({ complete: true, fetched: [1], unchecked: [1] });
    expect(roots).toBe(1);
    expect(f.counters.corrupt).toEqual({ [holders[0]!]: 2 });
  });

  it('lazy: confirm counts unchecked shards as served once the caller verified them', async () => {
    const { placement, shards } = stripe(2, 3);
    const p = partners(placement, shards, new Set(holders));
    const f = new ShardFetcher(p.partners);
    const got = await f.gather(placement, new Map(), undefined, true, { lazy: true });
    expect(got).toMatchObject({ complete: true, unchecked: [0, 1] });
    f.confirm(placement, got.unchecked);
    expect(f.counters.served).toEqual({ [holders[0]!]: 1, [holders[1]!]: 1 });
  });

  it('lazy: shards of a stripe that stays incomplete are checked before they are handed over for keeping', async () => {
    const { placement, shards } = stripe(3, 3);
    // Only Ana (honest) and Ben (lying) are online; Cleo is not, and all three are needed.
    const p = partners(placement, shards, new Set([holders[0]!, holders[1]!]), new Set([holders[1]!]));
    const f = new ShardFetcher(p.partners);
    const got = await f.gather(placement, new Map(), undefined, true, { lazy: true });
    expect(got).toMatchObject({ complete: false, fetched: [0], unchecked: [] });
    expect(got.shards[1]).toBeNull();
    expect(f.counters.corrupt).toEqual({ [holders[1]!]: 1 });
    expect(f.counters.served).toEqual({ [holders[0]!]: 1 });
  });
});
