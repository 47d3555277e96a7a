/**
 * The backup side of the data pipeline, as two stages that can run in different threads:
 *
 * 1. {@link ChunkStage} (one per backup, sequential): bytes → content-defined chunks → chunk ids,
 *    remembering which ids the backup already has, so a repeated chunk is stored once.
 * 2. {@link PackEncoder} (one per worker, parallel): new chunks → AES-256-GCM envelopes → packs →
 *    k + m shards with ids and Merkle roots ({@link EncodedPack}), ready to place.
 *
 * {@link encodeStream} runs both in one thread. Memory is bounded: the chunker holds at most one
 * maximum-size chunk, a PackEncoder at most one pack.
 */
import { Chunker, type ChunkerOptions } from '../chunking/fastcdc.ts';
import { ChunkCipher, type SealedChunk } from '../crypto/chunk.ts';
import { importAesKey } from '../crypto/envelope.ts';
import { toHex } from '../encoding/bytes.ts';
import type { ChunkId, PackId, ShardId } from '../ids.ts';
import { deriveDataSubkey } from '../keys/derive.ts';
import { PackBuilder, type Pack, type PackEntry } from '../pack/pack.ts';
import { stripePack, stripeRoots } from '../pack/shards.ts';
import { checkCodeParameters } from '../erasure/matrix.ts';

/** Keys the encoder needs (a subset of `UserKeys`). */
export interface EncoderKeys {
  readonly dataKey: Uint8Array;
  readonly dedupKey: Uint8Array;
  readonly shardNameKey: Uint8Array;
}

/** A chunk found by {@link ChunkStage}. */
export interface FoundChunk {
  readonly id: ChunkId;
  readonly idBytes: Uint8Array;
  /** The plaintext, present only when the chunk is new to this backup (else null: already stored). */
  readonly data: Uint8Array | null;
  readonly length: number;
}

/** Splits a stream of files into chunks with ids, deduplicating within the backup. */
export class ChunkStage {
  private chunker: Chunker;
  private readonly seen: Set<string>;

  private constructor(
    private readonly cipher: ChunkCipher,
    private readonly options: ChunkerOptions | undefined,
    known: Iterable<string>,
  ) {
    this.chunker = new Chunker(options);
    this.seen = new Set(known);
  }

  /**
   * Creates a stage. `known` lists chunk ids already stored (e.g. by earlier snapshots), which are
   * then reported with `data: null`.
   */
  static async create(keys: Pick<EncoderKeys, 'dataKey' | 'dedupKey'>, known: Iterable<ChunkId> = [], options?: ChunkerOptions): Promise<ChunkStage> {
    return new ChunkStage(await ChunkCipher.create(keys), options, known);
  }

  private async identify(chunks: Uint8Array[]): Promise<FoundChunk[]> {
    const ids = await Promise.all(chunks.map((c) => this.cipher.idBytes(c)));
    return chunks.map((data, i) => {
      const idBytes = ids[i]!;
      const id = toHex(idBytes) as ChunkId;
      const isNew = !this.seen.has(id);
      if (isNew) this.seen.add(id);
      return { id, idBytes, data: isNew ? data : null, length: data.length };
    });
  }

  /** Feeds the next bytes of the current file; resolves the chunks they completed. */
  push(piece: Uint8Array): Promise<FoundChunk[]> {
    return this.identify(this.chunker.push(piece));
  }

  /** Ends the current file (its last chunk is returned) and gets ready for the next one. */
  async endFile(): Promise<FoundChunk[]> {
    const last = this.chunker.finish();
    this.chunker = new Chunker(this.options);
    return this.identify(last);
  }
}

/** A pack coded into shards, with everything the manifest needs about it. */
export interface EncodedPack {
  readonly packId: PackId;
  /** Pack length before padding. */
  readonly length: number;
  readonly entries: readonly PackEntry[];
  readonly dataCount: number;
  readonly parityCount: number;
  readonly shardLength: number;
  /** k data shards then m parity shards. */
  readonly shards: Uint8Array[];
  readonly shardIds: ShardId[];
  /** Merkle root of each shard (empty only when the encoder was told not to compute them). */
  readonly merkleRoots: Uint8Array[];
}

