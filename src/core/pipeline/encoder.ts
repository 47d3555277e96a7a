/**
 * The backup side of the data pipeline, as two stages that can run in different threads:
 *
 * 1. {@link ChunkStage} (one per backup, sequential): bytes → content-defined chunks → chunk ids,
 *    remembering which ids the backup already has, so a repeated chunk is stored once.
 * 2. {@link PackEncoder} (one per worker, parallel): new chunks → AES-256-GCM envelopes → packs →
 *    k + m shards with ids and Merkle roots ({@link EncodedPack}), ready to place.
 *
 * {@link encodeStream} runs both in one thread. Memory is bounded: the chunker holds at most two
 * maximum-size chunks, a PackEncoder at most two packs (one filling, one being coded) and
 * {@link MAX_SEALS_IN_FLIGHT} chunk encryptions.
 *
 * Performance (see bench/core-pipeline.bench.ts and docs/DESIGN.md §4.14): the bulk work is
 * WebCrypto (HMAC ids, AES-GCM), FastCDC and the Reed-Solomon kernel; the pack id (version 2)
 * hashes only the pack's tail, a few hundred bytes. The rest is kept to no copies and few
 * allocations, because large short-lived ArrayBuffers cost more in page faults and garbage
 * collection than the copying itself:
 * - chunks reach WebCrypto as views of the input or of the chunker's buffer (`pushViews`); WebCrypto
 *   copies what it reads during the call, so views may be reused as soon as a call returns;
 * - each pack is one buffer: envelopes are sealed straight into it (`sealInto`), the data shards
 *   are views of the padded pack and the parity shards are computed into the same buffer right
 *   after it;
 * - WebCrypto runs off the JavaScript thread, so encryption of a chunk overlaps the chunking and id
 *   of the next.
 */
import { Chunker, type ChunkerOptions } from '../chunking/fastcdc.ts';
import { ChunkCipher } from '../crypto/chunk.ts';
import { ENVELOPE_OVERHEAD, importAesKey } from '../crypto/envelope.ts';
import { toHex } from '../encoding/bytes.ts';
import type { ChunkId, PackId, ShardId } from '../ids.ts';
import { deriveDataSubkey } from '../keys/derive.ts';
import { merkleRoot } from '../merkle/index.ts';
import type { BufferPool } from '../pack/buffers.ts';
import { PACK_BUFFER_OFFSET, PackWriter, type PackEntry, type WrittenPack } from '../pack/pack.ts';
import { codeInPlace, shardIds, shardLengthFor } from '../pack/shards.ts';
import { checkCodeParameters, codingMatrix } from '../erasure/matrix.ts';

