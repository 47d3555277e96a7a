import { describe, expect, it } from 'vitest';
import { IntegrityError, NotEnoughShardsError } from '../errors.ts';
import type { PackId, PeerId, ShardId } from '../ids.ts';
import type { PackPlacement } from '../manifest/placement.ts';
import { shardLengthFor, stripePack, stripeRoots } from '../pack/shards.ts';
import { applyMoves, planRepair, rebuildShards, type LostSet, type RepairCandidate } from './index.ts';

const peer = (c: string): PeerId => c.repeat(32) as PeerId;
const pack = (c: string): PackId => c.repeat(64) as PackId;
const MiB = 1024 * 1024;

/** A placement of pack `c` with shard i at holders[i] (k data shards of 1 MiB). */
function placement(c: string, holders: (string | null)[], k = 1): PackPlacement {
  const shardLength = shardLengthFor(k * MiB, k);
  return {
    packId: pack(c), length: k * MiB, dataCount: k, parityCount: holders.length - k, shardLength,
    shards: holders.map((h, i) => ({ id: `${c}${i}`.padEnd(64, '0') as ShardId, holder: h === null ? null : peer(h), merkleRoot: new Uint8Array(32) })),
  };
}

const lostHolders = (...hs: string[]): LostSet => ({ holders: new Set(hs.map(peer)), shards: new Map() });
const cand = (c: string, spare = 100 * MiB, reachable = true): RepairCandidate => ({ peerId: peer(c), spareBytes: spare, reachable });

describe('repair plan', () => {
  it('moves every shard of a lost holder to the partner that holds no shard of the pack', () => {
    const ps = [placement('1', ['x', 'y', 'z']), placement('2', ['x', 'y', 'z']), placement('3', ['y', 'z', 'w'])];
    const plan = planRepair(ps, lostHolders('x'), [cand('x'), cand('y', 1000 * MiB), cand('z', 1000 * MiB), cand('d')]);
    expect(plan.unrecoverable).toEqual([]);
    expect(plan.tasks.map((t) => [t.packId, t.index, t.from, t.to])).toEqual([
      [pack('1'), 0, peer('x'), peer('d')],
      [pack('2'), 0, peer('x'), peer('d')],
    ]);
  });

  it('never picks a lost, unreachable or full partner, and counts room as it assigns', () => {
    const ps = [placement('1', ['x', 'y']), placement('2', ['x', 'y']), placement('3', ['x', 'y'])];
    const plan = planRepair(ps, lostHolders('x'), [cand('x'), cand('a', 100 * MiB, false), cand('b', MiB / 2), cand('c', 2 * MiB), cand('y', 10 * MiB)]);
    // c has room for two shards; the third goes to y (which holds another shard: only as a last resort).
    expect(plan.tasks.map((t) => t.to)).toEqual([peer('c'), peer('c'), peer('y')]);
  });

  it('never gives a partner on probation a second shard of a pack', () => {
    const ps = [placement('1', ['x', 'y', 'z'])];
    expect(planRepair(ps, lostHolders('x'), [{ ...cand('y'), onePerPack: true }]).tasks[0]!.to).toBeNull();
    expect(planRepair(ps, lostHolders('x'), [{ ...cand('d'), onePerPack: true }]).tasks[0]!.to).toBe(peer('d'));
    expect(planRepair(ps, lostHolders('x'), [cand('y')]).tasks[0]!.to).toBe(peer('y'));
  });

  it('keeps a task without a target while no partner has room', () => {
    const plan = planRepair([placement('1', ['x', 'y'])], lostHolders('x'), [cand('y', 0), cand('z', 10, true)]);
    expect(plan.tasks).toHaveLength(1);
    expect(plan.tasks[0]).toMatchObject({ from: peer('x'), to: null });
  });

  it('gives two lost shards of one pack to two different partners when it can', () => {
    const ps = [placement('1', ['x', 'w', 'y', 'z'], 2)];
    const plan = planRepair(ps, lostHolders('x', 'w'), [cand('a', 50 * MiB), cand('b', 40 * MiB), cand('y'), cand('z')]);
    expect(plan.tasks.map((t) => t.to)).toEqual([peer('a'), peer('b')]);
  });

  it('reports packs with fewer than k surviving shards instead of planning them', () => {
    const ps = [placement('1', ['x', 'w', 'y'], 2), placement('2', ['x', 'y', 'z'], 1)];
    const plan = planRepair(ps, lostHolders('x', 'w'), [cand('d')]);
    expect(plan.unrecoverable).toEqual([pack('1')]);
    expect(plan.tasks.map((t) => t.packId)).toEqual([pack('2')]);
  });

  it('rebuilds a shard reported damaged, possibly back at the holder that reported it', () => {
    const p = placement('1', ['x', 'y', 'z']);
    const lost: LostSet = { holders: new Set(), shards: new Map([[p.shards[1]!.id, peer('y')]]) };
    const plan = planRepair([p], lost, [cand('x'), cand('y', 500 * MiB), cand('z')]);
    expect(plan.tasks).toEqual([{ packId: p.packId, index: 1, shardId: p.shards[1]!.id, shardLength: p.shardLength, from: peer('y'), to: peer('y') }]);
    // A report naming another holder than the placement's is not a loss.
    expect(planRepair([p], { holders: new Set(), shards: new Map([[p.shards[1]!.id, peer('z')]]) }, [cand('d')]).tasks).toEqual([]);
  });

  it('ignores shards with no holder and duplicate placements, and is deterministic', () => {
    const ps = [placement('1', ['x', 'y', null]), placement('1', ['x', 'y', null]), placement('2', ['y', 'z'])];
    const cands = [cand('b'), cand('a')];
    const plan = planRepair(ps, lostHolders('x'), cands);
    expect(plan.tasks).toHaveLength(1);
    expect(plan.tasks[0]!.to).toBe(peer('a'));
    expect(planRepair([...ps].reverse(), lostHolders('x'), [...cands].reverse())).toEqual(plan);
  });

  it('applies moves to the placements they concern only', () => {
    const p = placement('1', ['x', 'y', 'z']);
    const moves = new Map([[p.shards[0]!.id, { packId: p.packId, index: 0, shardId: p.shards[0]!.id, to: peer('d') }]]);
    const q = applyMoves(p, moves);
    expect(q.shards.map((s) => s.holder)).toEqual([peer('d'), peer('y'), peer('z')]);
    expect(p.shards[0]!.holder).toBe(peer('x'));
    const other = placement('2', ['x', 'y']);
    expect(applyMoves(other, moves)).toBe(other);
  });
});

