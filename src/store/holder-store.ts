/**
 * The IndexedDB holder store: partners' shards keyed by (owner, shard), with the owner's usage
 * kept in the same transaction so the quota check and the write are atomic. Writes commit with
 * `durability: 'strict'`, so an acknowledged shard is on disk.
 */
import type { IDBPDatabase, IDBPObjectStore } from 'idb';
import { DeviceStorageFullError } from '../core/holder/errors.ts';
import { checkPut, type HeldShardInfo, type HolderStore, type HolderUsage, type ScrubItem, type ScrubOutcome } from '../core/holder/holder-store.ts';
import type { BackpactDB } from './db.ts';

/** Reads how much room the browser gives this origin. */
export type StorageEstimator = () => Promise<{ quota?: number; usage?: number }>;

/** Headroom kept free on the device so the app itself (index, outbox) can always write. */
const DEVICE_HEADROOM_BYTES = 64 * 1024 * 1024;

function isQuotaError(err: unknown): boolean {
  return err instanceof DOMException && (err.name === 'QuotaExceededError' || err.name === 'UnknownError' && /quota|space|disk/i.test(err.message));
}

type HeldStore = IDBPObjectStore<BackpactDB, ('held' | 'allowance' | 'heldCheck')[], 'held', 'readwrite'>;

/** Size and storage time of a held shard from the key-only `meta` index (its bytes are not read). */
async function heldMeta(store: HeldStore, owner: string, shard: string): Promise<{ size: number; storedAt: number } | undefined> {
  const c = await store.index('meta').openKeyCursor(IDBKeyRange.bound([owner, shard], [owner, shard, []]));
  return c ? { size: c.key[2], storedAt: c.key[3] } : undefined;
}

/** {@link HolderStore} over IndexedDB. */
export class IdbHolderStore implements HolderStore {
  constructor(
    private readonly db: IDBPDatabase<BackpactDB>,
    private readonly estimate: StorageEstimator = () => navigator.storage.estimate(),
    private readonly now: () => number = () => Date.now(),
  ) {}

  async setAllowance(owner: string, allowedBytes: number | null): Promise<void> {
    const tx = this.db.transaction('allowance', 'readwrite', { durability: 'strict' });
    const rec = (await tx.store.get(owner)) ?? { owner, allowed: null, used: 0 };
    await tx.store.put({ ...rec, allowed: allowedBytes });
    await tx.done;
  }

  async put(owner: string, shard: string, bytes: Uint8Array, merkleRoot?: string): Promise<void> {
    // Check the device before opening the transaction: awaiting a non-IndexedDB promise inside
    // it would let it auto-commit.
    const { quota, usage } = await this.estimate();
    if (quota !== undefined && usage !== undefined && usage + bytes.length + DEVICE_HEADROOM_BYTES > quota) {
      throw new DeviceStorageFullError(bytes.length);
    }
    // IndexedDB clones the value when `put` is called; copy first only when `bytes` is a view of
    // part of a larger buffer (a body read whole is its own buffer: no extra 8 MiB copy per shard).
    const buffer = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer ? bytes.buffer : bytes.slice().buffer;
    const tx = this.db.transaction(['held', 'allowance', 'heldCheck'], 'readwrite', { durability: 'strict' });
    try {
      const allowance = await tx.objectStore('allowance').get(owner);
      const old = await heldMeta(tx.objectStore('held'), owner, shard);
      const used = allowance?.used ?? 0;
      const oldSize = old?.size ?? 0;
      checkPut(owner, allowance?.allowed ?? null, used, oldSize, bytes.length);
      const storedAt = Math.max(this.now(), (old?.storedAt ?? -1) + 1);
      await tx.objectStore('held').put({
        owner, shard, bytes: buffer, size: bytes.length, storedAt, ...(merkleRoot ? { merkleRoot, rootSource: 'owner' as const } : {}),
      });
      // New bytes: any earlier check state (a damage mark) is replaced.
      await tx.objectStore('heldCheck').put({ owner, shard, storedAt, ownerRoot: merkleRoot !== undefined });
      await tx.objectStore('allowance').put({ owner, allowed: allowance!.allowed, used: used - oldSize + bytes.length });
      await tx.done;
    } catch (err) {
      try {
        tx.abort();
      } catch {
        // Already finished or aborted: nothing was committed either way.
      }
      await tx.done.catch(() => undefined);
      if (isQuotaError(err)) throw new DeviceStorageFullError(bytes.length);
      throw err;
    }
  }

