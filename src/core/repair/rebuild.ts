/**
 * Rebuilding one lost shard from any k others (docs/DESIGN.md §8 "Repair"). Shard ids are
 * HMAC(shard-name key, pack id ‖ index), so a rebuilt shard has the same id, bytes and Merkle
 * root as the lost one: it is checked against the root the manifest keeps before it is sent.
 */
import { bytesEqual } from '../encoding/bytes.ts';
import { reconstruct } from '../erasure/index.ts';
import { IntegrityError, InvalidArgumentError } from '../errors.ts';
import type { PackPlacement } from '../manifest/placement.ts';
import { merkleRoot } from '../merkle/index.ts';

/**
 * Rebuilds shards `indices` of the stripe `p` from `shards` (k + m entries, null where absent;
 * present ones must already be verified). Throws `NotEnoughShardsError` with fewer than k present,
 * {@link IntegrityError} when a rebuilt shard does not match its Merkle root.
 */
export function rebuildShards(p: PackPlacement, shards: readonly (Uint8Array | null)[], indices: readonly number[]): Map<number, Uint8Array> {
  if (shards.length !== p.shards.length) throw new InvalidArgumentError(`a stripe of ${p.shards.length} shards, not ${shards.length}`);
  for (const s of shards) if (s && s.length !== p.shardLength) throw new InvalidArgumentError('a shard has the wrong length');
  const all = reconstruct(shards, p.dataCount);
  const out = new Map<number, Uint8Array>();
  for (const i of indices) {
    const bytes = all[i];
    if (!bytes) throw new InvalidArgumentError(`no shard ${i} in this stripe`);
    if (!bytesEqual(merkleRoot(bytes), p.shards[i]!.merkleRoot)) throw new IntegrityError(`rebuilt shard ${i} does not match its Merkle root`);
    out.set(i, bytes);
  }
  return out;
}