/** Chunk encryptions a {@link PackEncoder} keeps in flight before it waits for the oldest. */
export const MAX_SEALS_IN_FLIGHT = 4;

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
  private readonly chunker: Chunker;
  private readonly seen: Set<string>;

  private constructor(
    private readonly cipher: ChunkCipher,
    options: ChunkerOptions | undefined,
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

  /** The latest identification; each one settles after the one before it. */
  private tail: Promise<unknown> = Promise.resolve();

  /**
   * Ids of `chunks`. Every HMAC is started at once (WebCrypto runs them off this thread, together),
   * so a caller may chunk its next piece while these are computed; results are applied to the
   * dedup set strictly in call order, so the first occurrence of a repeated chunk is the new one
   * however the HMACs finish.
   */
  private identify(chunks: Uint8Array[]): Promise<FoundChunk[]> {
    const ids = Promise.all(chunks.map((c) => this.cipher.idBytes(c)));
    const found = Promise.all([ids, this.tail]).then(([idList]) =>
      chunks.map((data, i): FoundChunk => {
        const idBytes = idList[i]!;
        const id = toHex(idBytes) as ChunkId;
        const isNew = !this.seen.has(id);
        if (isNew) this.seen.add(id);
        return { id, idBytes, data: isNew ? data : null, length: data.length };
      }),
    );
    this.tail = found.catch(() => undefined);
    return found;
  }

  /**
   * Feeds the next bytes of the current file; resolves the chunks they completed (copies, the
   * caller's to keep). The next piece may be pushed before this resolves: chunking it then
   * overlaps this piece's HMACs.
   */
  push(piece: Uint8Array): Promise<FoundChunk[]> {
    return this.identify(this.chunker.push(piece));
  }

  /**
   * {@link push} without copying chunks: each `data` is a view of `piece` or of the chunker's
   * buffer, valid only until the next call on this stage (see `Chunker.pushViews`). For callers
   * that consume chunks at once, like {@link encodeStream}; others want {@link push}.
   */
  pushViews(piece: Uint8Array): Promise<FoundChunk[]> {
    return this.identify(this.chunker.pushViews(piece));
  }

  /** Ends the current file (its last chunk is returned) and gets ready for the next one. */
  endFile(): Promise<FoundChunk[]> {
    const last = this.chunker.finish();
    this.chunker.reset();
    return this.identify(last);
  }

  /** {@link endFile} with the last chunk as a view, valid until the next call (see {@link pushViews}). */
  endFileViews(): Promise<FoundChunk[]> {
    const last = this.chunker.finishViews();
    this.chunker.reset();
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
  /**
   * k data shards then m parity shards: views of one buffer per pack (transfer it once; copy a
   * shard, e.g. `slice()`, to keep it on its own).
   */
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

/** Nothing to do (for promises whose rejection is handled elsewhere). */
function ignore(): void {}

/**
 * Seals chunks, packs them and codes each closed pack. Work runs pipelined: a chunk's encryption
 * goes on while the caller moves on, a closed pack is coded while the next one fills. Calls
 * must not overlap (await each before the next); {@link flush} waits for everything.
 */
export class PackEncoder {
  /** Encryptions into the open pack not yet awaited by its closing. */
  private sealing: Promise<void>[] = [];
  /** The latest encryptions, oldest first, to bound how many are in flight. */
  private readonly inFlight: Promise<void>[] = [];
  /** Coding of the last closed pack (settles, never rejects). */
  private coding: Promise<unknown> = Promise.resolve();
  private failure: { error: unknown } | null = null;

  private constructor(
    private readonly cipher: ChunkCipher,
    private readonly writer: PackWriter,
    private readonly shardNameKey: Uint8Array,
    private readonly k: number,
    private readonly m: number,
    private readonly withRoots: boolean,
    private readonly buffers: BufferPool | null,
  ) {}

  /** Whether every parity shard is a copy of the data shard (k = 1 with this code). */
  private get replicates(): boolean {
    return this.k === 1 && codingMatrix(1, this.m).every((row) => row[0] === 1);
  }

  /**
   * Creates an encoder; throws `CodeParametersError` for invalid k, m. With `buffers`, pack
   * buffers come from that pool and {@link release} gives them back (see `pack/buffers.ts`).
   */
  static async create(keys: EncoderKeys, options: PackEncoderOptions, buffers?: BufferPool): Promise<PackEncoder> {
    const k = options.dataCount;
    const m = options.parityCount;
    checkCodeParameters(k, m);
    const headerKey = await importAesKey(deriveDataSubkey(keys.dataKey, 'packHeader'));
    const writer = new PackWriter(headerKey, {
      ...(options.packTargetBytes !== undefined ? { targetBytes: options.packTargetBytes } : {}),
      // Room for every shard after the pack: data shards are the padded pack, parity follows.
      room: (length) => shardLengthFor(length, k) * (k + m),
      ...(buffers ? { buffers } : {}),
    });
    return new PackEncoder(await ChunkCipher.create(keys), writer, keys.shardNameKey.slice(), k, m, options.merkleRoots ?? true, buffers ?? null);
  }

  /**
   * Gives a pack's buffer back to the encoder's pool for a later pack, once nothing reads its
   * shards any more (all placed or dropped). A no-op without a pool. Takes the pack or its
   * buffer (e.g. transferred back from the thread that placed it).
   */
  release(pack: EncodedPack | ArrayBufferLike): void {
    const buffer = 'shards' in pack ? pack.shards[0]?.buffer : pack;
    if (buffer) this.buffers?.give(buffer);
  }

  /** Seals one chunk (its id already computed by {@link ChunkStage}) and packs it. */
  async add(data: Uint8Array, idBytes?: Uint8Array): Promise<EncodedPack | null> {
    const closed = await this.start(data, idBytes ?? (await this.cipher.idBytes(data)));
    return closed ? await closed.pack : null;
  }

  /**
   * Seals a batch of chunks (ids already computed) — WebCrypto runs them off this thread, so they
   * overlap each other and the coding of packs — and packs them in order. Resolves the packs this
   * closed, coded. Same result as calling {@link add} for each in order.
   */
  async addBatch(chunks: readonly { data: Uint8Array; idBytes: Uint8Array }[]): Promise<EncodedPack[]> {
    const closed: Promise<EncodedPack>[] = [];
    for (const c of chunks) {
      const pack = await this.start(c.data, c.idBytes);
      if (pack) closed.push(pack.pack);
    }
    return Promise.all(closed);
  }

  /**
   * Starts sealing one chunk into the open pack, closing that pack first when the chunk does not
   * fit. Resolves as soon as WebCrypto has taken its copy of `data` (the caller may then reuse
   * it), with the pack this closed, if any, as a promise of it coded (wrapped, so that awaiting
   * this call does not wait for the coding). Used by {@link encodeStream} to keep going while
   * packs are coded; {@link add} waits for the pack.
   */
  async start(data: Uint8Array, idBytes: Uint8Array): Promise<{ readonly pack: Promise<EncodedPack> } | null> {
    this.throwIfFailed();
    const envelopeLength = ENVELOPE_OVERHEAD + data.length;
    let closed: Promise<EncodedPack> | null = null;
    if (this.writer.mustCloseFor(envelopeLength)) {
      // At most one pack being coded while the next fills.
      await this.coding;
      this.throwIfFailed();
      closed = this.closePack();
    }
    const slot = this.writer.reserve(toHex(idBytes) as ChunkId, idBytes, envelopeLength, data.length);
    const key = await this.cipher.chunkKey(idBytes);
    const sealed = this.cipher.sealInto(key, data, slot.buffer, slot.offset);
    sealed.catch(ignore);
    this.sealing.push(sealed);
    this.inFlight.push(sealed);
    if (this.inFlight.length > MAX_SEALS_IN_FLIGHT) await this.inFlight.shift();
    return closed ? { pack: closed } : null;
  }

  /** Closes and codes the open pack, if any (after everything started before). */
  async flush(): Promise<EncodedPack | null> {
    this.throwIfFailed();
    const pack = this.writer.pendingChunks > 0 ? this.closePack() : null;
    this.inFlight.length = 0;
    const done = pack ? await pack : null;
    await this.coding;
    this.throwIfFailed();
    return done;
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }

  private closePack(): Promise<EncodedPack> {
    const written = this.writer.close(Promise.all(this.sealing));
    this.sealing = [];
    const coded = written.then((w) => this.code(w!));
    this.coding = coded.catch((error: unknown) => void (this.failure ??= { error }));
    return coded;
  }

  /**
   * Each shard's Merkle root. With k = 1 and a replicating code (every parity shard a copy of the
   * data shard, as for 3 browser partners) the copies' roots are the data shard's: hashed once.
   */
  private roots(shards: readonly Uint8Array[]): Uint8Array[] {
    if (this.replicates) {
      const root = merkleRoot(shards[0]!);
      return shards.map(() => root.slice());
    }
    return shards.map((s) => merkleRoot(s));
  }

  private async code(pack: WrittenPack): Promise<EncodedPack> {
    const { shardLength, shards } = codeInPlace(pack.buffer, PACK_BUFFER_OFFSET, pack.bytes.length, this.k, this.m);
    const packId = toHex(pack.idBytes) as PackId;
    return {
      packId,
      length: pack.bytes.length,
      entries: pack.entries,
      dataCount: this.k,
      parityCount: this.m,
      shardLength,
      shards,
      shardIds: shardIds(this.shardNameKey, packId, this.k + this.m),
      merkleRoots: this.withRoots ? this.roots(shards) : [],
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
 * Encodes one file in the calling thread: `pieces` are its bytes in order (any sizes; each is read
 * before the next is asked for and not kept). The open pack is flushed at the end when `flush` is
 * true (the default), so all its chunks are in `packs`. With `onPack`, each pack is handed to it
 * as soon as it is coded (in order, each awaited before the next) instead of being collected in
 * `packs`: a consumer that places packs as they come can `release` them for reuse.
 */
export async function encodeStream(
  pieces: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, stage: ChunkStage, encoder: PackEncoder, flush = true,
  onPack?: (pack: EncodedPack) => void | Promise<void>,
): Promise<EncodedFile> {
  const chunks: ChunkId[] = [];
  const coded: Promise<EncodedPack>[] = [];
  // With `onPack`: the packs handed on so far, in order (a failure surfaces when awaited below).
  let handed: Promise<void> = Promise.resolve();
  let size = 0;
  // Chunks are views, valid until the next call on the stage: each is handed to the encoder
  // (which lets WebCrypto copy it) before the next piece is chunked.
  const take = async (found: FoundChunk[]): Promise<void> => {
    for (const c of found) {
      chunks.push(c.id);
      size += c.length;
      if (c.data) {
        const closed = await encoder.start(c.data, c.idBytes);
        if (closed && onPack) {
          const pack = closed.pack;
          pack.catch(ignore);
          handed = handed.then(async () => onPack(await pack));
          handed.catch(ignore);
        } else if (closed) {
          coded.push(closed.pack);
        }
      }
    }
  };
  try {
    for await (const piece of pieces) await take(await stage.pushViews(piece));
    await take(await stage.endFileViews());
  } finally {
    // Packs that failed make the encoder throw; do not leave their promises unobserved.
    for (const p of coded) p.catch(ignore);
  }
  const packs = await Promise.all(coded);
  await handed;
  if (flush) {
    const last = await encoder.flush();
    if (last && onPack) await onPack(last);
    else if (last) packs.push(last);
  }
  return { chunks, size, packs };
}
