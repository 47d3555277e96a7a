/**
 * The restore side of the data pipeline: shards → pack → chunks → file bytes, verifying at every
 * step (shard Merkle roots when known, the pack id, each chunk's GCM tag and HMAC id).
 */
import { ChunkCipher } from '../crypto/chunk.ts';
import { importAesKey } from '../crypto/envelope.ts';
import { ChunkNotInPackError } from '../errors.ts';
import type { ChunkId, PackId } from '../ids.ts';
import { deriveDataSubkey } from '../keys/derive.ts';
import { readPackHeader, type PackEntry } from '../pack/pack.ts';
import { joinStripe } from '../pack/shards.ts';

/** What the decoder must know about a pack (from the manifest's placement). */
export interface PackRef {
  readonly packId: PackId;
  /** Pack length before padding. */
  readonly length: number;
  readonly dataCount: number;
  /** Expected Merkle roots, in shard order; shards failing them are treated as missing. */
  readonly merkleRoots?: readonly Uint8Array[];
}

/** A rebuilt, verified pack. */
export interface DecodedPack {
  readonly packId: PackId;
  readonly bytes: Uint8Array;
  readonly entries: readonly PackEntry[];
}

/** Rebuilds packs and decrypts chunks for one user. */
export class PackDecoder {
  private constructor(
    private readonly cipher: ChunkCipher,
    private readonly headerKey: CryptoKey,
  ) {}

  /** Creates a decoder from the user's data and dedup keys. */
  static async create(keys: { dataKey: Uint8Array; dedupKey: Uint8Array }): Promise<PackDecoder> {
    return new PackDecoder(await ChunkCipher.create(keys), await importAesKey(deriveDataSubkey(keys.dataKey, 'packHeader')));
  }

  /**
   * Rebuilds the pack from any k of its shards (null where absent) and reads its header. Throws
   * `NotEnoughShardsError` or an `IntegrityError`.
   */
  async openPack(shards: readonly (Uint8Array | null)[], ref: PackRef): Promise<DecodedPack> {
    const bytes = await joinStripe(shards, ref.dataCount, ref.length, ref.packId, ref.merkleRoots);
    return { packId: ref.packId, bytes, entries: await readPackHeader(bytes, this.headerKey) };
  }

  /** Decrypts and verifies chunk `id` of a decoded pack. Throws `ChunkNotInPackError`, `IntegrityError`. */
  async chunk(pack: DecodedPack, id: ChunkId): Promise<Uint8Array> {
    const e = pack.entries.find((x) => x.id === id);
    if (!e) throw new ChunkNotInPackError(id);
    return this.cipher.open(id, pack.bytes.subarray(e.offset, e.offset + e.length));
  }
}
