/**
 * Stripes: a pack Reed-Solomon coded into k data + m parity shards, each named and rooted.
 *
 * - Shard length s = ⌈L / k⌉ rounded up to a multiple of {@link SHARD_ALIGN} (L = pack length).
 *   Data shard i holds pack bytes [i·s, (i+1)·s), zero-padded past L; parity shards come from
 *   `../erasure`. L is recorded in the manifest's placement, so the padding is dropped on join.
 * - Shard id = HMAC-SHA256(shard-name key, pack id (32 bytes) ‖ u8 index). Holders see only shard
 *   ids: without the key they cannot tell which shards belong to one pack, or which pack.
 * - Each shard's Merkle root (`../merkle`) is kept in the owner's index for audits.
 */
import { SHARD_ALIGN_BYTES } from '../constants.ts';
import { bytesEqual, fromHex, toHex } from '../encoding/bytes.ts';
import { hmacSha256 } from '../crypto/hash.ts';
import { encodeInto, reconstruct } from '../erasure/index.ts';
import { checkCodeParameters, codingMatrix } from '../erasure/matrix.ts';
import { IntegrityError, InvalidArgumentError, ShardLengthError } from '../errors.ts';
import type { PackId, ShardId } from '../ids.ts';
import { merkleRoot } from '../merkle/index.ts';
import { verifyObjectId, verifyPackId } from './pack.ts';

/** Shard lengths are multiples of this (see `SHARD_ALIGN_BYTES` in `../constants.ts`). */
export const SHARD_ALIGN = SHARD_ALIGN_BYTES;

/** A coded pack. */
export interface Stripe {
  readonly packId: PackId;
  /** Pack length before padding. */
  readonly packLength: number;
  readonly dataCount: number;
  readonly parityCount: number;
  readonly shardLength: number;
  /** k data shards then m parity shards. */
  readonly shards: Uint8Array[];
  readonly shardIds: ShardId[];
}

/** Id of shard `index` of pack `packId`. */
export function shardId(shardNameKey: Uint8Array, pack: PackId, index: number): ShardId {
  if (!Number.isInteger(index) || index < 0 || index > 254) throw new InvalidArgumentError('shard index must be 0..254');
  return toHex(hmacSha256(shardNameKey, fromHex(pack), new Uint8Array([index]))) as ShardId;
}

/** Length of each shard of a pack of `packLength` bytes cut into k data shards. */
export function shardLengthFor(packLength: number, k: number): number {
  return Math.ceil(Math.ceil(packLength / k) / SHARD_ALIGN) * SHARD_ALIGN;
}

/** Codes `pack` (with id `id`) into k + m shards. Throws for invalid (k, m). */
export function stripePack(pack: Uint8Array, id: PackId, k: number, m: number, shardNameKey: Uint8Array): Stripe {
  checkCodeParameters(k, m);
  const buffer = new Uint8Array(shardLengthFor(pack.length, k) * (k + m));
  buffer.set(pack);
  const { shardLength, shards } = codeInPlace(buffer, 0, pack.length, k, m);
  return { packId: id, packLength: pack.length, dataCount: k, parityCount: m, shardLength, shards, shardIds: shardIds(shardNameKey, id, k + m) };
}

/**
 * Codes a pack lying at `offset` in `buffer` in place: the k data shards are views of the padded
 * pack, and the m parity shards are computed into the views that follow (so `buffer` must hold
 * (k + m) · {@link shardLengthFor}(packLength, k) bytes from `offset`; the padding after the pack
 * is zeroed here). Returns the k + m shard views, the same bytes {@link stripePack} gives. For
 * packs built in place (`PackWriter` with room for the shards): no copy at all.
 */
export function codeInPlace(buffer: Uint8Array, offset: number, packLength: number, k: number, m: number): { shardLength: number; shards: Uint8Array[] } {
  checkCodeParameters(k, m);
  const shardLength = shardLengthFor(packLength, k);
  if (!Number.isInteger(offset) || offset < 0 || buffer.length - offset < shardLength * (k + m)) throw new InvalidArgumentError('no room for the shards');
  buffer.fill(0, offset + packLength, offset + shardLength * k);
  const shards = Array.from({ length: k + m }, (_, i) => buffer.subarray(offset + i * shardLength, offset + (i + 1) * shardLength));
  encodeInto(shards.slice(0, k), shards.slice(k));
  return { shardLength, shards };
}

/** Ids of shards 0 … n − 1 of pack `pack`. */
export function shardIds(shardNameKey: Uint8Array, pack: PackId, n: number): ShardId[] {
  return Array.from({ length: n }, (_, i) => shardId(shardNameKey, pack, i));
}

/** Merkle roots of a stripe's shards, in shard order. */
export function stripeRoots(stripe: Stripe): Uint8Array[] {
  return stripe.shards.map((s) => merkleRoot(s));
}

/**
 * The k data shards of a stripe from what is present. Nothing is computed when they are all
 * present (the usual restore) or, for k = 1 with a replicating code (every parity shard is a copy
 * of the data shard), when any shard is; otherwise Reed-Solomon rebuilds them. Same errors as
 * `reconstruct`.
 */
function dataShards(shards: readonly (Uint8Array | null)[], k: number): Uint8Array[] {
  const m = shards.length - k;
  checkCodeParameters(k, m);
  const present = shards.filter((s): s is Uint8Array => s !== null);
  if (present.length >= k && present.some((s) => s.length !== present[0]!.length)) {
    throw new ShardLengthError('shards of one stripe differ in length');
  }
  const data = shards.slice(0, k);
  if (data.every((s) => s !== null)) return data;
  if (k === 1 && present.length > 0 && codingMatrix(1, m).every((row) => row[0] === 1)) return [present[0]!];
  return reconstruct(shards, k).slice(0, k);
}

/**
 * Rebuilds a pack from any k of its k + m shards (null where absent), checks each present shard
 * against its expected Merkle root when `roots` is given (a corrupt shard is treated as absent if
 * enough others remain), and checks the result against `expectedId`. Rejects with
 * `NotEnoughShardsError` when fewer than k usable shards remain, {@link IntegrityError} when the
 * rebuilt pack does not match its id. `kind` says how the id is checked: `'pack'` (default) by
 * `packId` (its version's rule: a version-2 pack's chunks are then checked when opened), `'object'`
 * by `objectId`, the hash of every byte (manifest envelopes).
 */
export async function joinStripe(
  shards: readonly (Uint8Array | null)[], k: number, packLength: number, expectedId: PackId, roots?: readonly Uint8Array[],
  kind: 'pack' | 'object' = 'pack',
): Promise<Uint8Array> {
  const usable = shards.map((s, i) => {
    if (!s || !roots) return s;
    const root = roots[i];
    return root && bytesEqual(merkleRoot(s), root) ? s : null;
  });
  const data = dataShards(usable, k);
  const shardLength = data[0]!.length;
  if (shardLength * k < packLength) throw new IntegrityError('shards are too short for the pack length');
  let pack: Uint8Array;
  if (k === 1) {
    // The one data shard is the padded pack: a view, not a copy.
    pack = data[0]!.subarray(0, packLength);
  } else {
    pack = new Uint8Array(packLength);
    for (let i = 0; i < k && i * shardLength < packLength; i++) {
      pack.set(data[i]!.subarray(0, Math.min(shardLength, packLength - i * shardLength)), i * shardLength);
    }
  }
  await (kind === 'pack' ? verifyPackId(pack, expectedId) : verifyObjectId(pack, expectedId));
  return pack;
}
