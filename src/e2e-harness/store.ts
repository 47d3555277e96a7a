/**
 * Harness for the storage adapters: runs the core contract suites against the real IndexedDB
 * adapters in the page, each case on a fresh scratch database.
 */
import { fullDeviceCase, holderStoreContract, type ContractCase } from '../core/holder/holder-store.contract.ts';
import type { HeldShardInfo } from '../core/holder/holder-store.ts';
import { openBackpactDB } from '../store/db.ts';
import { IdbHolderStore, type StorageEstimator } from '../store/holder-store.ts';

/** Result of one contract case. */
export interface CaseResult {
  name: string;
  ok: boolean;
  error?: string;
}

let scratch = 0;

async function runCase(c: ContractCase, estimate?: StorageEstimator): Promise<CaseResult> {
  const name = `contract-${Date.now()}-${scratch++}`;
  const db = await openBackpactDB(name);
  try {
    await c.run(new IdbHolderStore(db, estimate));
    return { name: c.name, ok: true };
  } catch (err) {
    return { name: c.name, ok: false, error: String(err) };
  } finally {
    db.close();
    indexedDB.deleteDatabase(name);
  }
}

/** What {@link upgradeCheck} saw. */
export interface UpgradeCheck {
  listed: HeldShardInfo[];
  /** Bytes served for the undamaged shard, and whether the damaged one was served. */
  served: number | null;
  damagedServed: boolean;
  /** The self-check's view of the damaged shard after the upgrade. */
  scrubbed: { shard: string; damagedAt: number | null; rootSource: string | null } | null;
  deleted: boolean;
  usedAfterDelete: number;
  usedAfterPut: number;
  listedAfter: HeldShardInfo[];
}

/**
 * A database as version 2 created it (the stores `held` and `allowance` as they were, the others
 * empty), holding shards for one owner; then opened by this version: the upgrade must index them.
 */
async function upgradeCheck(): Promise<UpgradeCheck> {
  const name = `upgrade-${Date.now()}-${scratch++}`;
  const bytes = (n: number, fill: number): ArrayBuffer => new Uint8Array(n).fill(fill).buffer;
  await new Promise<void>((resolve, reject) => {
    const q = indexedDB.open(name, 2);
    q.onupgradeneeded = () => {
      const v2 = q.result;
      v2.createObjectStore('held', { keyPath: ['owner', 'shard'] }).createIndex('by-owner', 'owner');
      v2.createObjectStore('allowance', { keyPath: 'owner' });
      v2.createObjectStore('kv');
      v2.createObjectStore('agreements', { keyPath: 'id' }).createIndex('by-partner', 'partnerKey');
      for (const s of ['snapshots', 'journal', 'restoreJobs']) v2.createObjectStore(s, { keyPath: s === 'journal' ? 'packId' : 'id' });
      v2.createObjectStore('outbox', { keyPath: ['holder', 'shard'] }).createIndex('by-holder', 'holder');
      v2.createObjectStore('restoreChunks', { keyPath: ['job', 'chunk'] }).createIndex('by-job', 'job');
      const held = q.transaction!.objectStore('held');
      held.put({ owner: 'o1', shard: 'b'.repeat(64), bytes: bytes(3000, 2), size: 3000, storedAt: 20, merkleRoot: 'e'.repeat(64), rootSource: 'baseline', checkedAt: 25, damagedAt: 25 });
      held.put({ owner: 'o1', shard: 'a'.repeat(64), bytes: bytes(1000, 1), size: 1000, storedAt: 10 });
      held.put({ owner: 'o2', shard: 'c'.repeat(64), bytes: bytes(500, 3), size: 500, storedAt: 30 });
      q.transaction!.objectStore('allowance').put({ owner: 'o1', allowed: 1e6, used: 4000 });
    };
    q.onsuccess = () => {
      q.result.close();
      resolve();
    };
    q.onerror = () => reject(q.error);
  });
  const db = await openBackpactDB(name);
  try {
    const store = new IdbHolderStore(db, async () => ({ quota: 1e12, usage: 0 }));
    const listed = await store.list('o1');
    const served = (await store.get('o1', 'a'.repeat(64)))?.length ?? null;
    const damagedServed = (await store.get('o1', 'b'.repeat(64))) !== undefined;
    const item = await store.nextForScrub(['o1', 'a'.repeat(64)]);
    const scrubbed = item ? { shard: item.shard, damagedAt: item.damagedAt, rootSource: item.rootSource } : null;
    const deleted = await store.delete('o1', 'b'.repeat(64));
    const usedAfterDelete = (await store.usage('o1')).used;
    await store.put('o1', 'a'.repeat(64), new Uint8Array(1500));
    return { listed, served, damagedServed, scrubbed, deleted, usedAfterDelete, usedAfterPut: (await store.usage('o1')).used, listedAfter: await store.list('o1') };
  } finally {
    db.close();
    indexedDB.deleteDatabase(name);
  }
}

/** Puts `store.runHolderContract()` and `store.upgradeCheck()` on the harness. */
export function installStoreHarness(): void {
  globalThis.backpactHarness.store = {
    async runHolderContract(): Promise<CaseResult[]> {
      const results: CaseResult[] = [];
      for (const c of holderStoreContract) results.push(await runCase(c));
      // A device with 1 MiB of quota left over the app's headroom: a 2 KiB put still fits, so
      // simulate a full one by reporting no room at all.
      results.push(await runCase(fullDeviceCase, async () => ({ quota: 1000, usage: 1000 })));
      return results;
    },
    upgradeCheck,
  };
}
