/**
 * Types shared by the pipeline worker and the code that drives it. Everything here crosses a
 * `postMessage` boundary, so it is plain data (structured-clone friendly); large byte arrays are
 * transferred, not copied.
 */
import type { EncodedPack, EncoderKeys, PackEncoderOptions, PackRef } from '../core/pipeline/index.ts';
import type { ChunkId } from '../core/ids.ts';

/** A new chunk for a worker to seal and pack: plaintext and its already computed id. */
export interface ChunkJob {
  data: Uint8Array;
  idBytes: Uint8Array;
}

/** A pack to rebuild: its shards (null where missing) and what the manifest says about it. */
export interface PackJob {
  shards: (Uint8Array | null)[];
  ref: PackRef;
  /** Chunks to decrypt from it, in the order wanted; empty means every chunk of the pack. */
  chunkIds: ChunkId[];
  /** Also compute each chunk's CRC-32 (for zips), off the calling thread. */
  crc?: boolean;
}

/** Decrypted chunks of one pack. */
export interface PackChunks {
  packId: string;
  chunks: { id: ChunkId; data: Uint8Array; crc?: number }[];
}

/** The API a pipeline worker exposes through comlink. */
export interface PipelineWorkerApi {
  /** Sets up encoding with the user's keys and code parameters (replaces any previous setup). */
  initEncoder(keys: EncoderKeys, options: PackEncoderOptions): Promise<void>;
  /** Seals and packs chunks; resolves the packs this closed, coded into shards. */
  addChunks(chunks: ChunkJob[]): Promise<EncodedPack[]>;
  /** Closes the open pack, if any. */
  flush(): Promise<EncodedPack | null>;
  /**
   * Gives pack buffers back (transferred) for the encoder to reuse, once every shard they hold has
   * been placed (sent and acknowledged, or stored) or dropped.
   */
  recycle(buffers: ArrayBuffer[]): Promise<void>;
  /** Sets up decoding with the user's keys. */
  initDecoder(keys: { dataKey: Uint8Array; dedupKey: Uint8Array }): Promise<void>;
  /** Rebuilds one pack from its shards and decrypts (and verifies) the requested chunks. */
  decodePack(job: PackJob): Promise<PackChunks>;
  /** The Merkle root of a shard (1 KiB leaves); the bytes come back, transferred both ways. */
  merkleRoot(bytes: Uint8Array): Promise<{ bytes: Uint8Array; root: Uint8Array }>;
}

/** Every ArrayBuffer under `arrays`, once each, for a transfer list. */
export function buffersOf(arrays: Iterable<Uint8Array | null>): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  for (const a of arrays) if (a && a.buffer instanceof ArrayBuffer) out.add(a.buffer);
  return [...out];
}
