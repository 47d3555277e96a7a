/**
 * Chunk ids and chunk encryption.
 *
 * - Chunk id = HMAC-SHA256(dedup key, plaintext): equal chunks of one user get equal ids (dedup),
 *   but nobody without the key can test whether a user stores some known content.
 * - Each chunk has its own AES-256-GCM key, HKDF-SHA256(data key, info = "backpact/v1/chunk-key" ‖
 *   id). Keys are unique per content, so even a repeated random nonce could only ever repeat an
 *   identical (key, plaintext) pair.
 * - The ciphertext is a version-1 envelope (`./envelope.ts`) with purpose `backpact/v1/chunk`.
 * - Opening verifies twice: the GCM tag, then the recomputed HMAC against the expected id, so a
 *   chunk stored under the wrong id is rejected with {@link IntegrityError}.
 *
 * Bulk work runs in WebCrypto (HMAC and AES-GCM at GB/s); keys are imported non-extractable once.
 * Inputs are handed to WebCrypto as views, never copied first (WebCrypto copies what it reads).
 */
import { deriveDataSubkey } from '../keys/derive.ts';
import { bytesEqual, fromHex, ownBuffer, toHex } from '../encoding/bytes.ts';
import { IntegrityError } from '../errors.ts';
import type { ChunkId } from '../ids.ts';
import { cryptoInput, importAesKey, open, seal, sealInto, type SealOptions } from './envelope.ts';

/** An encrypted chunk ready to be packed. */
export interface SealedChunk {
  readonly id: ChunkId;
  /** The id's 32 raw bytes. */
  readonly idBytes: Uint8Array;
  /** The version-1 envelope. */
  readonly envelope: Uint8Array;
  /** Length of the plaintext. */
  readonly plaintextLength: number;
}

/** Computes chunk ids and seals / opens chunks for one user. Create with {@link ChunkCipher.create}. */
export class ChunkCipher {
  private constructor(
    private readonly dataKey: Uint8Array,
    private readonly dedupKey: CryptoKey,
  ) {}

  /** Imports the keys (the dedup key into WebCrypto as a non-extractable HMAC key). */
  static async create(keys: { dataKey: Uint8Array; dedupKey: Uint8Array }): Promise<ChunkCipher> {
    const dedup = await globalThis.crypto.subtle.importKey('raw', ownBuffer(keys.dedupKey), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    return new ChunkCipher(keys.dataKey.slice(), dedup);
  }

  /** The 32 raw bytes of the id of `plaintext`. */
  async idBytes(plaintext: Uint8Array): Promise<Uint8Array> {
    return new Uint8Array(await globalThis.crypto.subtle.sign('HMAC', this.dedupKey, cryptoInput(plaintext)));
  }

  /** The id of `plaintext`. */
  async id(plaintext: Uint8Array): Promise<ChunkId> {
    return toHex(await this.idBytes(plaintext)) as ChunkId;
  }

  /** The chunk's own AES-256-GCM key, HKDF(data key, "backpact/v1/chunk-key" ‖ id), imported. */
  chunkKey(idBytes: Uint8Array): Promise<CryptoKey> {
    return importAesKey(deriveDataSubkey(this.dataKey, 'chunk', idBytes));
  }

  /**
   * Seals a chunk into `out` at `offset` (`ENVELOPE_OVERHEAD` + length bytes) under `key`, its
   * {@link chunkKey}: the same envelope as {@link sealWithId}, written in place. WebCrypto copies
   * the plaintext during the call, so it may be reused when this returns; `out` is complete when
   * the promise resolves.
   */
  sealInto(key: CryptoKey, plaintext: Uint8Array, out: Uint8Array, offset: number, options: SealOptions = {}): Promise<void> {
    return sealInto(key, 'backpact/v1/chunk', plaintext, out, offset, options);
  }

  /** Computes the id and encrypts. `options.nonce` is for deterministic tests only. */
  async seal(plaintext: Uint8Array, options: SealOptions = {}): Promise<SealedChunk> {
    const idBytes = await this.idBytes(plaintext);
    const envelope = await seal(await this.chunkKey(idBytes), 'backpact/v1/chunk', plaintext, options);
    return { id: toHex(idBytes) as ChunkId, idBytes, envelope, plaintextLength: plaintext.length };
  }

  /**
   * Encrypts a chunk whose id the caller already computed with {@link idBytes} (e.g. in another
   * thread). The id is trusted here; {@link open} re-checks it on every read.
   */
  async sealWithId(plaintext: Uint8Array, idBytes: Uint8Array, options: SealOptions = {}): Promise<SealedChunk> {
    const envelope = await seal(await this.chunkKey(idBytes), 'backpact/v1/chunk', plaintext, options);
    return { id: toHex(idBytes) as ChunkId, idBytes, envelope, plaintextLength: plaintext.length };
  }

  /**
   * Decrypts the chunk `id` and checks that its content really has that id. Throws
   * {@link IntegrityError} (or a subclass) on any mismatch.
   */
  async open(id: ChunkId, envelope: Uint8Array): Promise<Uint8Array> {
    const idBytes = fromHex(id);
    const plaintext = await open(await this.chunkKey(idBytes), 'backpact/v1/chunk', envelope);
    if (!bytesEqual(await this.idBytes(plaintext), idBytes)) throw new IntegrityError(`chunk ${id} does not match its id`);
    return plaintext;
  }
}
