/**
 * Pack placement: how one stored object (a data pack or a manifest) is coded and where each of
 * its shards lives. Shared by snapshot manifests and root records.
 *
 * Encoding, version 1 (little-endian):
 *   32  pack id
 *   8   pack length (u64, before padding)
 *   1   k (data shards)          1   m (parity shards)
 *   4   shard length (u32)
 *   (k + m) × { 32 shard id, 1 has-holder flag (0/1), [20 holder PeerId bytes], 32 Merkle root }
 */
import type { BinaryReader, BinaryWriter } from '../encoding/binary.ts';
import { fromBase32, fromHex, toBase32, toHex } from '../encoding/bytes.ts';
import { MalformedError } from '../errors.ts';
import { MAX_TOTAL_SHARDS } from '../erasure/matrix.ts';
import type { PackId, PeerId, ShardId } from '../ids.ts';
import { shardLengthFor } from '../pack/shards.ts';

/** One shard of a placed object. */
export interface ShardPlacement {
  readonly id: ShardId;
  /** The partner holding it, or null while it waits in the local outbox for a holder. */
  readonly holder: PeerId | null;
  /** Merkle root of the shard (32 bytes), for audits. */
  readonly merkleRoot: Uint8Array;
}

/** A coded object and where its shards are. */
export interface PackPlacement {
  readonly packId: PackId;
  /** Length before padding. */
  readonly length: number;
  readonly dataCount: number;
  readonly parityCount: number;
  readonly shardLength: number;
  /** k + m entries in shard-index order. */
  readonly shards: readonly ShardPlacement[];
}

/** Smallest encoded placement, for count checks. */
export const MIN_PLACEMENT_BYTES = 32 + 8 + 1 + 1 + 4;

/** Appends a placement's encoding. */
export function writePlacement(w: BinaryWriter, p: PackPlacement): void {
  w.raw(fromHex(p.packId)).u64(p.length).u8(p.dataCount).u8(p.parityCount).u32(p.shardLength);
  for (const s of p.shards) {
    w.raw(fromHex(s.id));
    if (s.holder === null) w.u8(0);
    else w.u8(1).raw(fromBase32(s.holder));
    w.raw(s.merkleRoot);
  }
}

/** Reads and validates one placement. Throws {@link MalformedError}. */
export function readPlacement(r: BinaryReader, format: string): PackPlacement {
  const packId = toHex(r.raw(32)) as PackId;
  const length = r.u64();
  const dataCount = r.u8();
  const parityCount = r.u8();
  const shardLength = r.u32();
  if (dataCount < 1 || parityCount < 1 || dataCount + parityCount > MAX_TOTAL_SHARDS) throw new MalformedError(format, 'invalid k, m');
  if (shardLength !== shardLengthFor(length, dataCount)) throw new MalformedError(format, 'shard length does not match the pack length');
  const shards: ShardPlacement[] = [];
  for (let i = 0; i < dataCount + parityCount; i++) {
    const id = toHex(r.raw(32)) as ShardId;
    const flag = r.u8();
    if (flag > 1) throw new MalformedError(format, 'invalid holder flag');
    const holder = flag === 1 ? (toBase32(r.raw(20)) as PeerId) : null;
    shards.push({ id, holder, merkleRoot: r.raw(32).slice() });
  }
  return { packId, length, dataCount, parityCount, shardLength, shards };
}

/** Validates a placement before encoding (callers' programming errors surface early). */
export function checkPlacement(p: PackPlacement, format: string): void {
  if (p.shards.length !== p.dataCount + p.parityCount) throw new MalformedError(format, 'placement must list k + m shards');
  if (p.shardLength !== shardLengthFor(p.length, p.dataCount)) throw new MalformedError(format, 'shard length does not match the pack length');
  for (const s of p.shards) if (s.merkleRoot.length !== 32) throw new MalformedError(format, 'Merkle roots are 32 bytes');
}