describe('rebuilding a shard', () => {
  const key = new Uint8Array(32).fill(7);
  const bytes = Uint8Array.from({ length: 300_000 }, (_, i) => (i * 31 + 7) & 0xff);
  const stripe = stripePack(bytes, pack('a'), 3, 2, key);
  const roots = stripeRoots(stripe);
  const p: PackPlacement = {
    packId: stripe.packId, length: stripe.packLength, dataCount: 3, parityCount: 2, shardLength: stripe.shardLength,
    shards: stripe.shardIds.map((id, i) => ({ id, holder: peer(String(i)), merkleRoot: roots[i]! })),
  };

  it('gives back the very bytes of lost data and parity shards from any k others', () => {
    const have = stripe.shards.map((s, i) => (i === 0 || i === 3 ? null : s.slice()));
    const out = rebuildShards(p, have, [0, 3]);
    expect(out.get(0)).toEqual(stripe.shards[0]);
    expect(out.get(3)).toEqual(stripe.shards[3]);
  });

  it('refuses a result that does not match its Merkle root, and too few shards', () => {
    const have = stripe.shards.map((s, i) => (i === 0 ? null : s.slice()));
    have[1]![5]! ^= 1;
    expect(() => rebuildShards(p, have, [0])).toThrow(IntegrityError);
    expect(() => rebuildShards(p, [null, null, null, stripe.shards[3]!, stripe.shards[4]!].map((s, i) => (i === 4 ? null : s)), [0])).toThrow(NotEnoughShardsError);
  });
});
