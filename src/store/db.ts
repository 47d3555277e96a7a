/**
 * Backpact's one IndexedDB database and its upgrade ladder. Each version adds what it needs and
 * never rewrites what an earlier version created, so any older database upgrades step by step.
 */
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import type { BackupStores } from './backup-schema.ts';

/** Name of the database (one per origin and browser profile). */
export const DB_NAME = 'backpact';
/** Current schema version. */
export const DB_VERSION = 3;

/** A shard held for a partner. `bytes` is an ArrayBuffer: IndexedDB stores it without copying twice. */
export interface HeldShardRecord {
  owner: string;
  shard: string;
  bytes: ArrayBuffer;
  size: number;
  storedAt: number;
  /** Merkle root (hex) sent by the owner (`rootSource: 'owner'`). */
  merkleRoot?: string;
  rootSource?: 'owner' | 'baseline';
  /**
   * Version 2 kept the self-check's state here too (a baseline `merkleRoot`, `checkedAt`,
   * `damagedAt`); version 3 moved it to {@link HeldCheckRecord} and no longer reads or writes these.
   */
  checkedAt?: number;
  damagedAt?: number;
}

/**
 * The self-check's state of one held shard (IndexedDB version 3): small, so a check writes it
 * without rewriting the shard's bytes. Written with every put (which clears an earlier state) and
 * removed with the shard; it describes the bytes stored at `storedAt`.
 */
export interface HeldCheckRecord {
  owner: string;
  shard: string;
  storedAt: number;
  /** The shard came with the owner's Merkle root (`HeldShardRecord.merkleRoot`). */
  ownerRoot: boolean;
  /** Merkle root (hex) of the first self-check, for a shard stored without one. */
  baselineRoot?: string;
  checkedAt?: number;
  damagedAt?: number;
}

/** Quota and running usage for one owner; usage changes in the same transaction as the shards. */
export interface AllowanceRecord {
  owner: string;
  allowed: number | null;
  used: number;
}

/** The schema, for idb's typed API. */
export interface BackpactDB extends DBSchema, BackupStores {
  held: {
    key: [string, string];
    value: HeldShardRecord;
    indexes: {
      'by-owner': string;
      /** [owner, shard, size, storedAt] of every record: listing and sizes without reading bytes. */
      meta: [string, string, number, number];
    };
  };
  heldCheck: { key: [string, string]; value: HeldCheckRecord; indexes: { damaged: [string, string, number] } };
  allowance: { key: string; value: AllowanceRecord };
  /** Small records by name: identity, settings. */
  kv: { key: string; value: unknown };
  /** Signed agreements by agreement id. */
  agreements: { key: string; value: { id: string; partnerKey: string; signed: unknown; updatedAt: number } ; indexes: { 'by-partner': string } };
}

/**
 * Opens (and upgrades) the database. `name` lets tests use a scratch database. When a newer version
 * of the app needs to upgrade the database, this connection is closed (it would block the upgrade)
 * and `onReplaced` runs, e.g. to reload the page into the new version.
 */
export async function openBackpactDB(name = DB_NAME, onReplaced?: () => void): Promise<IDBPDatabase<BackpactDB>> {
  const db: IDBPDatabase<BackpactDB> = await openDB<BackpactDB>(name, DB_VERSION, {
    blocking() {
      db.close();
      onReplaced?.();
    },
    upgrade(db, oldVersion, _newVersion, tx) {
      if (oldVersion < 1) {
        const held = db.createObjectStore('held', { keyPath: ['owner', 'shard'] });
        held.createIndex('by-owner', 'owner');
        db.createObjectStore('allowance', { keyPath: 'owner' });
        db.createObjectStore('kv');
        const agreements = db.createObjectStore('agreements', { keyPath: 'id' });
        agreements.createIndex('by-partner', 'partnerKey');
      }
      if (oldVersion < 2) {
        // Version 2: the owner's side of backup and restore (see ./backup-schema.ts).
        db.createObjectStore('snapshots', { keyPath: 'id' });
        db.createObjectStore('journal', { keyPath: 'packId' });
        db.createObjectStore('outbox', { keyPath: ['holder', 'shard'] }).createIndex('by-holder', 'holder');
        db.createObjectStore('restoreJobs', { keyPath: 'id' });
        db.createObjectStore('restoreChunks', { keyPath: ['job', 'chunk'] }).createIndex('by-job', 'job');
      }
      if (oldVersion < 3) {
        // Version 3: shards' bytes are read and written only when they are stored or served.
        // A key-only index lists them (retention, orphan collection) and gives sizes for deletes;
        // the self-check's state moves to `heldCheck` (a check used to rewrite the whole record).
        const held = tx.objectStore('held');
        held.createIndex('meta', ['owner', 'shard', 'size', 'storedAt']);
        const checks = db.createObjectStore('heldCheck', { keyPath: ['owner', 'shard'] });
        checks.createIndex('damaged', ['owner', 'shard', 'damagedAt']);
        if (oldVersion >= 1) {
          // Shards held before: their check state as version 2 kept it, in the held record.
          void (async () => {
            for (let c = await held.openCursor(); c; c = await c.continue()) {
              const r = c.value;
              const owner = r.rootSource === 'owner' || (r.merkleRoot !== undefined && r.rootSource === undefined);
              await checks.put({
                owner: r.owner, shard: r.shard, storedAt: r.storedAt, ownerRoot: owner,
                ...(!owner && r.merkleRoot !== undefined ? { baselineRoot: r.merkleRoot } : {}),
                ...(r.checkedAt !== undefined ? { checkedAt: r.checkedAt } : {}),
                ...(r.damagedAt !== undefined ? { damagedAt: r.damagedAt } : {}),
              });
            }
          })();
        }
      }
    },
  });
  return db;
}
