/**
 * Snapshot manifests: the file tree of one backup, the chunks it references and where every pack
 * is placed. A manifest is self-contained: a restore needs only it and the shards it names.
 *
 * Plaintext encoding, version 1 (little-endian; strings are u32 length ‖ UTF-8):
 *
 *   1   version = 0x01
 *   8   createdAt (i64, ms since 1970)
 *   …   label (string)
 *   1   has-parent flag, [32 parent snapshot id]
 *   4   pack count, then placements (`./placement.ts`), sorted by pack id
 *   4   chunk count, then per chunk, sorted by chunk id:
 *         32 chunk id, 4 pack index, 4 offset in pack, 4 envelope length, 4 plaintext length
 *   4   file count, then per entry, sorted by the UTF-8 bytes of the path:
 *         path (string), 1 kind (0 file, 1 directory), 8 size (u64), 8 mtime (i64, ms),
 *         4 chunk count, 4 × chunk index (into the chunk table), in file order
 *
 * The encoding is canonical: the encoder sorts, the decoder rejects anything out of order,
 * duplicated, out of range or trailing, so one manifest has exactly one encoding and
 * snapshot id = SHA-256("backpact/v1/snapshot-id" ‖ 0x00 ‖ plaintext) is well defined.
 *
 * Stored as a version-1 envelope (purpose `backpact/v1/manifest`, key = index key), and that
 * envelope is coded into shards and placed exactly like a data pack (its bytes are the "pack").
 */
import { MANIFEST_VERSION, MAX_RECORD_BYTES } from '../constants.ts';
import { BinaryReader, BinaryWriter } from '../encoding/binary.ts';
import { bytesEqual, compareBytes, fromHex, toHex, utf8 } from '../encoding/bytes.ts';
import { open, seal, type AesKey, type SealOptions } from '../crypto/envelope.ts';
import { taggedHash } from '../crypto/hash.ts';
import { IntegrityError, MalformedError, UnsupportedVersionError } from '../errors.ts';
import type { ChunkId, PackId, SnapshotId } from '../ids.ts';
import { checkPlacement, MIN_PLACEMENT_BYTES, readPlacement, writePlacement, type PackPlacement } from './placement.ts';

/** Tag of the snapshot id hash (FORMAT). */
export const SNAPSHOT_ID_TAG = 'backpact/v1/snapshot-id';

const FORMAT = 'snapshot manifest';

/** Where a chunk is stored. */
export interface ChunkLocation {
  readonly id: ChunkId;
  readonly packId: PackId;
  /** Offset of the chunk's envelope in the pack. */
  readonly offset: number;
  /** Envelope length. */
  readonly length: number;
  readonly plaintextLength: number;
}

/** A file or directory of the snapshot. */
export interface FileEntry {
  /** Relative path, '/'-separated, unique within the snapshot. */
  readonly path: string;
  readonly kind: 'file' | 'directory';
  readonly size: number;
  /** Last modification, ms since 1970. */
  readonly mtime: number;
  /** Content chunks in order (empty for directories and empty files). */
  readonly chunks: readonly ChunkId[];
}

/** A decoded snapshot manifest. */
export interface SnapshotManifest {
  readonly createdAt: number;
  /** Human-readable label (e.g. the device name). */
  readonly label: string;
  readonly parent: SnapshotId | null;
  readonly packs: readonly PackPlacement[];
  readonly chunks: readonly ChunkLocation[];
  readonly files: readonly FileEntry[];
}

