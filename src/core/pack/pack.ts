/**
 * Packs: containers of encrypted chunks with an encrypted header, in the manner of restic.
 *
 * Layout, versions 1 and 2 (all integers little-endian):
 *
 *   offset      size  field
 *   0           1     version = 0x01 or 0x02 (written: 0x02)
 *   1           …     blobs: chunk envelopes back to back
 *   L − 4 − H   H     header envelope (`../crypto/envelope.ts`, purpose backpact/v1/pack-header,
 *                     key = pack-header key derived from the data key)
 *   L − 4       4     H, the header envelope's length (u32)
 *
 * Header plaintext: u32 count, then per blob: chunk id (32 bytes), offset (u32, from the pack's
 * first byte), envelope length (u32), plaintext length (u32). Blobs lie in [1, L − 4 − H), in
 * order, without overlap.
 *
 * Pack id (checked against the id recorded in the manifest by any reader holding the pack):
 * - version 2: tagged-hash("backpact/v1/pack-tail-id", 0x02 ‖ tail), tail = the pack's last H + 4
 *   bytes (header envelope ‖ H). The header lists every chunk's id, offset and lengths and is
 *   authenticated by AES-GCM; each chunk envelope is authenticated by its GCM tag and its id, which
 *   is an HMAC of the plaintext. So the id binds the whole pack without hashing megabytes: the
 *   tail is checked on join, each blob when its chunk is opened (and every shard by its Merkle root
 *   before that). The header's random nonce makes ids unique.
 * - version 1: tagged-hash("backpact/v1/pack-id", pack bytes), the whole pack (SHA-256 over every
 *   byte, ~15 % of a one-core backup's time). Still read and verified.
 * Objects striped like packs that are not packs (manifest envelopes) are named by {@link objectId},
 * the version-1 rule applied to their bytes.
 */
import { PACK_TARGET_BYTES, PACK_VERSION, PACK_VERSIONS_READ } from '../constants.ts';
import { BinaryReader } from '../encoding/binary.ts';
import { bytesEqual, fromHex, toHex } from '../encoding/bytes.ts';
import { importAesKey, open, sealInto, ENVELOPE_OVERHEAD, type AesKey } from '../crypto/envelope.ts';
import type { SealedChunk } from '../crypto/chunk.ts';
import { taggedHash, taggedHashLarge } from '../crypto/hash.ts';
import { ChunkNotInPackError, IntegrityError, InvalidArgumentError, MalformedError, UnsupportedVersionError } from '../errors.ts';
import type { ChunkId, PackId } from '../ids.ts';
import type { BufferPool } from './buffers.ts';

/** Tag of the whole-bytes id: version-1 packs and other striped objects (FORMAT). */
export const PACK_ID_TAG = 'backpact/v1/pack-id';

/** Tag of the version-2 pack id, a hash of the pack's tail (FORMAT). */
export const PACK_TAIL_ID_TAG = 'backpact/v1/pack-tail-id';

/** Header bytes per blob: id, offset, length, plaintext length. */
const ENTRY_BYTES = 32 + 4 + 4 + 4;

/** Where one chunk lies in a pack. */
export interface PackEntry {
  readonly id: ChunkId;
  /** Offset of the chunk's envelope from the pack's first byte. */
  readonly offset: number;
  /** Envelope length. */
  readonly length: number;
  /** Plaintext length. */
  readonly plaintextLength: number;
}

/** A finished pack. */
export interface Pack {
  readonly id: PackId;
  readonly bytes: Uint8Array;
  readonly entries: readonly PackEntry[];
}

/**
 * Id of an object striped like a pack by hashing all its bytes (WebCrypto: they may be megabytes):
 * manifest envelopes, and version-1 packs.
 */
export async function objectId(bytes: Uint8Array): Promise<PackId> {
  return toHex(await taggedHashLarge(PACK_ID_TAG, bytes)) as PackId;
}

/** Rejects with {@link IntegrityError} unless `bytes` have the {@link objectId} `expected`. */
export async function verifyObjectId(bytes: Uint8Array, expected: PackId): Promise<void> {
  if (!bytesEqual(await taggedHashLarge(PACK_ID_TAG, bytes), fromHex(expected))) throw new IntegrityError(`object does not match its id ${expected}`);
}

