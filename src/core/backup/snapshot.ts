/**
 * Building a snapshot manifest from what one backup run produced: the files it read (with their
 * chunk ids), the packs it stored, and the chunks it found already stored by earlier snapshots.
 * A manifest must be self-contained (docs/DESIGN.md §4.10), so every chunk a file names is resolved
 * here to its pack, and every pack used is listed with its placement — including packs of
 * earlier snapshots that unchanged files still use.
 */
import { InvalidArgumentError } from '../errors.ts';
import type { ChunkId, PackId, SnapshotId } from '../ids.ts';
import type { PackPlacement } from '../manifest/placement.ts';
import type { RootRecordBody, SnapshotRef } from '../manifest/root-record.ts';
import { encodeRootRecordBody } from '../manifest/root-record.ts';
import type { ChunkLocation, FileEntry, SnapshotManifest } from '../manifest/snapshot.ts';
import type { PackEntry } from '../pack/pack.ts';
import { MAX_ROOT_RECORD_BYTES } from '../partner/messages.ts';

/** Where earlier snapshots stored chunks (the owner's local index). */
export interface KnownIndex {
  chunk(id: ChunkId): ChunkLocation | undefined;
  pack(id: PackId): PackPlacement | undefined;
}

/** An index over a set of manifests (e.g. the ones the local index keeps). */
export function indexOf(manifests: readonly Pick<SnapshotManifest, 'chunks' | 'packs'>[]): KnownIndex & { chunkIds(): ChunkId[] } {
  const chunks = new Map<ChunkId, ChunkLocation>();
  const packs = new Map<PackId, PackPlacement>();
  for (const m of manifests) {
    for (const p of m.packs) packs.set(p.packId, p);
    for (const c of m.chunks) chunks.set(c.id, c);
  }
  return { chunk: (id) => chunks.get(id), pack: (id) => packs.get(id), chunkIds: () => [...chunks.keys()] };
}

/** Collects a backup run's files and packs, then builds its manifest. */
export class SnapshotAssembler {
  private readonly newChunks = new Map<ChunkId, ChunkLocation>();
  private readonly newPacks = new Map<PackId, PackPlacement>();
  private readonly files: FileEntry[] = [];

  constructor(private readonly known: KnownIndex) {}

  /** Records a pack this run stored (its placement and the chunks in it). */
  addPack(placement: PackPlacement, entries: readonly PackEntry[]): void {
    this.newPacks.set(placement.packId, placement);
    for (const e of entries) {
      this.newChunks.set(e.id, { id: e.id, packId: placement.packId, offset: e.offset, length: e.length, plaintextLength: e.plaintextLength });
    }
  }

  /** Records a file or folder of the snapshot. */
  addFile(entry: FileEntry): void {
    this.files.push(entry);
  }

  /** Number of files and folders recorded. */
  get fileCount(): number {
    return this.files.length;
  }

  /**
   * Builds the manifest. Throws {@link InvalidArgumentError} when a file names a chunk that is in
   * no pack of this run nor of the known index (a bug: the snapshot would not restore).
   */
  build(meta: { createdAt: number; label: string; parent: SnapshotId | null }): SnapshotManifest {
    const chunks = new Map<ChunkId, ChunkLocation>();
    const packs = new Map<PackId, PackPlacement>();
    for (const f of this.files) {
      for (const id of f.chunks) {
        if (chunks.has(id)) continue;
        const loc = this.newChunks.get(id) ?? this.known.chunk(id);
        if (!loc) throw new InvalidArgumentError(`chunk ${id} of ${f.path} is in no stored pack`);
        const pack = this.newPacks.get(loc.packId) ?? this.known.pack(loc.packId);
        if (!pack) throw new InvalidArgumentError(`pack ${loc.packId} of ${f.path} has no placement`);
        chunks.set(id, loc);
        packs.set(pack.packId, pack);
      }
    }
    // Chunks of a referenced pack that no file uses are left out: the manifest lists what it needs.
    return { ...meta, packs: [...packs.values()], chunks: [...chunks.values()], files: this.files };
  }
}

/** Largest body a root record may carry: the holder's limit less the signed header, signature and envelope. */
export const MAX_ROOT_BODY_BYTES = MAX_ROOT_RECORD_BYTES - (53 + 64 + 29);

/** Snapshots listed in a root record at most (older ones stay stored until collected). */
export const MAX_LISTED_SNAPSHOTS = 100;

/**
 * The root-record body for `snapshots` (newest first) and `partners`, keeping as many of the
 * newest snapshots as fit {@link MAX_ROOT_BODY_BYTES} and {@link MAX_LISTED_SNAPSHOTS}. The
 * newest is always kept; throws {@link InvalidArgumentError} if even it does not fit.
 */
export function rootBodyFor(snapshots: readonly SnapshotRef[], partners: RootRecordBody['partners'], maxBytes = MAX_ROOT_BODY_BYTES, maxCount = MAX_LISTED_SNAPSHOTS): RootRecordBody {
  let n = Math.min(snapshots.length, maxCount);
  for (; n >= 1; n--) {
    const body = { snapshots: snapshots.slice(0, n), partners };
    if (encodeRootRecordBody(body).length <= maxBytes) return body;
  }
  if (snapshots.length === 0 && encodeRootRecordBody({ snapshots: [], partners }).length <= maxBytes) return { snapshots: [], partners };
  throw new InvalidArgumentError('the root record cannot hold even the newest snapshot');
}