const byHex = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Canonical plaintext encoding. Throws {@link MalformedError} for an inconsistent manifest. */
export function encodeManifest(m: SnapshotManifest): Uint8Array {
  const packs = [...m.packs].sort((a, b) => byHex(a.packId, b.packId));
  const packIndex = new Map<string, number>();
  packs.forEach((p, i) => {
    if (packIndex.has(p.packId)) throw new MalformedError(FORMAT, `duplicate pack ${p.packId}`);
    checkPlacement(p, FORMAT);
    packIndex.set(p.packId, i);
  });
  const chunks = [...m.chunks].sort((a, b) => byHex(a.id, b.id));
  const chunkIndex = new Map<string, number>();
  chunks.forEach((c, i) => {
    if (chunkIndex.has(c.id)) throw new MalformedError(FORMAT, `duplicate chunk ${c.id}`);
    chunkIndex.set(c.id, i);
  });
  const files = [...m.files].map((f) => ({ f, key: utf8(f.path) })).sort((a, b) => compareBytes(a.key, b.key));

  const w = new BinaryWriter().u8(MANIFEST_VERSION).i64(m.createdAt).string(m.label);
  if (m.parent === null) w.u8(0);
  else w.u8(1).raw(fromHex(m.parent));
  w.u32(packs.length);
  for (const p of packs) writePlacement(w, p);
  w.u32(chunks.length);
  for (const c of chunks) {
    const pi = packIndex.get(c.packId);
    if (pi === undefined) throw new MalformedError(FORMAT, `chunk ${c.id} is in unlisted pack ${c.packId}`);
    w.raw(fromHex(c.id)).u32(pi).u32(c.offset).u32(c.length).u32(c.plaintextLength);
  }
  w.u32(files.length);
  let prev: Uint8Array | null = null;
  for (const { f, key } of files) {
    if (prev && compareBytes(prev, key) === 0) throw new MalformedError(FORMAT, `duplicate path ${f.path}`);
    prev = key;
    checkFile(f, chunks, chunkIndex);
    w.string(f.path).u8(f.kind === 'file' ? 0 : 1).u64(f.size).i64(f.mtime).u32(f.chunks.length);
    for (const id of f.chunks) w.u32(chunkIndex.get(id)!);
  }
  return w.finish();
}

function checkFile(f: FileEntry, chunks: readonly ChunkLocation[], index: ReadonlyMap<string, number>): void {
  if (f.path.length === 0) throw new MalformedError(FORMAT, 'empty path');
  if (f.kind === 'directory' && (f.size !== 0 || f.chunks.length !== 0)) throw new MalformedError(FORMAT, `directory ${f.path} has content`);
  let total = 0;
  for (const id of f.chunks) {
    const i = index.get(id);
    if (i === undefined) throw new MalformedError(FORMAT, `file ${f.path} references unlisted chunk ${id}`);
    total += chunks[i]!.plaintextLength;
  }
  if (total !== f.size) throw new MalformedError(FORMAT, `file ${f.path}: chunks add up to ${total}, not ${f.size}`);
}

/**
 * Decodes and validates a manifest plaintext. Throws {@link UnsupportedVersionError} or
 * {@link MalformedError} (truncated, trailing bytes, out-of-order or duplicate entries, indices
 * out of range, sizes that do not add up).
 */