/** Shortest pack: version, an empty-plaintext header envelope with its count, and H. */
const MIN_PACK_BYTES = 1 + ENVELOPE_OVERHEAD + 4 + 4;

/** The tail of a pack, header envelope ‖ u32 H; throws {@link MalformedError} when H is out of range. */
function packTail(pack: Uint8Array): Uint8Array {
  if (pack.length < MIN_PACK_BYTES) throw new MalformedError('pack', 'too short');
  const headerLength = new DataView(pack.buffer, pack.byteOffset, pack.byteLength).getUint32(pack.length - 4, true);
  if (headerLength < ENVELOPE_OVERHEAD + 4 || headerLength > pack.length - 5) throw new MalformedError('pack', 'bad header length');
  return pack.subarray(pack.length - 4 - headerLength);
}

/** The 32 bytes of a version-2 pack id (the caller checked the version). */
function tailIdBytes(pack: Uint8Array): Uint8Array {
  return taggedHash(PACK_TAIL_ID_TAG, pack.subarray(0, 1), packTail(pack));
}

/**
 * Id of `pack` as its version defines it (see the module comment): version 2 by its tail (rejects
 * with {@link MalformedError} when the tail is out of range); any other bytes — version 1, or
 * bytes that are not a pack, which {@link readPackHeader} then rejects — by the whole-bytes rule
 * of {@link objectId}, the stronger check.
 */
export async function packId(pack: Uint8Array): Promise<PackId> {
  if (pack[0] === 2) return toHex(tailIdBytes(pack)) as PackId;
  return objectId(pack);
}

/** Rejects with {@link IntegrityError} (or a subclass) unless `pack` has the {@link packId} `expected`. */
export async function verifyPackId(pack: Uint8Array, expected: PackId): Promise<void> {
  if (!bytesEqual(fromHex(await packId(pack)), fromHex(expected))) throw new IntegrityError(`pack does not match its id ${expected}`);
}

/** Options of {@link PackBuilder}. */
export interface PackBuilderOptions {
  /** Close a pack before a chunk would make it exceed this many bytes (default {@link PACK_TARGET_BYTES}). */
  targetBytes?: number;
  /** Nonce source for header envelopes; tests inject a fixed one for golden fixtures. */
  headerNonce?: () => Uint8Array;
}

/** Size of a pack holding `blobBytes` of envelopes in `count` blobs. */
function packSize(blobBytes: number, count: number): number {
  return 1 + blobBytes + ENVELOPE_OVERHEAD + 4 + count * ENTRY_BYTES + 4;
}

/**
 * Where a pack starts in a {@link PackWriter} buffer: 64 keeps the pack and the shards cut from it
 * cache-line aligned.
 */
export const PACK_BUFFER_OFFSET = 64;

/** Options of {@link PackWriter}. */
export interface PackWriterOptions extends PackBuilderOptions {
  /**
   * Bytes the buffer must hold from {@link PACK_BUFFER_OFFSET} on for a pack of `packLength`
   * bytes (at least `packLength`, never less for a longer pack; default `packLength`). The
   * encoder asks for room for all k + m shards, so the padded pack is cut into data shards in
   * place and the parity shards follow it in the same buffer.
   */
  room?: (packLength: number) => number;
  /**
   * Where pack buffers come from and where a buffer outgrown by a short pack goes back (default:
   * fresh buffers). Reused buffers hold old bytes; see `./buffers.ts`.
   */
  buffers?: BufferPool;
}

/** A pack closed by {@link PackWriter.close}. */
export interface WrittenPack {
  /**
   * The pack's buffer: the pack at {@link PACK_BUFFER_OFFSET}, then at least `room(length)`
   * bytes past that offset, zeroed only if the buffer is fresh (a pooled one holds old bytes: the
   * encoder zeroes the padding it codes). The bytes before the offset are not part of the pack.
   */
  readonly buffer: Uint8Array;
  /** The pack (a view of `buffer`). */
  readonly bytes: Uint8Array;
  readonly entries: readonly PackEntry[];
  /** The pack id's 32 bytes (version 2: a hash of the pack's tail, computed when it closed). */
  readonly idBytes: Uint8Array;
}

/**
 * Builds packs in place: the caller reserves a blob for each chunk envelope ({@link reserve}) and
 * writes the envelope straight into the pack's buffer, e.g. with `sealInto`; no envelope or pack
 * is ever copied. Same packs, byte for byte, as {@link PackBuilder} given the same envelopes (it
 * is built on this). A pack's buffer is allocated when its first blob is reserved, large enough
 * for the target size (or that blob's pack if larger) plus the room asked for, and handed over
 * with the closed pack.
 */
