import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PackId, PeerId, ShardId } from '../ids.ts';
import type { PackPlacement } from '../manifest/placement.ts';
import { batches, orphansIn, shardsOf, unreferencedShards } from './prune.ts';

const hex = (n: number, tag: string): string => (tag + n.toString(16)).padStart(64, '0');
const ana = 'a'.repeat(32) as PeerId;
const ben = 'b'.repeat(32) as PeerId;

/** A pack `n` with one shard at Ana and one at Ben (or nobody), shard length 100 + n. */
function pack(n: number, holders: (PeerId | null)[] = [ana, ben]): PackPlacement {
  return {
    packId: hex(n, 'p') as PackId, length: 100 + n, dataCount: 1, parityCount: holders.length - 1, shardLength: 100 + n,
    shards: holders.map((holder, i) => ({ id: hex(n * 16 + i, 's') as ShardId, holder, merkleRoot: new Uint8Array(32) })),
  };
}

describe('unreferenced shards', () => {
  it('deletes shards of forgotten packs only, grouped by holder with their bytes', () => {
    const [p1, p2, p3, m1] = [pack(1), pack(2), pack(3), pack(9)];
    const out = unreferencedShards([p1, p2, m1], [p2, p3]);
    expect([...out.keys()].sort()).toEqual([ana, ben]);
    expect(out.get(ana)).toEqual({ shards: [p1.shards[0]!.id, m1.shards[0]!.id], sizes: [101, 109], bytes: 101 + 109 });
    expect(out.get(ben)!.shards).toEqual([p1.shards[1]!.id, m1.shards[1]!.id]);
  });

  it('never deletes a pack a kept snapshot lists, a protected (outbox) shard, or a shard with no holder', () => {
    const p1 = pack(1, [ana, null]);
    const p2 = pack(2);
    const out = unreferencedShards([p1, p2, p1], [pack(2)], [p1.shards[0]!.id]);
    expect(out.size).toBe(0);
  });

  it('property: nothing referenced by what is kept is ever deleted, and every deleted shard was a candidate', () => {
    const packs = Array.from({ length: 12 }, (_, i) => pack(i, i % 3 === 0 ? [ana, null] : [ana, ben]));
    fc.assert(fc.property(fc.subarray(packs), fc.subarray(packs), (cand, kept) => {
      const out = unreferencedShards(cand, kept);
      const deleted = [...out.values()].flatMap((d) => d.shards);
      const keptIds = shardsOf(kept);
      const candIds = shardsOf(cand);
      for (const s of deleted) {
        expect(keptIds.has(s)).toBe(false);
        expect(candIds.has(s)).toBe(true);
      }
      expect(new Set(deleted).size).toBe(deleted.length);
      // Complete: every candidate shard with a holder not kept is deleted.
      const expected = cand.flatMap((p) => p.shards).filter((s) => s.holder !== null && !keptIds.has(s.id));
      expect(new Set(deleted)).toEqual(new Set(expected.map((s) => s.id)));
    }));
  });
});

describe('orphans', () => {
  const now = 10_000_000;
  it('takes unreferenced shards older than the safety age, never young or undated ones', () => {
    const s = (n: number) => hex(n, 'x') as ShardId;
    const listing = [
      { shard: s(1), size: 10, storedAt: now - 7_200_000 },
      { shard: s(2), size: 20, storedAt: now - 7_200_000 },
      { shard: s(3), size: 30, storedAt: now - 60_000 },
      { shard: s(4), size: 40 },
    ];
    expect(orphansIn(listing, new Set([s(2)]), now, 3_600_000)).toEqual({ shards: [s(1)], sizes: [10], bytes: 10 });
    expect(orphansIn(listing, new Set(), now, 0)).toEqual({ shards: [s(1), s(2), s(3)], sizes: [10, 20, 30], bytes: 60 });
  });

  it('splits into batches', () => {
    expect(batches([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(batches([], 2)).toEqual([]);
  });
});
