/**
 * Which shards may be deleted at holders (docs/DESIGN.md §7.12). Pure set arithmetic over pack
 * placements; the app gathers the placements (from manifests, the root record, the journal and
 * the outbox) and sends the deletes.
 *
 * The one rule: a shard is deleted only when nothing that must stay restorable references it —
 * no pack of a remaining snapshot's manifest, no remaining manifest, no pack of the backup in
 * progress (journal), no shard waiting in the outbox.
 */
import type { PackId, PeerId, ShardId } from '../ids.ts';
import type { PackPlacement } from '../manifest/placement.ts';

/** Shards to delete at one holder, the size of each (same order), and their total. */
export interface HolderDeletes {
  shards: ShardId[];
  sizes: number[];
  bytes: number;
}

/** Every shard id of `placements`. */
export function shardsOf(placements: Iterable<PackPlacement>): Set<ShardId> {
  const out = new Set<ShardId>();
  for (const p of placements) for (const s of p.shards) out.add(s.id);
  return out;
}

/**
 * The shards of `candidates` (packs and manifests of forgotten snapshots) that no placement of
 * `kept` references and that are not in `protectedShards`, grouped by holder (shards with no
 * holder were never stored anywhere). Packs are compared by pack id and shards by shard id, so
 * a pack listed both by a forgotten and a kept snapshot is never touched.
 */
export function unreferencedShards(candidates: Iterable<PackPlacement>, kept: Iterable<PackPlacement>, protectedShards: Iterable<ShardId> = []): Map<PeerId, HolderDeletes> {
  const keptPacks = new Set<PackId>();
  const keptShards = new Set<ShardId>(protectedShards);
  for (const p of kept) {
    keptPacks.add(p.packId);
    for (const s of p.shards) keptShards.add(s.id);
  }
  const out = new Map<PeerId, HolderDeletes>();
  const seen = new Set<ShardId>();
  for (const p of candidates) {
    if (keptPacks.has(p.packId)) continue;
    for (const s of p.shards) {
      if (s.holder === null || keptShards.has(s.id) || seen.has(s.id)) continue;
      seen.add(s.id);
      const e = out.get(s.holder) ?? { shards: [], sizes: [], bytes: 0 };
      e.shards.push(s.id);
      e.sizes.push(p.shardLength);
      e.bytes += p.shardLength;
      out.set(s.holder, e);
    }
  }
  return out;
}

/** A holder's listing entry. `storedAt` is absent from holders that predate it. */
export interface ListedShard {
  shard: ShardId;
  size: number;
  storedAt?: number;
}

/**
 * Orphans at one holder: listed shards nothing references, stored at least `minAgeMs` before
 * `now` (a younger shard may belong to a backup running right now on another device). A shard
 * with no known storage time is never an orphan.
 */
export function orphansIn(listing: readonly ListedShard[], referenced: ReadonlySet<ShardId>, now: number, minAgeMs: number): HolderDeletes {
  const out: HolderDeletes = { shards: [], sizes: [], bytes: 0 };
  for (const e of listing) {
    if (referenced.has(e.shard) || e.storedAt === undefined || e.storedAt > now - minAgeMs) continue;
    out.shards.push(e.shard);
    out.sizes.push(e.size);
    out.bytes += e.size;
  }
  return out;
}

/** Splits ids into messages of at most `size` (a delete header must fit one 64 KiB frame). */
export function batches<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