export class PackWriter {
  private buffer: Uint8Array | null = null;
  private entries: PackEntry[] = [];
  private ids: Uint8Array[] = [];
  private blobBytes = 0;
  private readonly target: number;
  private readonly room: (packLength: number) => number;
  private headerKey: Promise<CryptoKey> | null = null;

  constructor(
    private readonly rawHeaderKey: AesKey,
    private readonly options: PackWriterOptions = {},
  ) {
    this.target = options.targetBytes ?? PACK_TARGET_BYTES;
    this.room = options.room ?? ((n) => n);
  }

  /** Bytes the open pack would have if closed now (0 when empty). */
  get pendingBytes(): number {
    return this.entries.length === 0 ? 0 : packSize(this.blobBytes, this.entries.length);
  }

  /** Number of chunks in the open pack. */
  get pendingChunks(): number {
    return this.entries.length;
  }

  /** True when an envelope of `envelopeLength` bytes does not fit the open pack, which must be closed first. */
  mustCloseFor(envelopeLength: number): boolean {
    return this.entries.length > 0 && packSize(this.blobBytes + envelopeLength, this.entries.length + 1) > this.target;
  }

  /**
   * Reserves the next blob of the open pack (opening one if needed) for the envelope of chunk `id`;
   * returns where to write it: `envelopeLength` bytes of `buffer` from `offset`. Throws
   * `InvalidArgumentError` when {@link mustCloseFor} says the pack must be closed first.
   */
  reserve(id: ChunkId, idBytes: Uint8Array, envelopeLength: number, plaintextLength: number): { buffer: Uint8Array; offset: number } {
    if (this.mustCloseFor(envelopeLength)) throw new InvalidArgumentError('the open pack is full: close it first');
    if (idBytes.length !== 32) throw new InvalidArgumentError('chunk ids are 32 bytes');
    if (!this.buffer) {
      const longest = Math.max(this.target, packSize(envelopeLength, 1));
      const bytes = PACK_BUFFER_OFFSET + Math.max(longest, this.room(longest));
      this.buffer = this.options.buffers?.take(bytes) ?? new Uint8Array(bytes);
    }
    const offset = 1 + this.blobBytes;
    this.entries.push({ id, offset, length: envelopeLength, plaintextLength });
    this.ids.push(idBytes);
    this.blobBytes += envelopeLength;
    return { buffer: this.buffer, offset: PACK_BUFFER_OFFSET + offset };
  }

  /**
   * Closes the open pack (resolves null when it is empty): the next {@link reserve} starts a new
   * one at once. `written` is awaited first: pass the writes still in flight into this pack's
   * blobs. Then the header is sealed in place and the pack id computed.
   */
  async close(written?: Promise<unknown>): Promise<WrittenPack | null> {
    if (this.entries.length === 0) return null;
    const entries = this.entries;
    const ids = this.ids;
    const blobBytes = this.blobBytes;
    let buffer = this.buffer!;
    this.entries = [];
    this.ids = [];
    this.blobBytes = 0;
    this.buffer = null;
    const length = packSize(blobBytes, entries.length);
    const needed = PACK_BUFFER_OFFSET + Math.max(length, this.room(length));
    await written;
    // A pack far below the target (a file's last) moves to a buffer of its size.
    if (needed <= buffer.length >> 1) {
      const exact = new Uint8Array(needed);
      exact.set(buffer.subarray(0, PACK_BUFFER_OFFSET + 1 + blobBytes));
      this.options.buffers?.give(buffer.buffer);
      buffer = exact;
    }
    const headerPlain = new Uint8Array(4 + entries.length * ENTRY_BYTES);
    const hv = new DataView(headerPlain.buffer);
    hv.setUint32(0, entries.length, true);
    for (let i = 0, o = 4; i < entries.length; i++, o += ENTRY_BYTES) {
      const e = entries[i]!;
      headerPlain.set(ids[i]!, o);
      hv.setUint32(o + 32, e.offset, true);
      hv.setUint32(o + 36, e.length, true);
      hv.setUint32(o + 40, e.plaintextLength, true);
    }
    const nonce = this.options.headerNonce?.();
    this.headerKey ??= this.rawHeaderKey instanceof Uint8Array ? importAesKey(this.rawHeaderKey) : Promise.resolve(this.rawHeaderKey);
    const headerAt = PACK_BUFFER_OFFSET + 1 + blobBytes;
    await sealInto(await this.headerKey, 'backpact/v1/pack-header', headerPlain, buffer, headerAt, nonce ? { nonce } : {});
    const end = PACK_BUFFER_OFFSET + length;
    new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength).setUint32(end - 4, end - 4 - headerAt, true);
    buffer[PACK_BUFFER_OFFSET] = PACK_VERSION;
    const bytes = buffer.subarray(PACK_BUFFER_OFFSET, end);
    return { buffer, bytes, entries, idBytes: tailIdBytes(bytes) };
  }
}

