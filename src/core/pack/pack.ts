/**
 * Packs: containers of encrypted chunks with an encrypted header, in the manner of restic.
 *
 * Layout, version 1 (all integers little-endian):
 *
 *   offset      size  field
 *   0           1     version = 0x01
 *   1           …     blobs: chunk envelopes back to back
 *   L − 4 − H   H     header envelope (`../crypto/envelope.ts`, purpose backpact/v1/pack-header,
 *                     key = pack-header key derived from the data key)
 *   L − 4       4     H, the header envelope's length (u32)
 *
 * Header plaintext: u32 count, then per blob: chunk id (32 bytes), offset (u32, from the pack's
 * first byte), envelope length (u32), plaintext length (u32). Blobs lie in [1, L − 4 − H), in
 * order, without overlap.
 *
 * Pack id = SHA-256("backpact/v1/pack-id" ‖ 0x00 ‖ pack bytes): content-addressed, so any reader
 * holding a pack can check it against the id recorded in the manifest.
 */
import { PACK_TARGET_BYTES, PACK_VERSION } from '../constants.ts';
import { BinaryReader, BinaryWriter } from '../encoding/binary.ts';
import { bytesEqual, fromHex, toHex } from '../encoding/bytes.ts';
import { open, seal, ENVELOPE_OVERHEAD, type AesKey } from '../crypto/envelope.ts';
import type { SealedChunk } from '../crypto/chunk.ts';
import { taggedHashLarge } from '../crypto/hash.ts';
import { ChunkNotInPackError, IntegrityError, MalformedError, UnsupportedVersionError } from '../errors.ts';
import type { ChunkId, PackId } from '../ids.ts';

/** Tag of the pack id hash (FORMAT). */
export const PACK_ID_TAG = 'backpact/v1/pack-id';

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

/** Id of pack `bytes` (hashed by WebCrypto: packs are megabytes). */
export async function packId(bytes: Uint8Array): Promise<PackId> {
  return toHex(await taggedHashLarge(PACK_ID_TAG, bytes)) as PackId;
}

/** Rejects with {@link IntegrityError} unless `bytes` hash to `expected`. */
export async function verifyPackId(bytes: Uint8Array, expected: PackId): Promise<void> {
  if (!bytesEqual(await taggedHashLarge(PACK_ID_TAG, bytes), fromHex(expected))) throw new IntegrityError(`pack does not match its id ${expected}`);
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
 * Collects sealed chunks into packs. {@link add} closes the current pack first when the chunk would
 * push it past the target, so packs are at most the target size unless a single chunk is larger
 * (then it gets a pack of its own). Holds at most one pack's chunks in memory.
 */
export class PackBuilder {
  private chunks: SealedChunk[] = [];
  private blobBytes = 0;
  private readonly target: number;

  constructor(
    private readonly headerKey: AesKey,
    private readonly options: PackBuilderOptions = {},
  ) {
    this.target = options.targetBytes ?? PACK_TARGET_BYTES;
  }

  /** Bytes the open pack would have if closed now (0 when empty). */
  get pendingBytes(): number {
    return this.chunks.length === 0 ? 0 : packSize(this.blobBytes, this.chunks.length);
  }

  /** Number of chunks in the open pack. */
  get pendingChunks(): number {
    return this.chunks.length;
  }

  /** Adds a chunk; resolves the pack it closed to make room, if any. */
  async add(chunk: SealedChunk): Promise<Pack | null> {
    let closed: Pack | null = null;
    if (this.chunks.length > 0 && packSize(this.blobBytes + chunk.envelope.length, this.chunks.length + 1) > this.target) {
      closed = await this.flush();
    }
    this.chunks.push(chunk);
    this.blobBytes += chunk.envelope.length;
    return closed;
  }

  /** Closes the open pack; resolves null when it is empty. */
  async flush(): Promise<Pack | null> {
    if (this.chunks.length === 0) return null;
    const chunks = this.chunks;
    this.chunks = [];
    const blobBytes = this.blobBytes;
    this.blobBytes = 0;
    const entries: PackEntry[] = [];
    const header = new BinaryWriter().u32(chunks.length);
    let offset = 1;
    for (const c of chunks) {
      entries.push({ id: c.id, offset, length: c.envelope.length, plaintextLength: c.plaintextLength });
      header.raw(c.idBytes).u32(offset).u32(c.envelope.length).u32(c.plaintextLength);
      offset += c.envelope.length;
    }
    const nonce = this.options.headerNonce?.();
    const headerEnvelope = await seal(this.headerKey, 'backpact/v1/pack-header', header.finish(), nonce ? { nonce } : {});
    const bytes = new Uint8Array(1 + blobBytes + headerEnvelope.length + 4);
    bytes[0] = PACK_VERSION;
    let o = 1;
    for (const c of chunks) {
      bytes.set(c.envelope, o);
      o += c.envelope.length;
    }
    bytes.set(headerEnvelope, o);
    new DataView(bytes.buffer).setUint32(bytes.length - 4, headerEnvelope.length, true);
    return { id: await packId(bytes), bytes, entries };
  }
}

/**
 * Decrypts and validates a pack's header. Throws {@link UnsupportedVersionError},
 * {@link MalformedError} (truncated, lengths or offsets out of place) or {@link IntegrityError}.
 */
export async function readPackHeader(pack: Uint8Array, headerKey: AesKey): Promise<PackEntry[]> {
  if (pack.length < 1) throw new MalformedError('pack', 'empty');
  if (pack[0] !== PACK_VERSION) throw new UnsupportedVersionError('pack', pack[0]!);
  if (pack.length < 1 + ENVELOPE_OVERHEAD + 4 + 4) throw new MalformedError('pack', 'too short');
  const headerLength = new DataView(pack.buffer, pack.byteOffset, pack.byteLength).getUint32(pack.length - 4, true);
  const headerStart = pack.length - 4 - headerLength;
  if (headerLength < ENVELOPE_OVERHEAD + 4 || headerStart < 1) throw new MalformedError('pack', 'bad header length');
  const plain = await open(headerKey, 'backpact/v1/pack-header', pack.subarray(headerStart, pack.length - 4));
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
