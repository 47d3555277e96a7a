/**
 * What a restore needs: the entries chosen, and for every pack they use, the chunks wanted from
 * it. Packs come in the order files first need them, so a restore of one big file proceeds from
 * its start; a pack is fetched once however many chosen files share it.
 */
import type { ChunkId, PackId } from '../ids.ts';
import type { PackPlacement } from '../manifest/placement.ts';
import type { FileEntry, SnapshotManifest } from '../manifest/snapshot.ts';
import { MalformedError } from '../errors.ts';
import { selectEntries } from './tree.ts';

/** One pack to fetch and the chunks to take from it. */
export interface PackNeed {
  readonly placement: PackPlacement;
  readonly chunks: readonly ChunkId[];
}

/** The plan of one restore. */
export interface RestorePlan {
  readonly entries: readonly FileEntry[];
  readonly packs: readonly PackNeed[];
  /** Bytes of the chosen files. */
  readonly bytes: number;
  /** Chosen files (folders not counted). */
  readonly files: number;
}

/** Plans the restore of `paths` (everything when empty) from `manifest`. */
export function planRestore(manifest: SnapshotManifest, paths: readonly string[]): RestorePlan {
  const entries = selectEntries(manifest.files, paths);
  const chunkPack = new Map<ChunkId, PackId>();
  for (const c of manifest.chunks) chunkPack.set(c.id, c.packId);
  const placements = new Map<PackId, PackPlacement>();
  for (const p of manifest.packs) placements.set(p.packId, p);
  const wanted = new Map<PackId, Set<ChunkId>>();
  let bytes = 0;
  let files = 0;
  for (const e of entries) {
    if (e.kind !== 'file') continue;
    files++;
    bytes += e.size;
    for (const id of e.chunks) {
      const pack = chunkPack.get(id);
      if (!pack) throw new MalformedError('snapshot manifest', `chunk ${id} has no pack`);
      let set = wanted.get(pack);
      if (!set) wanted.set(pack, (set = new Set()));
      set.add(id);
    }
  }
  const packs = [...wanted.entries()].map(([id, chunks]) => {
    const placement = placements.get(id);
    if (!placement) throw new MalformedError('snapshot manifest', `pack ${id} has no placement`);
    return { placement, chunks: [...chunks] };
  });
  return { entries, packs, bytes, files };
}