/** Options of {@link PackEncoder}. */
export interface PackEncoderOptions {
  /** Data shards per pack (k). */
  dataCount: number;
  /** Parity shards per pack (m). */
  parityCount: number;
  /** Pack target size (default `PACK_TARGET_BYTES`). */
  packTargetBytes?: number;
  /**
   * Compute each shard's Merkle root (default true; the manifest needs them). Benchmarks turn it
   * off to measure the rest of the pipeline on its own.
   */
  merkleRoots?: boolean;
}

/** Seals chunks, packs them and codes each closed pack. */
export class PackEncoder {
  private constructor(
    private readonly cipher: ChunkCipher,
    private readonly builder: PackBuilder,
    private readonly shardNameKey: Uint8Array,
    private readonly k: number,
    private readonly m: number,
    private readonly withRoots: boolean,
  ) {}

  /** Creates an encoder; throws `CodeParametersError` for invalid k, m. */
  static async create(keys: EncoderKeys, options: PackEncoderOptions): Promise<PackEncoder> {
    checkCodeParameters(options.dataCount, options.parityCount);
    const headerKey = await importAesKey(deriveDataSubkey(keys.dataKey, 'packHeader'));
    const builder = new PackBuilder(headerKey, options.packTargetBytes !== undefined ? { targetBytes: options.packTargetBytes } : {});
    return new PackEncoder(await ChunkCipher.create(keys), builder, keys.shardNameKey.slice(), options.dataCount, options.parityCount, options.merkleRoots ?? true);
  }

  /** Seals one chunk (its id already computed by {@link ChunkStage}) and packs it. */
  async add(data: Uint8Array, idBytes?: Uint8Array): Promise<EncodedPack | null> {
    const sealed: SealedChunk = idBytes ? await this.cipher.sealWithId(data, idBytes) : await this.cipher.seal(data);
    const closed = await this.builder.add(sealed);
    return closed ? this.code(closed) : null;
  }

  /**
   * Seals a batch of chunks (ids already computed) concurrently — WebCrypto runs them off this
   * thread, so they overlap each other and the coding of packs — then packs them in order.
   * Resolves the packs this closed, coded. Same result as calling {@link add} for each in order.
   */
  async addBatch(chunks: readonly { data: Uint8Array; idBytes: Uint8Array }[]): Promise<EncodedPack[]> {
    const sealed = await Promise.all(chunks.map((c) => this.cipher.sealWithId(c.data, c.idBytes)));
    const packs: EncodedPack[] = [];
    for (const s of sealed) {
      const closed = await this.builder.add(s);
      if (closed) packs.push(this.code(closed));
    }
    return packs;
  }

  /** Closes and codes the open pack, if any. */
  async flush(): Promise<EncodedPack | null> {
    const closed = await this.builder.flush();
    return closed ? this.code(closed) : null;
  }

  private code(pack: Pack): EncodedPack {
    const stripe = stripePack(pack.bytes, pack.id, this.k, this.m, this.shardNameKey);
    return {
      packId: pack.id,
      length: pack.bytes.length,
      entries: pack.entries,
      dataCount: this.k,
      parityCount: this.m,
      shardLength: stripe.shardLength,
      shards: stripe.shards,
      shardIds: stripe.shardIds,
      merkleRoots: this.withRoots ? stripeRoots(stripe) : [],
    };
  }
}

/** Result of {@link encodeStream} for one file. */
export interface EncodedFile {
  /** The file's chunk ids in order. */
  readonly chunks: ChunkId[];
  readonly size: number;
  /** Packs completed while encoding it (later files may still fill the open pack). */
  readonly packs: EncodedPack[];
}

/**
 * Encodes one file in the calling thread: `pieces` are its bytes in order (any sizes). The open
 * pack is flushed at the end when `flush` is true (the default), so all its chunks are in `packs`.
 */
export async function encodeStream(
  pieces: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, stage: ChunkStage, encoder: PackEncoder, flush = true,
): Promise<EncodedFile> {
  const chunks: ChunkId[] = [];
  const packs: EncodedPack[] = [];
  let size = 0;
  const take = async (found: FoundChunk[]): Promise<void> => {
    for (const c of found) {
      chunks.push(c.id);
      size += c.length;
      if (c.data) {
        const pack = await encoder.add(c.data, c.idBytes);
        if (pack) packs.push(pack);
      }
    }
  };
  for await (const piece of pieces) await take(await stage.push(piece));
  await take(await stage.endFile());
  if (flush) {
    const last = await encoder.flush();
    if (last) packs.push(last);
  }
  return { chunks, size, packs };
}
