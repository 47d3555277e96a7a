/**
 * IndexedDB stores of the owner's backup and restore (database version 2, `./db.ts`). What they
 * hold and why:
 *
 * - `snapshots`: the local index — snapshots committed (listed in a root record this device
 *   published or fetched), with the manifest's placement and, once fetched, its sealed envelope.
 *   Written only as the last step of the commit order (docs/DESIGN.md §7).
 * - `journal`: packs of the backup in progress whose every shard is either acknowledged by its
 *   holder or waiting in the outbox. A resumed backup reuses them instead of sending them again;
 *   cleared when the snapshot commits.
 * - `outbox`: shards waiting for their (offline) holder, delivered when it links.
 * - `restoreJobs` / `restoreChunks`: restores in progress, pack by pack, with the verified chunks
 *   they got so far (as Blobs, so they live on disk, not in memory), so a restore survives
 *   reloads and goes on as partners come online; and the verified shards of packs that could not
 *   be completed yet (partners never online together), until k of a pack's shards are in.
 */
import type { DBSchema } from 'idb';
import type { ChunkId, PackId, PeerId, ShardId, SnapshotId } from '../core/ids.ts';
import type { PackPlacement } from '../core/manifest/placement.ts';
import type { PackEntry } from '../core/pack/pack.ts';

/** A committed snapshot in the local index. */
export interface SnapshotRecord {
  id: SnapshotId;
  createdAt: number;
  /** Where the sealed manifest's shards are. */
  manifest: PackPlacement;
  /** The sealed manifest, once this device has it (it made it, or fetched it for a restore). */
  envelope: ArrayBuffer | null;
  /** Seq of the root record that listed it when it was recorded. */
  seq: number;
  /** Summary for lists, once known (null on a device that has not fetched the manifest yet). */
  summary: { label: string; files: number; bytes: number } | null;
}

/** A pack of the backup in progress, safe to reuse. */
export interface JournalRecord {
  packId: PackId;
  placement: PackPlacement;
  entries: PackEntry[];
  /** Shard indices acknowledged durable by their holders. */
  durable: number[];
  queuedAt: number;
}

/** A shard waiting for its holder. */
export interface OutboxRecord {
  holder: PeerId;
  shard: ShardId;
  packId: PackId;
  /** Index of the shard in its stripe. */
  index: number;
  bytes: Blob;
  size: number;
  queuedAt: number;
  /** Merkle root (hex) sent with the shard so the holder can self-check it; absent in older records. */
  merkleRoot?: string;
}

/** What a restore produces. */
export type RestoreOutput = 'file' | 'zip';

/** A restore in progress or ready to save. */
export interface RestoreJobRecord {
  id: string;
  snapshotId: SnapshotId;
  /** Paths chosen ([] = everything). */
  paths: string[];
  output: RestoreOutput;
  /** Suggested file name of the result. */
  name: string;
  /** Packs still to fetch. */
  pending: PackId[];
  /** Packs fetched and verified. */
  done: PackId[];
  bytes: number;
  files: number;
  createdAt: number;
  state: 'fetching' | 'ready' | 'saved' | 'failed';
  message: string | null;
}

/**
 * Key of a shard a restore keeps while its pack is not complete yet: `shard:<pack id>:<index>`
 * (chunk ids are hex, so the two never collide).
 */
export type KeptShardKey = `shard:${string}`;

/** The key under which a restore keeps shard `index` of `packId`. */
export function keptShardKey(packId: PackId, index: number): KeptShardKey {
  return `shard:${packId}:${String(index).padStart(3, '0')}`;
}

/**
 * A verified chunk a restore got, or (`chunk` a {@link KeptShardKey}) a verified shard of a pack
 * that could not be completed yet, kept until k of its shards are in.
 */
export interface RestoreChunkRecord {
  job: string;
  chunk: ChunkId | KeptShardKey;
  data: Blob;
  length: number;
  /** CRC-32 of the plaintext (for zips); 0 for a kept shard. */
  crc: number;
  /** Shard index, for a kept shard. */
  shard?: number;
}

/** The version-2 stores, for idb's typed API. */
export interface BackupStores extends DBSchema {
  snapshots: { key: SnapshotId; value: SnapshotRecord };
  journal: { key: PackId; value: JournalRecord };
  outbox: { key: [PeerId, ShardId]; value: OutboxRecord; indexes: { 'by-holder': PeerId } };
  restoreJobs: { key: string; value: RestoreJobRecord };
  restoreChunks: { key: [string, ChunkId | KeptShardKey]; value: RestoreChunkRecord; indexes: { 'by-job': string } };
}