export function decodeManifest(bytes: Uint8Array): SnapshotManifest {
  if (bytes.length === 0) throw new MalformedError(FORMAT, 'empty');
  if (bytes[0] !== MANIFEST_VERSION) throw new UnsupportedVersionError(FORMAT, bytes[0]!);
  const r = new BinaryReader(bytes, FORMAT);
  r.u8();
  const createdAt = r.i64();
  const label = r.string();
  const hasParent = r.u8();
  if (hasParent > 1) throw new MalformedError(FORMAT, 'invalid parent flag');
  const parent = hasParent ? (toHex(r.raw(32)) as SnapshotId) : null;
  const packCount = r.count(MIN_PLACEMENT_BYTES);
  const packs: PackPlacement[] = [];
  for (let i = 0; i < packCount; i++) {
    const p = readPlacement(r, FORMAT);
    if (i > 0 && byHex(packs[i - 1]!.packId, p.packId) >= 0) throw new MalformedError(FORMAT, 'packs out of order');
    packs.push(p);
  }
  const chunkCount = r.count(48);
  const chunks: ChunkLocation[] = [];
  for (let i = 0; i < chunkCount; i++) {
    const id = toHex(r.raw(32)) as ChunkId;
    const pi = r.u32();
    const offset = r.u32();
    const length = r.u32();
    const plaintextLength = r.u32();
    const pack = packs[pi];
    if (!pack) throw new MalformedError(FORMAT, `chunk ${i} names pack ${pi} of ${packCount}`);
    if (offset + length > pack.length) throw new MalformedError(FORMAT, `chunk ${i} lies outside its pack`);
    if (i > 0 && byHex(chunks[i - 1]!.id, id) >= 0) throw new MalformedError(FORMAT, 'chunks out of order');
    chunks.push({ id, packId: pack.packId, offset, length, plaintextLength });
  }
  const fileCount = r.count(4 + 1 + 8 + 8 + 4);
  const files: FileEntry[] = [];
  let prev: Uint8Array | null = null;
  for (let i = 0; i < fileCount; i++) {
    const path = r.string();
    const key = utf8(path);
    if (prev && compareBytes(prev, key) >= 0) throw new MalformedError(FORMAT, 'files out of order or duplicated');
    prev = key;
    const kindByte = r.u8();
    if (kindByte > 1) throw new MalformedError(FORMAT, 'invalid file kind');
    const size = r.u64();
    const mtime = r.i64();
    const n = r.count(4);
    const ids: ChunkId[] = [];
    let total = 0;
    for (let j = 0; j < n; j++) {
      const c = chunks[r.u32()];
      if (!c) throw new MalformedError(FORMAT, `file ${path} references a missing chunk`);
      ids.push(c.id);
      total += c.plaintextLength;
    }
    if (path.length === 0) throw new MalformedError(FORMAT, 'empty path');
    if (kindByte === 1 && (size !== 0 || n !== 0)) throw new MalformedError(FORMAT, `directory ${path} has content`);
    if (total !== size) throw new MalformedError(FORMAT, `file ${path}: chunks add up to ${total}, not ${size}`);
    files.push({ path, kind: kindByte === 0 ? 'file' : 'directory', size, mtime, chunks: ids });
  }
  r.end();
  return { createdAt, label, parent, packs, chunks, files };
}

/** Id of a manifest plaintext. */
export function snapshotId(plaintext: Uint8Array): SnapshotId {
  return toHex(taggedHash(SNAPSHOT_ID_TAG, plaintext)) as SnapshotId;
}

/** A sealed manifest. */
export interface SealedManifest {
  readonly id: SnapshotId;
  /** The envelope: store it as a pack (`stripePack`) and record its placement in the root record. */
  readonly envelope: Uint8Array;
}

/** Encodes, ids and encrypts a manifest with the index key. */
export async function sealManifest(indexKey: AesKey, m: SnapshotManifest, options: SealOptions = {}): Promise<SealedManifest> {
  const plaintext = encodeManifest(m);
  return { id: snapshotId(plaintext), envelope: await seal(indexKey, 'backpact/v1/manifest', plaintext, options) };
}

/**
 * Decrypts, checks the id (when `expectedId` is given) and decodes a manifest. Throws
 * {@link IntegrityError} (or a subclass: {@link MalformedError}, {@link UnsupportedVersionError}).
 */
export async function openManifest(indexKey: AesKey, envelope: Uint8Array, expectedId?: SnapshotId): Promise<SnapshotManifest> {
  if (envelope.length > MAX_RECORD_BYTES) throw new MalformedError(FORMAT, 'too large');
  const plaintext = await open(indexKey, 'backpact/v1/manifest', envelope);
  if (expectedId !== undefined && !bytesEqual(taggedHash(SNAPSHOT_ID_TAG, plaintext), fromHex(expectedId))) {
    throw new IntegrityError(`manifest does not match snapshot id ${expectedId}`);
  }
  return decodeManifest(plaintext);
}