  async get(owner: string, shard: string): Promise<Uint8Array | undefined> {
    const tx = this.db.transaction(['held', 'heldCheck'], 'readonly');
    const check = await tx.objectStore('heldCheck').get([owner, shard]);
    if (check?.damagedAt !== undefined) return undefined;
    const rec = await tx.objectStore('held').get([owner, shard]);
    return rec ? new Uint8Array(rec.bytes) : undefined;
  }

  async delete(owner: string, shard: string): Promise<boolean> {
    const tx = this.db.transaction(['held', 'allowance', 'heldCheck'], 'readwrite', { durability: 'strict' });
    const old = await heldMeta(tx.objectStore('held'), owner, shard);
    if (old) {
      await tx.objectStore('held').delete([owner, shard]);
      await tx.objectStore('heldCheck').delete([owner, shard]);
      const allowance = await tx.objectStore('allowance').get(owner);
      if (allowance) await tx.objectStore('allowance').put({ ...allowance, used: Math.max(0, allowance.used - old.size) });
    }
    await tx.done;
    return old !== undefined;
  }

  async list(owner: string): Promise<HeldShardInfo[]> {
    // Key cursors over the two key-only indexes: no record (and no shard byte) is read.
    const tx = this.db.transaction(['held', 'heldCheck'], 'readonly');
    const range = IDBKeyRange.bound([owner], [owner, []]);
    const damaged = new Map<string, number>();
    for (let c = await tx.objectStore('heldCheck').index('damaged').openKeyCursor(range); c; c = await c.continue()) damaged.set(c.key[1], c.key[2]);
    const out: HeldShardInfo[] = [];
    // In shard order already: the index is sorted by [owner, shard, …].
    for (let c = await tx.objectStore('held').index('meta').openKeyCursor(range); c; c = await c.continue()) {
      const [, shard, size, storedAt] = c.key;
      const damagedAt = damaged.get(shard);
      out.push({ shard, size, storedAt, ...(damagedAt !== undefined ? { damagedAt } : {}) });
    }
    return out;
  }

  async usage(owner: string): Promise<HolderUsage> {
    const rec = await this.db.get('allowance', owner);
    return { used: rec?.used ?? 0, allowed: rec?.allowed ?? null };
  }

  async dropOwner(owner: string): Promise<void> {
    const tx = this.db.transaction(['held', 'allowance', 'heldCheck'], 'readwrite', { durability: 'strict' });
    const keys = await tx.objectStore('held').index('by-owner').getAllKeys(owner);
    for (const k of keys) await tx.objectStore('held').delete(k);
    await tx.objectStore('heldCheck').delete(IDBKeyRange.bound([owner], [owner, []]));
    const allowance = await tx.objectStore('allowance').get(owner);
    if (allowance) await tx.objectStore('allowance').put({ ...allowance, used: 0 });
    await tx.done;
  }

  async nextForScrub(after: readonly [string, string] | null): Promise<ScrubItem | null> {
    const tx = this.db.transaction(['held', 'heldCheck'], 'readonly');
    const range = after ? IDBKeyRange.lowerBound([after[0], after[1]], true) : undefined;
    const [rec] = await tx.objectStore('held').getAll(range, 1);
    if (!rec) return null;
    const check = await tx.objectStore('heldCheck').get([rec.owner, rec.shard]);
    const current = check?.storedAt === rec.storedAt ? check : undefined;
    const root = current?.ownerRoot ? (rec.merkleRoot ?? null) : (current?.baselineRoot ?? null);
    return {
      owner: rec.owner, shard: rec.shard, bytes: new Uint8Array(rec.bytes), storedAt: rec.storedAt, merkleRoot: root,
      rootSource: root === null ? null : current?.ownerRoot ? 'owner' : 'baseline', checkedAt: current?.checkedAt ?? null, damagedAt: current?.damagedAt ?? null,
    };
  }

  async recordScrub(owner: string, shard: string, storedAt: number, outcome: ScrubOutcome): Promise<boolean> {
    // Only the small check record is written: the shard's bytes stay as they are on disk.
    const tx = this.db.transaction('heldCheck', 'readwrite', { durability: 'strict' });
    const check = await tx.store.get([owner, shard]);
    if (!check || check.storedAt !== storedAt) {
      await tx.done;
      return false;
    }
    const next = { ...check, checkedAt: outcome.at };
    if (outcome.damaged) next.damagedAt ??= outcome.at;
    if (outcome.baselineRoot && !check.ownerRoot) next.baselineRoot ??= outcome.baselineRoot;
    await tx.store.put(next);
    await tx.done;
    return true;
  }
}