/**
 * Collects sealed chunks into packs. {@link add} closes the current pack first when the chunk would
 * push it past the target, so packs are at most the target size unless a single chunk is larger
 * (then it gets a pack of its own). Holds at most one pack in memory. A pack's `bytes` is a view
 * into a larger buffer (see {@link PackWriter}).
 */
export class PackBuilder {
  private readonly writer: PackWriter;

  constructor(headerKey: AesKey, options: PackBuilderOptions = {}) {
    this.writer = new PackWriter(headerKey, options);
  }

  /** Bytes the open pack would have if closed now (0 when empty). */
  get pendingBytes(): number {
    return this.writer.pendingBytes;
  }

  /** Number of chunks in the open pack. */
  get pendingChunks(): number {
    return this.writer.pendingChunks;
  }

  /** Adds a chunk; resolves the pack it closed to make room, if any. */
  async add(chunk: SealedChunk): Promise<Pack | null> {
    const closed = this.writer.mustCloseFor(chunk.envelope.length) ? await this.flush() : null;
    const slot = this.writer.reserve(chunk.id, chunk.idBytes, chunk.envelope.length, chunk.plaintextLength);
    slot.buffer.set(chunk.envelope, slot.offset);
    return closed;
  }

  /** Closes the open pack; resolves null when it is empty. */
  async flush(): Promise<Pack | null> {
    const written = await this.writer.close();
    if (!written) return null;
    return { id: toHex(written.idBytes) as PackId, bytes: written.bytes, entries: written.entries };
  }
}

/**
 * Decrypts and validates a pack's header. Throws {@link UnsupportedVersionError},
 * {@link MalformedError} (truncated, lengths or offsets out of place) or {@link IntegrityError}.
 */
export async function readPackHeader(pack: Uint8Array, headerKey: AesKey): Promise<PackEntry[]> {
  if (pack.length < 1) throw new MalformedError('pack', 'empty');
  if (!PACK_VERSIONS_READ.includes(pack[0]!)) throw new UnsupportedVersionError('pack', pack[0]!);
  const tail = packTail(pack);
  const headerStart = pack.length - tail.length;
  const plain = await open(headerKey, 'backpact/v1/pack-header', tail.subarray(0, tail.length - 4));
  const r = new BinaryReader(plain, 'pack header');
  const count = r.count(ENTRY_BYTES);
  const entries: PackEntry[] = [];
  let expectedOffset = 1;
  for (let i = 0; i < count; i++) {
    const id = toHex(r.raw(32)) as ChunkId;
    const offset = r.u32();
    const length = r.u32();
    const plaintextLength = r.u32();
    if (offset !== expectedOffset || length < ENVELOPE_OVERHEAD || offset + length > headerStart || plaintextLength !== length - ENVELOPE_OVERHEAD) {
      throw new MalformedError('pack header', `entry ${i} is out of place`);
    }
    expectedOffset = offset + length;
    entries.push({ id, offset, length, plaintextLength });
  }
  r.end();
  if (expectedOffset !== headerStart) throw new MalformedError('pack header', 'blobs do not fill the pack');
  return entries;
}

/** The envelope of chunk `id` in `pack`, given its header entries. Throws {@link ChunkNotInPackError}. */
export function chunkEnvelope(pack: Uint8Array, entries: readonly PackEntry[], id: ChunkId): Uint8Array {
  const e = entries.find((x) => x.id === id);
  if (!e) throw new ChunkNotInPackError(id);
  return pack.subarray(e.offset, e.offset + e.length);
}
