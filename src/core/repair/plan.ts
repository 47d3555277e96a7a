/**
 * Repair planning (docs/DESIGN.md §8 "Repair"): which shards are lost, and which partner takes each
 * rebuilt one. Pure: the app hands in the placements of the current snapshots, what it considers
 * lost, and the partners that could take shards (with the room each has left).
 *
 * - A shard is lost when its holder is lost (failing or dropped in audits, or its agreement ended)
 *   or when its holder reported it damaged. Shards with no holder (the unsent slot of a
 *   one-partner backup) are not repaired.
 * - A pack with fewer than k surviving shards cannot be rebuilt: it is reported, not planned.
 * - Target of a lost shard: a candidate that is reachable now, not lost, has room for the shard
 *   (room shrinks as shards are assigned), and — preferably — holds no other shard of the same
 *   pack (counting shards assigned in this plan); a partner on probation never takes a second
 *   shard of a pack. Ties: most room left, then PeerId. The holder that reported a shard damaged
 *   may take it back (it is not lost as a partner).
 * - Without such a candidate the task is kept with `to: null` ("waiting for a partner with room").
 */
import type { PackId, PeerId, ShardId } from '../ids.ts';
import type { PackPlacement, ShardPlacement } from '../manifest/placement.ts';

/** A partner that could take rebuilt shards. */
export interface RepairCandidate {
  readonly peerId: PeerId;
  /** Linked now (a shard can be sent at once). */
  readonly reachable: boolean;
  /** Bytes the partner still accepts from us. */
  readonly spareBytes: number;
  /** Takes at most one shard of any pack (a stranger on probation, §6). */
  readonly onePerPack?: boolean;
}

/** What is lost. */
export interface LostSet {
  /** Partners whose every shard is lost. */
  readonly holders: ReadonlySet<PeerId>;
  /** Single shards reported damaged, by shard id, with the holder that reported them. */
  readonly shards: ReadonlyMap<ShardId, PeerId>;
}

/** One shard to rebuild and place. */
export interface RepairTask {
  readonly packId: PackId;
  readonly index: number;
  readonly shardId: ShardId;
  readonly shardLength: number;
  /** The holder it was lost at. */
  readonly from: PeerId;
  /** The partner chosen to take it; null while no partner has room. */
  readonly to: PeerId | null;
}

/** The plan. */
export interface RepairPlan {
  readonly tasks: RepairTask[];
  /** Packs that cannot be rebuilt: fewer than k of their shards survive. */
  readonly unrecoverable: PackId[];
}

/** True when shard `s` is lost under `lost`. */
export function isLost(s: ShardPlacement, lost: LostSet): boolean {
  if (s.holder === null) return false;
  return lost.holders.has(s.holder) || lost.shards.get(s.id) === s.holder;
}

/**
 * Plans the repair of `placements` (duplicates by pack id are ignored after the first). The
 * result is deterministic for equal inputs.
 */
export function planRepair(placements: readonly PackPlacement[], lost: LostSet, candidates: readonly RepairCandidate[]): RepairPlan {
  const room = new Map<PeerId, number>();
  const onePerPack = new Set<PeerId>();
  for (const c of candidates) {
    if (!c.reachable || lost.holders.has(c.peerId)) continue;
    room.set(c.peerId, Math.max(0, c.spareBytes));
    if (c.onePerPack) onePerPack.add(c.peerId);
  }
  const seen = new Set<PackId>();
  const tasks: RepairTask[] = [];
  const unrecoverable: PackId[] = [];
  const packs = [...placements].filter((p) => !seen.has(p.packId) && seen.add(p.packId)).sort((a, b) => cmp(a.packId, b.packId));
  for (const p of packs) {
    const lostIdx = p.shards.flatMap((s, i) => (isLost(s, lost) ? [i] : []));
    if (lostIdx.length === 0) continue;
    const surviving = p.shards.filter((s) => s.holder !== null && !isLost(s, lost));
    if (surviving.length < p.dataCount) {
      unrecoverable.push(p.packId);
      continue;
    }
    // Partners holding a shard of this pack (after this plan's assignments).
    const holding = new Set<PeerId>(surviving.map((s) => s.holder!));
    for (const i of lostIdx) {
      const s = p.shards[i]!;
      const from = s.holder!;
      let best: PeerId | null = null;
      let bestKey: [number, number, PeerId] | null = null;
      for (const [peer, left] of room) {
        if (left < p.shardLength) continue;
        // The reporter of a damaged shard is not in `holding` for it: it may take this shard back.
        const clash = holding.has(peer) ? 1 : 0;
        if (clash && onePerPack.has(peer)) continue;
        const key: [number, number, PeerId] = [clash, -left, peer];
        if (!bestKey || key[0] < bestKey[0] || (key[0] === bestKey[0] && (key[1] < bestKey[1] || (key[1] === bestKey[1] && key[2] < bestKey[2])))) {
          best = peer;
          bestKey = key;
        }
      }
      if (best !== null) {
        room.set(best, room.get(best)! - p.shardLength);
        holding.add(best);
      }
      tasks.push({ packId: p.packId, index: i, shardId: s.id, shardLength: p.shardLength, from, to: best });
    }
  }
  return { tasks, unrecoverable };
}

/** A shard moved to a new holder. */
export interface ShardMove {
  readonly packId: PackId;
  readonly index: number;
  readonly shardId: ShardId;
  readonly to: PeerId;
}

/** `p` with the moves that concern it applied; the same object when none does. */
export function applyMoves(p: PackPlacement, moves: ReadonlyMap<ShardId, ShardMove>): PackPlacement {
  let changed = false;
  const shards = p.shards.map((s, i) => {
    const m = moves.get(s.id);
    if (!m || m.packId !== p.packId || m.index !== i || s.holder === m.to) return s;
    changed = true;
    return { ...s, holder: m.to };
  });
  return changed ? { ...p, shards } : p;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
